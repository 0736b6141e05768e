"""`SpanTree`: one trace's spans linked parent to child (children in start order). Pure Python, no Qt.

A rebuild links every span in one pass. A merge (more of the same trace, spans still arriving)
inserts new spans where they sort, moves a span waiting at the top level under its parent when
the parent arrives, and tells a `SpanTreeListener` before and after each row change, so the Qt
adapter (`span_tree_model.SpanTreeModel`) can wrap each one in its begin…/end… pair. A span whose
parent never arrives stays at the top level, flagged `orphan`: that usually means the trace
context was not propagated into the process that made it. Parent links that form a cycle
(A→B→A, a broken exporter) are kept flat instead of looping.

Built for 10,000-span traces: no per-span sorting in a rebuild, spans arriving in bulk are
inserted as one block of rows per parent, and a merge that would move many rows declines
(`merge` returns False) so the owner rebuilds instead.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter

from app.span_category import category_of
from receiver.records import STATUS_CODE_ERROR, StoredSpan

__all__ = ["REGROW_RESET_MOVES", "REGROW_RESET_SPANS", "SpanNode", "SpanTree", "SpanTreeListener", "first_root_id"]

# Thresholds of one growth beyond which a reset (the view keeps its state) beats inserting and moving rows:
# each moved row updates every persistent index a view keeps (one per expanded span).
REGROW_RESET_SPANS = 2_000
REGROW_RESET_MOVES = 32


class SpanNode:
    """One span's place in the tree; the root is a node without a span (serial 0)."""

    __slots__ = ("span", "serial", "parent", "children", "row", "orphan", "texts", "_category")

    def __init__(self, span: StoredSpan | None, serial: int) -> None:
        self.span = span
        self.serial = serial  # what a Qt index carries instead of a pointer: a stale one finds no node
        self.parent: SpanNode | None = None
        self.children: list[SpanNode] = []
        self.row = 0
        self.orphan = False
        # The columns' display texts, made by `span_display` when first shown; the tree clears them
        # when the service they compare with (the parent's) may have changed.
        self.texts: tuple[str | None, ...] | None = None
        self._category: str | None = None  # likewise made when first asked

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


class SpanTreeListener:
    """Told of each row change a merge makes, before and after it; these defaults do nothing."""

    def before_insert(self, parent: SpanNode, first: int, last: int) -> None:
        """Rows `first`..`last` of `parent` are about to be inserted."""

    def after_insert(self) -> None:
        pass

    def before_move(self, old_parent: SpanNode, old_row: int, new_parent: SpanNode, new_row: int) -> None:
        """One row is about to move; `new_row` is its row once moved (counted without it)."""

    def after_move(self) -> None:
        pass

    def changed(self, node: SpanNode) -> None:
        """`node`'s span, or its orphan flag, changed in place."""


_SILENT = SpanTreeListener()


class SpanTree:
    """The nodes of one trace by serial and by span id, under a span-less root."""

    def __init__(self) -> None:
        self._serials = itertools.count(1)
        self.root = SpanNode(None, 0)  # serial 0: what an invalid Qt index's internalId() is
        # Read by the Qt adapter on every row a view lays out, hence plain dicts (one lookup each).
        self.by_serial: dict[int, SpanNode] = {0: self.root}
        self.by_id: dict[str, SpanNode] = {}
        self._waiting: dict[str, list[SpanNode]] = {}  # missing parent id -> the orphans that name it
        self._notify = _SILENT  # a merge's listener while it runs; a rebuild tells nobody (the owner resets)

    # --- reading ----------------------------------------------------------------------

    def spans_in_tree_order(self) -> Iterator[StoredSpan]:
        stack = list(reversed(self.root.children))
        while stack:
            node = stack.pop()
            yield node.span
            stack.extend(reversed(node.children))

    def first_span(self, predicate: Callable[[StoredSpan], bool]) -> StoredSpan | None:
        return next((span for span in self.spans_in_tree_order() if predicate(span)), None)

    def in_tree_order(self, span_ids: Iterable[str]) -> list[str]:
        """Those of `span_ids` that are in the tree, in tree order (depth first, as the rows read)."""
        wanted = {span_id for span_id in span_ids if span_id in self.by_id}
        if not wanted:
            return []
        return [span.span_id for span in self.spans_in_tree_order() if span.span_id in wanted]

    def time_range(self) -> tuple[int, int]:
        """(first start, last end) in ns since the epoch; (0, 0) when empty."""
        spans = [node.span for node in self.by_id.values()]
        return (min(map(_START, spans)), max(map(_END, spans))) if spans else (0, 0)

    # --- building ---------------------------------------------------------------------

    def rebuild(self, spans: Sequence[StoredSpan]) -> None:
        """Replace the tree with `spans`, telling the listener nothing."""
        self.root.children.clear()
        self.by_serial.clear()
        self.by_serial[0] = self.root
        self.by_id.clear()
        self._waiting.clear()
        if not self._link_all(spans):  # a parent cycle: span by span, which keeps cycles flat
            for span in sorted(spans, key=_span_order):
                if span.span_id not in self.by_id:
                    self._add(span)

    def merge(self, spans: Sequence[StoredSpan], listener: SpanTreeListener = _SILENT) -> bool:
        """Add the new of `spans` and update the changed, telling `listener` of each row change.
        False, with nothing changed, when a rebuild is due: spans were lost (retention), or the
        growth would move so many rows that one reset is cheaper. The listener is not kept: a
        Qt model owning the tree and the tree holding the model would be a reference cycle."""
        if not self._has_all_of(spans):
            return False
        changed: list[tuple[SpanNode, StoredSpan]] = []
        arrived: list[StoredSpan] = []
        moves = 0
        for span in spans:
            node = self.by_id.get(span.span_id)
            if node is None:
                arrived.append(span)
                moves += len(self._waiting.get(span.span_id, ()))  # orphans it adopts
            elif node.span != span:
                changed.append((node, span))
                moves += _placed_differently(node.span, span)
        if len(arrived) > REGROW_RESET_SPANS or moves > REGROW_RESET_MOVES:
            return False
        self._notify = listener
        try:
            self._apply(changed, arrived)
        finally:
            self._notify = _SILENT
        return True

    def _apply(self, changed: list[tuple[SpanNode, StoredSpan]], arrived: list[StoredSpan]) -> None:
        """A merge the thresholds allow: changed spans first (one may move), then the new ones."""
        for node, span in changed:
            old = node.span
            node.set_span(span)
            for child in node.children:
                child.texts = None  # the service it is compared with may have changed
            if _placed_differently(old, span):
                self._replace(node)
        if arrived:
            self._add_all(sorted(arrived, key=_span_order))
        for node in self.root.children:
            node.texts = None  # an orphan's service is compared with the first root's
        for node, _span in changed:
            self._notify.changed(node)

    def _has_all_of(self, spans: Sequence[StoredSpan]) -> bool:
        """A merge only adds or updates; a trace that lost spans is rebuilt."""
        ids = {span.span_id for span in spans}
        return all(span_id in ids for span_id in self.by_id)

    def _link_all(self, spans: Sequence[StoredSpan]) -> bool:
        """Build the whole tree in one pass (children appended in start order); False, with
        nothing built, if parent links form a cycle."""
        by_id, root, waiting = self.by_id, self.root, self._waiting
        nodes = []
        for span in sorted(spans, key=_span_order):  # the store's order already: a linear pass
            if span.span_id not in by_id:
                node = by_id[span.span_id] = SpanNode(span, next(self._serials))
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
        self.by_serial.update((node.serial, node) for node in nodes)
        return True

    def _add_all(self, spans: list[StoredSpan]) -> None:
        """Spans of a growth, in start order: linked among themselves silently, then inserted as
        one block of rows per run of new siblings; then the orphans they are parents of move."""
        fresh: list[SpanNode] = []
        for span in spans:
            if span.span_id not in self.by_id:
                node = SpanNode(span, next(self._serials))
                self.by_id[span.span_id] = node
                self.by_serial[node.serial] = node
                fresh.append(node)
        new = set(fresh)
        blocks: dict[SpanNode, list[SpanNode]] = {}
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
            self._adopt_orphans(node)

    def _insert_block(self, parent: SpanNode, nodes: list[SpanNode]) -> None:
        """Insert new children (in order) where they sort: one insertion per contiguous run."""
        children = parent.children
        first = 0
        while first < len(nodes):
            row = bisect.bisect_left(children, _order(nodes[first]), key=_order)
            end = len(nodes)
            if row < len(children):  # the run ends where the next existing sibling sorts
                limit = _order(children[row])
                end = next((i for i in range(first + 1, len(nodes)) if _order(nodes[i]) >= limit), len(nodes))
            run = nodes[first:end]
            self._notify.before_insert(parent, row, row + len(run) - 1)
            children[row:row] = run
            for node in run:
                node.parent = parent
            _renumber(parent, row)
            self._notify.after_insert()
            first = end

    def _add(self, span: StoredSpan) -> None:
        node = SpanNode(span, next(self._serials))
        self.by_serial[node.serial] = node
        self.by_id[span.span_id] = node
        self._insert(node, self._parent_for(node))
        self._adopt_orphans(node)

    def _adopt_orphans(self, node: SpanNode) -> None:
        """Move the spans that waited for `node` (their parent) under it."""
        for orphan in self._waiting.pop(node.span.span_id, []):
            if not _is_ancestor(orphan, node):  # a parent cycle (A→B→A) stays flat
                self._move(orphan, node)
                orphan.orphan = False
                self._notify.changed(orphan)  # its marker goes, and the service shown may change

    def _parent_for(self, node: SpanNode) -> SpanNode:
        """The node `node` belongs under; sets its orphan flag and waits for a missing parent."""
        parent_id = node.span.parent_span_id
        parent = self.by_id.get(parent_id) if parent_id else self.root
        if parent is None or parent is node or _is_ancestor(node, parent):
            node.orphan = True
            self._waiting.setdefault(parent_id, []).append(node)
            return self.root
        node.orphan = False
        return parent

    def _replace(self, node: SpanNode) -> None:
        """A span re-sent with another start or parent: move it (and its subtree) where it now sorts."""
        if node.orphan:  # it waits under its old parent id
            for parent_id, nodes in list(self._waiting.items()):
                if node in nodes:
                    nodes.remove(node)
                    if not nodes:
                        del self._waiting[parent_id]
        self._move(node, self._parent_for(node))

    def _insert(self, node: SpanNode, parent: SpanNode) -> None:
        row = bisect.bisect_left(parent.children, _order(node), key=_order)
        self._notify.before_insert(parent, row, row)
        parent.children.insert(row, node)
        node.parent = parent
        _renumber(parent, row)
        self._notify.after_insert()

    def _move(self, node: SpanNode, parent: SpanNode) -> None:
        old_parent, old_row = node.parent, node.row
        siblings = [child for child in parent.children if child is not node]
        row = bisect.bisect_left(siblings, _order(node), key=_order)
        if parent is old_parent and row == old_row:
            return
        self._notify.before_move(old_parent, old_row, parent, row)
        del old_parent.children[old_row]
        _renumber(old_parent, old_row)
        parent.children.insert(row, node)
        node.parent = parent
        node.texts = None  # the service it is compared with is another span's now
        _renumber(parent, min(row, old_row) if parent is old_parent else row)
        self._notify.after_move()


_START, _END = attrgetter("start_time_unix_nano"), attrgetter("end_time_unix_nano")
_span_order = attrgetter("start_time_unix_nano", "span_id")  # (start, id): a C-level sort key


def first_root_id(spans: Iterable[StoredSpan]) -> str | None:
    """The span of the first top-level row (no parent, or a parent not in the trace), in the
    rows' order: where the waterfall and the inspector show results on the whole trace."""
    spans = list(spans)
    ids = {span.span_id for span in spans}
    roots = [span for span in spans if not span.parent_span_id or span.parent_span_id not in ids]
    return min(roots, key=_span_order).span_id if roots else None


def _order(node: SpanNode) -> tuple[int, str]:
    span = node.span
    return (span.start_time_unix_nano, span.span_id) if span is not None else (0, "")


def _placed_differently(old: StoredSpan, new: StoredSpan) -> bool:
    """Whether a re-sent span sorts elsewhere: another start or another parent."""
    return (old.start_time_unix_nano, old.parent_span_id) != (new.start_time_unix_nano, new.parent_span_id)


def _renumber(parent: SpanNode, first: int) -> None:
    for row in range(first, len(parent.children)):
        parent.children[row].row = row


def _is_ancestor(candidate: SpanNode, node: SpanNode) -> bool:
    """Whether `candidate` is `node` or above it."""
    walker: SpanNode | None = node
    while walker is not None:
        if walker is candidate:
            return True
        walker = walker.parent
    return False
