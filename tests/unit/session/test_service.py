"""The session's service feed: the server's service clock, the day's actuals kept for our
timetable only, and late trains told as local alarms (docs/timetable.md)."""

from __future__ import annotations

from typing import Any

from app.model.topology import Direction
from app.protocol.messages import Actuals
from app.session.health import LocalAlarm, LocalAlarms
from app.session.service import ActualsNews, ServiceFeed
from app.timetable.actuals import Actual, ActualKind
from app.timetable.model import DayType, Stop, Timetable, Trip, Working


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000

    def __call__(self) -> int:
        return self.ms


def plan() -> Timetable:
    trip = Trip(
        "01001",
        "01",
        Direction.DOWN,
        (Stop("S01", "P01D", 21_600, 21_630), Stop("S02", "P02D", 21_720, 21_750)),
    )
    return Timetable("t", "L2", DayType.WEEKDAY, (trip,), (Working("01", 7, ("01001",)),))


def dep(at_s: int, planned_s: int = 21_630) -> Actual:
    return Actual("01001", 0, "S01", "P01D", ActualKind.DEPART, at_s * 1000, planned_s * 1000, 7)


def test_the_clock_runs_on_between_messages_and_waits_for_the_first() -> None:
    clock = Clock()
    feed = ServiceFeed(plan(), clock_ms=clock)
    assert feed.now_ms() is None
    feed.told_clock("", 0)  # a server with no timetable
    assert feed.now_ms() is None
    feed.told_clock("2026-12-06", 21_600_000)
    clock.ms += 2_500
    assert (feed.service_date, feed.now_ms()) == ("2026-12-06", 21_602_500)


def test_actuals_are_kept_for_our_timetable_only_and_a_new_day_starts_empty() -> None:
    feed = ServiceFeed(plan())
    seen: list[ActualsNews] = []
    feed.actuals_changed.connect(seen.append)
    assert feed.told_actuals(Actuals("2026-12-06", "other@0", (dep(21_640),))) is None
    assert feed.foreign == 1 and feed.store is not None and feed.store.recorded == 0
    news = feed.told_actuals(Actuals("2026-12-06", feed.name, (dep(21_640),)))
    assert news is not None and (news.recorded, news.new_day) == (1, True)
    copy = feed.told_actuals(Actuals("2026-12-06", feed.name, (dep(21_640),)))
    assert copy is not None and copy.fresh == ()  # the other network's copy: no news
    again = feed.told_actuals(Actuals("2026-12-06", feed.name, (dep(21_640),), catch_up=True))
    assert again is not None and feed.store.recorded == 1  # a slot per stop: idempotent
    assert again.fresh == ()  # but the end of a catch-up is told (the CLI waits for it)
    odd = Actual("09999", 0, "S01", "P01D", ActualKind.ARRIVE, 1, 1, 3)
    news = feed.told_actuals(Actuals("2026-12-06", feed.name, (odd,)))
    assert news is not None and news.unplanned == 1
    news = feed.told_actuals(Actuals("2026-12-07", feed.name, ()))
    assert news is not None and news.new_day and feed.store.recorded == 0
    # told: the first, the catch-up's end, the new day (not the copy, not the unplanned)
    assert [len(n.fresh) for n in seen] == [1, 0, 0] and seen[-1].new_day
    assert ServiceFeed(None).told_actuals(Actuals("2026-12-06", "", ())) is None
    # a server running no timetable sends an empty catch-up: not a foreign plan
    assert feed.told_actuals(Actuals("2026-12-07", "", (), catch_up=True)) is None
    assert feed.foreign == 1


def test_a_late_train_is_an_alarm_until_it_is_back_within_the_threshold() -> None:
    clock = Clock()
    alarms = LocalAlarms()
    told: list[LocalAlarm] = []
    alarms.changed.connect(told.append)
    feed = ServiceFeed(plan(), late_alarm_s=180, alarms=alarms, clock_ms=clock)
    feed.told_clock("2026-12-06", 21_640_000)
    feed.told_actuals(Actuals("2026-12-06", feed.name, (dep(21_640),)))
    feed.check_late([7], 0)
    assert told == []  # 10 s late
    # still not at S02 at 21 720 + 200 s: 200 s late > 180
    clock.ms += (21_920 - 21_640) * 1000
    feed.check_late([7], 5)
    assert [(a.code, a.active, a.param("minutes"), a.param("trip")) for a in told] == [
        ("train_late:7", True, "3", "01001")
    ]
    assert feed.late == [7] and "train_late:7" in alarms.active
    feed.check_late([7], 6)
    assert len(told) == 1  # raised once, not every check
    # it arrives 130 s late: within the threshold but not by the dead band (60 s)
    arr = Actual("01001", 1, "S02", "P02D", ActualKind.ARRIVE, 21_850_000, 21_720_000, 7)
    feed.told_actuals(Actuals("2026-12-06", feed.name, (arr,)))
    clock.ms = 1_000 + (21_745 - 21_640) * 1000
    feed.check_late([7], 7)
    assert len(told) == 1
    # out of service: the alarm clears
    feed.check_late([], 8)
    assert [(a.code, a.active, a.since_ms) for a in told[1:]] == [("train_late:7", False, 5)]
    assert feed.late == [] and "train_late:7" not in alarms.active


def test_a_restarted_desk_keeps_its_day_when_the_servers_lost_part_of_it(tmp_path: Any) -> None:
    """The day is kept on disk; a workstation that starts again mid-day reads it back
    before the servers' catch-up, so a catch-up that lost part of the day (a restarted
    server) never overwrites the fuller day kept."""
    first = ServiceFeed(plan(), archive_dir=tmp_path)
    arr = Actual("01001", 1, "S02", "P02D", ActualKind.ARRIVE, 21_730_000, 21_720_000, 7)
    first.told_actuals(Actuals("2026-12-06", first.name, (dep(21_640), arr)))
    assert first.save() is not None
    again = ServiceFeed(plan(), archive_dir=tmp_path)
    news = again.told_actuals(Actuals("2026-12-06", again.name, (), catch_up=True))
    assert news is not None and again.store is not None
    assert again.store.recorded == 2  # both, from the kept day
    times = again.store.times(1)
    assert times.arrive_ms == 21_730_000
    later = Actual("01001", 1, "S02", "P02D", ActualKind.DEPART, 21_760_000, 21_750_000, 7)
    again.told_actuals(Actuals("2026-12-06", again.name, (later,)))
    assert again.save() is not None
    assert ServiceFeed(plan(), archive_dir=tmp_path).store is not None
    kept = tmp_path / "actuals-2026-12-06.csv"
    assert len(kept.read_text(encoding="utf-8").splitlines()) == 1 + 2  # header, 2 stops
    assert ",06:02:40,10" in kept.read_text(encoding="utf-8")  # the departure, kept too


def test_the_day_is_kept_every_five_minutes_off_the_loop(tmp_path: Any) -> None:
    """In a running loop the periodic save goes to a worker thread; the day's file
    appears, and a save of the same day meanwhile waits for it (one writer)."""
    import asyncio

    from app.session.service import SAVE_EVERY_MS

    clock = Clock()
    feed = ServiceFeed(plan(), archive_dir=tmp_path, clock_ms=clock)
    feed.told_actuals(Actuals("2026-12-06", feed.name, (dep(21_640),)))
    kept = tmp_path / "actuals-2026-12-06.csv"

    async def scenario() -> None:
        feed.autosave()  # not yet: five minutes have not passed
        await asyncio.sleep(0.05)
        assert not kept.exists()
        clock.ms += SAVE_EVERY_MS
        feed.autosave()
        assert feed.save() is None or kept.exists()  # waited for the thread, or wrote
        for _ in range(100):
            if kept.exists():
                break
            await asyncio.sleep(0.02)

    asyncio.run(scenario())
    assert ",06:00:40,10" in kept.read_text(encoding="utf-8")
