"""The timetable (运行图) and the day's actual running (实绩), Qt-free.

- ``times.py``: service-day times (past midnight as 24:xx), delays and their text;
- ``model.py``: the plan: trips, their stops, the workings that chain trips into a
  unit's day, the day type; one flat index over every planned stop;
- ``actuals.py``: an actual arrival or departure, and the day's store of them
  (columnar, preallocated from the plan: no allocation per record);
- ``delays.py``: each train's delay now, and how a view shows it.

The file format and its loader live in ``app/config/timetable.py``; the conventions
in ``docs/timetable.md``.
"""
