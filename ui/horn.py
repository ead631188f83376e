"""The alarm horn: a sound per priority, repeated until silenced (``docs/alarms.md``).

Each priority has its own sound (``resources/sounds/priority1.wav`` … ``priority4.wav``,
written by ``resources/sounds/make_sounds.py``), played by QtMultimedia's
:class:`QSoundEffect` in a loop while the horn sounds. The horn sounds the most urgent
priority that is unacknowledged; a more urgent alarm takes it over, acknowledging every
alarm or *Silence horn* stops it.

Where the machine has no audio output (a server without a sound card, CI, the
offscreen platform) nothing can be heard: the horn says so (:attr:`Horn.audible` is
False, :meth:`Horn.status_text`), and the banner flashes instead; it flashes with the
sound too. Which of the two is decided once, at start, from
:meth:`QMediaDevices.audioOutputs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication

from app.alarms.records import Priority
from app.paths import resource_dir

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QSoundEffect

# QtMultimedia is imported where it is first used, after the program's Qt message
# handler is installed: loading it reports the audio back ends it did not find
# (pipewire) on stderr otherwise, past the log; and where no sound can be heard
# (offscreen, CI) it is never loaded at all.

FLASH_MS = 500
#: Platforms that never have a speaker, whatever the machine has.
SILENT_PLATFORMS = frozenset({"offscreen", "minimal", "vnc"})


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)  # lupdate files a bare tr() under ""


def sound_file(priority: Priority) -> QUrl:
    return QUrl.fromLocalFile(str(resource_dir() / "sounds" / f"priority{int(priority)}.wav"))


def audio_output_present() -> bool:
    """Whether a sound can be heard here: an audio output, and a platform with a screen."""
    if QGuiApplication.platformName() in SILENT_PLATFORMS:
        return False
    from PySide6.QtMultimedia import QMediaDevices  # noqa: PLC0415 (see above)

    return bool(QMediaDevices.audioOutputs())


class Horn(QObject):
    """Sounds one priority's sound in a loop until :meth:`stop`; ``audible``: None
    decides from the machine (:func:`audio_output_present`). ``flash`` turns on and off
    every :data:`FLASH_MS` while it sounds (the banner follows it), and off at the end."""

    changed = Signal()
    flash = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, audible: bool | None = None) -> None:
        super().__init__(parent)
        self.audible = audio_output_present() if audible is None else audible
        self.sounding: Priority | None = None
        self.effects: dict[Priority, QSoundEffect] = {}
        self.flash_on = False
        self._flash = QTimer(self)
        self._flash.setInterval(FLASH_MS)
        self._flash.timeout.connect(self._toggle_flash)
        if self.audible:
            from PySide6.QtMultimedia import QSoundEffect  # noqa: PLC0415 (see above)

            for p in Priority:
                effect = QSoundEffect(self)
                effect.setSource(sound_file(p))
                effect.setLoopCount(QSoundEffect.Loop.Infinite.value)
                effect.setVolume(1.0)
                self.effects[p] = effect

    def sound(self, priority: Priority) -> None:
        """Sound ``priority``'s pattern (a more urgent one than what sounds takes over,
        a less urgent one changes nothing while the horn sounds)."""
        if self.sounding is not None and self.sounding <= priority:
            return
        self._play(priority)

    def follow(self, priority: Priority) -> None:
        """While sounding: sound ``priority`` from now on (the most urgent unacknowledged
        one changed, e.g. the critical alarm was acknowledged)."""
        if self.sounding is not None and self.sounding != priority:
            self._play(priority)

    def _play(self, priority: Priority) -> None:
        if self.sounding is not None and self.sounding in self.effects:
            self.effects[self.sounding].stop()
        if self.sounding is None:
            self._flash.start()
        self.sounding = priority
        effect = self.effects.get(priority)
        if effect is not None:
            effect.play()
        self.changed.emit()

    def stop(self) -> Priority | None:
        """Stop; what was sounding (None: nothing)."""
        was = self.sounding
        for effect in self.effects.values():
            effect.stop()
        self.sounding = None
        self._flash.stop()
        if self.flash_on:
            self.flash_on = False
            self.flash.emit(False)
        if was is not None:
            self.changed.emit()
        return was

    def _toggle_flash(self) -> None:
        self.flash_on = not self.flash_on
        self.flash.emit(self.flash_on)

    def status_text(self) -> str:
        if self.sounding is None:
            return tr("horn quiet") if self.audible else tr("horn: no audio device, flashes")
        if self.audible:
            return tr("HORN priority {0}").format(int(self.sounding))
        return tr("HORN priority {0} (no audio device: flashing)").format(int(self.sounding))
