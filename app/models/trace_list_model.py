"""`TraceListModel`: the trace list's rows, newest first, one `TraceSummary` each.

The model does no I/O. Whoever owns it (the trace list's controller) runs the queries on the
`QueryWorker` and hands the answers in:

- `reset_pages(page)` after a filter change: the first page, replacing everything;
- `append_page(page)` for the page `fetchMore` asked for with `sig_more_wanted(cursor)`
  (Qt's own paging hooks: a view asks as the user scrolls);
- `merge(traces)` for a refreshed first page while spans arrive: new traces are inserted
  where they sort (above, for new runs), changed ones updated in place (`dataChanged`), so
  selection and scroll stay put.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath

from app.formatting import format_clock_ns, format_cost_usd, format_duration_ns, format_time_ns, format_tokens
from app.models.span_display import FAILED_COLOUR, draw_span_icon, evaluations_rollup
from app.propagation import PROPAGATION_HINT, propagation_problem
from receiver import TracePage, TraceSummary

__all__ = ["Column", "TRACE_ROLE", "TraceListModel"]

TRACE_ROLE = Qt.ItemDataRole.UserRole  # the row's TraceSummary
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # a comparable value for the column
FLAGS_EVERY_MS = 5000  # a trace missing a parent turns broken when the grace period ends, not on new data
BROKEN_COLOUR, PIN_COLOUR = "#d08a1e", "#3b82c4"


class Column(IntEnum):
    TIME = 0
    ROOT = 1
    SERVICE = 2
    DURATION = 3
    SPANS = 4
    ERRORS = 5
    TOKENS = 6
    COST = 7
    MODELS = 8
    SESSION = 9
    EVALS = 10  # last, so a header state saved before it still restores; the view shows it after Errors


HEADERS = {Column.TIME: "Time", Column.ROOT: "Root span", Column.SERVICE: "Service", Column.DURATION: "Duration",
           Column.SPANS: "Spans", Column.ERRORS: "Errors", Column.TOKENS: "Tokens in/out", Column.COST: "Cost",
           Column.MODELS: "Models", Column.SESSION: "Session", Column.EVALS: "Evals"}
TOOLTIPS = {Column.TIME: "When the trace started (local time)",
            Column.ROOT: "The root span's name (the earliest span while the root has not arrived)",
            Column.SERVICE: "The service (service.name) that sent the root span",
            Column.DURATION: "From the trace's first span start to its last span end",
            Column.SPANS: "How many spans of the trace have arrived",
            Column.ERRORS: "Spans whose status is error",
            Column.TOKENS: "Input / output tokens over the trace's model calls, duplicates counted once",
            Column.COST: "USD over the trace's priced model calls; +? marks traces with calls of no known price",
            Column.MODELS: "The models the trace's model calls used",
            Column.SESSION: "The conversation or session id of the root-most span that has one",
            Column.EVALS: "Evaluation results and your annotations on the trace and its spans: ✓ passed, ✗ failed, "
                          "• no verdict (eval:NAME=fail in the filter finds them)"}
_RIGHT = {Column.DURATION, Column.SPANS, Column.ERRORS, Column.TOKENS, Column.COST}


class TraceListModel(QAbstractTableModel):
    sig_more_wanted = Signal(object)  # the cursor of the next page

    def __init__(self, parent=None, *, clock_ns: Callable[[], int] = time.time_ns) -> None:
        super().__init__(parent)
        self._clock_ns = clock_ns
        self._icons: dict[str, QImage] = {}
        self._flags_timer = QTimer(self, interval=FLAGS_EVERY_MS)
        self._flags_timer.timeout.connect(self.refresh_flags)
        self._flags_timer.start()
        self._rows: list[TraceSummary] = []
        self._row_of: dict[str, int] = {}  # trace id -> row
        self._cursor: tuple[int, str] | None = None
        self._fetching = False

    # --- what the owner hands in ------------------------------------------------------

    def reset_pages(self, page: TracePage) -> None:
        self.beginResetModel()
        self._rows = list(page.traces)
        self._reindex()
        self._cursor, self._fetching = page.next_cursor, False
        self.endResetModel()

    def append_page(self, page: TracePage) -> None:
        unseen = [t for t in page.traces if t.trace_id not in self._row_of]  # merged in meanwhile
        if unseen:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(unseen) - 1)
            self._rows.extend(unseen)
            self._reindex()
            self.endInsertRows()
        self._cursor, self._fetching = page.next_cursor, False

    def merge(self, traces: list[TraceSummary]) -> None:
        """A refreshed first page: update the rows it holds in place, insert the new ones where
        they sort (at the top, for what just arrived); one past the loaded rows is left to paging."""
        new = [t for t in traces if t.trace_id not in self._row_of]
        for trace in traces:
            row = self._row_of.get(trace.trace_id)
            if row is not None and self._rows[row] != trace:
                self._rows[row] = trace
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))
        for trace in new:
            row = bisect.bisect_left(range(len(self._rows)), True, key=lambda i, t=trace: _newer(t, self._rows[i]))
            if row == len(self._rows) and self._cursor is not None:
                continue  # it belongs to a page not loaded yet
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.insert(row, trace)
            self._reindex()
            self.endInsertRows()

    def remove_traces(self, trace_ids: set[str] | frozenset[str]) -> None:
        """Take deleted traces out, one contiguous block at a time (bottom up, so rows stay valid)."""
        rows = sorted((row for trace_id, row in self._row_of.items() if trace_id in trace_ids), reverse=True)
        while rows:
            last = first = rows.pop(0)
            while rows and rows[0] == first - 1:
                first = rows.pop(0)
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first:last + 1]
            self._reindex()
            self.endRemoveRows()

    def refresh_flags(self) -> None:
        """Redraw the rows whose parent spans are missing: the grace period may have run out."""
        for row, trace in enumerate(self._rows):
            if trace.missing_parent:
                self.dataChanged.emit(self.index(row, Column.ROOT), self.index(row, Column.ROOT),
                                      [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole])

    def trace_ids(self) -> list[str]:
        return [t.trace_id for t in self._rows]

    def trace_at(self, row: int) -> TraceSummary:
        return self._rows[row]

    def row_of(self, trace_id: str) -> int | None:
        return self._row_of.get(trace_id)

    def _reindex(self) -> None:
        self._row_of = {t.trace_id: row for row, t in enumerate(self._rows)}

    # --- QAbstractTableModel ------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:
        return not parent.isValid() and self._cursor is not None and not self._fetching

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:
        if self.canFetchMore(parent):
            self._fetching = True  # until the page comes: one request at a time
            self.sig_more_wanted.emit(self._cursor)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return TOOLTIPS[Column(section)]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        trace, column = self._rows[index.row()], Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(trace, column)
        if role == TRACE_ROLE:
            return trace
        if role == SORT_ROLE:
            return _sort_value(trace, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _RIGHT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._decoration(trace, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == Column.TIME:
            return format_time_ns(trace.start_time_unix_nano) + (
                "\nPinned: retention never deletes it (is:pinned lists the pinned traces)" if trace.pinned else "")
        if role == Qt.ItemDataRole.ToolTipRole and column == Column.ROOT:
            problem = propagation_problem(trace, self._clock_ns())
            return f"{trace.root_name or ''}\n\n{problem}\n{PROPAGATION_HINT}" if problem else None
        if role == Qt.ItemDataRole.ToolTipRole and column == Column.COST and trace.unpriced_calls:
            return f"{trace.unpriced_calls} model call(s) with no known price are not in this sum"
        if column == Column.EVALS:
            return _evaluations_data(trace, role)
        return None


    def _decoration(self, trace: TraceSummary, column: Column) -> QImage | None:
        """A pin on a pinned trace's time; on a broken trace's root, the hollow dotted dot the
        waterfall gives a span whose parent never arrived."""
        if column == Column.TIME and trace.pinned:
            key = "pin"
        elif column == Column.ROOT and trace.is_broken(self._clock_ns()):
            key = "broken"
        else:
            return None
        if key not in self._icons:
            self._icons[key] = _pin_icon() if key == "pin" else draw_span_icon(BROKEN_COLOUR, orphan=True)
        return self._icons[key]


def _pin_icon() -> QImage:
    """A map pin: a round head on a point. Drawn at 2x, as the span icons are."""
    scale = 2
    icon = QImage(16 * scale, 16 * scale, QImage.Format.Format_ARGB32_Premultiplied)
    icon.fill(Qt.GlobalColor.transparent)
    painter = QPainter(icon)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(scale, scale)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(PIN_COLOUR))
    shape = QPainterPath()
    shape.addEllipse(QRectF(4, 1.5, 8, 8))
    shape.moveTo(5, 7)
    shape.lineTo(8, 14.5)
    shape.lineTo(11, 7)
    painter.drawPath(shape.simplified())
    painter.setBrush(QColor("white"))
    painter.drawEllipse(QPointF(8, 5.5), 1.6, 1.6)
    painter.end()
    icon.setDevicePixelRatio(scale)
    return icon


def _newer(a: TraceSummary, b: TraceSummary) -> bool:
    """The list's order: start time, then trace id, both descending."""
    return (a.start_time_unix_nano, a.trace_id) > (b.start_time_unix_nano, b.trace_id)


def _display(trace: TraceSummary, column: Column) -> str:
    match column:
        case Column.TIME:
            return format_clock_ns(trace.start_time_unix_nano)
        case Column.ROOT:
            return trace.root_name or ""
        case Column.SERVICE:
            return trace.service_name or ""
        case Column.DURATION:
            return format_duration_ns(max(0, trace.end_time_unix_nano - trace.start_time_unix_nano))
        case Column.SPANS:
            return str(trace.span_count)
        case Column.ERRORS:
            return str(trace.error_count) if trace.error_count else ""
        case Column.TOKENS:
            return format_tokens(trace.input_tokens, trace.output_tokens) if trace.llm_calls else ""
        case Column.COST:
            return format_cost_usd(trace.cost_usd, unpriced=trace.unpriced_calls) if trace.llm_calls else ""
        case Column.MODELS:
            return ", ".join(trace.models)
        case Column.SESSION:
            return trace.session_id or ""
        case Column.EVALS:
            return evaluations_rollup(trace.evaluations, trace.evaluations_passed, trace.evaluations_failed)[0]


def _evaluations_data(trace: TraceSummary, role: int) -> Any:
    """The Evals cell's tooltip, and red when a result failed."""
    if role == Qt.ItemDataRole.ToolTipRole:
        return evaluations_rollup(trace.evaluations, trace.evaluations_passed, trace.evaluations_failed)[1] or None
    if role == Qt.ItemDataRole.ForegroundRole and trace.evaluations_failed:
        return QColor(FAILED_COLOUR)
    return None


def _sort_value(trace: TraceSummary, column: Column) -> Any:
    match column:
        case Column.TIME:
            return trace.start_time_unix_nano
        case Column.DURATION:
            return trace.end_time_unix_nano - trace.start_time_unix_nano
        case Column.SPANS:
            return trace.span_count
        case Column.ERRORS:
            return trace.error_count
        case Column.TOKENS:
            return (trace.input_tokens or 0) + (trace.output_tokens or 0)
        case Column.COST:
            return trace.cost_usd or 0.0
        case Column.EVALS:
            return (trace.evaluations_failed, trace.evaluations)
        case _:
            return _display(trace, column)
