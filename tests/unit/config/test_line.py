"""The line file: semantic checks, and the generated demo line."""

from __future__ import annotations

import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest

from app.config import ConfigError, load_line, parse_line
from app.model.topology import Direction, Line, Route, SwitchLeg, TrackKind

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "resources" / "lines" / "demo-line.yaml"
GENERATOR = ROOT / "resources" / "lines" / "generate_demo_line.py"

SMALL = """\
line:
  id: T1
  name_zh: 测试线
  name_en: Test Line
  stations:
    - {id: S1, name_zh: 甲站, name_en: Jia, km: 0, x: 100}
    - {id: S2, name_zh: 乙站, name_en: Yi, km: 1.2, x: 200}
  platforms:
    - {id: P1D, station: S1, direction: down, section: PD1}
    - {id: P2D, station: S2, direction: down, section: PD2}
  sections:
    - {id: PD1, kind: main, length_m: 140, x0: 85, x1: 115, y0: 0, y1: 0, station: S1}
    - {id: D12, kind: main, length_m: 900, x0: 115, x1: 170, y0: 0, y1: 0}
    - {id: DX, kind: main, length_m: 60, x0: 170, x1: 185, y0: 0, y1: 0}
    - {id: PD2, kind: main, length_m: 140, x0: 185, x1: 215, y0: 0, y1: 0, station: S2}
    - {id: SD, kind: depot, length_m: 200, x0: 185, x1: 215, y0: -20, y1: -20}
  links:
    - {a: PD1, b: D12}
    - {a: D12, b: DX}
  switches:
    - {id: W1, zone: Z1, root: DX, normal: PD2, reverse: SD, x: 185, y: 0}
  signals:
    - {id: XPD1, zone: Z1, section: PD1, direction: down, x: 115, y: 0}
    - {id: XD12, zone: Z1, section: D12, direction: down, x: 170, y: 0}
    - {id: XPD2, zone: Z1, section: PD2, direction: down, x: 215, y: 0}
    - {id: XSD, zone: Z1, section: SD, direction: down, x: 215, y: -20}
    - {id: SPD2, section: PD2, direction: up, x: 185, y: 0}
  routes:
    - {id: R1, entry: XPD1, exit: XD12, sections: [D12]}
    - {id: R2, entry: XD12, exit: XPD2, sections: [DX, PD2],
       switches: [{switch: W1, position: normal}]}
    - {id: R3, entry: XD12, exit: XSD, sections: [DX, SD],
       switches: [{switch: W1, position: reverse}]}
  zones:
    - id: Z1
      name_zh: 全线
      name_en: Whole line
      stations: [S1, S2]
      switches: [W1]
      signals: [XPD1, XD12, XPD2, XSD]
    - {id: Z2, name_zh: 空, name_en: Empty}
"""


def at(text: str, needle: str) -> tuple[int, int]:
    """1-based (line, column) of ``needle`` in ``text``, at its ``^`` if it has one."""
    pos = text.index(needle.replace("^", "")) + max(needle.find("^"), 0)
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def error(old: str, new: str) -> tuple[ConfigError, str]:
    assert old in SMALL, old
    text = SMALL.replace(old, new, 1)
    with pytest.raises(ConfigError) as info:
        parse_line(text, "small.yaml")
    return info.value, text


# -- the small line --------------------------------------------------------------


def test_small_line_loads_with_derived_platforms_and_defaults() -> None:
    line = parse_line(SMALL)
    assert line.timezone == "Asia/Shanghai"
    assert line.train.cars == 6
    assert line.station_by_id["S1"].platforms == ("P1D",)
    assert line.signal_by_id["SPD2"].zone is None
    assert line.zone_by_id["Z2"].switches == ()
    assert line.route_by_id["R3"].switches[0].position is SwitchLeg.REVERSE
    assert line.section_by_id["SD"].kind is TrackKind.DEPOT


def test_unknown_timezone() -> None:
    err, text = error("  name_en: Test Line\n", "  name_en: Test Line\n  timezone: Mars/Base\n")
    assert (err.line, err.column, err.path) == (*at(text, "Mars/Base"), "line.timezone")
    assert err.message == (
        "unknown time zone 'Mars/Base' (expected an IANA name like Asia/Shanghai)"
    )


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        (
            "root: DX, normal: PD2",
            "root: DX, normal: DX",
            "{id: W1",
            "line.switches[0]",
            "switch 'W1': root, normal and reverse must be three different sections, "
            "got DX, DX, SD",
        ),
        (
            "{id: W1, zone: Z1",
            "{id: W1, zone: Z2",
            "Z2",
            "line.switches[0].zone",
            "'W1' says zone 'Z2' but zone 'Z1' lists it (line 39, line.zones[0].switches[0])",
        ),
        (
            "      switches: [W1]\n",
            "",
            "Z1, root",
            "line.switches[0].zone",
            "'W1' says zone 'Z1' but is not listed in any zone's switches",
        ),
        (
            "{id: Z2, name_zh: 空, name_en: Empty}",
            "{id: Z2, name_zh: 空, name_en: Empty, signals: [XSD]}",
            "Empty, signals: [^XSD]",
            "line.zones[1].signals[0]",
            "'XSD' is already in zone 'Z1' (line 40, line.zones[0].signals[3]); "
            "a device belongs to exactly one zone",
        ),
        (
            "{id: SPD2, section",
            "{id: SPD2, zone: Z1, section",
            "SPD2, zone: ^Z1",
            "line.signals[4].zone",
            "'SPD2' says zone 'Z1' but is not listed in any zone's signals",
        ),
        (
            "{id: XSD, zone",
            "{id: W1, zone",
            "W1, zone: Z1, section",
            "line.signals[3].id",
            "signal id 'W1' is also a switch id (line.switches[0]); "
            "device ids must be unique across switches and signals",
        ),
        (
            "    - {a: D12, b: DX}\n",
            "    - {a: D12, b: DX}\n    - {a: DX, b: D12}\n",
            "{a: DX",
            "line.links[2]",
            "duplicate link DX-D12 (first at line 19, line.links[1])",
        ),
        (
            "{a: D12, b: DX}",
            "{a: D12, b: D12}",
            "{a: D12, b: ^D12}",
            "line.links[1].b",
            "links section 'D12' to itself",
        ),
        (
            "{id: R1, entry: XPD1, exit: XD12, sections: [D12]}",
            "{id: R1, entry: XPD1, exit: XD12, sections: [DX, D12]}",
            "DX, D12]",
            "line.routes[0].sections[0]",
            "section 'DX' is not joined to 'PD1' (the entry signal's section)",
        ),
        (
            "sections: [DX, PD2],\n       switches: [{switch: W1, position: normal}]",
            "sections: [DX, PD2]",
            "PD2]",
            "line.routes[1].sections[1]",
            "the route runs DX -> PD2 over switch 'W1' (normal) but does not list that switch",
        ),
        (
            "switches: [{switch: W1, position: reverse}]",
            "switches: [{switch: W1, position: normal}]",
            "normal}]}\n  zones",
            "line.routes[2].switches[0].position",
            "switch 'W1' must be reverse for DX -> SD, not normal",
        ),
        (
            "sections: [D12]}",
            "sections: [D12], switches: [{switch: W1, position: normal}]}",
            "W1, position: normal}]}\n    - {id: R2",
            "line.routes[0].switches[0].switch",
            "the route does not pass over switch 'W1'",
        ),
        (
            "exit: XD12, sections: [D12]}",
            "exit: XPD2, sections: [D12]}",
            "D12]}",
            "line.routes[0].sections[0]",
            "route ends in section 'D12' but exit signal 'XPD2' stands at the end of section 'PD2'",
        ),
        (
            "exit: XPD2, sections: [DX, PD2]",
            "exit: SPD2, sections: [DX, PD2]",
            "SPD2, sections",
            "line.routes[1].exit",
            "exit signal 'SPD2' faces up but entry signal 'XD12' faces down",
        ),
        (
            "{id: R1, entry: XPD1, exit: XD12",
            "{id: R1, entry: XPD1, exit: XPD1",
            "XPD1, sections",
            "line.routes[0].exit",
            "exit signal must differ from entry signal",
        ),
        (
            "x1: 215, y0: -20, y1: -20}",
            "x1: 215, y0: -20, y1: -20, station: S9}",
            "S9",
            "line.sections[4].station",
            "unknown station 'S9': not defined in line.stations",
        ),
        (
            "stations: [S1, S2]",
            "stations: [S1, S3]",
            "S3",
            "line.zones[0].stations[1]",
            "unknown station 'S3': not defined in line.stations",
        ),
    ],
)
def test_semantic_errors(old: str, new: str, needle: str, path: str, message: str) -> None:
    err, text = error(old, new)
    assert err.message == message
    assert err.path == path
    assert (err.line, err.column) == at(text, needle)
    assert str(err) == f"small.yaml:{err.line}:{err.column}: {path}: {message}"


# -- the demo line ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Line:
    return load_line(DEMO)


def test_demo_line_basics(demo: Line) -> None:
    assert demo.id == "L2"
    assert len(demo.stations) == 23
    assert [s.id for s in demo.stations] == [f"S{i:02d}" for i in range(1, 24)]
    assert 23.0 <= demo.stations[-1].km - demo.stations[0].km <= 24.2
    gaps = [b.km - a.km for a, b in zip(demo.stations, demo.stations[1:], strict=False)]
    assert all(0.7 - 1e-9 <= g <= 1.6 + 1e-9 for g in gaps)
    assert (demo.train.cars, demo.train.length_m) == (6, 120.0)
    assert all(len(s.platforms) == 2 for s in demo.stations)
    assert all(s.name_zh and s.name_en for s in demo.stations)
    for station in demo.stations:
        assert station.x == 100 * int(station.id[1:])


def test_demo_line_sections_follow_the_chainage(demo: Line) -> None:
    for track, prefix in ((0.0, "D"), (30.0, "U")):
        main = [s for s in demo.sections if s.kind is TrackKind.MAIN and s.y0 == s.y1 == track]
        assert all(s.id.startswith(("P" + prefix, prefix)) for s in main)
        between = sum(s.length_m for s in main if 100 <= (s.x0 + s.x1) / 2 <= 2300)
        # S01 to S23 centre to centre, plus the outer halves of the two end platforms
        assert between == pytest.approx(23_600 + 140, abs=1)
    assert all(s.length_m == 140 for s in demo.sections if s.id.startswith(("PD", "PU")))


def test_demo_line_is_connected(demo: Line) -> None:
    start = demo.sections[0].id
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in demo.neighbours(queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    assert seen == set(demo.section_by_id)


def test_demo_line_crossovers_and_depot(demo: Line) -> None:
    crossovers = [s.id for s in demo.sections if s.kind is TrackKind.CROSSOVER]
    assert len(crossovers) >= 5  # both terminals + S06, S12, S18
    for cx in crossovers:
        assert len([sw for sw in demo.switches if sw.reverse == cx]) == 2
    kinds = {s.id: s.kind for s in demo.sections}
    depot_switches = [
        sw
        for sw in demo.switches
        if TrackKind.DEPOT in (kinds[sw.root], kinds[sw.normal], kinds[sw.reverse])
    ]
    assert len(depot_switches) == 2
    depot_tracks = {s.id for s in demo.sections if s.kind is TrackKind.DEPOT and s.y0 == s.y1}
    assert len(depot_tracks) == 2


def test_demo_line_zones_cover_every_device_once(demo: Line) -> None:
    assert 5 <= len(demo.zones) <= 8
    listed_switches = [sw for z in demo.zones for sw in z.switches]
    listed_signals = [sig for z in demo.zones for sig in z.signals]
    assert sorted(listed_switches) == sorted(demo.switch_by_id)
    assert sorted(listed_signals) == sorted(demo.signal_by_id)
    stations = [st for z in demo.zones for st in z.stations]
    assert stations == [s.id for s in demo.stations]  # contiguous, in order, no overlap
    for zone in demo.zones:
        assert zone.name_zh and zone.name_en
        assert all(demo.zone_of_device(d) == zone.id for d in (*zone.switches, *zone.signals))


def _turnbacks(demo: Line, tail: str, platform: str) -> list[Route]:
    entry_signals = {s.id for s in demo.signals if s.section == tail}
    return [
        r
        for r in demo.routes
        if r.entry in entry_signals
        and r.sections[-1] == platform
        and any(demo.section_by_id[s].kind is TrackKind.CROSSOVER for s in r.sections)
        and [s.position for s in r.switches] == [SwitchLeg.REVERSE, SwitchLeg.REVERSE]
    ]


def test_demo_line_turnback_routes(demo: Line) -> None:
    # S23: down platform -> tail TD23 through A normal, then back over the crossover.
    into_tail = [r for r in demo.routes if r.sections == ("D23X", "TD23")]
    assert len(into_tail) == 1
    assert into_tail[0].switches[0].position is SwitchLeg.NORMAL
    (east,) = _turnbacks(demo, "TD23", "PU23")
    assert east.sections == ("C23", "U23X", "PU23")
    assert demo.signal_by_id[east.entry].direction is Direction.UP
    # S01, mirrored: up platform -> tail TU01, then over C01 into the down platform.
    assert any(r.sections == ("U01X", "TU01") for r in demo.routes)
    (west,) = _turnbacks(demo, "TU01", "PD01")
    assert west.sections == ("C01", "D01X", "PD01")
    assert demo.signal_by_id[west.entry].direction is Direction.DOWN
    # and the intermediate crossovers can turn a down train back too
    for n in ("06", "12", "18"):
        assert any(r.sections == (f"C{n}", f"U{n}X", f"PU{n}") for r in demo.routes)


@pytest.mark.parametrize("direction", [Direction.DOWN, Direction.UP])
def test_demo_line_through_routes(demo: Line, direction: Direction) -> None:
    """Plain routes (all switches normal) chain platform to platform along each track."""
    plain = {
        r.entry: r
        for r in demo.routes
        if all(s.position is SwitchLeg.NORMAL for s in r.switches)
        and demo.signal_by_id[r.entry].direction is direction
        and all(demo.section_by_id[s].kind is TrackKind.MAIN for s in r.sections)
    }
    prefix, order = (
        ("PD", range(1, 24)) if direction is Direction.DOWN else ("PU", range(23, 0, -1))
    )
    first, *rest = [f"{prefix}{n:02d}" for n in order]
    signal = next(s.id for s in demo.signals if s.section == first and s.direction is direction)
    visited: list[str] = []
    while signal in plain:
        route = plain[signal]
        visited.extend(s for s in route.sections if s.startswith(prefix))
        signal = route.exit
    assert visited == rest


def test_demo_line_signals_stand_at_the_forward_end(demo: Line) -> None:
    for sig in demo.signals:
        sec = demo.section_by_id[sig.section]
        end = (sec.x1, sec.y1) if sig.direction is Direction.DOWN else (sec.x0, sec.y0)
        assert (sig.x, sig.y) == end, sig.id
        assert sig.id[0] == ("X" if sig.direction is Direction.DOWN else "S")
    for route in demo.routes:
        assert route.id.startswith(f"R_{route.entry}_{route.exit}")
        assert len(route.sections) <= 8


def test_generator_reproduces_the_committed_file(tmp_path: Path) -> None:
    out = tmp_path / "demo-line.yaml"
    subprocess.run([sys.executable, str(GENERATOR), str(out)], check=True, capture_output=True)
    assert out.read_bytes() == DEMO.read_bytes()
    assert DEMO.read_text(encoding="utf-8").startswith("# GENERATED FILE")
