"""The logs page: log records linked to no span (application logs, events sent without ids),
newest first, searchable and filtered by severity; the selected record in full below.

The page does no I/O: `LogsController` runs the query for `query()` and hands the answer to
`show_logs`. Typing is debounced, so a pause makes one query, not each key."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.formatting import format_time_ns, plural
from app.models.log_records_model import LogColumn, LogRecordsModel
from app.reproducibility import pretty_json
from app.widgets.inspector.common import fixed_font, muted_label
from receiver.attributes import plain_attributes, plain_value
from receiver.records import StoredLog

__all__ = ["LogsPage", "SEVERITY_CHOICES", "SHOWN_LIMIT", "record_text"]

TYPING_PAUSE_MS = 250
SHOWN_LIMIT = 500  # newest records listed; a search narrows the rest down
SEVERITY_CHOICES = (("All", 0), ("Info and above", 9), ("Warnings and above", 13), ("Errors", 17))
EMPTY_TEXT = ("No unlinked log records. Log records sent without a trace id — application logs, events emitted "
              "after their span closed — appear here.")


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else pretty_json(value)


def _section(title: str, values: dict[str, Any]) -> list[str]:
    """`key: value` lines under a title; a value over several lines continues indented."""
    if not values:
        return []
    width = min(max(len(key) for key in values), 32)
    lines = ["", title]
    for key, value in values.items():
        text = _value_text(value).replace("\n", "\n" + " " * (width + 4))
        lines.append(f"  {key.ljust(width)}  {text}")
    return lines


def record_text(record: StoredLog) -> str:
    """The whole record as people read it: what and when, the body (pretty JSON when
    structured), its attributes, then where it came from."""
    when = format_time_ns(record.time_unix_nano) if record.time_unix_nano else (
        f"{format_time_ns(record.observed_time_unix_nano)} (observed; sent without a time)")
    severity = record.severity or "—"
    if record.severity_number:
        severity += f" ({record.severity_number})"
    head = {"Time": when, "Severity": severity, "Service": record.service_name or "—",
            "Event": record.resolved_event_name or "—"}
    lines = [f"{key + ':':10}{value}" for key, value in head.items()]
    body = plain_value(record.body)
    lines += ["", "Body", "(none)" if body is None else _value_text(body)]
    lines += _section("Attributes", plain_attributes(record.attributes))
    scope = record.scope.name + (f" {record.scope.version}" if record.scope.version else "")
    lines += _section("Resource", plain_attributes(record.resource.attributes))
    if scope:
        lines += ["", f"Scope     {scope}"]
    if record.dropped_attributes_count:
        lines += ["", f"{plural(record.dropped_attributes_count, 'attribute')} dropped by the sender"]
    return "\n".join(lines)


class LogsPage(QWidget):
    sig_query_changed = Signal(str, int)  # the search text, the lowest OTLP severity number (0: all)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search_edit = QLineEdit(placeholderText="Search log records…", clearButtonEnabled=True)
        self.search_edit.setToolTip("Text anywhere in the body, event name, severity, service or attribute "
                                    "values (any case)")
        self.severity_box = QComboBox(toolTip="Only records of this severity or worse")
        for label, number in SEVERITY_CHOICES:
            self.severity_box.addItem(label, number)
        self.count_label = muted_label()
        self.model = LogRecordsModel(self)
        self.table = self._table()
        self.detail = QPlainTextEdit(readOnly=True, placeholderText="Select a record to see all of it")
        self.detail.setFont(fixed_font(self.font()))
        self.detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.empty_label = QLabel(EMPTY_TEXT, wordWrap=True, enabled=False)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setMargin(32)
        self._typing = QTimer(self, singleShot=True, interval=TYPING_PAUSE_MS)
        self._typing.timeout.connect(self._emit_query)

        bar = QHBoxLayout()
        bar.setSpacing(6)
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.severity_box)
        bar.addWidget(self.count_label)
        splitter = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(splitter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)

        self.search_edit.textChanged.connect(lambda _text: self._typing.start())  # restarted by each key
        self.search_edit.returnPressed.connect(self._emit_query)
        self.severity_box.currentIndexChanged.connect(self._emit_query)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

    def _table(self) -> QTableView:
        view = QTableView()
        view.setModel(self.model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setWordWrap(False)  # one line per record, the body elided
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.verticalHeader().hide()
        view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)  # as dense as the trace list
        view.setShowGrid(False)
        view.setAlternatingRowColors(True)
        header = view.horizontalHeader()
        # widths from the header and a typical value, not from 500 rows' contents on every refresh
        metrics = view.fontMetrics()
        for column, sample in ((LogColumn.TIME, "Nov 26 15:49:46.000"), (LogColumn.SEVERITY, "Severity"),
                               (LogColumn.SERVICE, "a-service-name"), (LogColumn.EVENT, "gen_ai.user.message")):
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 24)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        return view

    def query(self) -> tuple[str, int]:
        """What to list: the search text (stripped) and the lowest severity number (0: all)."""
        return self.search_edit.text().strip(), int(self.severity_box.currentData())

    def show_logs(self, records: list[StoredLog]) -> None:
        """The list (again), keeping the selected record selected if it is still listed."""
        selected = self.selected_record()
        self.model.set_rows(records)
        text, severity = self.query()
        self.stack.setCurrentIndex(0 if not records and not text and not severity else 1)
        if len(records) >= SHOWN_LIMIT:
            self.count_label.setText(f"newest {SHOWN_LIMIT:,} shown")
        else:
            self.count_label.setText(plural(len(records), "record"))
        row = records.index(selected) if selected is not None and selected in records else None
        if row is None:
            self.detail.setPlainText("")
            return
        self.table.setCurrentIndex(self.model.index(row, 0))
        self.table.scrollTo(self.model.index(row, 0))

    def show_error(self, message: str) -> None:
        self.count_label.setText(f"Query failed: {message}")

    def selected_record(self) -> StoredLog | None:
        return self.model.record_at(self.table.currentIndex().row())

    def _emit_query(self) -> None:
        self._typing.stop()
        self.sig_query_changed.emit(*self.query())

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        record = self.model.record_at(current.row())
        self.detail.setPlainText("" if record is None else record_text(record))
