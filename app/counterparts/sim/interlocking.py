"""A simple interlocking: routes lock sections and switches; locked or occupied points stay put.

The dispatcher's own locks sit on top: a single-locked switch (单锁) is never
thrown, by command nor by a route that needs it to move (a route that needs it
where it lies may still be set); a closed signal (封闭) shows stop and no route
is set from it (a route already set from it stays set, held at stop).

Pure logic over the world's state. Every refusal carries a reason code and a
sentence that the dispatcher reads in the command result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.model.server_reasons import worded
from app.model.state import SwitchPosition
from app.model.topology import Line, Route, SwitchLeg


class Refused(Exception):
    """A command refused: its code, the English sentence, and that sentence as a form of
    :mod:`app.model.server_reasons` with its parameters (a view words it by form)."""

    def __init__(
        self, code: str, reason: str, form: str = "", params: dict[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.form = form
        self.params = params or {}

    @classmethod
    def of(cls, form: str, **params: object) -> Refused:
        """The refusal ``form`` says, with ``params`` (exactly its template's)."""
        code, reason, texts = worded(form, **params)
        return cls(code, reason, form, texts)


@dataclass(frozen=True, slots=True)
class Note:
    """What an executed command notes ("" when nothing): a sentence, as a form too."""

    reason: str = ""
    form: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, form: str, **params: object) -> Note:
        _, reason, texts = worded(form, **params)
        return cls(reason, form, texts)


NOTHING = Note()


@dataclass(slots=True)
class SwitchMachine:
    position: SwitchPosition = SwitchPosition.NORMAL
    target: SwitchLeg | None = None
    done_at: float = 0.0
    route: str = ""
    since: float = 0.0
    locked: bool = False

    def lies(self, leg: SwitchLeg) -> bool:
        """True when the points rest in ``leg`` with no move pending."""
        return self.target is None and self.position.value == leg.value


@dataclass(slots=True)
class SetRoute:
    route: Route
    since: float
    entered: bool = False
    held: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.held and not self.entered


class Interlocking:
    """Route and switch logic. Occupancy is given by the world each step."""

    def __init__(self, line: Line, switch_time_s: float = 3.0) -> None:
        self.line = line
        self.switch_time_s = switch_time_s
        self.switches = {sw.id: SwitchMachine() for sw in line.switches}
        self.section_route: dict[str, str] = {}
        self.routes: dict[str, SetRoute] = {}
        self.occupied: set[str] = set()
        #: signals closed by the dispatcher
        self.closed: set[str] = set()
        #: switches without a position (表示丢失, a fault of the world): no route over them
        self.lost: set[str] = set()
        self._routes_from: dict[str, list[Route]] = {}
        for route in line.routes:
            self._routes_from.setdefault(route.entry, []).append(route)
        for routes in self._routes_from.values():
            routes.sort(key=lambda r: sum(s.position is SwitchLeg.REVERSE for s in r.switches))

    def routes_from(self, signal: str) -> list[Route]:
        """Routes starting at ``signal``, straight ones first."""
        return self._routes_from.get(signal, [])

    def positions(self) -> dict[str, str]:
        return {sid: m.position.value for sid, m in self.switches.items()}

    def switch_sections(self, switch: str) -> tuple[str, str]:
        """The track sections that detect a train over the points: both legs.

        A train standing in the root section waits at the signal before the
        points, so it does not hold them; one that has run through the points
        still has its tail in a leg.
        """
        sw = self.line.switch_by_id[switch]
        return (sw.normal, sw.reverse)

    # -- switches ---------------------------------------------------------------

    def _machine(self, switch: str) -> SwitchMachine:
        machine = self.switches.get(switch)
        if machine is None:
            raise Refused.of("no_switch", switch=switch)
        return machine

    def check_throw(self, switch: str, to: SwitchLeg) -> None:
        machine = self._machine(switch)
        if machine.locked:
            raise Refused.of("switch_locked", switch=switch, position=machine.position.value)
        if machine.route:
            raise Refused.of("switch_in_route", switch=switch, route=machine.route)
        busy = [s for s in self.switch_sections(switch) if s in self.occupied]
        if busy:
            raise Refused.of("switch_occupied", section=busy[0], switch=switch)

    def throw(self, switch: str, to: SwitchLeg, now: float) -> bool:
        """Start moving the points; returns False if they already lie there."""
        self.check_throw(switch, to)
        machine = self.switches[switch]
        if machine.lies(to):
            return False
        machine.position = SwitchPosition.MOVING
        machine.target = to
        machine.done_at = now + self.switch_time_s
        machine.since = now
        return True

    def lock_switch(self, switch: str) -> bool:
        """Single-lock the points where they lie; returns False if already locked.

        Points in motion are refused (``switch_moving``): a lock keeps a position,
        and they have none yet.
        """
        machine = self._machine(switch)
        if machine.locked:
            return False
        if machine.target is not None or machine.position is SwitchPosition.MOVING:
            raise Refused.of("switch_moving", switch=switch)
        machine.locked = True
        return True

    def unlock_switch(self, switch: str) -> bool:
        """Remove the single lock; returns False if the switch was not locked."""
        machine = self._machine(switch)
        if not machine.locked:
            return False
        machine.locked = False
        return True

    # -- signals ----------------------------------------------------------------

    def _check_signal(self, signal: str) -> None:
        if signal not in self.line.signal_by_id:
            raise Refused.of("no_signal", signal=signal)

    def close_signal(self, signal: str) -> bool:
        """Close a signal: it shows stop; returns False if it was closed already."""
        self._check_signal(signal)
        if signal in self.closed:
            return False
        self.closed.add(signal)
        return True

    def reopen_signal(self, signal: str) -> bool:
        """Reopen a closed signal; returns False if it was not closed."""
        self._check_signal(signal)
        if signal not in self.closed:
            return False
        self.closed.discard(signal)
        return True

    # -- routes -----------------------------------------------------------------

    def check_route(self, route: Route) -> None:
        if route.id in self.routes:
            raise Refused.of("route_set", route=route.id)
        if route.entry in self.closed:
            raise Refused.of("signal_closed", signal=route.entry, route=route.id)
        for sec in route.sections:
            if sec in self.occupied:
                raise Refused.of("route_occupied", section=sec, route=route.id)
            holder = self.section_route.get(sec)
            if holder:
                raise Refused.of("section_in_route", section=sec, route=holder)
        for setting in route.switches:
            machine = self.switches[setting.switch]
            if setting.switch in self.lost:
                raise Refused.of("route_switch_lost", route=route.id, switch=setting.switch)
            if machine.route:
                raise Refused.of("switch_in_route", switch=setting.switch, route=machine.route)
            if machine.locked and not machine.lies(setting.position):
                raise Refused.of(
                    "route_switch_locked",
                    route=route.id,
                    switch=setting.switch,
                    needed=setting.position.value,
                    position=machine.position.value,
                )
            if not machine.lies(setting.position):
                busy = [s for s in self.switch_sections(setting.switch) if s in self.occupied]
                if busy:
                    raise Refused.of(
                        "route_switch_occupied", switch=setting.switch, section=busy[0]
                    )

    def set_route(self, route: Route, now: float) -> None:
        self.check_route(route)
        held = []
        for setting in route.switches:
            machine = self.switches[setting.switch]
            if not machine.lies(setting.position):
                machine.position = SwitchPosition.MOVING
                machine.target = setting.position
                machine.done_at = now + self.switch_time_s
                machine.since = now
                held.append(setting.switch)
            machine.route = route.id
        for sec in route.sections:
            self.section_route[sec] = route.id
        self.routes[route.id] = SetRoute(route, now, held=held)

    def cancel_route(self, route_id: str) -> None:
        if route_id not in self.line.route_by_id:
            raise Refused.of("no_route", route=route_id)
        setr = self.routes.get(route_id)
        if setr is None:
            raise Refused.of("route_not_set", route=route_id)
        if setr.entered or any(s in self.occupied for s in setr.route.sections):
            raise Refused.of("route_in_use", route=route_id)
        self._release(setr)

    def _release(self, setr: SetRoute) -> None:
        for sec in setr.route.sections:
            if self.section_route.get(sec) == setr.route.id:
                del self.section_route[sec]
        for setting in setr.route.switches:
            machine = self.switches[setting.switch]
            if machine.route == setr.route.id:
                machine.route = ""
        del self.routes[setr.route.id]

    # -- time -------------------------------------------------------------------

    def step(self, now: float, occupied: set[str]) -> None:
        """Finish switch moves, mark routes entered, release what trains have left."""
        previously = self.occupied
        self.occupied = occupied
        for machine in self.switches.values():
            if machine.target is not None and now >= machine.done_at:
                machine.position = SwitchPosition(machine.target.value)
                machine.target = None
                machine.since = now
        for setr in list(self.routes.values()):
            setr.held = [s for s in setr.held if self.switches[s].target is not None]
            secs = setr.route.sections
            if not setr.entered and secs[0] in occupied:
                setr.entered = True
            if not setr.entered:
                continue
            # Sequential release: a section is freed once the train has cleared it.
            for sec in secs:
                if (
                    self.section_route.get(sec) == setr.route.id
                    and sec in previously
                    and sec not in occupied
                ):
                    del self.section_route[sec]
            # Once the train stands at the exit signal the route has done its work: free
            # the berth section too, so the next movement (or a reversal) can use it.
            remaining = [s for s in secs if self.section_route.get(s) == setr.route.id]
            if not remaining or (remaining == [secs[-1]] and secs[-1] in occupied):
                self._release(setr)

    def signal_clear(self, signal: str) -> Route | None:
        """The route a signal shows proceed for, if any (never while it is closed)."""
        if signal in self.closed:
            return None
        for route in self._routes_from.get(signal, ()):
            setr = self.routes.get(route.id)
            if setr is not None and setr.ready:
                return route
        return None
