"""The alarm feed's diagnostics dialog: where the feed stands and the malformed records
it skipped (topic, offset, why), newest first."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QDialog, QLabel, QListWidget, QVBoxLayout, QWidget

from app.alarms.consumer import BadRecord
from app.alarms.service import AlarmService
from ui.clock import time_text


def tr(text: str) -> str:
    # The empty context: pyside6-lupdate files a bare tr("...") there (docs/translations.md).
    return QCoreApplication.translate("", text)


def diagnostics_dialog(
    parent: QWidget, service: AlarmService, bad: list[BadRecord], tz: dt.tzinfo | None
) -> QDialog:
    dialog = QDialog(parent)
    dialog.setWindowTitle(tr("Alarm feed diagnostics"))
    box = QVBoxLayout(dialog)
    st = service.status
    stats = service.list.stats
    box.addWidget(
        QLabel(
            tr("Topic {0} at offset {1} ({2}); records {3}, malformed {4}, duplicates {5}").format(
                st.topic,
                st.offset,
                st.state.value,
                st.records,
                st.bad_records,
                stats.duplicates,
            )
        )
    )
    listing = QListWidget()
    listing.setObjectName("badRecords")
    for b in reversed(bad):
        listing.addItem(f"{time_text(b.seen_ms, tz)}  {b.topic}@{b.offset}  {b.error}")
    box.addWidget(listing)
    dialog.resize(720, 320)
    dialog.open()
    return dialog
