"""Timetable files made up for the demo line, for the tests (and a load time by hand).

``python -m tests.unit.timetable.generated`` writes a day of 700 trips x 23 stops to a
temporary file and prints how long ``load_timetable`` takes on it (no timed test: the
speed targets live in bench/).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from app.config import load_line
from app.config.timetable import load_timetable
from app.timetable.times import format_service_time

ROOT = Path(__file__).resolve().parents[3]
DEMO_LINE = ROOT / "resources" / "lines" / "demo-line.yaml"
STATIONS = 23
RUN_S = 90  # between stations
DWELL_S = 30
TURNBACK_S = 240


def day_text(trips: int = 700, per_working: int = 20, first_s: int = 5 * 3600) -> str:
    """A timetable for the demo line: workings shuttling S01 - S23 end to end, one unit
    each, ``per_working`` trips a working, starting 2 minutes apart."""
    out = [
        "timetable:",
        "  id: generated",
        "  line: L2",
        "  day_type: weekday",
        '  changeover: "03:00"',
        "  trips:",
    ]
    workings: dict[str, list[str]] = {}
    trip_s = STATIONS * (RUN_S + DWELL_S) - RUN_S + TURNBACK_S
    for i in range(trips):
        w, k = divmod(i, per_working)
        service = f"{w + 1:03d}"
        number = f"{w + 1:03d}{k + 1:03d}"
        workings.setdefault(service, []).append(number)
        down = k % 2 == 0
        out += [
            f'    - number: "{number}"',
            f'      service: "{service}"',
            f"      direction: {'down' if down else 'up'}",
            "      stops:",
        ]
        t = first_s + w * 120 + k * trip_s
        for s in range(1, STATIONS + 1) if down else range(STATIONS, 0, -1):
            platform = f"P{s:02d}{'D' if down else 'U'}"
            arrive, depart = format_service_time(t), format_service_time(t + DWELL_S)
            out.append(f'        - [S{s:02d}, {platform}, "{arrive}", "{depart}"]')
            t += DWELL_S + RUN_S
    out.append("  workings:")
    for n, (service, numbers) in enumerate(workings.items()):
        listed = ", ".join(f'"{x}"' for x in numbers)
        out.append(f'    - {{service: "{service}", unit: {n + 1}, trips: [{listed}]}}')
    return "\n".join(out) + "\n"


def main() -> int:  # pragma: no cover - by hand
    line = load_line(DEMO_LINE)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "day.yaml"
        path.write_text(day_text(), encoding="utf-8")
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            timetable = load_timetable(path, line)
            runs.append(time.perf_counter() - start)
        size = path.stat().st_size
    print(
        f"{len(timetable.trips)} trips, {len(timetable.stops)} stops, {size} bytes: "
        f"load {min(runs):.3f} s best, {max(runs):.3f} s worst of {len(runs)}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
