"""Quitting is asked, never done at once (Ctrl+Q, File ▸ Quit, the window's close button).

- the desk locked: refused (unlock first);
- no zone held: "Quit the dispatcher workstation?", *Stay* by default;
- zones held: they would fall free. The dispatcher chooses: *Give to who asked and
  quit* (when someone asks for them: each zone asked for is granted to its first
  requester, who is told "you now hold Z1", the others released), *Hand over…* (the
  zone dock, the first held zone selected; nothing quits), *Release and quit* (each
  zone released through its script: every other desk is told "zone Z1 is free:
  released by …" before this one goes), or *Stay*. A zone that lapses because a
  desk stopped is told to the others too (``app/control/zonenews.py``).

Installed by the runtime for a person at the desk (not for scripted runs, which
stop by signal or ``--quit-after``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow, QMessageBox

from app.control.authority import AuthorityRefused, ZoneAuthorityStore, ZoneMode
from ui import style
from ui.desklock import DeskLock
from ui.zones import ZoneDock

log = logging.getLogger(__name__)


class QuitChoice(StrEnum):
    STAY = "stay"
    QUIT = "quit"
    HAND_OVER = "hand_over"
    GRANT_AND_QUIT = "grant_and_quit"
    RELEASE_AND_QUIT = "release_and_quit"


@dataclass(frozen=True, slots=True)
class QuitQuestion:
    held: tuple[str, ...]  # zones this desk holds ("Z1 甲区"), empty: none
    asked: tuple[str, ...]  # who asks for them, to hand over to


class QuitGuard(QObject):
    """The window's close guard (``MainWindow.close_guard``): True lets it close."""

    def __init__(
        self,
        window: QMainWindow,
        store: ZoneAuthorityStore | None,
        dock: ZoneDock | None,
        desk: DeskLock | None = None,
        *,
        show_status: Callable[[str], None],
        log_event: Callable[[str], None],
        ask: Callable[[QuitQuestion], QuitChoice] | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.store = store
        self.dock = dock
        self.desk = desk
        self._show_status = show_status
        self._log_event = log_event
        self.ask = ask or self._ask
        self._released = False  # the zones are given up: the next close goes through
        self.task: asyncio.Task[None] | None = None

    def held(self) -> list[str]:
        if self.store is None:
            return []
        return [
            zone
            for zone, state in sorted(self.store.snapshot().items())
            if state.mode is ZoneMode.EXCLUSIVE and state.holder == self.store.who
        ]

    def __call__(self) -> bool:
        if self._released:
            return True
        if self.desk is not None and self.desk.locked:
            self._show_status(self.tr("The desk is locked: unlock it before quitting"))
            return False
        if self.task is not None and not self.task.done():
            return False  # releasing: the window closes when done
        held = self.held()
        snapshot = self.store.snapshot() if self.store is not None else {}
        names = self.store.line.zone_by_id if self.store is not None else {}
        asked = sorted(
            {r for z in held for r in snapshot[z].requests if self.store and r != self.store.who}
        )
        question = QuitQuestion(
            tuple(f"{z} {names[z].name_zh}" if z in names else z for z in held), tuple(asked)
        )
        choice = self.ask(question)
        if choice is QuitChoice.QUIT:
            return True
        if choice is QuitChoice.HAND_OVER and self.dock is not None and held:
            self.dock.show()
            self.dock.raise_()
            self.dock.select_zone(held[0])
            self._show_status(self.tr("Hand your zones over in Zone control, then quit"))
        elif choice in (QuitChoice.RELEASE_AND_QUIT, QuitChoice.GRANT_AND_QUIT):
            grant = choice is QuitChoice.GRANT_AND_QUIT
            self.task = asyncio.get_running_loop().create_task(self._give_up_and_quit(held, grant))
        return False

    async def _give_up_and_quit(self, zones: list[str], grant: bool) -> None:
        """Each zone granted to its first requester (``grant``) or released; then quit."""
        assert self.store is not None
        for zone in zones:
            state = self.store.snapshot().get(zone)
            askers = [r for r in (state.requests if state else ()) if r != self.store.who]
            try:
                if grant and askers:
                    await self.store.grant(zone, askers[0])
                    self._log_event(self.tr("Zone {0} handed to {1}").format(zone, askers[0]))
                    continue
                await self.store.release(zone)
            except AuthorityRefused as exc:
                log.warning("zone %s not released before quitting: %s", zone, exc.reason)
                self._show_status(
                    self.tr("Zone {0} could not be released: not quitting").format(zone)
                )
                return
            self._log_event(self.tr("Zone {0} released: the other desks are told").format(zone))
        self._released = True
        self.window.close()

    def _ask(self, question: QuitQuestion) -> QuitChoice:
        box = QMessageBox(self.window)
        box.setObjectName("quitQuestion")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("Quit"))
        choices: dict[object, QuitChoice] = {}
        if not question.held:
            box.setText(self.tr("Quit the dispatcher workstation?"))
            quit_button = box.addButton(self.tr("Quit"), QMessageBox.ButtonRole.AcceptRole)
            choices[quit_button] = QuitChoice.QUIT
        else:
            text = self.tr(
                "You hold {0}. If you quit, they become free: every other desk is told, "
                "and nobody commands them until someone takes them."
            ).format(", ".join(question.held))
            if question.asked:
                text += "\n\n" + self.tr("Asking for them: {0}.").format(", ".join(question.asked))
            box.setText(text)
            box.setStyleSheet(f"QLabel {{ color: {style.TEXT_PRIMARY.name()}; }}")
            if question.asked:
                give = box.addButton(
                    self.tr("Give to who asked and quit"), QMessageBox.ButtonRole.AcceptRole
                )
                choices[give] = QuitChoice.GRANT_AND_QUIT
            hand = box.addButton(self.tr("Hand over…"), QMessageBox.ButtonRole.ActionRole)
            release = box.addButton(
                self.tr("Release and quit"), QMessageBox.ButtonRole.DestructiveRole
            )
            choices[hand] = QuitChoice.HAND_OVER
            choices[release] = QuitChoice.RELEASE_AND_QUIT
        stay = box.addButton(self.tr("Stay"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        box.setEscapeButton(stay)
        box.exec()
        return choices.get(box.clickedButton(), QuitChoice.STAY)
