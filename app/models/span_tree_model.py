"""`SpanTreeModel`: one trace's spans as a tree (children in start order), for the waterfall.

The model does no I/O: whoever owns it hands in `TraceDetail`s with `set_trace`. A different
trace is a reset. The same trace again (spans still arriving) is merged: new spans are inserted
where they sort, spans that changed emit `dataChanged`, and a span waiting at the top level for
its parent moves under the parent when it arrives, so a view keeps its expansion, selection and
scroll. A span whose parent never arrives stays at the top level, flagged (`ORPHAN_ROLE`): that
usually means the trace context was not propagated into the process that made it.

Indexes carry a node serial (`internalId`), not a Python pointer: a stale index after a reset
finds no node and reads as empty instead of touching freed memory.

Built for 10,000-span traces: a reset links every span to its parent in one pass (no per-span
sorting or signals), the methods a view calls for each row (`index`, `parent`, `rowCount`,
`hasChildren`, `data`) do one dictionary lookup each, display texts are made when a row is
first painted, and spans arriving in bulk are inserted as one block of rows per parent. When
a growth would move many rows (children that arrived before their root), one reset is cheaper
than the moves; a view keeps its state across it (`WaterfallView` does).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Iterator
from enum import IntEnum
from operator import attrgetter
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
TOOLTIPS = {SpanColumn.NAME: "The span's name, and its service where it differs from its parent's. "
                             "j / k move, h / l collapse and expand, Enter opens the span, Ctrl+F finds",
            SpanColumn.DURATION: "How long the span took, start to end",
            SpanColumn.TOKENS: "Input / output tokens of model calls",
            SpanColumn.COST: "USD of the model call at the price of its day",
            SpanColumn.TIMELINE: "When each span ran, on the trace's clock. Ctrl+wheel or + / - zoom, drag pans, "
                                 "double-click a bar to zoom to its span, 0 shows the whole trace"}
# Thresholds of one growth beyond which a reset (the view keeps its state) beats inserting and moving rows:
# each moved row updates every persistent index a view keeps (one per expanded span).
REGROW_RESET_SPANS = 2_000
REGROW_RESET_MOVES = 32
COLUMN_COUNT = len(SpanColumn)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_RIGHT_COLUMNS = frozenset({SpanColumn.DURATION, SpanColumn.TOKENS, SpanColumn.COST})
_DISPLAY, _DECORATION, _TOOLTIP = (int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.DecorationRole),
                                   int(Qt.ItemDataRole.ToolTipRole))
_FONT, _ALIGNMENT, _FOREGROUND = (int(Qt.ItemDataRole.FontRole), int(Qt.ItemDataRole.TextAlignmentRole),
                                  int(Qt.ItemDataRole.ForegroundRole))


class _Node:
    __slots__ = ("span", "serial", "parent", "children", "row", "orphan", "texts", "_category")

    def __init__(self, span: StoredSpan | None, serial: int) -> None:
        self.span = span
        self.serial = serial
        self.parent: _Node | None = None
        self.children: list[_Node] = []
        self.row = 0
        self.orphan = False
        self.texts: tuple[str | None, ...] | None = None  # the columns' display texts, made when first shown
        self._category: str | None = None  # likewise

    def set_span(self, span: StoredSpan) -> None:
        self.span, self.texts, self._category = span, None, None

    @property
    def category(self) -> str:
        if self._category is None:
            self._category = category_of(self.span.genai) if self.span is not None else ""
        return self._category

    @property
    def is_error(self) -> bool:
        return self.span is not None and self.span.status_code == STATUS_CODE_ERROR


_START, _END = attrgetter("start_time_unix_nano"), attrgetter("end_time_unix_nano")


def _order(node: _Node) -> tuple[int, str]:
    span = node.span
    return (span.start_time_unix_nano, span.span_id) if span is not None else (0, "")


class SpanTreeModel(QAbstractItemModel):
    sig_time_range_changed = Signal(object, object)  # trace_start_ns, trace_end_ns (ints beyond 32 bits)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._serials = itertools.count(1)
        self._root = _Node(None, 0)  # serial 0: what an invalid index's internalId() is
        self._by_serial: dict[int, _Node] = {0: self._root}
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
        """Show `detail`: a reset for another trace, an in-place merge for more of the same one
        (or, when that would move many rows, a reset of the same trace)."""
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

    def in_tree_order(self, span_ids: Iterable[str]) -> list[str]:
        """Those of `span_ids` that are in the tree, in tree order (depth first, as the rows read)."""
        wanted = {span_id for span_id in span_ids if span_id in self._by_id}
        if not wanted:
            return []
        return [span.span_id for span in self.spans_in_tree_order() if span.span_id in wanted]

    # --- building ---------------------------------------------------------------------

    def _has_all_of(self, detail: TraceDetail) -> bool:
        """A merge only adds or updates; a trace that lost spans (retention) is reloaded."""
        ids = {span.span_id for span in detail.spans}
        return all(span_id in ids for span_id in self._by_id)

    def _reset(self, detail: TraceDetail | None) -> None:
        self.beginResetModel()
        self._root.children.clear()
        self._by_serial.clear()
        self._by_serial[0] = self._root
        self._by_id.clear()
        self._waiting.clear()
        self._trace_id = detail.trace_id if detail is not None else None
        if detail is not None and not self._link_all(detail.spans):
            self._quiet = True  # a parent cycle: span by span, which keeps cycles flat
            try:
                for span in sorted(detail.spans, key=_span_order):
                    if span.span_id not in self._by_id:
                        self._add(span)
            finally:
                self._quiet = False
        self.endResetModel()

    def _link_all(self, spans: list[StoredSpan]) -> bool:
        """Build the whole tree in one pass (children appended in start order); False, with
        nothing built, if parent links form a cycle."""
        by_id, root, waiting = self._by_id, self._root, self._waiting
        nodes = []
        for span in sorted(spans, key=_span_order):  # the store's order already: a linear pass
            if span.span_id not in by_id:
                node = by_id[span.span_id] = _Node(span, next(self._serials))
                nodes.append(node)
        for node in nodes:
            parent_id = node.span.parent_span_id
            parent = by_id.get(parent_id) if parent_id else root
            if parent is None or parent is node:
                node.orphan = True
                waiting.setdefault(parent_id, []).append(node)
                parent = root
            node.parent = parent
            parent.children.append(node)
        reached, stack = 0, [root]
        while stack:  # number the rows; a span in a cycle is never reached from the root
            node = stack.pop()
            for row, child in enumerate(node.children):
                child.row = row
            reached += len(node.children)
            stack.extend(node.children)
        if reached != len(nodes):
            for node in nodes:
                node.children.clear()
            root.children.clear()
            by_id.clear()
            waiting.clear()
            return False
        self._by_serial.update((node.serial, node) for node in nodes)
        return True

    def _grow(self, detail: TraceDetail) -> None:
        changed: list[tuple[_Node, StoredSpan]] = []
        arrived: list[StoredSpan] = []
        moves = 0
        for span in detail.spans:
            node = self._by_id.get(span.span_id)
            if node is None:
                arrived.append(span)
                moves += len(self._waiting.get(span.span_id, ()))  # orphans it adopts
            elif node.span != span:
                changed.append((node, span))
                old = node.span
                moves += (old.start_time_unix_nano, old.parent_span_id) != (span.start_time_unix_nano,
                                                                            span.parent_span_id)
        if len(arrived) > REGROW_RESET_SPANS or moves > REGROW_RESET_MOVES:
            self._reset(detail)
            return
        for node, span in changed:
            old = node.span
            node.set_span(span)
            for child in node.children:
                child.texts = None  # the service it is compared with may have changed
            if (old.start_time_unix_nano, old.parent_span_id) != (span.start_time_unix_nano, span.parent_span_id):
                self._replace(node)
        if arrived:
            self._add_all(sorted(arrived, key=_span_order))
        for node in self._root.children:
            node.texts = None  # an orphan's service is compared with the first root's
        for node, _span in changed:
            self._row_changed(node)

    def _add_all(self, spans: list[StoredSpan]) -> None:
        """Spans of a growth, in start order: linked among themselves silently, then inserted as
        one block of rows per run of new siblings; then the orphans they are parents of move."""
        fresh: list[_Node] = []
        for span in spans:
            if span.span_id not in self._by_id:
                node = _Node(span, next(self._serials))
                self._by_id[span.span_id] = node
                self._by_serial[node.serial] = node
                fresh.append(node)
        new = set(fresh)
        blocks: dict[_Node, list[_Node]] = {}
        for node in fresh:
            parent = self._parent_for(node)
            if parent in new:  # inside a new subtree: it comes in with its top span's rows
                node.parent, node.row = parent, len(parent.children)
                parent.children.append(node)
            else:
                blocks.setdefault(parent, []).append(node)
        for parent, nodes in blocks.items():
            self._insert_block(parent, nodes)
        for node in fresh:
            for orphan in self._waiting.pop(node.span.span_id, []):
                if not _is_ancestor(orphan, node):  # a parent cycle (A→B→A) stays flat
                    self._move(orphan, node)
                    orphan.orphan = False
                    orphan.texts = None
                    self._row_changed(orphan)  # its marker goes, and the service shown may change

    def _insert_block(self, parent: _Node, nodes: list[_Node]) -> None:
        """Insert new children (in order) where they sort: one beginInsertRows per contiguous run."""
        children = parent.children
        parent_index = self._index(parent)
        first = 0
        while first < len(nodes):
            row = bisect.bisect_left(children, _order(nodes[first]), key=_order)
            end = len(nodes)
            if row < len(children):  # the run ends where the next existing sibling sorts
                limit = _order(children[row])
                end = next((i for i in range(first + 1, len(nodes)) if _order(nodes[i]) >= limit), len(nodes))
            run = nodes[first:end]
            self.beginInsertRows(parent_index, row, row + len(run) - 1)
            children[row:row] = run
            for node in run:
                node.parent = parent
            _renumber(parent, row)
            self.endInsertRows()
            first = end

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
        node.texts = None  # the service it is compared with is another span's now
        _renumber(parent, min(row, old_row) if parent is old_parent else row)
        if not self._quiet:
            self.endMoveRows()

    def _row_changed(self, node: _Node) -> None:
        if not self._quiet:
            self.dataChanged.emit(self._index(node, 0), self._index(node, COLUMN_COUNT - 1))

    def _update_range(self) -> None:
        spans = [node.span for node in self._by_id.values()]
        new = ((min(map(_START, spans)), max(map(_END, spans))) if spans else (0, 0))
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
            return (node.texts or self._texts(node))[column]
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

    def _texts(self, node: _Node) -> tuple[str | None, ...]:
        """The row's display texts by column, made once (when the row is first painted)."""
        span = node.span
        name = span.name
        above = self._service_above(node)
        if span.service_name and above is not None and span.service_name != above:
            name = f"{span.name} · {span.service_name}"
        # TIMELINE: no text, the delegate paints the bar
        node.texts = (name, format_duration_ns(span.duration_ns), _tokens(span), _cost(span), None)
        return node.texts

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


_span_order = attrgetter("start_time_unix_nano", "span_id")  # (start, id): a C-level sort key


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
