"""`LogRecordsModel`: the logs page's table, one `StoredLog` per row (a `RowsModel` with the
log columns), warnings and errors coloured in their severity cell.

The colours are read from the application palette when a cell is painted, so they follow a
switch between the light and dark themes without a reset."""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from app.formatting import format_clock_ns
from app.models.rows_model import AnyIndex, RowsModel
from app.theme import is_dark
from receiver.attributes import plain_value
from receiver.records import StoredLog

__all__ = ["LogColumn", "LogRecordsModel", "body_line", "severity_colour"]

BODY_LINE_CHARS = 400  # the cell elides long before this; no point laying out a whole document
WARN_SEVERITY, ERROR_SEVERITY = 13, 17  # OTLP severity numbers
# GitHub's "attention" amber: dark enough to read on white, light enough on the dark base
_WARN_LIGHT, _WARN_DARK = "#9a6700", "#d29922"


class LogColumn(IntEnum):
    TIME = 0
    SEVERITY = 1
    SERVICE = 2
    EVENT = 3
    BODY = 4


def body_line(record: StoredLog) -> str:
    """The body on one line: text with its line breaks as spaces, structure as compact JSON."""
    body = plain_value(record.body)
    if body is None:
        return ""
    if isinstance(body, str):
        text = body
    else:
        text = json.dumps(body, ensure_ascii=False, separators=(", ", ": "))
    return " ".join(text[:BODY_LINE_CHARS].split())


def severity_colour(severity_number: int, palette: QPalette) -> QColor | None:
    """The severity cell's text colour: the palette's alert red for errors and worse (the
    themes set `BrightText` for that), amber for warnings, None for the rest."""
    if severity_number >= ERROR_SEVERITY:
        return palette.color(QPalette.ColorRole.BrightText)
    if severity_number >= WARN_SEVERITY:
        return QColor(_WARN_DARK if is_dark(palette) else _WARN_LIGHT)
    return None


_COLUMNS = (
    ("Time", "When the record was emitted (observed, if the sender gave no time), local time",
     lambda r: format_clock_ns(r.time_or_observed_unix_nano)),
    ("Severity", "The sender's severity text, else the name of its OTLP severity number", lambda r: r.severity),
    ("Service", "The service (service.name) that sent it", lambda r: r.service_name or ""),
    ("Event", "The event name (or the event.name attribute)", lambda r: r.resolved_event_name),
    ("Body", "The record's body (the whole of it below, when selected)", body_line),
)


class LogRecordsModel(RowsModel):
    def __init__(self, parent=None) -> None:
        super().__init__(_COLUMNS, parent)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == LogColumn.SEVERITY:
            record = self.record_at(index.row())
            return None if record is None else severity_colour(record.severity_number,
                                                                QGuiApplication.palette())
        return super().data(index, role)
