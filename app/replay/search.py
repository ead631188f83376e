"""Search the day: the events of a recording that match a query, in time order.

What a search finds (:class:`Hit`, its ``kind``):

- ``alarm``: an alarm change read from the day's topic (``ALARM``, its snapshots left
  out: they repeat states, they are no events) and an event of one of the
  workstation's own alarms (``LOCAL_EVENT``);
- ``command``: a command's outcome, as audited (``COMMAND``), with the recording
  dispatcher; its station from the line's topology when a line is given;
- ``failover`` / ``master``: the followed server changed (``MASTER``), a switchover
  or not;
- ``local_alarm``: an alarm the workstation raised or cleared itself (``LOCAL_ALARM``);
- ``link``: a link whose state changed since the previous ``LINKS`` record (one hit
  per link that changed).

A time range is found in the index (bisection), so a narrow one decodes only its
own records; kinds not asked for are not decoded either. ``text`` matches
case-insensitively anywhere in the hit's text (both languages of an alarm's text).

Sans-I/O beyond the recording itself: no Qt, no loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.alarms.records import AlarmEvent, decode_record
from app.alarms.records import RecordError as AlarmRecordError
from app.comms.linkstate import LinkInfo
from app.model.topology import Line
from app.replay.format import (
    AlarmBody,
    CommandBody,
    Kind,
    LinksBody,
    LocalAlarmBody,
    LocalEventBody,
    MasterBody,
    RecordError,
)
from app.replay.store import Recording

#: the kinds of hits, and the kinds of records each is found in
HIT_KINDS: dict[str, frozenset[Kind]] = {
    "alarm": frozenset({Kind.ALARM, Kind.LOCAL_EVENT}),
    "command": frozenset({Kind.COMMAND}),
    "failover": frozenset({Kind.MASTER}),
    "master": frozenset({Kind.MASTER}),
    "local_alarm": frozenset({Kind.LOCAL_ALARM}),
    "link": frozenset({Kind.LINKS}),
}


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for; an empty field matches anything.

    ``start_ms``/``end_ms``: the records' times, both ends included (None: open);
    ``device``, ``station``, ``dispatcher``: exact (case-insensitive); ``kinds``: of
    :data:`HIT_KINDS`; ``text``: a case-insensitive substring of the hit's text.
    """

    start_ms: int | None = None
    end_ms: int | None = None
    device: str = ""
    station: str = ""
    dispatcher: str = ""
    kinds: frozenset[str] = frozenset()
    text: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    """One event found: when, which record (its number in the recording), what."""

    time_ms: int
    index: int
    kind: str
    device: str
    station: str
    dispatcher: str
    text: str


def check_kinds(kinds: Iterable[str]) -> None:
    """ValueError naming the kinds that are not hit kinds."""
    unknown = sorted(set(kinds) - HIT_KINDS.keys())
    if unknown:
        raise ValueError(f"unknown kind {', '.join(unknown)}; the kinds are {', '.join(HIT_KINDS)}")


def station_of_device(line: Line, device: str) -> str:
    """The station a switch, a signal, a route (its entry signal) or a section lies
    at, from the line's topology; "" when none is known."""
    section: str | None = None
    if device in line.switch_by_id:
        section = line.switch_by_id[device].root
    else:
        if device in line.route_by_id:
            device = line.route_by_id[device].entry
        if device in line.signal_by_id:
            section = line.signal_by_id[device].section
        elif device in line.section_by_id:
            section = device
    if section is None:
        return ""
    sec = line.section_by_id.get(section)
    return (sec.station or "") if sec is not None else ""


def search(recording: Recording, query: Query, line: Line | None = None) -> list[Hit]:
    """The hits of ``recording`` matching ``query``, in time order.

    ``line``: the recording's line, to give commands their station (without it a
    command's station is ""). ValueError on a kind that is not a hit kind; a record
    that does not decode is skipped (the recording's own damage is
    :attr:`Recording.damage`).
    """
    check_kinds(query.kinds)
    wanted = query.kinds or frozenset(HIT_KINDS)
    record_kinds = frozenset().union(*(HIT_KINDS[k] for k in wanted))
    start = 0 if query.start_ms is None else recording.first_at_or_after(query.start_ms)
    end = len(recording) if query.end_ms is None else recording.first_at_or_after(query.end_ms + 1)
    device = query.device.casefold()
    station = query.station.casefold()
    dispatcher = query.dispatcher.casefold()
    text = query.text.casefold()
    stations: dict[str, str] = {}
    links = _links_before(recording, start) if Kind.LINKS in record_kinds else {}

    def keep(hit: Hit) -> bool:
        return (
            hit.kind in wanted
            and (not device or hit.device.casefold() == device)
            and (not station or hit.station.casefold() == station)
            and (not dispatcher or hit.dispatcher.casefold() == dispatcher)
            and (not text or text in hit.text.casefold())
        )

    out: list[Hit] = []
    kinds = recording.index.kinds
    wanted_ints = frozenset(int(k) for k in record_kinds)
    restarts = frozenset({int(Kind.META)}) if Kind.LINKS in record_kinds else frozenset()
    for i in range(start, end):
        if kinds[i] in restarts:  # a new run (the HMI restarted): its links start afresh
            links = {}
            continue
        if kinds[i] not in wanted_ints:
            continue
        try:
            body = recording.body(i)
        except RecordError:
            continue
        t = recording.time(i)
        found: list[Hit] = []
        if isinstance(body, AlarmBody):
            event = _alarm_event(body)
            if event is not None:
                found.append(_event_hit(t, i, event))
        elif isinstance(body, LocalEventBody):
            found.append(_event_hit(t, i, body.event))
        elif isinstance(body, CommandBody):
            found.append(_command_hit(t, i, body, line, stations))
        elif isinstance(body, MasterBody):
            found.append(_master_hit(t, i, body))
        elif isinstance(body, LocalAlarmBody):
            a = body.alarm
            said = "raised" if a.active else "cleared"
            found.append(
                Hit(t, i, "local_alarm", a.param("device"), a.param("station"), "",
                    f"{a.code} {said}: {a.text}")
            )  # fmt: skip
        elif isinstance(body, LinksBody):
            found.extend(_link_hits(t, i, body.links, links))
        out.extend(h for h in found if keep(h))
    return out


def _alarm_event(body: AlarmBody) -> AlarmEvent | None:
    try:
        rec = decode_record(body.record, f"{body.topic}@{body.offset}")
    except AlarmRecordError:
        return None
    return rec.body if isinstance(rec.body, AlarmEvent) else None


def _event_hit(t: int, i: int, e: AlarmEvent) -> Hit:
    text = f"{e.event.value} {e.code} {e.kind}: {e.text_en} / {e.text_zh}"
    return Hit(t, i, "alarm", e.device, e.station, e.by, text)


def _command_hit(
    t: int, i: int, body: CommandBody, line: Line | None, stations: dict[str, str]
) -> Hit:
    rec = body.record
    intent, result = rec.intent, rec.result
    station = ""
    if line is not None:
        station = stations.get(intent.device, "")
        if intent.device not in stations:
            station = stations[intent.device] = station_of_device(line, intent.device)
    why = str(rec.refusal) if rec.refusal is not None else result.reason
    arg = f" {intent.arg}" if intent.arg else ""
    text = f"{intent.op.value} {intent.device}{arg} (zone {intent.zone}): {result.outcome.value}"
    if why:
        text += f": {why}"
    return Hit(t, i, "command", intent.device, station, body.dispatcher, text)


def _master_hit(t: int, i: int, body: MasterBody) -> Hit:
    view = body.view
    server = view.server or ""
    if body.failover:
        text = (
            f"failover: master {body.old or '-'} lost, following {server or '-'} "
            f"as {view.role} (epoch {view.epoch})"
        )
    else:
        text = f"master: following {server or '-'} as {view.role} (epoch {view.epoch})"
    return Hit(t, i, "failover" if body.failover else "master", server, "", "", text)


def _link_key(link: LinkInfo) -> tuple[str, str]:
    return (link.name, link.server)


def _link_hits(
    t: int, i: int, now: tuple[LinkInfo, ...], before: dict[tuple[str, str], LinkInfo]
) -> list[Hit]:
    out = []
    for link in now:
        key = _link_key(link)
        old = before.get(key)
        if old is None or old.state != link.state:
            was = old.state.value if old is not None else "-"
            text = f"link {link.name} to {link.server} ({link.host}:{link.port}): "
            text += f"{was} -> {link.state.value}"
            if link.last_error:
                text += f": {link.last_error}"
            out.append(Hit(t, i, "link", link.server, "", "", text))
        before[key] = link
    return out


def _links_before(recording: Recording, start: int) -> dict[tuple[str, str], LinkInfo]:
    """The links as they stood before record ``start``: the newest keyframe's, then the
    LINKS records after it (each holds only the links that changed)."""
    kinds = recording.index.kinds
    links, keyframe = int(Kind.LINKS), int(Kind.KEYFRAME)
    i = start - 1
    while i >= 0 and kinds[i] != keyframe:
        i -= 1
    out: dict[tuple[str, str], LinkInfo] = {}
    for j in range(max(i, 0), start):
        if kinds[j] not in (links, keyframe):
            continue
        try:
            body = recording.body(j)
        except RecordError:
            continue
        out.update((_link_key(link), link) for link in body.links)
    return out
