"""The alarms not back to normal, by id: raises, clears, acknowledgements, shelves, each
change numbered and emitted once; the standby's mirror of them (``export``/``restore``).

Pure: the clock is passed in, changes go to an ``emit`` callback. Acknowledgements
and shelves follow the same ISA-18.2 rules as the HMI's list (``app.alarms.states``):
a shelve ends unacknowledged while the condition is present, normal once it has
cleared; a shelved alarm cannot be acknowledged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from app.alarms.records import AlarmEvent, EventType, decode_event, event_json
from app.clock import wall_ms
from app.counterparts.sim.alarms.catalogue import (
    KIND_BY_NAME,
    MAX_ACTIVE,
    MAX_SHELVE_MIN,
    PROMOTION_SEQ_GAP,
    AlarmRefused,
)
from app.model.topology import Line

log = logging.getLogger(__name__)


class AlarmManager:
    """Every alarm not back to normal, by id; each change numbered and emitted once."""

    def __init__(
        self,
        line: Line,
        *,
        server: str,
        emit: Callable[[int, AlarmEvent], None],
        clock_ms: Callable[[], int] = wall_ms,
        max_active: int = MAX_ACTIVE,
    ) -> None:
        self.line = line
        self.server = server
        self.emit = emit
        self.clock_ms = clock_ms
        self.max_active = max_active
        self.seq = 0
        self.rows: dict[str, AlarmEvent] = {}  # current state; insertion order = age
        self._by_condition: dict[tuple[str, str], str] = {}  # (kind, device) -> active id
        self.overflow = 0  # raises dropped: the store was full of active alarms
        self.retired = 0  # returned-to-normal alarms retired unacknowledged to make room
        self.shelved: dict[str, int] = {}  # alarm id -> shelved until (wall ms)
        self._stations = sorted(line.stations, key=lambda s: s.x)
        # replication to the standby: what changed since the last export
        self._dirty: dict[str, None] = {}  # ordered: new rows keep their age order
        self._removed: set[str] = set()
        self._exported_seq = 0
        self._full_next = True

    # where things are -----------------------------------------------------------------

    def _near_station(self, x: float) -> str:
        if not self._stations:
            return ""
        return min(self._stations, key=lambda s: abs(s.x - x)).id

    def place(self, kind: str, device: str) -> tuple[str, str]:
        """(station, zone) of a device for an alarm of ``kind``; ("", "") when it has none
        on the line (a link, a server: the caller may name them)."""
        line = self.line
        if device in line.switch_by_id:
            sw = line.switch_by_id[device]
            return self._near_station(sw.x), sw.zone
        if device in line.signal_by_id:
            sig = line.signal_by_id[device]
            return self._near_station(sig.x), sig.zone or ""
        if device in line.section_by_id:
            sec = line.section_by_id[device]
            station = sec.station or self._near_station((sec.x0 + sec.x1) / 2)
            return station, line.zone_of_section(device) or ""
        return "", ""

    # changes --------------------------------------------------------------------------

    def _change(self, ev: AlarmEvent) -> AlarmEvent:
        self.seq += 1
        # a shelved alarm stays until its shelve ends, even once cleared (not one-shot)
        if ev.active or not ev.acked or ev.alarm_id in self.shelved:
            self.rows[ev.alarm_id] = ev
            self._dirty[ev.alarm_id] = None
            self._removed.discard(ev.alarm_id)
        else:
            self.rows.pop(ev.alarm_id, None)
            self.shelved.pop(ev.alarm_id, None)
            if self._by_condition.get((ev.kind, ev.device)) == ev.alarm_id:
                del self._by_condition[(ev.kind, ev.device)]
            self._dirty.pop(ev.alarm_id, None)
            self._removed.add(ev.alarm_id)
        if len(self._dirty) + len(self._removed) > self.max_active:
            # Nobody has exported for long (no standby): send everything next time.
            self._dirty.clear()
            self._removed.clear()
            self._full_next = True
        self.emit(self.seq, ev)
        return ev

    def jump_seq(self, gap: int = PROMOTION_SEQ_GAP) -> None:
        """This server takes over: number on from well past what the old master may
        have produced after its last replica (see :data:`PROMOTION_SEQ_GAP`)."""
        if gap < 0:
            raise ValueError(f"seq gap must be >= 0, got {gap}")
        self.seq += gap
        self._full_next = True  # the partner gets everything from the new master

    def raise_alarm(
        self,
        kind: str,
        device: str,
        *,
        station: str | None = None,
        zone: str | None = None,
        label: str | None = None,
    ) -> AlarmEvent | None:
        """Raise ``kind`` on ``device``; None if that condition is already active or no room."""
        k = KIND_BY_NAME[kind]
        existing = self._by_condition.get((kind, device))
        now = self.clock_ms()
        if existing is not None:
            row = self.rows.get(existing)
            if row is not None and row.active:
                return None
            if row is not None:  # returned to normal (unacknowledged, or shelved): raised again
                return self._change(
                    replace(
                        row,
                        event=EventType.RAISE,
                        event_ms=now,
                        raised_ms=now,
                        active=True,
                        acked=False,
                    )
                )
        if len(self.rows) >= self.max_active and not self._evict():
            self.overflow += 1
            if self.overflow == 1 or self.overflow % 1000 == 0:
                log.error(
                    "alarm store full (%d): %d raises dropped", self.max_active, self.overflow
                )
            return None
        placed_station, placed_zone = self.place(kind, device)
        name = label or device
        ev = AlarmEvent(
            alarm_id=f"{self.server}-{uuid.uuid4().hex[:12]}",
            event=EventType.RAISE,
            device=device,
            station=placed_station if station is None else station,
            zone=placed_zone if zone is None else zone,
            priority=k.priority,
            kind=kind,
            code=k.code,
            text_zh=k.text_zh.format(d=name),
            text_en=k.text_en.format(d=name),
            raised_ms=now,
            event_ms=now,
            active=True,
            acked=False,
        )
        self._by_condition[(kind, device)] = ev.alarm_id
        return self._change(ev)

    def _evict(self) -> bool:
        """Make room for a raise when the store is full.

        Alarms back to normal *and* acknowledged are never kept, so the store holds
        only active or unacknowledged ones. The oldest that returned to normal is
        retired: an ACK record by ``(store full)`` (every HMI sees why it went), counted
        and logged. Active alarms are never retired: then the raise is dropped.
        """
        for aid, row in self.rows.items():
            if not row.active and aid not in self.shelved:  # a shelved one waits for its end
                self._change(
                    replace(
                        row,
                        event=EventType.ACK,
                        event_ms=self.clock_ms(),
                        acked=True,
                        by="(store full)",
                    )
                )
                self.retired += 1
                if self.retired == 1 or self.retired % 1000 == 0:
                    log.warning(
                        "alarm store full (%d): %d alarms back to normal retired unacknowledged",
                        self.max_active,
                        self.retired,
                    )
                return aid not in self.rows
        return False

    def clear(self, alarm_id: str) -> AlarmEvent | None:
        row = self.rows.get(alarm_id)
        if row is None or not row.active:
            return None
        return self._change(
            replace(row, event=EventType.CLEAR, event_ms=self.clock_ms(), active=False, by="")
        )

    def active_conditions(self, kinds: frozenset[str]) -> set[tuple[str, str]]:
        """(kind, device) of every active alarm of one of ``kinds``."""
        out = set()
        for (kind, device), aid in self._by_condition.items():
            row = self.rows.get(aid)
            if kind in kinds and row is not None and row.active:
                out.add((kind, device))
        return out

    def clear_condition(self, kind: str, device: str) -> AlarmEvent | None:
        aid = self._by_condition.get((kind, device))
        return self.clear(aid) if aid is not None else None

    def ack(self, alarm_id: str, by: str) -> str:
        """Acknowledge; "" or a note on an executed no-op. Raises :class:`AlarmRefused`."""
        row = self.rows.get(alarm_id)
        if row is None:
            raise AlarmRefused("unknown_alarm", f"no alarm {alarm_id} is active or unacknowledged")
        if alarm_id in self.shelved:
            # nobody sees it, and it comes back unacknowledged anyway (ISA-18.2)
            raise AlarmRefused("alarm_shelved", f"alarm {alarm_id} is shelved")
        if row.acked:
            return "alarm already acknowledged"
        self._change(replace(row, event=EventType.ACK, event_ms=self.clock_ms(), acked=True, by=by))
        return ""

    def shelve(self, alarm_id: str, by: str, minutes: int) -> str:
        """Shelve for ``minutes`` (1..480); the server unshelves it when the time is up."""
        row = self.rows.get(alarm_id)
        if row is None:
            raise AlarmRefused("unknown_alarm", f"no alarm {alarm_id} is active or unacknowledged")
        if not 1 <= minutes <= MAX_SHELVE_MIN:
            raise AlarmRefused(
                "bad_argument", f"shelve for 1..{MAX_SHELVE_MIN} minutes, not {minutes}"
            )
        now = self.clock_ms()
        until = now + minutes * 60_000
        self.shelved[alarm_id] = until
        self._change(
            replace(row, event=EventType.SHELVE, event_ms=now, by=by, shelved_until_ms=until)
        )
        return ""

    def unshelve_due(self) -> int:
        """Unshelve every alarm whose time is up; how many.

        ISA-18.2: back unacknowledged while the condition is present (nobody has
        seen it since it was shelved), normal (gone from the set) once it cleared.
        """
        now = self.clock_ms()
        due = [aid for aid, until in self.shelved.items() if until <= now]
        for aid in due:
            del self.shelved[aid]
            row = self.rows.get(aid)
            if row is not None:
                self._change(
                    replace(
                        row,
                        event=EventType.UNSHELVE,
                        event_ms=now,
                        acked=not row.active,  # (active, unacked) or (cleared, acked: normal)
                        by="",
                        shelved_until_ms=0,
                    )
                )
        return len(due)

    def snapshot(self) -> list[AlarmEvent]:
        """Every alarm not normal; a shelved one as its SHELVE (what hides it, and until)."""
        out = []
        for aid, row in self.rows.items():
            until = self.shelved.get(aid, 0)
            hidden = until > 0 and row.event is not EventType.SHELVE
            out.append(
                replace(row, event=EventType.SHELVE, shelved_until_ms=until) if hidden else row
            )
        return out

    # replication ----------------------------------------------------------------------

    def export(self, full: bool = True) -> dict[str, Any]:
        """For the standby: every alarm (``full``), or what changed since the last export.

        Like the command guard's results, the master sends the changes every tick
        and everything when the partner (re)connects and now and then; a change
        document names the ``seq`` it starts from (``base``), and a standby that
        does not stand there waits for the next full one.
        """
        full = full or self._full_next
        doc: dict[str, Any] = {"full": full, "base": self._exported_seq, "seq": self.seq}
        if full:
            doc["rows"] = [event_json(r) for r in self.rows.values()]
            doc["shelved"] = dict(self.shelved)
        else:
            changed = [aid for aid in self._dirty if aid in self.rows]
            doc["rows"] = [event_json(self.rows[aid]) for aid in changed]
            doc["removed"] = sorted(self._removed)
            doc["shelved"] = {aid: self.shelved[aid] for aid in changed if aid in self.shelved}
        self._dirty.clear()
        self._removed.clear()
        self._full_next = False
        self._exported_seq = self.seq
        return doc

    def restore(self, doc: dict[str, Any]) -> bool:
        """Mirror the master's export; False (nothing changed) when a change document
        does not start where this copy stands: it then waits for the next full one.

        A document without ``full`` is a full one (the form before changes were sent).
        """
        where = "replica.alarms"
        seq = doc.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError(f"{where}.seq: expected an int >= 0, got {seq!r}")
        shelved_doc = doc.get("shelved", {})
        if not isinstance(shelved_doc, dict):
            raise ValueError(f"{where}.shelved: expected an object")
        shelved = {str(k): int(v) for k, v in shelved_doc.items()}
        rows = [decode_event(d, f"{where}.rows") for d in doc["rows"]]
        if doc.get("full", True):
            self.rows = {}
            self._by_condition = {}
            self.shelved = shelved
        else:
            if doc.get("base") != self.seq:
                return False
            for aid in doc.get("removed", []):
                row = self.rows.pop(str(aid), None)
                self.shelved.pop(str(aid), None)
                if row is not None and self._by_condition.get((row.kind, row.device)) == aid:
                    del self._by_condition[(row.kind, row.device)]
            for ev in rows:
                if ev.alarm_id in shelved:
                    self.shelved[ev.alarm_id] = shelved[ev.alarm_id]
                else:
                    self.shelved.pop(ev.alarm_id, None)
        for ev in rows:
            self.rows[ev.alarm_id] = ev
            self._by_condition[(ev.kind, ev.device)] = ev.alarm_id
        self.seq = seq
        return True
