#!/usr/bin/env python3
"""Generate ``demo-line.yaml``: a 23-station, two-track demo metro line.

Run ``python resources/lines/generate_demo_line.py [OUTPUT]``; without OUTPUT it
rewrites ``demo-line.yaml`` next to this script. Standard library + PyYAML only;
the output is deterministic (``tests/unit/config/test_line.py`` checks that the
committed file is exactly what this script writes).

Layout (schematic units; station i sits at x = 100*i):

* DOWN track (S01 -> S23, increasing x) at y = 0, UP track (S23 -> S01) at y = 30.
* Per station and direction a 140 m platform section ``PDnn`` / ``PUnn`` (x-15..x+15).
* Between stations n and m on each track two block sections ``Dnnmma``/``Dnnmmb``
  and ``Unnmma``/``Unnmmb``; ``a`` is the first one in the travel direction
  (so ``Unnmma`` is the half next to station m).
* Every section is written with ``x0 < x1``; ``(x0, y0)`` and ``(x1, y1)`` are its two
  ends, so a diagonal's slope shows in y0/y1. A DOWN train enters a section at
  ``(x0, y0)`` and leaves at ``(x1, y1)``; an UP train the other way round.
* Crossovers ``Cnn`` all have the same orientation: they join the UP track at the
  lower x to the DOWN track at the higher x. Seen from a DOWN train they are
  *trailing*: it passes the DOWN-track switch, stops beyond it, reverses and runs over
  the crossover onto the UP track into the UP platform. That is the turnback at both
  terminals (S23, and S01 mirrored) and at the intermediate crossovers (S06, S12, S18).
* Terminal S23 (x = 2300): ``D23X`` x+15..x+40, switch ``W2301`` (A) at x+40 with root
  tail ``TD23`` (x+40..x+60), normal ``D23X``, reverse ``C23``; ``U23X`` x+15..x+25 is
  the root of ``W2302`` (B) at x+25, normal tail ``TU23`` (x+25..x+60), reverse
  ``C23`` (from (x+25, 30) to (x+40, 0)). S01 is the mirror image (``W0102`` on the UP
  track with root tail ``TU01``, ``W0101`` on the DOWN track with root ``D01X``).
* Intermediate crossover at station k: ``DkX`` x+15..x+40 (normal leg of ``Wk01`` at
  x+40, whose root is the block ``Dk(k+1)a``), ``UkX`` x+15..x+25 (root of ``Wk02`` at
  x+25, normal the block ``Uk(k+1)b``), crossover ``Ck`` from (x+25, 30) to (x+40, 0).
* Depot near S09, on the DOWN-track side (y < 0): switch ``W0901`` at x = 870 on the
  DOWN track (root ``D09X`` towards S09, normal ``D0809b``, reverse the lead ``DL09``),
  throat switch ``W0903`` (root ``DL09``, normal depot track ``DT09A``, reverse
  ``DL09B`` -> ``DT09B``). Trains leave the depot running DOWN into S09 and enter it
  by reversing at S09 (shunt signal ``SPD09``).

Signals stand at the forward end of their section in their direction; a signal's id
is ``X`` (DOWN) or ``S`` (UP) followed by the id of its section: starting signals
``XPD05``/``SPU05``, block signals ``XD0506a``/``SU0506a``, home signals ``XD0809b``
(depot switch) and ``SU0607b`` (crossover), turnback/tail signals ``XTU01``, ``STD23``...
(The short traditional ``S05`` would clash with station ids ``S01..S23``.)
Routes are found by walking the track from every signal (see :func:`walk_routes`)
and are named ``R_<entry>_<exit>``.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "demo-line.yaml"

# (name_zh, name_en) of S01..S23, north to south
STATIONS = [
    ("尖石村", "Jianshicun"),
    ("北营路", "Beiying Lu"),
    ("汾河湾", "Fenhewan"),
    ("柳溪街", "Liuxi Jie"),
    ("青年路", "Qingnian Lu"),
    ("文庙", "Wenmiao"),
    ("钟楼街", "Zhonglou Jie"),
    ("府东街", "Fudong Jie"),
    ("双塔北路", "Shuangta Beilu"),
    ("槐树巷", "Huaishu Xiang"),
    ("五一广场", "Wuyi Guangchang"),
    ("大南门", "Da Nanmen"),
    ("体育路", "Tiyu Lu"),
    ("南内环", "Nanneihuan"),
    ("长风街", "Changfeng Jie"),
    ("学府公园", "Xuefu Gongyuan"),
    ("龙城大街", "Longcheng Dajie"),
    ("晋祠路", "Jinci Lu"),
    ("小店", "Xiaodian"),
    ("电子街", "Dianzi Jie"),
    ("人民南路", "Renmin Nanlu"),
    ("许坦东街", "Xutan Dongjie"),
    ("南桥湾", "Nanqiaowan"),
]
# distance in metres between consecutive station centres (sums to 23.6 km)
GAPS_M = [1120, 860, 1340, 950, 1080, 780, 1210, 1470, 920, 1030, 740]
GAPS_M += [1180, 1290, 880, 1060, 1550, 970, 1110, 810, 1260, 1020, 970]
CROSSOVERS = (6, 12, 18)
DEPOT = 9
# (id, name_zh, name_en, first station, last station)
ZONES = [
    ("Z1", "尖石村折返区", "Jianshicun turnback zone", 1, 3),
    ("Z2", "文庙渡线区", "Wenmiao crossover zone", 4, 7),
    ("Z3", "双塔北路车辆段区", "Shuangta Beilu depot zone", 8, 10),
    ("Z4", "大南门渡线区", "Da Nanmen crossover zone", 11, 15),
    ("Z5", "晋祠路渡线区", "Jinci Lu crossover zone", 16, 20),
    ("Z6", "南桥湾折返区", "Nanqiaowan turnback zone", 21, 23),
]
PLATFORM_M = 140
TAIL_M = 180  # tail tracks hold one 120 m train plus overrun
CROSSOVER_M = 50
MAX_ROUTE = 8
DOWN_Y, UP_Y = 0, 30

Point = tuple[int, int]


@dataclass
class Sec:
    id: str
    kind: str
    length_m: int
    x0: int
    x1: int
    y0: int
    y1: int
    station: str | None = None

    def end(self, direction: str) -> Point:
        """Where a train running in ``direction`` leaves the section."""
        return (self.x1, self.y1) if direction == "down" else (self.x0, self.y0)

    def start(self, direction: str) -> Point:
        return (self.x0, self.y0) if direction == "down" else (self.x1, self.y1)


@dataclass
class Sw:
    id: str
    root: str
    normal: str
    reverse: str
    x: int
    y: int


@dataclass
class Topo:
    sections: dict[str, Sec] = field(default_factory=dict)
    tracks: list[list[str]] = field(default_factory=list)
    switches: list[Sw] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)

    def add(self, track: list[str], sec: Sec) -> None:
        assert sec.id not in self.sections and sec.x0 < sec.x1, sec
        self.sections[sec.id] = sec
        track.append(sec.id)


def sid(n: int) -> str:
    return f"{n:02d}"


def station_x(n: int) -> int:
    return 100 * n


def split(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` metres in proportion to ``weights``; the last part takes the rest."""
    whole = sum(weights)
    parts = [round(total * w / whole) for w in weights[:-1]]
    return [*parts, total - sum(parts)]


def build() -> Topo:
    topo = Topo()
    down: list[str] = []
    up: list[str] = []
    depot: list[str] = []  # depot track B and its throat diagonal: the only depot link
    loose: list[str] = []  # joined to their neighbours by switches only
    topo.tracks = [down, up, depot, loose]
    n_last = len(STATIONS)
    xa, xz = station_x(1), station_x(n_last)

    # west terminal, mirror image of the east one
    topo.add(down, Sec("TD01", "turnback", TAIL_M, xa - 60, xa - 25, DOWN_Y, DOWN_Y, "S01"))
    topo.add(down, Sec("D01X", "main", 30, xa - 25, xa - 15, DOWN_Y, DOWN_Y, "S01"))
    topo.add(up, Sec("TU01", "turnback", TAIL_M, xa - 60, xa - 40, UP_Y, UP_Y, "S01"))
    topo.add(up, Sec("U01X", "main", 60, xa - 40, xa - 15, UP_Y, UP_Y, "S01"))
    topo.switches.append(Sw("W0101", "D01X", "TD01", "C01", xa - 25, DOWN_Y))
    topo.switches.append(Sw("W0102", "TU01", "U01X", "C01", xa - 40, UP_Y))
    crossovers = [Sec("C01", "crossover", CROSSOVER_M, xa - 40, xa - 25, UP_Y, DOWN_Y, "S01")]

    for n in range(1, n_last + 1):
        x, s = station_x(n), f"S{sid(n)}"
        topo.add(down, Sec(f"PD{sid(n)}", "main", PLATFORM_M, x - 15, x + 15, DOWN_Y, DOWN_Y, s))
        topo.add(up, Sec(f"PU{sid(n)}", "main", PLATFORM_M, x - 15, x + 15, UP_Y, UP_Y, s))
        if n == n_last:
            break
        gap = f"{sid(n)}{sid(n + 1)}"
        free = GAPS_M[n - 1] - PLATFORM_M  # track between the two platforms
        if n in CROSSOVERS:  # DOWN switch Wn01 at x+40, UP switch Wn02 at x+25
            d_len = split(free - 80, [25, 20])
            topo.add(down, Sec(f"D{sid(n)}X", "main", 80, x + 15, x + 40, DOWN_Y, DOWN_Y, s))
            topo.add(down, Sec(f"D{gap}a", "main", d_len[0], x + 40, x + 65, DOWN_Y, DOWN_Y))
            topo.add(down, Sec(f"D{gap}b", "main", d_len[1], x + 65, x + 85, DOWN_Y, DOWN_Y))
            u_len = split(free - 40, [40, 20])
            topo.add(up, Sec(f"U{sid(n)}X", "main", 40, x + 15, x + 25, UP_Y, UP_Y, s))
            topo.add(up, Sec(f"U{gap}b", "main", u_len[0], x + 25, x + 65, UP_Y, UP_Y))
            topo.add(up, Sec(f"U{gap}a", "main", u_len[1], x + 65, x + 85, UP_Y, UP_Y))
            topo.switches.append(
                Sw(f"W{sid(n)}01", f"D{gap}a", f"D{sid(n)}X", f"C{sid(n)}", x + 40, DOWN_Y)
            )
            topo.switches.append(
                Sw(f"W{sid(n)}02", f"U{sid(n)}X", f"U{gap}b", f"C{sid(n)}", x + 25, UP_Y)
            )
            crossovers.append(
                Sec(f"C{sid(n)}", "crossover", CROSSOVER_M, x + 25, x + 40, UP_Y, DOWN_Y, s)
            )
        elif n + 1 == DEPOT:
            d = sid(DEPOT)
            d_len = split(free - 40, [35, 20])
            topo.add(down, Sec(f"D{gap}a", "main", d_len[0], x + 15, x + 50, DOWN_Y, DOWN_Y))
            topo.add(down, Sec(f"D{gap}b", "main", d_len[1], x + 50, x + 70, DOWN_Y, DOWN_Y))
            topo.add(down, Sec(f"D{d}X", "main", 40, x + 70, x + 85, DOWN_Y, DOWN_Y, f"S{d}"))
            u_len = split(free, [35, 35])
            topo.add(up, Sec(f"U{gap}b", "main", u_len[0], x + 15, x + 50, UP_Y, UP_Y))
            topo.add(up, Sec(f"U{gap}a", "main", u_len[1], x + 50, x + 85, UP_Y, UP_Y))
            # depot lead from the DOWN track, throat switch, two depot tracks (y < 0)
            topo.switches.append(Sw(f"W{d}01", f"D{d}X", f"D{gap}b", f"DL{d}", x + 70, DOWN_Y))
            topo.switches.append(Sw(f"W{d}03", f"DL{d}", f"DT{d}A", f"DL{d}B", x + 50, -20))
            topo.add(depot, Sec(f"DT{d}B", "depot", 200, x - 20, x + 35, -35, -35))
            topo.add(depot, Sec(f"DL{d}B", "depot", 40, x + 35, x + 50, -35, -20))
            topo.add(loose, Sec(f"DT{d}A", "depot", 220, x - 10, x + 50, -20, -20))
            topo.add(loose, Sec(f"DL{d}", "depot", 120, x + 50, x + 70, -20, DOWN_Y))
        else:
            d_len = split(free, [35, 35])
            topo.add(down, Sec(f"D{gap}a", "main", d_len[0], x + 15, x + 50, DOWN_Y, DOWN_Y))
            topo.add(down, Sec(f"D{gap}b", "main", d_len[1], x + 50, x + 85, DOWN_Y, DOWN_Y))
            topo.add(up, Sec(f"U{gap}b", "main", d_len[1], x + 15, x + 50, UP_Y, UP_Y))
            topo.add(up, Sec(f"U{gap}a", "main", d_len[0], x + 50, x + 85, UP_Y, UP_Y))

    # east terminal: A = W2301 on the DOWN track, B = W2302 on the UP track
    t, st = sid(n_last), f"S{sid(n_last)}"
    topo.add(down, Sec(f"D{t}X", "main", 60, xz + 15, xz + 40, DOWN_Y, DOWN_Y, st))
    topo.add(down, Sec(f"TD{t}", "turnback", TAIL_M, xz + 40, xz + 60, DOWN_Y, DOWN_Y, st))
    topo.add(up, Sec(f"U{t}X", "main", 30, xz + 15, xz + 25, UP_Y, UP_Y, st))
    topo.add(up, Sec(f"TU{t}", "turnback", TAIL_M, xz + 25, xz + 60, UP_Y, UP_Y, st))
    topo.switches.append(Sw(f"W{t}01", f"TD{t}", f"D{t}X", f"C{t}", xz + 40, DOWN_Y))
    topo.switches.append(Sw(f"W{t}02", f"U{t}X", f"TU{t}", f"C{t}", xz + 25, UP_Y))
    crossovers.append(Sec(f"C{t}", "crossover", CROSSOVER_M, xz + 25, xz + 40, UP_Y, DOWN_Y, st))
    for sec in crossovers:
        topo.add(loose, sec)
    topo.switches.sort(key=lambda sw: sw.id)
    add_signals(topo)
    return topo


def add_signals(topo: Topo) -> None:
    def signal(sig_id: str, section: str, direction: str) -> None:
        x, y = topo.sections[section].end(direction)
        topo.signals.append(
            {
                "id": sig_id,
                "zone": zone_of(x),
                "section": section,
                "direction": direction,
                "x": x,
                "y": y,
            }
        )

    special: list[tuple[str, str]] = []
    for sec in topo.sections.values():
        if re.fullmatch(r"PD\d\d|D\d{4}a", sec.id):  # down starting and block signals
            special.append((sec.id, "down"))
        elif re.fullmatch(r"PU\d\d|U\d{4}a", sec.id):  # up starting and block signals
            special.append((sec.id, "up"))
    t, d = sid(len(STATIONS)), sid(DEPOT)
    special += [
        (f"D{sid(DEPOT - 1)}{d}b", "down"),  # home signal of the depot switch
        ("TD01", "down"),  # tail exit towards S01
        ("TD01", "up"),  # buffer end
        ("TU01", "down"),  # turnback over C01
        ("TU01", "up"),  # buffer end
        (f"TD{t}", "down"),  # buffer end
        (f"TD{t}", "up"),  # turnback over the last crossover
        (f"TU{t}", "down"),  # buffer end
        (f"TU{t}", "up"),  # tail exit towards the last station
        (f"PD{d}", "up"),  # shunt signal into the depot
        (f"DT{d}A", "down"),  # depot exit
        (f"DT{d}A", "up"),  # buffer end
        (f"DT{d}B", "down"),  # depot exit
        (f"DT{d}B", "up"),  # buffer end
    ]
    for n in CROSSOVERS:
        gap = f"{sid(n)}{sid(n + 1)}"
        special.append((f"U{gap}b", "up"))  # home signal of the crossover
        special.append((f"D{gap}a", "up"))  # reversing signal: turnback over the crossover
    for section, direction in special:
        signal(("X" if direction == "down" else "S") + section, section, direction)
    topo.signals.sort(
        key=lambda s: (
            s["direction"] != "down",
            s["x"] if s["direction"] == "down" else -s["x"],
            s["y"],
        )
    )


def zone_of(x: float) -> str:
    for zone_id, _, _, first, last in ZONES:
        low = station_x(first) - 50 if first > 1 else float("-inf")
        high = station_x(last) + 50 if last < len(STATIONS) else float("inf")
        if low <= x < high:
            return zone_id
    raise AssertionError(x)


# -- route walking -------------------------------------------------------------


Step = tuple[str, tuple[str, str] | None]  # next section, (switch, position) crossed


def joints(topo: Topo) -> dict[tuple[str, Point], list[Step]]:
    """(section, point on it) -> the sections reachable from it across that point."""
    out: dict[tuple[str, Point], list[Step]] = {}
    for sw in topo.switches:
        p = (sw.x, sw.y)
        for leg, pos in ((sw.normal, "normal"), (sw.reverse, "reverse")):
            for a, b in ((sw.root, leg), (leg, sw.root)):
                a_sec = topo.sections[a]
                assert p in ((a_sec.x0, a_sec.y0), (a_sec.x1, a_sec.y1)), (sw.id, a)
                out.setdefault((a, p), []).append((b, (sw.id, pos)))
    for a, b in links(topo):
        sa, sb = topo.sections[a], topo.sections[b]
        common = {(sa.x0, sa.y0), (sa.x1, sa.y1)} & {(sb.x0, sb.y0), (sb.x1, sb.y1)}
        assert len(common) == 1, (a, b)
        p = common.pop()
        out.setdefault((a, p), []).append((b, None))
        out.setdefault((b, p), []).append((a, None))
    return out


def links(topo: Topo) -> list[tuple[str, str]]:
    by_switch = {
        frozenset((sw.root, leg)) for sw in topo.switches for leg in (sw.normal, sw.reverse)
    }
    out = []
    for track in topo.tracks[:-1]:  # the last one holds the sections with no plain joint
        for a, b in itertools.pairwise(track):
            if frozenset((a, b)) in by_switch:
                continue
            sa, sb = topo.sections[a], topo.sections[b]
            assert (sa.x1, sa.y1) == (sb.x0, sb.y0), (a, b)
            out.append((a, b))
    return out


def walk_routes(topo: Topo) -> list[dict[str, Any]]:
    """From every signal run forward until a section with a same-direction signal."""
    graph = joints(topo)
    signal_at: dict[tuple[str, str], str] = {
        (s["section"], s["direction"]): s["id"] for s in topo.signals
    }
    routes: list[dict[str, Any]] = []
    ids: set[str] = set()

    def forward(section: str, direction: str) -> list[Step]:
        point = topo.sections[section].end(direction)
        steps = graph.get((section, point), [])
        for nxt, _ in steps:  # the next section must be entered at its near end
            assert topo.sections[nxt].start(direction) == point, (section, nxt)
        return steps

    def dfs(
        entry: str, direction: str, at: str, path: list[str], settings: list[tuple[str, str]]
    ) -> None:
        for nxt, crossed in forward(at, direction):
            new_path = [*path, nxt]
            new_settings = [*settings, crossed] if crossed else settings
            if len(new_path) > MAX_ROUTE:
                continue
            exit_signal = signal_at.get((nxt, direction))
            if exit_signal is None:
                dfs(entry, direction, nxt, new_path, new_settings)
                continue
            route_id = f"R_{entry}_{exit_signal}"
            suffix = 2
            while route_id in ids:
                route_id = f"R_{entry}_{exit_signal}_{suffix}"
                suffix += 1
            ids.add(route_id)
            routes.append(
                {
                    "id": route_id,
                    "entry": entry,
                    "exit": exit_signal,
                    "sections": new_path,
                    "switches": [{"switch": sw, "position": pos} for sw, pos in new_settings],
                }
            )

    for sig in topo.signals:
        dfs(sig["id"], sig["direction"], sig["section"], [], [])
    return routes


# -- output --------------------------------------------------------------------


def document(topo: Topo) -> dict[str, Any]:
    km = [0]
    for gap in GAPS_M:
        km.append(km[-1] + gap)
    stations = [
        {
            "id": f"S{sid(n)}",
            "name_zh": zh,
            "name_en": en,
            "km": km[n - 1] / 1000,
            "x": station_x(n),
        }
        for n, (zh, en) in enumerate(STATIONS, start=1)
    ]
    platforms = [
        {
            "id": f"P{sid(n)}{d[0].upper()}",
            "station": f"S{sid(n)}",
            "direction": d,
            "section": f"P{d[0].upper()}{sid(n)}",
        }
        for n in range(1, len(STATIONS) + 1)
        for d in ("down", "up")
    ]
    zone_by_switch = {sw.id: zone_of(sw.x) for sw in topo.switches}
    zones = [
        {
            "id": zid,
            "name_zh": zh,
            "name_en": en,
            "stations": [f"S{sid(n)}" for n in range(first, last + 1)],
            "switches": [sw.id for sw in topo.switches if zone_by_switch[sw.id] == zid],
            "signals": [s["id"] for s in topo.signals if s["zone"] == zid],
        }
        for zid, zh, en, first, last in ZONES
    ]
    return {
        "line": {
            "id": "L2",
            "name_zh": "太原地铁2号线（演示）",
            "name_en": "Demo Line 2",
            "timezone": "Asia/Shanghai",
            "train": {"cars": 6, "length_m": 120, "max_speed_kmh": 80},
            "stations": stations,
            "platforms": platforms,
            "sections": [
                {k: v for k, v in vars(s).items() if v is not None} for s in topo.sections.values()
            ],
            "links": [{"a": a, "b": b} for a, b in links(topo)],
            "switches": [
                {
                    "id": sw.id,
                    "zone": zone_by_switch[sw.id],
                    "root": sw.root,
                    "normal": sw.normal,
                    "reverse": sw.reverse,
                    "x": sw.x,
                    "y": sw.y,
                }
                for sw in topo.switches
            ],
            "signals": topo.signals,
            "routes": walk_routes(topo),
            "zones": zones,
        }
    }


_PLAIN = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^,\[\]{}#:]*")


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


HEADER = """\
# GENERATED FILE - do not edit by hand.
# Written by resources/lines/generate_demo_line.py; to change the demo line, edit
# that script and regenerate with:  python resources/lines/generate_demo_line.py
# Check it with:  dispatcher-hmi --check-config resources/lines/demo-line.yaml
# Schema: docs/configuration.md.
"""

COMMENTS = {
    "stations": "S01..S23 north to south; km = chainage of the station centre",
    "platforms": "one platform per station and direction; Station.platforms is derived from here",
    "sections": "x0 < x1 always; (x0, y0) and (x1, y1) are the two ends (y shows a slope)",
    "links": "plain joints (no switch) between sections",
    "switches": "root continues into normal or reverse; crossovers: UP track at lower x to DOWN",
    "signals": "id = X (down) / S (up) + section id; it stands at the forward end of `section`",
    "routes": "generated by walking forward from every signal to the next same-direction signal",
    "zones": "control zones (岔区): every switch and signal belongs to exactly one",
}


def render(doc: dict[str, Any]) -> str:
    line = doc["line"]
    out = [HEADER, "line:"]
    for key, value in line.items():
        if isinstance(value, list):
            out.append(f"  # {COMMENTS[key]}")
            out.append(f"  {key}:")
            for item in value:
                if key == "zones":
                    first = True
                    for k, v in item.items():
                        out.append(f"    {'- ' if first else '  '}{k}: {flow(v)}")
                        first = False
                else:
                    out.append(f"    - {flow(item)}")
        else:
            out.append(f"  {key}: {flow(value)}")
    text = "\n".join(out) + "\n"
    assert yaml.safe_load(text) == json.loads(json.dumps(doc)), "rendering changed the data"
    return text


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else OUTPUT
    text = render(document(build()))
    target.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
