"""`WaterfallView`: the span waterfall of one trace. A tree of spans (expand and collapse) with
duration, tokens and cost columns and a time bar per span on a shared, zoomable time axis.

The tree view has uniform row heights and the bar is painted by a delegate, so Qt lays out
and paints only the visible rows: that is what lets a 10,000-span trace scroll. Expanding and
collapsing a subtree is the view's alone: the model is never rebuilt for it.

Keys: Up / Down and j / k move, Left / h collapses (or goes to the parent), Right / l expands
(or goes to the first child), Enter opens the span (`sig_span_opened`: the inspector takes it).

Zoom and pan: Ctrl+wheel over the rows (or a plain wheel over the axis) zooms around the
cursor, dragging the timeline pans a zoomed window, `+` / `-` / `0` zoom in, out and back
to the whole trace, a double-click on a bar zooms to its span, a double-click on the axis
shows the whole trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPalette, QPen, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.formatting import format_duration_ns
from app.models.span_tree_model import SpanColumn, SpanTreeModel
from app.span_category import CATEGORIES, CATEGORY_COLOURS, ERROR_COLOUR
from app.widgets.time_axis import ZOOM_STEP, TimeAxisHeader, TimeWindow, format_offset, tick_step
from app.widgets.waterfall_delegate import RowDelegate, TimelineDelegate
from receiver import TraceDetail
from receiver.records import StoredSpan

__all__ = ["WaterfallView"]

KEY_ZOOM_STEP = 1.5
SPAN_ZOOM_MARGIN = 0.06  # of the span's duration, each side, when zooming to a span
NAME_COLUMN_PX = 300
# A trace bigger than this opens with only its first screen of rows laid out, painted at once,
# and the rest expanded right after (laying out 10,000 rows costs ~75 ms before any paint).
EXPAND_AT_ONCE_SPANS = 2_000
FIRST_SCREEN_ROWS = 300
EXPAND_REST_LATEST_MS = 250  # when no paint comes (the waterfall hidden)


@dataclass
class _Drag:
    x: float
    start_ns: int
    moved: bool = False


@dataclass
class _ViewState:
    """What a reset of the same trace (many spans at once) must not lose."""

    current: str | None
    top: str | None  # the span in the first visible row
    collapsed: list[str] = field(default_factory=list)


_NO_MODIFIERS = Qt.KeyboardModifier.NoModifier | Qt.KeyboardModifier.KeypadModifier


class WaterfallView(QWidget):
    sig_span_selected = Signal(object)  # the current StoredSpan, or None
    sig_span_opened = Signal(object)  # Enter on a span: the StoredSpan to inspect

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = SpanTreeModel(self)
        self.time_window = TimeWindow(self)
        self._selected_id: str | None = None
        self._drag: _Drag | None = None
        self._same_trace = False  # set_trace is handing the model more of the trace it shows
        self._kept: _ViewState | None = None  # across a reset of the same trace
        self._expand_rest_after = 0  # the reset whose tree is expanded whole once its first screen is painted
        self._resets = 0
        self._matches: frozenset[str] = frozenset()  # find-in-trace: highlighted by the delegates

        self.tree = QTreeView()
        self._header = TimeAxisHeader(self.time_window, SpanColumn.TIMELINE, self.tree)
        self.tree.setHeader(self._header)
        # before the view's own connection, which forgets its rows: the state is read from them
        self.model.modelAboutToBeReset.connect(self._on_model_about_to_reset)
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)  # constant-time layout: only visible rows are touched
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setAnimated(False)
        self.tree.setIndentation(16)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.setItemDelegate(RowDelegate(self._is_match, self.tree))
        self.tree.setItemDelegateForColumn(SpanColumn.TIMELINE,
                                           TimelineDelegate(self.time_window, self._is_match, self.tree))
        self._size_columns()

        self._placeholder = QLabel("Select a trace")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._stack = QStackedWidget()
        self._stack.addWidget(self._placeholder)
        self._stack.addWidget(self.tree)

        self._zoom_label = QLabel()
        self._zoom_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._reset_button = QToolButton()
        self._reset_button.setText("Show whole trace")
        self._reset_button.setAutoRaise(True)
        self._reset_button.setToolTip("Zoom out to the whole trace (0)")
        self._reset_button.clicked.connect(self.reset_zoom)
        self._footer = QWidget()
        bar = QHBoxLayout(self._footer)
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(_Legend())
        bar.addStretch(1)
        bar.addWidget(self._zoom_label)
        bar.addWidget(self._reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self._footer)
        self._footer.setVisible(False)  # no trace, nothing to explain
        self.setFocusProxy(self.tree)

        self.model.modelReset.connect(self._on_model_reset)
        self.model.rowsInserted.connect(self._on_rows_inserted)
        self.model.sig_time_range_changed.connect(self.time_window.set_full_range)
        self.time_window.sig_changed.connect(self._on_window_changed)
        self.tree.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.tree.viewport().installEventFilter(self)
        self.tree.installEventFilter(self)
        self._on_window_changed()

    # --- public API ---------------------------------------------------------------------

    def set_trace(self, detail: TraceDetail | None) -> None:
        """Show a trace (None: nothing). More spans of the trace shown keep expansion, selection and zoom."""
        self._same_trace = detail is not None and detail.trace_id == self.model.trace_id
        try:
            self.model.set_trace(detail)
        finally:
            self._same_trace = False
        self._stack.setCurrentWidget(self.tree if detail is not None else self._placeholder)
        self._footer.setVisible(detail is not None)

    def select_span(self, span_id: str) -> bool:
        index = self.model.index_of(span_id)
        if not index.isValid():
            return False
        parent = index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        # a row off screen comes to the middle, with what is around it; one on screen stays put
        row = self.tree.visualRect(index.siblingAtColumn(SpanColumn.DURATION))
        on_screen = self.tree.viewport().rect().contains(row)
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible if on_screen
                           else QAbstractItemView.ScrollHint.PositionAtCenter)
        return True

    def selected_span(self) -> StoredSpan | None:
        return self.model.span_at(self.tree.currentIndex())

    def first_span(self, predicate: Callable[[StoredSpan], bool]) -> StoredSpan | None:
        """The first span in tree order for which `predicate` holds."""
        return self.model.first_span(predicate)

    def set_matches(self, span_ids: Iterable[str]) -> None:
        """Highlight these spans' rows (find in trace); an empty list clears the highlight. Like the
        selection, a highlight is the view's: it outlives more spans arriving, not another trace."""
        self._matches = frozenset(span_ids)
        self.tree.viewport().update()

    def match_ids(self) -> frozenset[str]:
        return self._matches

    def _is_match(self, index: QModelIndex) -> bool:
        if not self._matches:
            return False
        span = self.model.span_at(index)
        return span is not None and span.span_id in self._matches

    @property
    def view_start_ns(self) -> int:
        return self.time_window.start

    @property
    def view_end_ns(self) -> int:
        return self.time_window.end

    def zoom_to(self, start_ns: int, end_ns: int) -> None:
        """Show [start_ns, end_ns] across the timeline (clamped to the trace)."""
        self.time_window.zoom_to(start_ns, end_ns)

    def reset_zoom(self) -> None:
        self.time_window.reset()

    def zoom_to_span(self, span: StoredSpan) -> None:
        margin = span.duration_ns * SPAN_ZOOM_MARGIN
        self.zoom_to(round(span.start_time_unix_nano - margin), round(span.end_time_unix_nano + margin))

    # --- model and selection ------------------------------------------------------------

    def _size_columns(self) -> None:
        header = self._header
        header.setStretchLastSection(True)  # the timeline takes what is left
        header.setSectionsMovable(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(40)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        metrics = self.tree.fontMetrics()
        samples = {SpanColumn.DURATION: "999 ms", SpanColumn.TOKENS: "99.9k/9999", SpanColumn.COST: "$0.0000000"}
        self.tree.setColumnWidth(SpanColumn.NAME, NAME_COLUMN_PX)
        for column, sample in samples.items():
            title = self.model.headerData(column, Qt.Orientation.Horizontal)
            width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(title)) + 24
            self.tree.setColumnWidth(column, width)

    def _on_model_about_to_reset(self) -> None:
        if self._expand_rest_after:  # still opening: what the user keeps is the whole tree open
            self._expand_rest_after = 0
            self.tree.expandAll()
        self._kept = self._view_state() if self._same_trace else None

    def _on_model_reset(self) -> None:
        kept, self._kept = self._kept, None
        self._resets += 1
        if kept is None and self.model.span_count() > EXPAND_AT_ONCE_SPANS:
            self._expand_first_rows(FIRST_SCREEN_ROWS)
            self._expand_rest_after = self._resets  # at the first paint (eventFilter), or soon if hidden
            QTimer.singleShot(EXPAND_REST_LATEST_MS, self.tree, self._expand_rest)
        else:
            self.tree.expandAll()
        if kept is not None:
            self._restore_view_state(kept)
            return
        self.time_window.reset()
        self._matches = frozenset()
        if self._selected_id is not None:
            self._selected_id = None
            self.sig_span_selected.emit(None)

    def _expand_rest(self) -> None:
        if self._expand_rest_after == self._resets:
            self._expand_rest_after = 0
            self.tree.expandAll()

    def _expand_first_rows(self, rows: int) -> None:
        """Expand the parents among the first `rows` rows in display order: what the first
        screen of a fully expanded tree shows."""
        model, stack = self.model, [(QModelIndex(), 0)]
        while stack and rows > 0:
            parent, row = stack.pop()
            if row >= model.rowCount(parent):
                continue
            stack.append((parent, row + 1))
            rows -= 1
            index = model.index(row, 0, parent)
            if model.hasChildren(index):
                self.tree.expand(index)
                stack.append((index, 0))

    def _view_state(self) -> _ViewState:
        tree, model = self.tree, self.model
        top = model.span_at(tree.indexAt(QPoint(0, 0)))
        collapsed = []
        for span in model.spans_in_tree_order():
            index = model.index_of(span.span_id)
            if model.hasChildren(index) and not tree.isExpanded(index):
                collapsed.append(span.span_id)
        return _ViewState(self._selected_id, top.span_id if top is not None else None, collapsed)

    def _restore_view_state(self, kept: _ViewState) -> None:
        """After a reset of the same trace: the user's collapses, current span and scroll (zoom was never reset)."""
        for span_id in kept.collapsed:
            self.tree.collapse(self.model.index_of(span_id))
        if kept.current is not None and (current := self.model.index_of(kept.current)).isValid():
            self._selected_id = kept.current  # the same span: no selection signal
            self.tree.setCurrentIndex(current)
        elif self._selected_id is not None:
            self._selected_id = None
            self.sig_span_selected.emit(None)
        if kept.top is not None:
            self.tree.scrollTo(self.model.index_of(kept.top), QAbstractItemView.ScrollHint.PositionAtTop)

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        """Arriving spans open (a row that comes with its subtree, all of it), so their children
        show as they come; collapsed parents stay collapsed."""
        for row in range(first, last + 1):
            self.tree.expandRecursively(self.model.index(row, 0, parent))

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        span = self.model.span_at(current)
        span_id = span.span_id if span is not None else None
        if span_id is not None and span_id == self._selected_id:
            return  # the same span again (a view state restored after a reset)
        self._selected_id = span_id
        self.sig_span_selected.emit(span)

    # --- zoom and pan -------------------------------------------------------------------

    def _on_window_changed(self) -> None:
        self.tree.viewport().update()
        self._header.viewport().update()
        window = self.time_window
        if window.is_zoomed:
            step = tick_step(window.width, 100, 1)  # a hundredth of the window: enough decimals
            origin = window.full_start
            self._zoom_label.setText(f"Showing {format_offset(window.start - origin, step)} – "
                                     f"{format_offset(window.end - origin, step)} of "
                                     f"{format_duration_ns(window.full_end - window.full_start)}")
        else:
            self._zoom_label.setText("Ctrl+wheel to zoom, drag to pan")
        self._reset_button.setVisible(window.is_zoomed)

    def _timeline_ns_at(self, x: float) -> float | None:
        """The time under viewport x, or None outside the timeline column."""
        area = self._header.axis_area()
        left = self._header.sectionViewportPosition(SpanColumn.TIMELINE)
        if x < left:
            return None
        return self.time_window.ns_at(x, area.left(), area.width())

    def _ns_per_px(self) -> float:
        return self.time_window.width / max(self._header.axis_area().width(), 1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.tree and event.type() == QEvent.Type.KeyPress:
            return self._on_key(event)
        if watched is self.tree.viewport():
            match event.type():
                case QEvent.Type.Paint if self._expand_rest_after:  # the first screen: the rest after it
                    QTimer.singleShot(0, self.tree, self._expand_rest)
                case QEvent.Type.Wheel:
                    return self._on_wheel(event)
                case QEvent.Type.MouseButtonPress:
                    self._on_press(event)
                case QEvent.Type.MouseMove:
                    return self._on_move(event)
                case QEvent.Type.MouseButtonRelease:
                    return self._on_release()
                case QEvent.Type.MouseButtonDblClick:
                    return self._on_double_click(event)
        return super().eventFilter(watched, event)

    def _on_key(self, event: QKeyEvent) -> bool:
        key, text = event.key(), event.text()
        plain = not event.modifiers() & ~_NO_MODIFIERS
        if plain and key in (Qt.Key.Key_J, Qt.Key.Key_K):
            self._step(down=key == Qt.Key.Key_J)
        elif plain and key in (Qt.Key.Key_H, Qt.Key.Key_Left):
            self._collapse_or_go_up()
        elif plain and key in (Qt.Key.Key_L, Qt.Key.Key_Right):
            self._expand_or_go_down()
        elif plain and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if (span := self.selected_span()) is not None:
                self.sig_span_opened.emit(span)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal) or text in ("+", "="):
            self.time_window.zoom_by(KEY_ZOOM_STEP)
        elif key == Qt.Key.Key_Minus or text == "-":
            self.time_window.zoom_by(1 / KEY_ZOOM_STEP)
        elif key == Qt.Key.Key_0 or text == "0":
            self.time_window.reset()
        else:
            return False
        return True  # the tree would expand and collapse on + and -, and type-ahead search on letters

    # --- moving through the tree ------------------------------------------------------

    def _current_row(self) -> QModelIndex:
        current = self.tree.currentIndex()
        return current.siblingAtColumn(0) if current.isValid() else current

    def _go_to(self, index: QModelIndex) -> None:
        if index.isValid():
            self.tree.setCurrentIndex(index)
            self.tree.scrollTo(index)

    def _step(self, down: bool) -> None:
        current = self._current_row()
        if not current.isValid():
            self._go_to(self.model.index(0, 0))
        else:
            self._go_to(self.tree.indexBelow(current) if down else self.tree.indexAbove(current))

    def _collapse_or_go_up(self) -> None:
        current = self._current_row()
        if current.isValid() and self.model.hasChildren(current) and self.tree.isExpanded(current):
            self.tree.collapse(current)
        elif current.isValid():
            self._go_to(current.parent())

    def _expand_or_go_down(self) -> None:
        current = self._current_row()
        if not current.isValid() or not self.model.hasChildren(current):
            return
        if self.tree.isExpanded(current):
            self._go_to(self.model.index(0, 0, current))
        else:
            self.tree.expand(current)

    def _on_wheel(self, event: QWheelEvent) -> bool:
        x = event.position().x()
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and delta.y():
            self.time_window.zoom_by(ZOOM_STEP ** (delta.y() / 120), self._timeline_ns_at(x))
            return True
        if delta.x() and not delta.y() and self.time_window.is_zoomed and self._timeline_ns_at(x) is not None:
            # a sideways swipe (touchpad, tilt wheel) pans a zoomed window
            self.time_window.pan_to(self.time_window.start - delta.x() / 120 * self.time_window.width / 10)
            return True
        return False

    def _on_press(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if event.button() == Qt.MouseButton.LeftButton and self._timeline_ns_at(x) is not None:
            self._drag = _Drag(x, self.time_window.start)

    def _on_move(self, event: QMouseEvent) -> bool:
        drag = self._drag
        if drag is None or not event.buttons() & Qt.MouseButton.LeftButton or not self.time_window.is_zoomed:
            return False
        dx = event.position().x() - drag.x
        if not drag.moved and abs(dx) < QApplication.startDragDistance():
            return False
        if not drag.moved:
            drag.moved = True
            self.tree.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        self.time_window.pan_to(drag.start_ns - dx * self._ns_per_px())
        return True  # a pan, not a drag-selection across rows

    def _on_release(self) -> bool:
        drag, self._drag = self._drag, None
        if drag is not None and drag.moved:
            self.tree.viewport().unsetCursor()
            return True
        return False

    def _on_double_click(self, event: QMouseEvent) -> bool:
        position = event.position()
        if event.button() != Qt.MouseButton.LeftButton or self._timeline_ns_at(position.x()) is None:
            return False
        span = self.model.span_at(self.tree.indexAt(QPoint(round(position.x()), round(position.y()))))
        if span is None:
            return False
        self.zoom_to_span(span)
        return True


class _Legend(QWidget):
    """The category colours, the error colour and the missing-parent marker, in one line."""

    SWATCH_PX = 10
    GAP_PX = 14

    def _items(self) -> list[tuple[str, str, bool]]:
        return ([(name, CATEGORY_COLOURS[name], False) for name in CATEGORIES]
                + [("error", ERROR_COLOUR, False), ("parent missing", CATEGORY_COLOURS["other"], True)])

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        width = sum(self.SWATCH_PX + 5 + metrics.horizontalAdvance(label) + self.GAP_PX
                    for label, _, _ in self._items())
        return QSize(width, metrics.height() + 8)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.sizeHint().height())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = self.fontMetrics()
        x, middle = 0.0, self.height() / 2
        text = self.palette().color(QPalette.ColorRole.WindowText)
        for label, colour, hollow in self._items():
            swatch = QRectF(x + 0.5, middle - self.SWATCH_PX / 2 + 0.5, self.SWATCH_PX - 1, self.SWATCH_PX - 1)
            if hollow:
                painter.setPen(QPen(QColor(colour), 1.6, Qt.PenStyle.DotLine))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawEllipse(swatch)
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(colour))
                painter.drawRoundedRect(swatch, 2.5, 2.5)
            x += self.SWATCH_PX + 5
            width = metrics.horizontalAdvance(label)
            if x + width > self.width():
                break
            painter.setPen(text)
            painter.drawText(QRect(round(x), 0, width + 1, self.height()), Qt.AlignmentFlag.AlignVCenter, label)
            x += width + self.GAP_PX
        painter.end()
