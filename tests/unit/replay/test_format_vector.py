"""The black box's format 1, frozen: one body of every kind, as msgpack, in
``tests/data/blackbox-format-1.json``. The bodies are made of the live types (the line
state, links, commands, alarms): a change to one of them changes what is on disk.
Old recordings must still read (decoding the vector gives the bodies) and a change
must be deliberate (encoding the bodies gives the vector): bump ``VERSION`` and keep
a reader for the old one, then regenerate with ``UPDATE_VECTORS=1``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec

from app.alarms.records import AlarmEvent, EventType, Priority
from app.alarms.rows import AlarmRow, ListFrame
from app.alarms.states import AlarmState
from app.comms.linkstate import LinkInfo, LinkState
from app.control.pipeline import CommandRecord, Intent
from app.model.commands import CommandOp, CommandResult, Outcome
from app.model.refusal import Refusal, RefusalCode
from app.model.state import (
    Aspect,
    RouteState,
    RouteStatus,
    SectionState,
    SignalState,
    StateDelta,
    StateSnapshot,
    SwitchPosition,
    SwitchState,
    TrainState,
)
from app.model.topology import Direction
from app.protocol.messages import Actuals
from app.replay.format import (
    VERSION,
    ActualsBody,
    AlarmBody,
    ClipEnd,
    CommandBody,
    DeltasBody,
    EndBody,
    InvalidBody,
    KeyframeBody,
    Kind,
    LinksBody,
    LocalAlarmBody,
    LocalEventBody,
    MasterBody,
    Meta,
    SnapshotBody,
    TrainsBody,
    decode,
)
from app.session.election import MasterView
from app.session.health import LocalAlarm
from app.timetable.actuals import Actual, ActualKind

VECTOR = Path(__file__).resolve().parents[2] / "data" / f"blackbox-format-{VERSION}.json"
T = 1_800_000_000_000


def bodies() -> dict[Kind, Any]:
    train = TrainState(7, "01007", "S0101", 12.5, 40.0, Direction.UP, since_ms=T)
    snap = StateSnapshot(
        seq=3,
        sections=(SectionState("S0101", True, "R1", False, T),),
        switches=(SwitchState("W1", SwitchPosition.REVERSE, "R1", False, T, True),),
        signals=(SignalState("X1", Aspect.PROCEED, T, False),),
        routes=(RouteState("R1", RouteStatus.SET, T),),
        trains=(train,),
        time_ms=T,
        service_date="2027-01-15",
        service_ms=36_000_000,
    )
    event = AlarmEvent(
        "A1", EventType.RAISE, "W1", "ST1", "Z1", Priority.HIGH, "switch_lost", "ALM-SW-001",
        "道岔失表", "switch lost", T, T, True, False,
    )  # fmt: skip
    link = LinkInfo("A@127.0.0.1:1", "A", "127.0.0.1", 1, LinkState.UP, "master", 2, 1.5)
    master = MasterView("B", 2, (("B", 2),))
    local = LocalAlarm("no_redundancy", "no redundancy", True, T, (("server", "A"),), T, 2)
    intent = Intent("W1", CommandOp.THROW_REVERSE, "Z1", "key-1", T)
    result = CommandResult("c1", "W1", CommandOp.THROW_REVERSE, Outcome.REFUSED, "locked")
    refusal = Refusal(RefusalCode.REPLAY)
    rows = (AlarmRow(event, AlarmState.UNACK_ACTIVE, T, AlarmState.UNACK_ACTIVE),)
    frame = ListFrame(rows, (("A1",), (), (), ()), (), 9, "A", (T,), False)
    actual = Actual("01007", 2, "ST1", "ST1-1", ActualKind.DEPART, 36_030_000, 36_000_000, 7)
    return {
        Kind.META: Meta("demo", "abc", "WS-01", "wang", "dispatcher", T, "Asia/Shanghai"),
        Kind.KEYFRAME: KeyframeBody(
            "A", True, snap, "2027-01-15", 36_000_000, 250, frame, (local,), (link,), master
        ),
        Kind.SNAPSHOT: SnapshotBody("A", snap),
        Kind.DELTAS: DeltasBody(
            "A", (StateDelta(4, trains=(train,), routes_released=("R1",), time_ms=T),)
        ),
        Kind.TRAINS: TrainsBody((train,)),
        Kind.INVALID: InvalidBody("A"),
        Kind.ACTUALS: ActualsBody("A", Actuals("2027-01-15", "demo@abc", (actual,))),
        Kind.ALARM: AlarmBody("alarms.20270115", 42, b'{"v":1}'),
        Kind.LOCAL_ALARM: LocalAlarmBody(local),
        Kind.LINKS: LinksBody((link,)),
        Kind.MASTER: MasterBody("A", master, True),
        Kind.COMMAND: CommandBody(
            CommandRecord(intent, result, 7, T, T + 9, refusal=refusal), "wang", "WS-01"
        ),
        Kind.END: EndBody(12),
        Kind.LOCAL_EVENT: LocalEventBody(event),
        Kind.CLIP_END: ClipEnd(13, "00" * 32, T, T + 60_000),
    }


def test_every_kind_is_in_the_vector() -> None:
    assert set(bodies()) == set(Kind)


def test_format_1_reads_and_writes_as_frozen() -> None:
    made = {k.name: msgspec.msgpack.encode(b).hex() for k, b in bodies().items()}
    if os.environ.get("UPDATE_VECTORS") or not VECTOR.exists():
        VECTOR.write_text(json.dumps(made, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    frozen: dict[str, str] = json.loads(VECTOR.read_text(encoding="utf-8"))
    for kind, body in bodies().items():
        assert decode(kind, bytes.fromhex(frozen[kind.name]), "vector") == body, kind.name
    assert made == frozen  # a change of a body on disk: a new format version
