"""`SpanTreeModel`: one trace's spans as a Qt item tree (children in start order), for the waterfall.

The model does no I/O: whoever owns it hands in `TraceDetail`s with `set_trace`. A different
trace is a reset. The same trace again (spans still arriving) is merged by `SpanTree`, whose
row changes this adapter wraps in begin…/end… pairs and `dataChanged`, so a view keeps its
expansion, selection and scroll. A span whose parent never arrives stays at the top level,
flagged (`ORPHAN_ROLE`). A span's evaluation results (`EVALUATIONS_ROLE`, the whole trace's
on the first top-level row) change in place, like a span re-sent. When a growth would move
many rows (children that arrived before their root), the tree declines the merge and one
reset is cheaper than the moves; a view keeps its state across it (`WaterfallView` does).

The tree's structure lives in `span_tree` (no Qt); what a row shows lives in `span_display`.

Indexes carry a node serial (`internalId`), not a Python pointer: a stale index after a reset
finds no node and reads as empty instead of touching freed memory. The methods a view calls
for each row (`index`, `parent`, `rowCount`, `hasChildren`, `data`) do one dictionary lookup
each: built for 10,000-span traces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage

from app.models.span_display import HEADERS, TOOLTIPS, SpanColumn, draw_span_icon, row_texts, span_tooltip
from app.models.span_tree import (
    REGROW_RESET_MOVES,
    REGROW_RESET_SPANS,
    SpanNode,
    SpanTree,
    SpanTreeListener,
    first_root_id,
)
from app.span_category import CATEGORY_COLOURS, ERROR_COLOUR
from receiver import TraceDetail
from receiver.records import StoredEvaluation, StoredSpan

# SpanColumn and the REGROW_ thresholds are defined beside what uses them and re-exported here, where
# the widgets and tests import them from.
__all__ = ["CATEGORY_ROLE", "END_NS_ROLE", "ERROR_ROLE", "EVALUATIONS_ROLE", "ORPHAN_ROLE", "REGROW_RESET_MOVES",
           "REGROW_RESET_SPANS", "SPAN_ROLE", "START_NS_ROLE", "SpanColumn", "SpanRole", "SpanTreeModel"]

AnyIndex = QModelIndex | QPersistentModelIndex


class SpanRole(IntEnum):
    SPAN = int(Qt.ItemDataRole.UserRole)  # the StoredSpan
    CATEGORY = SPAN + 1  # agent / chat / tool / retrieval / embeddings / other
    START_NS = SPAN + 2  # absolute start (ns since the epoch): the timeline's coordinates
    END_NS = SPAN + 3
    IS_ERROR = SPAN + 4
    IS_ORPHAN = SPAN + 5  # its parent span id is set but that span is not in the trace
    EVALUATIONS = SPAN + 6  # the span's evaluation results (and the whole trace's, on the first row), a tuple


SPAN_ROLE, CATEGORY_ROLE = SpanRole.SPAN, SpanRole.CATEGORY
START_NS_ROLE, END_NS_ROLE, ERROR_ROLE, ORPHAN_ROLE = (SpanRole.START_NS, SpanRole.END_NS, SpanRole.IS_ERROR,
                                                      SpanRole.IS_ORPHAN)
EVALUATIONS_ROLE = SpanRole.EVALUATIONS
Results = tuple[StoredEvaluation, ...]

COLUMN_COUNT = len(SpanColumn)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_RIGHT_COLUMNS = frozenset({SpanColumn.DURATION, SpanColumn.TOKENS, SpanColumn.COST})
_DISPLAY, _DECORATION, _TOOLTIP = (int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.DecorationRole),
                                   int(Qt.ItemDataRole.ToolTipRole))
_FONT, _ALIGNMENT, _FOREGROUND = (int(Qt.ItemDataRole.FontRole), int(Qt.ItemDataRole.TextAlignmentRole),
                                  int(Qt.ItemDataRole.ForegroundRole))


class SpanTreeModel(QAbstractItemModel):
    sig_time_range_changed = Signal(object, object)  # trace_start_ns, trace_end_ns (ints beyond 32 bits)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._tree = SpanTree()
        # The tree's root and serial map, held here for the per-row methods (no attribute hop).
        # Both are the same objects for the model's life: the tree clears them in place.
        self._root, self._by_serial = self._tree.root, self._tree.by_serial
        self._trace_id: str | None = None
        self._range = (0, 0)
        self._icons: dict[tuple[str, bool], QImage] = {}
        self._results: dict[str | None, Results] = {}  # span id (None: the whole trace) -> its results
        self._trace_results_on: str | None = None  # the span whose row shows the whole trace's

    # --- what the owner hands in ------------------------------------------------------

    @property
    def trace_id(self) -> str | None:
        return self._trace_id

    @property
    def trace_start_ns(self) -> int:
        return self._range[0]

    @property
    def trace_end_ns(self) -> int:
        return self._range[1]

    def span_count(self) -> int:
        return len(self._tree.by_id)

    def set_trace(self, detail: TraceDetail | None) -> None:
        """Show `detail`: a reset for another trace, an in-place merge for more of the same one
        (or, when that would move many rows, a reset of the same trace)."""
        old_results, old_first = self._results, self._trace_results_on
        self._results = _by_span(detail.evaluations if detail is not None else ())
        self._trace_results_on = first_root_id(detail.spans) if detail is not None else None
        if detail is None or detail.trace_id != self._trace_id or not self._tree.merge(detail.spans, _RowSignals(self)):
            self.beginResetModel()
            self._trace_id = detail.trace_id if detail is not None else None
            self._tree.rebuild(detail.spans if detail is not None else [])
            self.endResetModel()
        else:
            self._results_changed(old_results, old_first)
        new_range = self._tree.time_range()
        if new_range != self._range:
            self._range = new_range
            self.sig_time_range_changed.emit(*new_range)

    def index_of(self, span_id: str, column: int = SpanColumn.NAME) -> QModelIndex:
        node = self._tree.by_id.get(span_id)
        return self._index(node, column) if node is not None else QModelIndex()

    def span_at(self, index: AnyIndex) -> StoredSpan | None:
        node = self._node(index)
        return node.span if node is not None else None

    def spans_in_tree_order(self) -> Iterator[StoredSpan]:
        return self._tree.spans_in_tree_order()

    def first_span(self, predicate: Callable[[StoredSpan], bool]) -> StoredSpan | None:
        return self._tree.first_span(predicate)

    def evaluations_of(self, span_id: str) -> tuple[Results, Results]:
        """The span's own results, and the whole trace's if its row shows them (else empty)."""
        trace_results = self._results.get(None, ()) if span_id == self._trace_results_on else ()
        return self._results.get(span_id, ()), trace_results

    def trace_results_span_id(self) -> str | None:
        """The span whose row shows the results on the whole trace: the first top-level one."""
        return self._trace_results_on

    def _results_changed(self, old: dict[str | None, Results], old_first: str | None) -> None:
        """Repaint the rows whose results changed (after a merge: a reset repaints everything)."""
        changed = {key for key in old.keys() | self._results.keys() if old.get(key) != self._results.get(key)}
        if None in changed or old_first != self._trace_results_on:
            changed |= {old_first, self._trace_results_on}
        for span_id in changed - {None}:
            if (node := self._tree.by_id.get(span_id)) is not None:
                self.dataChanged.emit(self._index(node, 0), self._index(node, COLUMN_COUNT - 1))

    def in_tree_order(self, span_ids: Iterable[str]) -> list[str]:
        """Those of `span_ids` that are in the tree, in tree order (depth first, as the rows read)."""
        return self._tree.in_tree_order(span_ids)

    # --- indexes ----------------------------------------------------------------------

    def _index(self, node: SpanNode, column: int = 0) -> QModelIndex:
        if node is self._root:
            return QModelIndex()
        return self.createIndex(node.row, column, node.serial)

    def _node(self, index: AnyIndex) -> SpanNode | None:
        if not index.isValid() or index.model() is not self:
            return None
        return self._by_serial.get(index.internalId())

    # --- QAbstractItemModel ------------------------------------------------------------
    # A view calls these for every row it lays out (10,000 of them when a big trace expands):
    # one dictionary lookup by internalId each (an invalid index's is 0, the root's serial).

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self._by_serial.get(parent.internalId())
        if node is None or parent.column() > 0 or not 0 <= column < COLUMN_COUNT or not 0 <= row < len(node.children):
            return QModelIndex()
        return self.createIndex(row, column, node.children[row].serial)

    def parent(self, child: AnyIndex | None = None) -> Any:
        if child is None:
            return super().parent()  # QObject.parent()
        node = self._by_serial.get(child.internalId())
        parent = node.parent if node is not None else None
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent.serial)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        node = self._by_serial.get(parent.internalId())
        return len(node.children) if node is not None and parent.column() <= 0 else 0

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        # Qt's own asks rowCount and columnCount: two calls into Python per row instead of one
        node = self._by_serial.get(parent.internalId())
        return node is not None and parent.column() <= 0 and bool(node.children)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return COLUMN_COUNT

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < COLUMN_COUNT:
            return None
        column = SpanColumn(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return TOOLTIPS.get(column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _RIGHT_COLUMNS:
            return _RIGHT
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every role of every visible cell on each paint: plain int comparisons, no enum calls.
        node = self._by_serial.get(index.internalId())
        column = index.column()
        if node is None or node.span is None or not 0 <= column < COLUMN_COUNT:
            return None
        if role == _DISPLAY:
            return (node.texts or row_texts(node, self._root))[column]
        if role >= SPAN_ROLE:
            if role == EVALUATIONS_ROLE:
                own, trace_results = self.evaluations_of(node.span.span_id)
                return own + trace_results
            return _custom_role(node, role)
        if role == _ALIGNMENT:
            return _RIGHT if column in _RIGHT_COLUMNS else None
        if role == _TOOLTIP:
            return span_tooltip(node, *self.evaluations_of(node.span.span_id))
        if column != SpanColumn.NAME:
            return None
        if role == _DECORATION:
            return self._icon(ERROR_COLOUR if node.is_error else CATEGORY_COLOURS[node.category], node.orphan)
        if role == _FOREGROUND and node.is_error:
            return QColor(ERROR_COLOUR)
        if role == _FONT and node.orphan:
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def _icon(self, colour: str, orphan: bool) -> QImage:
        icon = self._icons.get((colour, orphan))
        if icon is None:  # a handful of colours: each drawn once
            icon = self._icons[(colour, orphan)] = draw_span_icon(colour, orphan)
        return icon


class _RowSignals(SpanTreeListener):
    """The tree's row changes as the model's begin…/end… pairs and dataChanged."""

    def __init__(self, model: SpanTreeModel) -> None:
        self._model = model

    def before_insert(self, parent: SpanNode, first: int, last: int) -> None:
        self._model.beginInsertRows(self._model._index(parent), first, last)

    def after_insert(self) -> None:
        self._model.endInsertRows()

    def before_move(self, old_parent: SpanNode, old_row: int, new_parent: SpanNode, new_row: int) -> None:
        # Qt counts the destination row before the removal
        target = new_row + 1 if new_parent is old_parent and new_row > old_row else new_row
        model = self._model
        model.beginMoveRows(model._index(old_parent), old_row, old_row, model._index(new_parent), target)

    def after_move(self) -> None:
        self._model.endMoveRows()

    def changed(self, node: SpanNode) -> None:
        self._model.dataChanged.emit(self._model._index(node, 0), self._model._index(node, COLUMN_COUNT - 1))


def _by_span(results: Iterable[StoredEvaluation]) -> dict[str | None, Results]:
    grouped: dict[str | None, list[StoredEvaluation]] = {}
    for result in results:
        grouped.setdefault(result.span_id, []).append(result)
    return {span_id: tuple(found) for span_id, found in grouped.items()}


def _custom_role(node: SpanNode, role: int) -> Any:
    span = node.span
    if role == SPAN_ROLE:
        return span
    if role == CATEGORY_ROLE:
        return node.category
    if role == START_NS_ROLE:
        return span.start_time_unix_nano
    if role == END_NS_ROLE:
        return max(span.start_time_unix_nano, span.end_time_unix_nano)
    if role == ERROR_ROLE:
        return node.is_error
    if role == ORPHAN_ROLE:
        return node.orphan
    return None
