"""``dispatcher-sim``'s timetable options (docs/timetable.md, "The simulator runs to it"):
the options, the service clock at start, and the plan they make."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta

from app.clock import wall_ms, zone
from app.config import ConfigError
from app.config.timetable import load_timetable
from app.counterparts.sim.timetabled import (
    Incident,
    Perturbations,
    ServicePlan,
    check_incidents,
    parse_incident,
)
from app.model.topology import Line
from app.timetable.times import CHANGEOVER_S, TimeFormatError, parse_service_time


class ServicePlanError(ValueError):
    """The timetable options make no plan: the message says which and why."""


def add_timetable_options(p: argparse.ArgumentParser) -> None:
    """The timetable options, as a group of ``p``'s (their seed is ``--seed``)."""
    t = p.add_argument_group("timetable (docs/timetable.md)")
    t.add_argument(
        "--timetable",
        metavar="FILE",
        default=None,
        help="run the plan's units to this timetable (YAML) instead of the turnback loop "
        "(--trains and --pairs are the loop's: not used with it)",
    )
    t.add_argument(
        "--service-start",
        type=_service_time,
        default=None,
        metavar="HH:MM[:SS]",
        help="the service-day time at start (default: the clock's time of day in the "
        "line's time zone, on the service day)",
    )
    t.add_argument(
        "--service-date",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the service date (default: today's, the day changing over at the "
        "timetable's changeover)",
    )
    t.add_argument(
        "--dwell-spread",
        type=_non_negative,
        default=0.0,
        metavar="S",
        help="a random extra dwell of up to S seconds at each stop (default 0)",
    )
    t.add_argument(
        "--run-spread",
        type=_non_negative,
        default=0.0,
        metavar="PCT",
        help="each run up to PCT %% slower, at random (default 0)",
    )
    t.add_argument(
        "--incident",
        action="append",
        default=[],
        type=_incident,
        metavar="KIND:WHAT@HH:MM+MIN",
        help="stuck:UNIT@HH:MM+MIN (the unit stands still MIN minutes wherever it is) or "
        "block:SECTION@HH:MM+MIN (the section may not be entered); repeatable",
    )


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _service_time(text: str) -> int:
    try:
        return parse_service_time(text)
    except TimeFormatError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def _incident(text: str) -> Incident:
    try:
        return parse_incident(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def service_clock(
    line: Line,
    start_s: int | None,
    service_date: str | None,
    changeover_s: int = CHANGEOVER_S,
    now_ms: int | None = None,
) -> tuple[str, int]:
    """The service date and the service-day second at start: as given, else from the
    wall clock in the line's time zone (before the changeover: the day before's night)."""
    now = datetime.fromtimestamp(
        (now_ms if now_ms is not None else wall_ms()) / 1000, zone(line.timezone)
    )
    clock_s = now.hour * 3600 + now.minute * 60 + now.second
    day = now.date() - timedelta(days=1) if clock_s < changeover_s else now.date()
    if start_s is None:
        start_s = clock_s + 86_400 if clock_s < changeover_s else clock_s
    return (service_date or day.isoformat()), start_s


def service_plan(
    args: argparse.Namespace, line: Line
) -> tuple[ServicePlan | None, tuple[str, float]]:
    """The plan the options make (None: no ``--timetable``) and the service clock at
    start (date, service-day second). Raises :class:`ServicePlanError`."""
    timetable = None
    changeover_s = CHANGEOVER_S
    if args.timetable:
        try:
            timetable = load_timetable(args.timetable, line)
        except ConfigError as exc:
            raise ServicePlanError(str(exc)) from None
        try:
            check_incidents(tuple(args.incident), line, timetable)
        except ValueError as exc:
            raise ServicePlanError(f"--incident {exc}") from None
        changeover_s = timetable.changeover_s
    elif args.incident or args.dwell_spread or args.run_spread:
        raise ServicePlanError("--incident, --dwell-spread and --run-spread need --timetable")
    service_date, start_s = service_clock(
        line, args.service_start, args.service_date, changeover_s, args.clock_start_ms
    )
    if timetable is None:
        return None, (service_date, float(start_s))
    perturb = Perturbations(args.dwell_spread, args.run_spread, tuple(args.incident), args.seed)
    return ServicePlan(timetable, service_date, start_s, perturb), (service_date, float(start_s))
