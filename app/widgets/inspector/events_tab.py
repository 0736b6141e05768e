"""The Events & logs tab: the span's events and the trace's log records that name this span,
merged in time order. Each row: offset from the span's start, kind (event / log), name,
severity, a one-line summary; expanding a row shows every attribute (and a log's body)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QFrame, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from app.formatting import format_duration_ns, format_time_ns
from app.span_category import ERROR_COLOUR
from app.widgets.inspector.common import InspectorPage
from receiver.attributes import plain_attributes, plain_value
from receiver.records import StoredLog, StoredSpan

__all__ = ["EventsTab", "TimelineEntry", "timeline"]

SUMMARY_CHARS = 160
ERROR_SEVERITY_NUMBER = 17  # OTLP: 17–24 are ERROR and FATAL
EXCEPTION_EVENT = "exception"  # the semantic conventions' name for a recorded exception


class Column(IntEnum):
    AT = 0
    KIND = 1
    NAME = 2
    SEVERITY = 3
    SUMMARY = 4


HEADERS = ("At", "Kind", "Name", "Severity", "Details")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    time_unix_nano: int
    kind: str  # "event" | "log"
    name: str
    severity: str
    attributes: dict[str, Any]
    body: Any = None  # a log record's body, plain
    failed: bool = False  # an exception event or an ERROR/FATAL record


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def timeline(span: StoredSpan, logs: Sequence[StoredLog]) -> list[TimelineEntry]:
    """The span's events and its log records (those whose span id is the span's), oldest first."""
    entries = [TimelineEntry(int(event.get("timeUnixNano") or 0), "event", str(event.get("name") or ""), "",
                             plain_attributes(event.get("attributes") or {}),
                             failed=event.get("name") == EXCEPTION_EVENT)
               for event in span.events]
    entries += [TimelineEntry(record.time_or_observed_unix_nano, "log", record.resolved_event_name, record.severity,
                              plain_attributes(record.attributes), plain_value(record.body),
                              failed=record.severity_number >= ERROR_SEVERITY_NUMBER)
                for record in logs if record.span_id == span.span_id]
    return sorted(entries, key=lambda entry: entry.time_unix_nano)  # stable: events before logs at a tie


def _summary(entry: TimelineEntry) -> str:
    parts = [] if entry.body is None else [_value(entry.body)]
    parts += [f"{key}={_value(value)}" for key, value in entry.attributes.items()
              if not (entry.kind == "log" and key == "event.name")]
    text = "  ".join(parts).replace("\n", " ⏎ ")
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1] + "…"


def _offset(ns: int) -> str:
    return ("−" if ns < 0 else "+") + format_duration_ns(abs(ns))


class EventsTab(InspectorPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(HEADERS))
        self.tree.setHeaderLabels(HEADERS)
        self.tree.setFrameShape(QFrame.Shape.NoFrame)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.tree.header()
        header.setStretchLastSection(True)
        for column in (Column.AT, Column.KIND, Column.NAME, Column.SEVERITY):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.set_content(self.tree)
        self.entries: list[TimelineEntry] = []
        self.show_placeholder("Select a span")

    def show_span(self, span: StoredSpan | None, logs: Sequence[StoredLog] = ()) -> None:
        self.tree.clear()
        self.entries = [] if span is None else timeline(span, logs)
        if span is None:
            self.show_placeholder("Select a span")
            return
        if not self.entries:
            self.show_placeholder("No events or log records on this span")
            return
        self.tree.addTopLevelItems([self._item(entry, span.start_time_unix_nano) for entry in self.entries])
        self.show_content()

    def row_texts(self) -> list[list[str]]:
        """The top-level rows as shown, one list of column texts each."""
        return [[self.tree.topLevelItem(row).text(column) for column in range(len(HEADERS))]
                for row in range(self.tree.topLevelItemCount())]

    def _item(self, entry: TimelineEntry, span_start: int) -> QTreeWidgetItem:
        name = entry.name or ("(log record)" if entry.kind == "log" else "(event)")
        item = QTreeWidgetItem([_offset(entry.time_unix_nano - span_start), entry.kind, name, entry.severity,
                                _summary(entry)])
        item.setToolTip(Column.AT, format_time_ns(entry.time_unix_nano))
        item.setToolTip(Column.SUMMARY, json.dumps({"body": entry.body, "attributes": entry.attributes}
                                                   if entry.kind == "log" else entry.attributes,
                                                   indent=2, ensure_ascii=False))
        if entry.failed:
            for column in (Column.NAME, Column.SEVERITY):
                item.setForeground(column, QBrush(QColor(ERROR_COLOUR)))
        if entry.body is not None:
            item.addChild(self._detail("body", entry.body))
        for key, value in entry.attributes.items():
            item.addChild(self._detail(key, value))
        return item

    def _detail(self, key: str, value: Any) -> QTreeWidgetItem:
        text = _value(value)
        child = QTreeWidgetItem(["", "", key, "", text.replace("\n", " ⏎ ")])
        child.setToolTip(Column.SUMMARY, text)
        child.setData(Column.SUMMARY, Qt.ItemDataRole.UserRole, text)
        return child
