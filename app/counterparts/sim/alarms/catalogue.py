"""What alarms the simulator raises: each kind's priority, code, texts and rates, and
the limits the manager keeps (``docs/alarms.md``)."""

from __future__ import annotations

from dataclasses import dataclass

from app.alarms.records import MAX_SHELVE_MS, Priority

MAX_ACTIVE = 10_000
MAX_SHELVE_MIN = MAX_SHELVE_MS // 60_000  # a shift; longer requests are refused

#: A server that takes over numbers on from the seq it mirrored plus this, so that a
#: topic never holds the same seq twice although the old master may have produced a
#: few changes (at most a tick's) that never reached the standby.
PROMOTION_SEQ_GAP = 1000


class AlarmRefused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AlarmKind:
    kind: str
    priority: Priority
    code: str
    text_zh: str  # "{d}": the device
    text_en: str
    per_hour: float  # mean raises per hour at rate 1
    mean_duration_s: float  # how long the condition lasts on average


KINDS: tuple[AlarmKind, ...] = (
    AlarmKind(
        "switch_lost",
        Priority.CRITICAL,
        "ALM-SW-001",
        "道岔{d}失去表示",
        "switch {d} lost its position",
        6,
        40,
    ),
    AlarmKind(
        "signal_lamp",
        Priority.HIGH,
        "ALM-SG-001",
        "信号机{d}灯丝断丝",
        "signal {d} lamp failure",
        12,
        120,
    ),
    AlarmKind(
        "section_fault",
        Priority.HIGH,
        "ALM-TC-001",
        "区段{d}故障占用",
        "track section {d} shows a fault occupancy",
        8,
        60,
    ),
    AlarmKind(
        "train_fault",
        Priority.MEDIUM,
        "ALM-TR-001",
        "列车{d}车载设备故障",
        "train {d} on-board fault",
        10,
        90,
    ),
    AlarmKind(
        "link_loss",
        Priority.LOW,
        "ALM-LK-001",
        "与{d}的通信中断",
        "communication with {d} lost",
        4,  # links to other systems at random; a dropped HMI link from the server
        20,
    ),
    AlarmKind(
        "dual_master", Priority.CRITICAL, "ALM-SV-001", "服务器{d}双主", "dual master: {d}", 0, 15
    ),
    # raised by the server from its units' coupling reports, never at random
    AlarmKind(
        "consist_dual_master",
        Priority.HIGH,
        "ALM-CP-001",
        "列车{d}重联双主",
        "consist {d}: two master cabs",
        0,
        30,
    ),
    AlarmKind(
        "consist_no_master",
        Priority.HIGH,
        "ALM-CP-002",
        "列车{d}重联无主",
        "consist {d}: no master cab",
        0,
        30,
    ),
)
KIND_BY_NAME = {k.kind: k for k in KINDS}
