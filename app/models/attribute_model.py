"""`AttributeModel`: a span's attributes as rows of (section, key, value) — the span's own,
then its resource's, then its instrumentation scope's (name, version, attributes), keys in
alphabetical order within each section. The section is the first column (a table, so the
Attributes tab can filter and copy rows without a tree).

Values show as text: strings raw, anything else as JSON. The display is one line (long values
cut); the tooltip and `AttributeRole.FULL_TEXT` carry the whole value."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QGuiApplication, QPalette

from receiver.attributes import plain_attributes
from receiver.records import StoredSpan

__all__ = ["AttributeColumn", "AttributeModel", "AttributeRole", "AttributeRow", "SECTIONS", "attribute_rows",
           "value_text"]

SECTIONS = ("span", "resource", "scope")
DISPLAY_CHARS = 300  # a cell shows this much of a long value; the tooltip shows all of it
TOOLTIP_WIDTH = 100  # characters per line of a long plain-text tooltip


class AttributeColumn(IntEnum):
    SECTION = 0
    KEY = 1
    VALUE = 2


class AttributeRole(IntEnum):
    FULL_TEXT = Qt.ItemDataRole.UserRole  # the value as text, whole
    ROW = Qt.ItemDataRole.UserRole + 1  # the AttributeRow


HEADERS = {AttributeColumn.SECTION: "Source", AttributeColumn.KEY: "Key", AttributeColumn.VALUE: "Value"}
HEADER_TIPS = {AttributeColumn.SECTION: "span: the span's own attributes; resource: the process that sent it; "
                                        "scope: the instrumentation library"}


@dataclass(frozen=True, slots=True)
class AttributeRow:
    section: str  # one of SECTIONS
    key: str
    value: Any
    text: str  # the value as text, whole


def value_text(value: Any) -> str:
    """Strings as they are, anything else as JSON (non-ASCII kept)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _one_line(text: str) -> str:
    line = text.replace("\r\n", "\n").replace("\n", " ⏎ ")
    return line if len(line) <= DISPLAY_CHARS else line[:DISPLAY_CHARS - 1] + "…"


def _tooltip(text: str) -> str:
    """JSON pretty-printed, long prose wrapped, so the whole value fits on the screen."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return "\n".join(textwrap.fill(line, TOOLTIP_WIDTH) if len(line) > TOOLTIP_WIDTH else line
                     for line in text.splitlines()) or text


def attribute_rows(span: StoredSpan) -> list[AttributeRow]:
    """The span's rows in the model's order (what the Attributes tab's title counts)."""
    def section(name: str, attributes: dict[str, Any]) -> list[AttributeRow]:
        return [AttributeRow(name, key, attributes[key], value_text(attributes[key])) for key in sorted(attributes)]

    scope = {"name": span.scope.name, "version": span.scope.version} if span.scope.name else {}
    if scope and not span.scope.version:
        del scope["version"]
    return (section("span", plain_attributes(span.attributes))
            + section("resource", plain_attributes(span.resource.attributes))
            + [AttributeRow("scope", key, value, value) for key, value in scope.items()]
            + section("scope", plain_attributes(span.scope.attributes)))


class AttributeModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[AttributeRow] = []

    def set_span(self, span: StoredSpan | None) -> None:
        """Show `span`'s attributes (None: none); a new span is a reset."""
        self.beginResetModel()
        self._rows = [] if span is None else attribute_rows(span)
        self.endResetModel()

    def row_at(self, row: int) -> AttributeRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    # --- Qt's model interface -------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(AttributeColumn)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == AttributeColumn.SECTION:
                return row.section
            if column == AttributeColumn.KEY:
                return row.key
            if column == AttributeColumn.VALUE:
                return _one_line(row.text)
        elif role == Qt.ItemDataRole.ToolTipRole:
            if column == AttributeColumn.VALUE:
                return _tooltip(row.text)
            if column == AttributeColumn.KEY:
                return row.key
        elif role == Qt.ItemDataRole.ForegroundRole and column == AttributeColumn.SECTION:
            # secondary, like a label: read at paint time, so it follows a palette change
            return QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        elif role == AttributeRole.FULL_TEXT:
            return row.key if column == AttributeColumn.KEY else row.section if column == 0 else row.text
        elif role == AttributeRole.ROW:
            return row
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or section not in set(AttributeColumn):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[AttributeColumn(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(AttributeColumn(section))
        return None
