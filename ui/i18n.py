"""The user interface's languages: which one to start in, loading it, choosing another.

English is the source language (the strings in the code); Simplified Chinese,
the default, comes from ``resources/translations/dispatcher_hmi_zh_CN.qm``
(compiled from the ``.ts`` beside it: docs/translations.md). The language is
chosen at start-up, in this order: ``--lang``, else the user's own choice
(View ▸ Language, kept in QSettings), else the workstation file's
``language``. A new choice applies at the next start: the window's texts are
set once, as it is built.

Reasons that come from ``app/`` (which never imports Qt) come as values: a
:class:`~app.model.refusal.Refusal` is a code and its parameters, translated here
by :func:`refusal_text` from the code's template.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QLibraryInfo,
    QLocale,
    QObject,
    QSettings,
    QTranslator,
)
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow, QMenu

from app.alarms.consumer import FeedCause
from app.model.commands import CommandResult
from app.model.refusal import CAUSES, Refusal
from app.model.server_reasons import form_template
from app.paths import resource_dir
from ui.clock import line_time_text

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "zh_CN"
#: Each language by its own name, as the menu offers it.
LANGUAGES = {"zh_CN": "中文（简体）", "en": "English"}
#: Where the user's choice is kept (QSettings).
SETTINGS_KEY = "ui/language"
#: The QSettings scope of the installed program (``ui.runtime`` names the application so).
ORGANISATION = APPLICATION = "dispatcher-hmi"
CATALOGUE = "dispatcher_hmi"

_active = "en"  # what install_translators last installed


def translations_dir() -> Path:
    """The ``.ts`` sources and the compiled ``.qm`` files (shipped with ``resources``)."""
    return resource_dir() / "translations"


def active_language() -> str:
    """The language this process shows (English until :func:`install_translators`)."""
    return _active


def user_settings() -> QSettings:
    """This user's settings of the program, usable before the QApplication exists."""
    return QSettings(ORGANISATION, APPLICATION)


def saved_language(settings: QSettings) -> str | None:
    value = settings.value(SETTINGS_KEY)
    return value if isinstance(value, str) and value in LANGUAGES else None


def save_language(settings: QSettings, language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    settings.setValue(SETTINGS_KEY, language)
    settings.sync()


def startup_language(
    option: str | None, workstation: str, settings: QSettings | None = None
) -> str:
    """``--lang``, else the user's saved choice, else the workstation file's language."""
    if option:
        return option
    saved = saved_language(settings if settings is not None else user_settings())
    if saved is not None:
        return saved
    return workstation if workstation in LANGUAGES else DEFAULT_LANGUAGE


def install_translators(
    app: QCoreApplication, language: str, directory: Path | None = None
) -> list[QTranslator]:
    """Load and install the program's and Qt's own translations for ``language``
    (the program's from ``directory``, default :func:`translations_dir`).

    English needs none (it is the source language). Returns what was installed.
    """
    global _active  # noqa: PLW0603 (the one process-wide language)
    locale = QLocale(language)
    QLocale.setDefault(locale)
    _active = language
    if language == "en":
        return []
    installed: list[QTranslator] = []
    own_dir = directory or translations_dir()
    own = _translator_in_memory(app, own_dir, CATALOGUE, language)
    if own is not None:
        installed.append(own)
    else:
        log.warning("no %s translation in %s: showing English", language, own_dir)
        _active = "en"
    # Qt's own dialogs' buttons (OK, Cancel...)
    qt_dir = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))
    qt_tr = _translator_in_memory(app, qt_dir, "qtbase", language)
    if qt_tr is not None:
        installed.append(qt_tr)
    for t in installed:
        QCoreApplication.installTranslator(t)
    return installed


class MemoryTranslator(QTranslator):
    """A translator that holds the bytes of its ``.qm`` (Qt reads them where they are,
    without a copy, for as long as the translator lives)."""

    def __init__(self, data: bytes, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data = data


def _translator_in_memory(
    parent: QCoreApplication, directory: Path, catalogue: str, language: str
) -> QTranslator | None:
    """A translator for ``catalogue_language.qm`` (else ``catalogue_lang.qm``) in
    ``directory``, loaded from a copy in memory: Qt maps a ``.qm`` file it is given by
    name, and a file rewritten in place while it is mapped (an update of the
    translations or the program under a running window) made the window crash in its
    next lookup. From memory, the file on disk may change: the running program keeps
    the language it started with."""
    names = [f"{catalogue}_{language}.qm", f"{catalogue}_{language.partition('_')[0]}.qm"]
    for name in dict.fromkeys(names):
        try:
            data = (directory / name).read_bytes()
        except OSError:
            continue
        translator = MemoryTranslator(data, parent)
        if translator.load(translator.data, str(directory)):
            return translator
        log.warning("%s: not a translation file Qt can read", directory / name)
        translator.deleteLater()
    return None


def add_language_menu(window: QMainWindow, menu: QMenu, settings: QSettings) -> QMenu:
    """View ▸ Language: the choice is saved for this user and applies at the next start."""
    sub = menu.addMenu(QCoreApplication.translate("Language", "&Language"))
    sub.setObjectName("languageMenu")
    group = QActionGroup(sub)
    group.setExclusive(True)
    chosen = saved_language(settings) or active_language()
    for code, name in LANGUAGES.items():
        action = QAction(name, sub)
        action.setObjectName(f"language:{code}")
        action.setCheckable(True)
        action.setChecked(code == chosen)
        action.setData(code)
        group.addAction(action)
        sub.addAction(action)
    sub.addSeparator()
    note = sub.addAction(QCoreApplication.translate("Language", "Applies at the next start"))
    note.setEnabled(False)

    def chosen_action(action: QAction) -> None:
        code = str(action.data())
        save_language(settings, code)
        if code == active_language():
            text = QCoreApplication.translate("Language", "Language: {0}").format(LANGUAGES[code])
        else:
            text = QCoreApplication.translate(
                "Language", "Language set to {0}: it applies when the program next starts"
            ).format(LANGUAGES[code])
        log.info("language for the next start: %s", code)
        show = getattr(window, "show_status", None)
        if callable(show):
            show(text)
        log_event = getattr(window, "log_event", None)
        if callable(log_event):
            log_event(text)

    group.triggered.connect(chosen_action)
    return sub


def plain_text(text: str) -> str:
    """A menu text without its accelerator: ``Zoom to &fit`` and ``全线显示(&F)`` alike."""
    text = re.sub(r"\s*\(&[^&\s]\)", "", text.replace("&&", "\0"))
    return text.replace("&", "").replace("\0", "&")


# -- texts from app/ ---------------------------------------------------------------------------


def refusal_text(refusal: Refusal) -> str:
    """A refusal in the user's language, by its code: its English template (marked for
    lupdate in app/model/refusal.py, context "Refusals") translated, then its
    parameters put in. No sentence is ever parsed back."""
    shown = refusal.shown_params(line_time_text, cause_text)
    return QCoreApplication.translate("Refusals", refusal.template).format_map(shown)


def server_reason_text(result: CommandResult) -> str:
    """Why the server refused (or what it notes), in the user's language: by the result's
    form and parameters (app/model/server_reasons.py); a server that sends no form (an
    older one), or one this release does not know, is shown in its own words."""
    template = form_template(result.reason_form, result.reason_params)
    if template is None:
        return result.reason or result.reason_code
    params = dict(result.reason_params)
    for name in ("position", "needed"):  # a switch position: the schematic's word for it
        if params.get(name) in ("normal", "reverse"):
            params[name] = QCoreApplication.translate("Schematic", params[name])
    return QCoreApplication.translate("ServerReasons", template).format_map(params)


def feed_cause_text(cause: FeedCause) -> str:
    """Why the alarm feed is stale (its cause, a value), in the user's language; "" for
    none (then the feed's own words)."""
    translate = QCoreApplication.translate
    return {
        FeedCause.LOOKING: translate("AlarmFeed", "looking for today's topic and its snapshot"),
        FeedCause.BROKER_UNREACHABLE: translate("AlarmFeed", "the alarm broker cannot be reached"),
        FeedCause.BROKER_SILENT: translate("AlarmFeed", "the alarm broker does not answer"),
        FeedCause.NO_RECORDS: translate("AlarmFeed", "no alarm record came for too long"),
        FeedCause.NO_CONSUMER: translate(
            "AlarmFeed", "the alarm feed could not start (see the log)"
        ),
        FeedCause.INTERNAL_ERROR: translate("AlarmFeed", "internal error (see the log)"),
    }.get(cause, "")


def cause_text(cause: str) -> str:
    """Why a service is out of reach (a code of app/model/refusal.CAUSES), in the user's
    language; an unknown code as it is."""
    english = CAUSES.get(cause)
    return cause if english is None else QCoreApplication.translate("RefusalCauses", english)
