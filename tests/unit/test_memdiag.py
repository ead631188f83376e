"""Memory diagnostics without Qt: the sources of a record, the record file, and the
report that says what grew (``dispatcher-cli diagnose``)."""

from __future__ import annotations

import ctypes
import io
import json
import mmap
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from app import memdiag

glibc = pytest.mark.skipif(memdiag._glibc() is None, reason="needs glibc")

MALLOC_INFO = """<malloc version="1">
<heap nr="0">
<sizes>
<size from="17" to="32" total="64" count="2"/>
</sizes>
<total type="fast" count="2" size="64"/>
<total type="rest" count="10" size="4000"/>
<system type="current" size="135168"/>
<system type="max" size="135168"/>
<aspace type="total" size="135168"/>
<aspace type="mprotect" size="135168"/>
</heap>
<heap nr="1">
<sizes>
</sizes>
<total type="fast" count="0" size="0"/>
<total type="rest" count="3" size="90000"/>
<system type="current" size="200000"/>
<system type="max" size="250000"/>
<aspace type="total" size="200000"/>
<aspace type="mprotect" size="200000"/>
</heap>
<total type="fast" count="2" size="64"/>
<total type="rest" count="13" size="94000"/>
<total type="mmap" count="4" size="1138688"/>
<system type="current" size="335168"/>
<system type="max" size="385168"/>
<aspace type="total" size="335168"/>
<aspace type="mprotect" size="335168"/>
</malloc>
"""


def test_malloc_info_is_summed_over_the_arenas() -> None:
    got = memdiag.parse_malloc_info(MALLOC_INFO)
    assert got["arenas"] == 2
    assert got["free_fast"] == 64
    assert got["free_rest"] == 94000
    assert got["free_rest_count"] == 13
    assert got["mmap"] == 1138688
    assert got["mmap_count"] == 4
    assert got["system"] == 335168
    assert got["system_max"] == 385168
    assert got["free_top_heap"] == 90000  # arena 1 holds the most free bytes


@glibc
def test_the_allocator_state_sees_native_allocations_and_frees() -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    before = memdiag.malloc_state()
    blocks = [libc.malloc(1000) for _ in range(20_000)]  # 20 MB in small chunks, from an arena
    try:
        during = memdiag.malloc_state()
    finally:
        for b in blocks:
            libc.free(b)
    after = memdiag.malloc_state()
    assert during["in_use"] - before["in_use"] >= 19_000_000
    assert during["in_use"] - after["in_use"] >= 19_000_000
    assert during["arenas"] >= 1
    assert during["system"] >= during["in_use"] - during["mmap"]


def test_proc_status_reads_this_process() -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc")
    got = memdiag.proc_status()
    assert got["rss"] > 1000  # kB
    assert got["anon"] + got["file"] <= got["rss"] + 64
    assert got["threads"] >= 1
    # fresh pages of its own: a bytearray may reuse free memory malloc kept resident
    # (glibc raises its mmap threshold after a big free), and then nothing grows
    grow = mmap.mmap(-1, 30_000_000, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        for i in range(0, len(grow), 4096):
            grow[i] = 1  # touched: resident
        assert memdiag.proc_status()["anon"] - got["anon"] >= 25_000
    finally:
        grow.close()


def test_python_heap_names_the_site_that_allocates() -> None:
    tracemalloc.start(1)
    try:
        before = memdiag.python_heap()
        hoard = [[str(i) * 20] for i in range(50_000)]  # the site of this line
        after = memdiag.python_heap()
    finally:
        tracemalloc.stop()
    assert after["traced"] - before["traced"] > 2_000_000
    sites = {site: size for site, size, _count in after["sites"]}
    here = [s for s in sites if s.endswith("test_memdiag.py:" + str(_line_of("hoard = [")))]
    assert here, sorted(sites)[:10]
    assert sites[here[0]] > 2_000_000
    assert after["types"]["list"] - before["types"].get("list", 0) >= 45_000  # gc-tracked
    del hoard


def _line_of(text: str) -> int:
    for n, line in enumerate(Path(__file__).read_text().splitlines(), 1):
        if text in line and "_line_of" not in line:
            return n
    raise AssertionError(text)


def test_pymalloc_stats_count_arenas() -> None:
    got = memdiag.pymalloc_stats()
    if not got:
        pytest.skip("this Python has no _debugmallocstats")
    hoard = [object() for _ in range(200_000)]  # small objects: pymalloc's
    more = memdiag.pymalloc_stats()
    assert more["block_bytes"] - got["block_bytes"] > 2_000_000
    assert more["arena_bytes"] >= more["block_bytes"]
    del hoard


# -- librdkafka statistics ------------------------------------------------------------

STATS = {
    "name": "rdkafka#consumer-1",
    "replyq": 3,
    "msg_cnt": 0,
    "msg_size": 0,
    "metadata_cache_cnt": 1,
    "brokers": {
        "a:9092/1": {
            "outbuf_cnt": 1,
            "waitresp_cnt": 2,
            "tx": 100,
            "rx": 200,
            "toppars": {"t-0": {}},
        },
        "b:9092/2": {"outbuf_cnt": 0, "waitresp_cnt": 1, "tx": 10, "rx": 20, "toppars": {}},
    },
    "topics": {
        "alarms-2026-12-06": {
            "partitions": {
                "0": {"fetchq_cnt": 40, "fetchq_size": 40_000},
                "-1": {"fetchq_cnt": 0, "fetchq_size": 0},
            }
        }
    },
}


def test_kafka_statistics_are_summed_to_what_holds_memory() -> None:
    got = memdiag.kafka_summary(STATS)
    assert got["replyq"] == 3
    assert got["brokers"] == 2
    assert got["outbuf_cnt"] == 1
    assert got["waitresp_cnt"] == 3
    assert got["tx"] == 110
    assert got["rx"] == 220
    assert got["fetchq_cnt"] == 40
    assert got["fetchq_size"] == 40_000
    assert got["toppars"] == 2
    assert got["toppars_on_brokers"] == 1


def test_the_collector_keeps_the_last_statistics_and_counts_bad_ones() -> None:
    stats = memdiag.KafkaStats()
    assert stats.snapshot() is None
    stats.on_stats("not json")
    stats.on_stats(json.dumps(STATS))
    snap = stats.snapshot()
    assert snap is not None
    assert snap["fetchq_cnt"] == 40
    assert snap["stats_received"] == 1
    assert snap["stats_errors"] == 1


def test_attach_keeps_a_callback_already_there() -> None:
    seen: list[str] = []
    settings: dict[str, Any] = {"stats_cb": seen.append}
    stats = memdiag.KafkaStats()
    stats.attach(settings, 5000)
    assert settings["statistics.interval.ms"] == 5000
    settings["stats_cb"](json.dumps(STATS))
    assert seen and stats.snapshot() is not None


def test_a_real_librdkafka_client_delivers_statistics_to_the_collector() -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    stats = memdiag.KafkaStats()
    conf = stats.attach(
        {
            "bootstrap.servers": "127.0.0.1:9",  # nothing there: statistics come anyway
            "group.id": "memdiag-test",
            "socket.connection.setup.timeout.ms": 1000,
            "log_level": 0,
        },
        100,
    )
    consumer = confluent_kafka.Consumer(conf)
    try:
        deadline = time.monotonic() + 10
        while stats.snapshot() is None and time.monotonic() < deadline:
            consumer.poll(0.1)
    finally:
        consumer.close()
    snap = stats.snapshot()
    assert snap is not None
    assert snap["brokers"] >= 1
    assert snap["stats_errors"] == 0


# -- records and the report ---------------------------------------------------------


def test_a_record_has_every_source_and_a_failing_source_is_named(tmp_path: Path) -> None:
    def broken() -> dict[str, int]:
        raise RuntimeError("boom")

    rec = memdiag.Recorder(tmp_path / "m.jsonl", {"extra": lambda: {"n": 1}, "bad": broken})
    got = rec.write()
    assert got["extra"] == {"n": 1}
    assert got["errors"] == {"bad": "RuntimeError: boom"}
    assert "py" in got
    if memdiag._glibc() is not None:
        assert got["malloc"]["in_use"] > 0
    rec.write()
    with open(tmp_path / "m.jsonl", "a") as f:
        f.write('{"v": 1, "s": 12, "proc": {"rss"')  # a record cut by a crash
    assert len(memdiag.read_records(tmp_path / "m.jsonl")) == 2


def synthetic(
    hours: float,
    rss_per_hour: float,
    *,
    in_use_per_hour: float = 0.0,
    traced_per_hour: float = 0.0,
    free_per_hour: float = 0.0,
    qtimers_per_hour: float = 0.0,
    level_after_h: float | None = None,
    every_s: float = 60.0,
) -> list[dict[str, Any]]:
    """Records as the sampler writes them, with the given growth (MB/h, objects/h)."""
    out = []
    n = int(hours * 3600 / every_s) + 1
    for i in range(n):
        s = i * every_s
        h = s / 3600
        if level_after_h is not None:
            h = min(h, level_after_h)
        wobble = 0.05 * ((i * 7919) % 11 - 5) / 5  # ±0.05 MB of noise
        out.append(
            {
                "v": 1,
                "t": 1.8e9 + s,
                "s": s,
                "proc": {"rss": int((130 + rss_per_hour * h + wobble) * 1000), "threads": 12},
                "malloc": {
                    "in_use": int((40 + in_use_per_hour * h) * 1e6),
                    "free": int((3 + free_per_hour * h) * 1e6),
                    "arenas": 12,
                },
                "py": {
                    "traced": int((30 + traced_per_hour * h) * 1e6),
                    "sites": [["app/session.py:120", int((1 + traced_per_hour * h) * 1e6), 10]],
                    "types": {"dict": 50_000},
                },
                "qt": {
                    "objects_total": 500 + int(qtimers_per_hour * h),
                    "objects": {"QTimer": 10 + int(qtimers_per_hour * h), "QLabel": 40},
                },
            }
        )
    return out


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_native_growth_is_reported_as_native_and_not_levelling_off() -> None:
    text, data = memdiag.report(synthetic(2, 2.5, in_use_per_hour=2.5))
    assert "Verdict: native allocations grow" in text
    rss = data["series"]["proc.rss"]
    assert rss["per_hour"] == pytest.approx(2.5, abs=0.1)
    assert rss["verdict"] == "steady"
    assert len(rss["quarters"]) == 4
    assert all(q == pytest.approx(2.5, abs=0.5) for q in rss["quarters"])


def test_growth_that_levels_off_is_told_apart() -> None:
    _text, data = memdiag.report(synthetic(4, 4.0, in_use_per_hour=4.0, level_after_h=2.0))
    assert data["series"]["proc.rss"]["verdict"] == "levels off"
    text, _data = memdiag.report(synthetic(2, 0.0))
    assert "RSS does not grow" in text


def test_python_growth_names_its_site_and_qt_growth_its_class() -> None:
    text, data = memdiag.report(
        synthetic(2, 3.0, in_use_per_hour=3.0, traced_per_hour=2.8, qtimers_per_hour=120)
    )
    assert "Verdict: Python objects grow" in text
    assert "app/session.py:120" in text
    grown = {g["series"]: g for g in data["growing"]}
    assert grown["qt.objects.QTimer"]["per_hour"] == pytest.approx(120, rel=0.05)
    assert "qt.objects.QLabel" not in grown


def test_fragmentation_is_reported_when_free_bytes_grow_and_in_use_holds() -> None:
    text, _data = memdiag.report(synthetic(2, 2.0, free_per_hour=2.0))
    assert "fragmentation" in text


def test_diagnose_cli_reads_a_file_and_says_what_grew(tmp_path: Path) -> None:
    f = write(tmp_path / "memory.jsonl", synthetic(2, 2.5, in_use_per_hour=2.5))
    out = io.StringIO()
    assert memdiag.diagnose_main([str(f)], out) == 0
    assert "native allocations grow" in out.getvalue()
    assert "proc.rss" in out.getvalue()
    out = io.StringIO()
    assert memdiag.diagnose_main([str(f), "--json", "--warmup", "30"], out) == 0
    data = json.loads(out.getvalue())
    assert data["from_s"] == pytest.approx(1800)
    assert data["series"]["malloc.in_use"]["per_hour"] == pytest.approx(2.5, abs=0.05)
    assert memdiag.diagnose_main([str(tmp_path / "missing.jsonl")], io.StringIO()) == 2


def test_too_few_records_are_said_so(tmp_path: Path) -> None:
    f = write(tmp_path / "m.jsonl", synthetic(0.02, 1.0))
    out = io.StringIO()
    assert memdiag.diagnose_main([str(f)], out) == 0
    assert "at least 3" in out.getvalue()


def test_a_real_recorder_file_shows_a_growing_python_site(tmp_path: Path) -> None:
    tracemalloc.start(1)
    hoard: list[str] = []
    rec = memdiag.Recorder(tmp_path / "m.jsonl")
    try:
        for _ in range(4):
            rec.write()
            hoard.extend(str(i) * 30 for i in range(40_000))  # grows by ~3 MB a record
    finally:
        tracemalloc.stop()
    records = memdiag.read_records(tmp_path / "m.jsonl")
    # the same records, spread over an hour: the growth per hour is per record here
    for i, r in enumerate(records):
        r["s"] = i * 1200.0
    _text, data = memdiag.report(records, warmup=0)
    grown = {g["series"]: g for g in data["growing"]}
    site = [k for k in grown if k.startswith("py.site.") and "test_memdiag.py" in k]
    assert site, sorted(grown)
    assert grown["py.traced"]["per_hour"] > 5
    assert sys.getrefcount(hoard) >= 2
