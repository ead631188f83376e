"""Memory diagnostics: what a running workstation holds, recorded every N minutes,
and ``diagnose FILE``: what grew.

Qt-free (the Qt object counts are in ``ui/memdiag_qt.py``). A *record* is one
JSON object per line of the file; each part is a source of its own, so one
that cannot be read (no ``/proc`` on Windows, no glibc) is left out, never an
error:

- ``proc``: the resident set from ``/proc/self/status`` (``rss``, ``anon``,
  ``file``, ``data``, ``threads``), in kB; on Windows the working set and the
  private bytes.
- ``malloc``: the C allocator (glibc): ``mallinfo2`` (bytes in use, free in the
  arenas, mmapped) and ``malloc_info``'s XML summed over the arenas (their
  count, the bytes they took from the system, the free chunks' bytes).
  In use growing is a native leak; free growing while in use holds is
  fragmentation.
- ``py``: Python's heap: ``sys.getallocatedblocks``, the gc's object counts by
  type (top ones), and, while ``tracemalloc`` runs, its traced total and the
  top allocation sites (``file:line``).
- ``qt``: filled by ``ui/memdiag_qt.py``: QObjects by class, graphics items by
  class, Python wrappers of Qt objects by class.
- ``kafka``: the last librdkafka statistics (``statistics.interval.ms``),
  summed to what can grow: the reply queue, the fetch queues, the brokers'
  buffers, the metadata cache.

``dispatcher-cli diagnose`` (:func:`report`) reads a file of records and says,
per series, how much it grew per hour after the warm-up, the slope of each quarter (levelling off or
not), and which part holds the growth.

The parts, each a module of this package: :mod:`~app.memdiag.native` (the
process and the C allocator), :mod:`~app.memdiag.pyheap`, :mod:`~app.memdiag.kafka`,
:mod:`~app.memdiag.record` (taking and reading records), :mod:`~app.memdiag.growth`
(what grew, the report) and :mod:`~app.memdiag.cli` (the programs' options).
"""

from __future__ import annotations

from app.memdiag.cli import (
    add_diagnose_arguments,
    add_program_arguments,
    diagnose_main,
    kafka_statistics_from_args,
    run_diagnose,
)
from app.memdiag.growth import Growth, growth, level_verdict, quarter_slopes, report, slope_per_hour
from app.memdiag.kafka import KafkaStats, kafka_summary
from app.memdiag.native import (
    _glibc,
    malloc_info_xml,
    malloc_state,
    malloc_trim,
    parse_malloc_info,
    proc_maps,
    proc_status,
)
from app.memdiag.pyheap import PythonHeap, pymalloc_stats, python_heap
from app.memdiag.record import RECORD_VERSION, Recorder, read_records

__all__ = [
    "RECORD_VERSION",
    "Growth",
    "KafkaStats",
    "PythonHeap",
    "Recorder",
    "_glibc",
    "add_diagnose_arguments",
    "add_program_arguments",
    "diagnose_main",
    "growth",
    "kafka_statistics_from_args",
    "kafka_summary",
    "level_verdict",
    "malloc_info_xml",
    "malloc_state",
    "malloc_trim",
    "parse_malloc_info",
    "proc_maps",
    "proc_status",
    "pymalloc_stats",
    "python_heap",
    "quarter_slopes",
    "read_records",
    "report",
    "run_diagnose",
    "slope_per_hour",
]
