"""`SpanTreeModel`: one trace's spans as a tree (children in start order), for the waterfall.

The model does no I/O: whoever owns it hands in `TraceDetail`s with `set_trace`. A different
trace is a reset. The same trace again (spans still arriving) is merged: new spans are inserted
where they sort, spans that changed emit `dataChanged`, and a span waiting at the top level for
its parent moves under the parent when it arrives, so a view keeps its expansion, selection and
scroll. A span whose parent never arrives stays at the top level, flagged (`ORPHAN_ROLE`): that
usually means the trace context was not propagated into the process that made it.

Indexes carry a node serial (`internalId`), not a Python pointer: a stale index after a reset
finds no node and reads as empty instead of touching freed memory.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from app.formatting import format_cost_usd, format_duration_ns, format_tokens
from app.span_category import CATEGORY_COLOURS, EMBEDDINGS, ERROR_COLOUR, category_of, is_model_call
from receiver import TraceDetail
from receiver.records import STATUS_CODE_ERROR, StoredSpan

__all__ = ["CATEGORY_ROLE", "END_NS_ROLE", "ERROR_ROLE", "ORPHAN_ROLE", "SPAN_ROLE", "START_NS_ROLE", "SpanColumn",
           "SpanRole", "SpanTreeModel"]

AnyIndex = QModelIndex | QPersistentModelIndex


class SpanColumn(IntEnum):
    NAME = 0
    DURATION = 1
    TOKENS = 2
    COST = 3
    TIMELINE = 4


class SpanRole(IntEnum):
    SPAN = int(Qt.ItemDataRole.UserRole)  # the StoredSpan
    CATEGORY = SPAN + 1  # agent / chat / tool / retrieval / embeddings / other
    START_NS = SPAN + 2  # absolute start (ns since the epoch): the timeline's coordinates
    END_NS = SPAN + 3
    IS_ERROR = SPAN + 4
    IS_ORPHAN = SPAN + 5  # its parent span id is set but that span is not in the trace


SPAN_ROLE, CATEGORY_ROLE = SpanRole.SPAN, SpanRole.CATEGORY
START_NS_ROLE, END_NS_ROLE, ERROR_ROLE, ORPHAN_ROLE = (SpanRole.START_NS, SpanRole.END_NS, SpanRole.IS_ERROR,
                                                      SpanRole.IS_ORPHAN)

HEADERS = {SpanColumn.NAME: "Span", SpanColumn.DURATION: "Duration", SpanColumn.TOKENS: "Tokens",
           SpanColumn.COST: "Cost", SpanColumn.TIMELINE: "Timeline"}
TOOLTIPS = {SpanColumn.TOKENS: "Input / output tokens of model calls",
            SpanColumn.COST: "USD of the model call at the price of its day",
            SpanColumn.TIMELINE: "Ctrl+wheel zooms, drag pans, double-click a bar to zoom to its span"}
COLUMN_COUNT = len(SpanColumn)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_RIGHT_COLUMNS = frozenset({SpanColumn.DURATION, SpanColumn.TOKENS, SpanColumn.COST})
_DISPLAY, _DECORATION, _TOOLTIP = (int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.DecorationRole),
                                   int(Qt.ItemDataRole.ToolTipRole))
_FONT, _ALIGNMENT, _FOREGROUND = (int(Qt.ItemDataRole.FontRole), int(Qt.ItemDataRole.TextAlignmentRole),
                                  int(Qt.ItemDataRole.ForegroundRole))


class _Node:
    __slots__ = ("span", "serial", "parent", "children", "row", "orphan", "category", "is_error")

    def __init__(self, span: StoredSpan | None, serial: int) -> None:
        self.span = span
        self.serial = serial
        self.parent: _Node | None = None
        self.children: list[_Node] = []
        self.row = 0
        self.orphan = False
        self.set_span(span)

    def set_span(self, span: StoredSpan | None) -> None:
        self.span = span
        self.category = category_of(span.genai) if span is not None else ""
        self.is_error = span is not None and span.status_code == STATUS_CODE_ERROR


def _order(node: _Node) -> tuple[int, str]:
    span = node.span
    return (span.start_time_unix_nano, span.span_id) if span is not None else (0, "")


class SpanTreeModel(QAbstractItemModel):
    sig_time_range_changed = Signal(object, object)  # trace_start_ns, trace_end_ns (ints beyond 32 bits)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._serials = itertools.count(1)
        self._root = _Node(None, 0)
        self._by_serial: dict[int, _Node] = {}
        self._by_id: dict[str, _Node] = {}
        self._waiting: dict[str, list[_Node]] = {}  # missing parent id -> the orphans that name it
        self._trace_id: str | None = None
        self._range = (0, 0)
        self._quiet = False  # building inside a reset: no row signals
        self._icons: dict[tuple[str, bool], QImage] = {}

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
        return len(self._by_id)

    def set_trace(self, detail: TraceDetail | None) -> None:
        """Show `detail`: a reset for another trace, an in-place merge for more of the same one."""
        if detail is None or detail.trace_id != self._trace_id or not self._has_all_of(detail):
            self._reset(detail)
        else:
            self._grow(detail)
        self._update_range()

    def index_of(self, span_id: str, column: int = SpanColumn.NAME) -> QModelIndex:
        node = self._by_id.get(span_id)
        return self._index(node, column) if node is not None else QModelIndex()

    def span_at(self, index: AnyIndex) -> StoredSpan | None:
        node = self._node(index)
        return node.span if node is not None else None

    def spans_in_tree_order(self) -> Iterator[StoredSpan]:
        stack = list(reversed(self._root.children))
        while stack:
            node = stack.pop()
            yield node.span
            stack.extend(reversed(node.children))

    def first_span(self, predicate: Callable[[StoredSpan], bool]) -> StoredSpan | None:
        return next((span for span in self.spans_in_tree_order() if predicate(span)), None)

    # --- building ---------------------------------------------------------------------

    def _has_all_of(self, detail: TraceDetail) -> bool:
        """A merge only adds or updates; a trace that lost spans (retention) is reloaded."""
        ids = {span.span_id for span in detail.spans}
        return all(span_id in ids for span_id in self._by_id)

    def _reset(self, detail: TraceDetail | None) -> None:
        self.beginResetModel()
        self._root.children.clear()
        self._by_serial.clear()
        self._by_id.clear()
        self._waiting.clear()
        self._trace_id = detail.trace_id if detail is not None else None
        self._quiet = True
        try:
            for span in sorted(detail.spans if detail is not None else (), key=_span_order):
                if span.span_id not in self._by_id:
                    self._add(span)
        finally:
            self._quiet = False
        self.endResetModel()

    def _grow(self, detail: TraceDetail) -> None:
        changed: list[_Node] = []
        arrived: list[StoredSpan] = []
        for span in detail.spans:
            node = self._by_id.get(span.span_id)
            if node is None:
                arrived.append(span)
            elif node.span != span:
                old = node.span
                node.set_span(span)
                changed.append(node)
                if (old.start_time_unix_nano, old.parent_span_id) != (span.start_time_unix_nano, span.parent_span_id):
                    self._replace(node)
        for span in sorted(arrived, key=_span_order):
            if span.span_id not in self._by_id:
                self._add(span)
        for node in changed:
            self._row_changed(node)

    def _add(self, span: StoredSpan) -> None:
        node = _Node(span, next(self._serials))
        self._by_serial[node.serial] = node
        self._by_id[span.span_id] = node
        self._insert(node, self._parent_for(node))
        for orphan in self._waiting.pop(span.span_id, []):
            if not _is_ancestor(orphan, node):  # a parent cycle (A→B→A) stays flat
                self._move(orphan, node)
                orphan.orphan = False
                self._row_changed(orphan)  # its marker goes, and the service shown may change

    def _parent_for(self, node: _Node) -> _Node:
        """The node `node` belongs under; sets its orphan flag and waits for a missing parent."""
        parent_id = node.span.parent_span_id
        parent = self._by_id.get(parent_id) if parent_id else self._root
        if parent is None or parent is node or _is_ancestor(node, parent):
            node.orphan = True
            self._waiting.setdefault(parent_id, []).append(node)
            return self._root
        node.orphan = False
        return parent

    def _replace(self, node: _Node) -> None:
        """A span re-sent with another start or parent: move it (and its subtree) where it now sorts."""
        if node.orphan:  # it waits under its old parent id
            for parent_id, nodes in list(self._waiting.items()):
                if node in nodes:
                    nodes.remove(node)
                    if not nodes:
                        del self._waiting[parent_id]
        self._move(node, self._parent_for(node))

    def _insert(self, node: _Node, parent: _Node) -> None:
        row = bisect.bisect_left(parent.children, _order(node), key=_order)
        if not self._quiet:
            self.beginInsertRows(self._index(parent), row, row)
        parent.children.insert(row, node)
        node.parent = parent
        _renumber(parent, row)
        if not self._quiet:
            self.endInsertRows()

    def _move(self, node: _Node, parent: _Node) -> None:
        old_parent, old_row = node.parent, node.row
        siblings = [child for child in parent.children if child is not node]
        row = bisect.bisect_left(siblings, _order(node), key=_order)
        if parent is old_parent and row == old_row:
            return
        if not self._quiet:
            # Qt counts the destination row before the removal
            target = row + 1 if parent is old_parent and row > old_row else row
            self.beginMoveRows(self._index(old_parent), old_row, old_row, self._index(parent), target)
        del old_parent.children[old_row]
        _renumber(old_parent, old_row)
        parent.children.insert(row, node)
        node.parent = parent
        _renumber(parent, min(row, old_row) if parent is old_parent else row)
        if not self._quiet:
            self.endMoveRows()

    def _row_changed(self, node: _Node) -> None:
        if not self._quiet:
            self.dataChanged.emit(self._index(node, 0), self._index(node, COLUMN_COUNT - 1))

    def _update_range(self) -> None:
        nodes = self._by_id.values()
        new = ((min(n.span.start_time_unix_nano for n in nodes), max(n.span.end_time_unix_nano for n in nodes))
               if nodes else (0, 0))
        if new != self._range:
            self._range = new
            self.sig_time_range_changed.emit(*new)

    # --- indexes ----------------------------------------------------------------------

    def _index(self, node: _Node, column: int = 0) -> QModelIndex:
        if node is self._root:
            return QModelIndex()
        return self.createIndex(node.row, column, node.serial)

    def _node(self, index: AnyIndex) -> _Node | None:
        if not index.isValid() or index.model() is not self:
            return None
        return self._by_serial.get(index.internalId())

    def _parent_node(self, parent: AnyIndex) -> _Node | None:
        return self._root if not parent.isValid() else self._node(parent)

    # --- QAbstractItemModel ------------------------------------------------------------

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self._parent_node(parent)
        if node is None or not 0 <= row < len(node.children) or not 0 <= column < COLUMN_COUNT:
            return QModelIndex()
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        return self.createIndex(row, column, node.children[row].serial)

    def parent(self, child: AnyIndex | None = None) -> Any:
        if child is None:
            return super().parent()  # QObject.parent()
        node = self._node(child)
        if node is None or node.parent is None:
            return QModelIndex()
        return self._index(node.parent)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        node = self._parent_node(parent)
        return len(node.children) if node is not None else 0

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
        node = self._by_serial.get(index.internalId()) if index.isValid() else None
        column = index.column()
        if node is None or node.span is None or not 0 <= column < COLUMN_COUNT:
            return None
        if role == _DISPLAY:
            return self._display(node, column)
        if role >= SPAN_ROLE:
            return _custom_role(node, role)
        if role == _ALIGNMENT:
            return _RIGHT if column in _RIGHT_COLUMNS else None
        if role == _TOOLTIP:
            return _tooltip(node)
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

    def _display(self, node: _Node, column: int) -> str | None:
        span = node.span
        match column:
            case SpanColumn.NAME:
                above = self._service_above(node)
                if span.service_name and above is not None and span.service_name != above:
                    return f"{span.name} · {span.service_name}"
                return span.name
            case SpanColumn.DURATION:
                return format_duration_ns(span.duration_ns)
            case SpanColumn.TOKENS:
                return _tokens(span)
            case SpanColumn.COST:
                return _cost(span)
        return None  # TIMELINE: the delegate paints the bar

    def _service_above(self, node: _Node) -> str | None:
        """The service a span's is compared with: its parent's; for an orphan, the first root's
        (another service there is the likeliest place the context was lost)."""
        parent = node.parent
        if parent is not None and parent is not self._root:
            return parent.span.service_name
        first = self._root.children[0] if self._root.children else None
        return first.span.service_name if node.orphan and first is not None and first is not node else None

    def _icon(self, colour: str, orphan: bool) -> QImage:
        """A category dot; hollow and dotted for a span whose parent never arrived. A QImage, not a
        QPixmap: the model needs no GUI application (the item delegate turns it into an icon)."""
        icon = self._icons.get((colour, orphan))
        if icon is None:
            scale = 2  # drawn at 2x so it stays crisp on high-density screens
            icon = QImage(16 * scale, 16 * scale, QImage.Format.Format_ARGB32_Premultiplied)
            icon.fill(Qt.GlobalColor.transparent)
            painter = QPainter(icon)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.scale(scale, scale)
            if orphan:
                painter.setPen(QPen(QColor(colour), 1.6, Qt.PenStyle.DotLine))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawEllipse(QRectF(3.5, 3.5, 9, 9))
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(colour))
                painter.drawRoundedRect(QRectF(3.5, 3.5, 9, 9), 2.5, 2.5)
            painter.end()
            icon.setDevicePixelRatio(scale)
            self._icons[(colour, orphan)] = icon
        return icon


def _custom_role(node: _Node, role: int) -> Any:
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


def _span_order(span: StoredSpan) -> tuple[int, str]:
    return span.start_time_unix_nano, span.span_id


def _renumber(parent: _Node, first: int) -> None:
    for row in range(first, len(parent.children)):
        parent.children[row].row = row


def _is_ancestor(candidate: _Node, node: _Node) -> bool:
    """Whether `candidate` is `node` or above it."""
    walker: _Node | None = node
    while walker is not None:
        if walker is candidate:
            return True
        walker = walker.parent
    return False


def _tokens(span: StoredSpan) -> str:
    genai = span.genai
    if not is_model_call(genai):
        return ""
    inputs, outputs = genai.get("input_tokens"), genai.get("output_tokens")
    if inputs is None and outputs is None:
        return ""  # a call that failed before any usage came back
    text = format_tokens(inputs, outputs)
    return text.removesuffix("/?") if genai.get("operation") == EMBEDDINGS else text  # embeddings have no output


def _cost(span: StoredSpan) -> str:
    genai = span.genai
    if genai.get("cost_usd") is not None:
        return format_cost_usd(genai["cost_usd"])
    if is_model_call(genai) and genai.get("input_tokens") is not None:
        return format_cost_usd(None, unpriced=1)  # "no price": tokens but no known rate
    return ""


def _tooltip(node: _Node) -> str:
    span = node.span
    genai = span.genai
    kind = genai.get("operation") or span.kind_name
    lines = [span.name, f"{kind} · {format_duration_ns(span.duration_ns)}"]
    if span.service_name:
        lines.append(f"service: {span.service_name}")
    if is_model_call(genai) and (model := genai.get("response_model") or genai.get("request_model")):
        lines.append(f"model: {model}")
    if node.is_error:
        lines.append(f"error: {span.status_message or genai.get('error_type') or 'status error'}")
    if genai.get("duplicate_of"):
        lines.append(f"a copy of span {genai['duplicate_of']} (same response id): not counted in the trace's totals")
    if node.orphan:
        lines.append(f"parent span {span.parent_span_id} is missing from this trace: it never arrived "
                     "(often broken context propagation between processes)")
    return "\n".join(lines)
