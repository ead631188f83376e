"""`python -m bench traingraph` on a tiny day prints its JSON line (keys and sane
values only: no timing asserts, CI machines vary)."""

from __future__ import annotations

import math

import pytest

from tests.bench.runner import run_bench


@pytest.mark.ui
def test_bench_traingraph_tiny_prints_the_json_keys() -> None:
    run = run_bench(
        "traingraph",
        "--quick",
        "--frames",
        "3",
        "--stations",
        "10",
        "--trips",
        "40",
        "--trains",
        "4",
        timeout=180,
        QT_QPA_PLATFORM="offscreen",
    )
    f = run.figures
    for key in (
        "paint_p95_ms",
        "zoom_p95_ms",
        "settle_p95_ms",
        "graph_paint_ratio",
        "graph_zoom_ratio",
        "baseline_paint_p95_ms",
        "baseline_zoom_p95_ms",
        "paint_p95_vs_baseline",
        "store_bytes_per_stop",
    ):
        assert math.isfinite(f[key]) and f[key] >= 0, key
    assert (f["stations"], f["trips"], f["trains"]) == (10, 40, 4)
    assert f["planned_stops"] == 400
    assert f["store_bytes"] > 400 * 8 * 4  # four 8-byte columns a stop at least
    assert f["live_events"] > 0  # the trains reported while it ran
    assert f["graph_paint_ratio"] == pytest.approx(f["paint_p95_ms"] / 16.7, abs=1e-2)
    assert "baseline" in run.stdout


def test_the_generated_day_is_what_was_asked() -> None:
    from app.timetable.actuals import ActualsStore
    from bench.traingraph_day import Feed, big_day, big_line

    line = big_line(12)
    assert len(line.stations) == 12
    assert [s.km for s in line.stations] == sorted(s.km for s in line.stations)
    timetable, events = big_day(line, 30, 4)
    assert len(timetable.trips) == 30 and len(timetable.workings) == 4
    assert sum(len(w.trips) for w in timetable.workings) == 30
    assert len(events) == 2 * 30 * 12  # an arrival and a departure at every stop
    assert [e.at_ms for e in events] == sorted(e.at_ms for e in events)
    store = ActualsStore(timetable)
    feed = Feed(store, events)
    assert feed.until(events[10].at_ms) >= 11
    assert store.recorded >= 11 and store.unplanned == 0
