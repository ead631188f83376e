"""How the window names things: a train by its number, never by its internal id.

Commands, locks and alarms name a train ``train:<id>`` (its unit id, stable for
its life); a dispatcher knows it by its train number (车次号, which changes each
trip). :func:`train_name` is the one place a train is named for display: dialogs,
the command log, tooltips, find and the alarm list call it. A device that is not
a train is named by its id (W0602, SD0607a), which is what the schematic shows.

What the interlocking will refuse, foreseen from the state
(:mod:`app.model.foresee`), is said here in the user's language by code.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QCoreApplication

from app.model.commands import parse_train_device
from app.model.foresee import Foreseen, ForeseenCode
from app.model.state import TrainState

translate = QCoreApplication.translate


def train_name(train_id: int | None, trains: Mapping[int, TrainState]) -> str:
    """ "train 0101" for a train reported now; "unit 5 (not reported)" for one that is
    not (its number is unknown, and the unit id is all there is)."""
    train = trains.get(train_id) if train_id is not None else None
    if train is not None and train.number:
        return translate("Names", "train {0}").format(train.number)
    return translate("Names", "unit {0} (not reported)").format(
        train_id if train_id is not None else "?"
    )


def device_name(device: str, trains: Mapping[int, TrainState]) -> str:
    """A command's or an alarm's device as the dispatcher knows it: a train by its number
    (``train:5`` → "train 0501"), anything else by its id."""
    train_id = parse_train_device(device)
    if train_id is None:
        return device
    return train_name(train_id, trains)


def position_word(position: str) -> str:
    return {
        "normal": translate("Names", "normal"),
        "reverse": translate("Names", "reverse"),
        "moving": translate("Names", "moving"),
        "lost": translate("Names", "lost"),
    }.get(position, position)


def foreseen_text(foreseen: Foreseen, trains: Mapping[int, TrainState]) -> str:
    """What the interlocking will refuse, in the user's language."""
    p = dict(foreseen.params)
    if "position" in p:
        p["position"] = position_word(p["position"])
    if "device" in p:
        p["device"] = device_name(p["device"], trains)
    template = {
        ForeseenCode.SWITCH_LOCKED: translate(
            "Names", "switch {switch} is single-locked {position} (单锁)"
        ),
        ForeseenCode.ROUTE_LOCKED: translate("Names", "switch {switch} is locked by route {route}"),
        ForeseenCode.SECTION_OCCUPIED: translate("Names", "section {section} is occupied"),
        ForeseenCode.SWITCH_MOVING: translate("Names", "switch {switch} is moving"),
        ForeseenCode.SWITCH_LOST: translate("Names", "switch {switch} has lost its position"),
        ForeseenCode.ROUTE_SET: translate("Names", "route {route} is already set"),
        ForeseenCode.SIGNAL_CLOSED: translate("Names", "signal {signal} is closed (封闭)"),
        ForeseenCode.SECTION_LOCKED: translate(
            "Names", "section {section} is locked by route {route}"
        ),
        ForeseenCode.ROUTE_NOT_SET: translate("Names", "route {route} is not set"),
        ForeseenCode.ROUTE_IN_USE: translate("Names", "a train is in route {route}"),
        ForeseenCode.NO_TRAIN: translate("Names", "{device} is no longer reported"),
        ForeseenCode.NOT_STOPPED: translate("Names", "train {number} is moving"),
    }[foreseen.code]
    return template.format_map(p)
