"""The size of the window's texts: the screen's scale, and the dispatcher's own.

Qt follows the screen's scale by itself (high-DPI: the scale factor the desktop
gives, not rounded, Qt 6's ``PassThrough`` policy). A screen the desktop does
not scale (a 4K monitor at 100 %, or X without ``Xft.dpi``) would leave menus
and lists at ~13 px; *View → UI scale* sets the size of every text of the
window's widgets (menus, lists, dialogs) as a factor of the normal size:

- *Automatic* (the default): 1 where the desktop scales already; else the
  screen's size over 1920×1080, in steps of 25 % (a 3840×2160 screen: 200 %);
- 100 %, 125 %, 150 %, 175 %, 200 %.

The choice is kept per user (QSettings ``ui/scale``). It is applied when the
window is built (:func:`apply_saved`, first thing), and a change at once to
every widget that follows the application's font (a few with a font of their
own, the header's title, follow at the next start). The schematic is drawn to
fit its view and is not affected.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QWidget

#: the settings key of the choice: "auto" or a factor ("1.25")
SETTING = "ui/scale"
CHOICES = (1.0, 1.25, 1.5, 1.75, 2.0)
#: the point size of the window's texts at 100 % if the application has none
BASE_POINTS = 10.0
#: the application's property keeping its font's size before any scaling
BASE_PROPERTY = "uiScaleBasePoints"


def automatic_scale(screen: QScreen | None) -> float:
    """1 where the desktop scales (a device pixel ratio above 1); else the screen's size
    over 1920×1080, in 25 % steps, between 100 % and 200 %."""
    if screen is None or screen.devicePixelRatio() > 1.0:
        return 1.0
    size = screen.size()
    ratio = min(size.width() / 1920, size.height() / 1080)
    return max(1.0, min(2.0, round(ratio * 4) / 4))


def parse_choice(value: object) -> float | None:
    """A saved choice: None for automatic; a factor of CHOICES; None for anything else."""
    try:
        factor = float(str(value))
    except ValueError:
        return None
    return factor if factor in CHOICES else None


class UiScale(QObject):
    """The *UI scale* submenu of View, and the application font it sets."""

    def __init__(self, window: QMainWindow, view_menu: QMenu, settings: QSettings) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.menu = view_menu.addMenu(self.tr("UI &scale"))
        self.menu.setObjectName("uiScaleMenu")
        group = QActionGroup(self.menu)
        self.actions: dict[float | None, QAction] = {}
        for factor in (None, *CHOICES):
            text = (
                self.tr("Automatic (follow the screen)")
                if factor is None
                else self.tr("{0:.0f} %").format(factor * 100)
            )
            action = self.menu.addAction(text)
            action.setCheckable(True)
            action.setObjectName("uiScaleAuto" if factor is None else f"uiScale{factor * 100:.0f}")
            action.triggered.connect(lambda _=False, f=factor: self.choose(f))
            group.addAction(action)
            self.actions[factor] = action
        self.choice = parse_choice(settings.value(SETTING, "auto"))
        self.actions[self.choice].setChecked(True)
        self.apply()

    def factor(self) -> float:
        if self.choice is not None:
            return self.choice
        screen = self.window.screen() or QGuiApplication.primaryScreen()
        return automatic_scale(screen)

    def choose(self, factor: float | None) -> None:
        self.choice = factor
        self.actions[factor].setChecked(True)
        self.settings.setValue(SETTING, "auto" if factor is None else str(factor))
        self.apply()

    def apply(self) -> None:
        apply_factor(self.factor())


def apply_factor(factor: float) -> None:
    """The application's font at ``factor`` times the size it had before any scaling
    (every widget without a font of its own follows at once)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    font = app.font()
    base = app.property(BASE_PROPERTY)
    if not isinstance(base, float):
        base = font.pointSizeF() if font.pointSizeF() > 0 else BASE_POINTS
        app.setProperty(BASE_PROPERTY, float(base))
    size = base * factor
    if abs(font.pointSizeF() - size) > 0.01:
        font.setPointSizeF(size)
        app.setFont(font)


def apply_saved(settings: QSettings, window: QWidget) -> float:
    """The saved (or automatic) scale, applied before the window's widgets are built, so
    that those sizing a font of their own from the application's (a title 1.35 times
    larger) follow it too; returns the factor."""
    choice = parse_choice(settings.value(SETTING, "auto"))
    factor = (
        choice
        if choice is not None
        else automatic_scale(window.screen() or QGuiApplication.primaryScreen())
    )
    apply_factor(factor)
    return factor
