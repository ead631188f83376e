"""What grew: series per hour after the warm-up, the slope of each quarter, the part
that holds the growth, and the report ``dispatcher-cli diagnose`` prints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# -- what grew -------------------------------------------------------------------------

#: series in kB (``proc``) and bytes (``malloc``, ``py`` sizes, ``kafka`` sizes) → MB
_KB_PARTS = ("proc",)
_COUNT_KEYS = {"threads", "arenas", "mmap_count", "free_fast_count", "free_rest_count", "blocks"}


def flatten(rec: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """One record as ``{series: (value, unit)}``; sizes in MB, the rest counts."""
    out: dict[str, tuple[float, str]] = {}
    for part in ("proc", "malloc", "kafka"):
        for key, value in (rec.get(part) or {}).items():
            if not isinstance(value, int | float):
                continue
            name = f"{part}.{key}"
            if part in _KB_PARTS and key != "threads":
                out[name] = (value / 1000, "MB")
            elif (part == "malloc" and key not in _COUNT_KEYS) or (
                part == "kafka" and key in ("msg_size", "fetchq_size")
            ):
                out[name] = (value / 1e6, "MB")
            else:
                out[name] = (float(value), "")
    for name, kb in (rec.get("maps") or {}).items():
        if isinstance(kb, int | float):
            out[f"maps.{name}"] = (kb / 1000, "MB")
    py = rec.get("py") or {}
    for key in ("traced", "traced_peak", "pymalloc_arena_bytes", "pymalloc_block_bytes"):
        if isinstance(py.get(key), int | float):
            out[f"py.{key}"] = (py[key] / 1e6, "MB")
    for key in ("blocks", "gc_objects", "pymalloc_arenas", "gc_frozen"):
        if isinstance(py.get(key), int | float):
            out[f"py.{key}"] = (float(py[key]), "")
    for name, n in (py.get("types") or {}).items():
        out[f"py.type.{name}"] = (float(n), "")
    for site, size, count in py.get("sites") or ():
        out[f"py.site.{site}"] = (size / 1e6, "MB")
        out[f"py.site_count.{site}"] = (float(count), "")
    qt = rec.get("qt") or {}
    for group, counts in qt.items():
        if isinstance(counts, int | float):
            out[f"qt.{group}"] = (float(counts), "")
        elif isinstance(counts, dict):
            for cls, n in counts.items():
                if isinstance(n, int | float):
                    out[f"qt.{group}.{cls}"] = (float(n), "")
    return out


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour (0 for fewer than 2)."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mx) * (v - my) for t, v in points) / var * 3600


def quarter_slopes(points: Sequence[tuple[float, float]]) -> list[float]:
    """The slope per hour of each quarter of the time span (by time, not by count).

    Points on a quarter's boundary count in both neighbours, so that a
    quarter with few records still has a slope."""
    if len(points) < 2:
        return []
    t0, t1 = points[0][0], points[-1][0]
    span = t1 - t0
    if span <= 0:
        return []
    out = []
    for q in range(4):
        lo, hi = t0 + span * q / 4, t0 + span * (q + 1) / 4
        inside = [p for p in points if lo - 1e-9 <= p[0] <= hi + 1e-9]
        if len(inside) < 2:  # widen to the nearest neighbours
            before = [p for p in points if p[0] < lo][-1:]
            after = [p for p in points if p[0] > hi][:1]
            inside = before + inside + after
        out.append(slope_per_hour(inside))
    return out


def level_verdict(quarters: Sequence[float], overall: float, noise: float) -> str:
    """``flat``, ``levels off``, ``steady`` (growth that does not level off),
    ``steepening`` or ``falling``, from the quarter slopes after warm-up."""
    if abs(overall) <= noise and all(abs(q) <= 2 * noise for q in quarters):
        return "flat"
    if overall < -noise:
        return "falling"
    if len(quarters) < 4:
        return "steady"
    first = (quarters[0] + quarters[1]) / 2
    last = (quarters[2] + quarters[3]) / 2
    if last <= max(noise, 0.25 * first):
        return "levels off"
    if last > 1.5 * max(first, noise):
        return "steepening"
    return "steady"


@dataclass(frozen=True)
class Growth:
    series: str
    unit: str
    first: float
    last: float
    per_hour: float
    quarters: tuple[float, ...]
    verdict: str

    def as_json(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "unit": self.unit,
            "first": round(self.first, 4),
            "last": round(self.last, 4),
            "per_hour": round(self.per_hour, 4),
            "quarters": [round(q, 4) for q in self.quarters],
            "verdict": self.verdict,
        }


#: what counts as growth per hour, by unit (MB/h; objects or counts per hour)
NOISE = {"MB": 0.1, "": 1.0}


def growth(
    records: Sequence[Mapping[str, Any]], warmup: float = 0.25
) -> tuple[list[Growth], float, float]:
    """Each series' growth after the warm-up (``warmup`` < 1: that share of the span;
    else seconds). Returns (growths sorted by size, from_s, to_s)."""
    if not records:
        return [], 0.0, 0.0
    t0, t1 = float(records[0]["s"]), float(records[-1]["s"])
    start = t0 + (t1 - t0) * warmup if warmup < 1 else t0 + warmup
    kept = [r for r in records if float(r["s"]) >= start] or list(records[-1:])
    series: dict[str, list[tuple[float, float]]] = {}
    units: dict[str, str] = {}
    for rec in kept:
        for name, (value, unit) in flatten(rec).items():
            series.setdefault(name, []).append((float(rec["s"]), value))
            units[name] = unit
    # a site or type that enters the top list late was there before, smaller: a series
    # seen in fewer than half the records is judged from where it appears
    out = []
    for name, points in series.items():
        unit = units[name]
        noise = NOISE.get(unit, 1.0)
        per_hour = slope_per_hour(points)
        quarters = tuple(quarter_slopes(points))
        out.append(
            Growth(
                name,
                unit,
                points[0][1],
                points[-1][1],
                per_hour,
                quarters,
                level_verdict(quarters, per_hour, noise),
            )
        )
    out.sort(key=lambda g: (g.unit != "MB", -g.per_hour))
    return out, start, t1


def _find(growths: Iterable[Growth], name: str) -> Growth | None:
    return next((g for g in growths if g.series == name), None)


#: the parts that can hold RSS growth: (series, what it is, what its growth means)
PARTS = (
    (
        "malloc.in_use",
        "the C allocator's bytes in use",
        "native allocations grow: a C/C++ leak or a cache in a library (Qt, librdkafka); "
        "see Qt and Kafka below, and run heaptrack for the stacks",
    ),
    (
        "malloc.free",
        "free bytes kept inside the C allocator's arenas",
        "free bytes inside malloc's arenas grow while in use holds: fragmentation",
    ),
    (
        "py.traced",
        "Python objects (tracemalloc)",
        "Python objects grow (see the growing sites below)",
    ),
    (
        "py.pymalloc_block_bytes",
        "Python's small objects (pymalloc blocks)",
        "Python objects grow (see the growing sites below; a full collection frees what "
        "only waits for one)",
    ),
    (
        "proc.file",
        "file-backed pages (libraries, fonts)",
        "pages of mapped files touched for the first time: bounded by the files' sizes",
    ),
    ("malloc.mmap", "blocks mmapped by malloc", "large native blocks grow"),
)


def attribute(growths: Sequence[Growth]) -> list[str]:
    """Plain sentences: which parts hold the RSS growth, largest first."""
    say: list[str] = []
    rss = _find(growths, "proc.rss")
    anon = _find(growths, "proc.anon")
    if rss is not None:
        say.append(
            f"RSS {rss.first:.1f} -> {rss.last:.1f} MB, {rss.per_hour:+.2f} MB/h after warm-up "
            f"({rss.verdict}; quarters {', '.join(f'{q:+.2f}' for q in rss.quarters)})"
        )
    if anon is not None:
        say.append(f"  anonymous memory (heaps, mmaps): {anon.per_hour:+.2f} MB/h ({anon.verdict})")
    found = [(g, text, meaning) for name, text, meaning in PARTS if (g := _find(growths, name))]
    for g, text, _meaning in found:
        say.append(f"  {text}: {g.per_hour:+.2f} MB/h ({g.verdict})")
    if rss is None or rss.per_hour <= NOISE["MB"] or rss.verdict == "levels off":
        say.append("Verdict: RSS does not grow after warm-up.")
        return say
    rate = rss.per_hour
    # tracemalloc's total and pymalloc's blocks measure the same heap: keep the larger
    py = [f for f in found if f[0].series.startswith("py.")]
    if len(py) == 2:
        found.remove(min(py, key=lambda f: f[0].per_hour))
    holders = sorted(
        (f for f in found if f[0].per_hour > max(NOISE["MB"], 0.25 * rate)),
        key=lambda f: -f[0].per_hour,
    )
    if not holders:
        say.append(
            "Verdict: RSS grows outside the allocators' books: memory mapped by a library "
            "itself, or thread stacks; see the mappings below."
        )
    for g, _text, meaning in holders:
        share = min(100, round(100 * g.per_hour / rate))
        say.append(f"Verdict: {meaning} ({g.per_hour:+.2f} MB/h, {share} % of the growth).")
    return say


def report(
    records: Sequence[Mapping[str, Any]], warmup: float = 0.25, top: int = 12
) -> tuple[str, dict[str, Any]]:
    """The text of ``diagnose`` and the same as JSON."""
    if len(records) < 3:
        msg = f"{len(records)} record(s): at least 3 are needed to tell growth"
        return msg, {"records": len(records), "error": msg}
    growths, start, end = growth(records, warmup)
    lines = [
        f"{len(records)} records over {(end - float(records[0]['s'])) / 3600:.2f} h; "
        f"growth measured from {start / 60:.0f} min to {end / 60:.0f} min",
        *attribute(growths),
    ]

    def section(title: str, prefix: str, unit: str) -> None:
        noise = NOISE.get(unit, 1.0)
        rows = [
            g
            for g in growths
            if g.series.startswith(prefix) and g.unit == unit and g.per_hour > noise
        ]
        rows.sort(key=lambda g: -g.per_hour)
        if not rows:
            lines.append(f"{title}: nothing grows")
            return
        lines.append(f"{title}:")
        u = f" {unit}" if unit else ""
        for g in rows[:top]:
            lines.append(
                f"  {g.series[len(prefix) :]:<48} {g.first:>10.2f} -> {g.last:>10.2f}{u}  "
                f"{g.per_hour:+9.2f}{u}/h  {g.verdict}"
            )

    section("Memory series that grow (MB)", "", "MB")
    section("Mappings whose resident memory grows", "maps.", "MB")
    section("Python allocation sites that grow", "py.site.", "MB")
    section("Python objects by type that grow (count)", "py.type.", "")
    section("Qt objects that grow (count)", "qt.", "")
    section("librdkafka figures that grow", "kafka.", "")
    data = {
        "records": len(records),
        "from_s": start,
        "to_s": end,
        "verdict": [s for s in lines if s.startswith("Verdict")],
        "growing": [g.as_json() for g in growths if g.per_hour > NOISE.get(g.unit, 1.0)],
        "series": {
            g.series: g.as_json()
            for g in growths
            if not g.series.startswith(("py.site", "py.type", "qt.")) or g.per_hour > 0
        },
    }
    return "\n".join(lines), data
