"""`WaterfallView`: the span waterfall of one trace. A tree of spans (expand and collapse) with
duration, tokens and cost columns and a time bar per span on a shared, zoomable time axis.

The tree view has uniform row heights and the bar is painted by a delegate, so Qt lays out
and paints only the visible rows: that is what lets a 10,000-span trace scroll.

Zoom and pan: Ctrl+wheel over the rows (or a plain wheel over the axis) zooms around the
cursor, dragging the timeline pans a zoomed window, `+` / `-` / `0` zoom in, out and back
to the whole trace, a double-click on a bar zooms to its span, a double-click on the axis
shows the whole trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QRect, QRectF, QSize, Qt, Signal
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
from app.widgets.waterfall_delegate import TimelineDelegate
from receiver import TraceDetail
from receiver.records import StoredSpan

__all__ = ["WaterfallView"]

KEY_ZOOM_STEP = 1.5
SPAN_ZOOM_MARGIN = 0.06  # of the span's duration, each side, when zooming to a span
NAME_COLUMN_PX = 300


@dataclass
class _Drag:
    x: float
    start_ns: int
    moved: bool = False


class WaterfallView(QWidget):
    sig_span_selected = Signal(object)  # the current StoredSpan, or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = SpanTreeModel(self)
        self.time_window = TimeWindow(self)
        self._selected_id: str | None = None
        self._drag: _Drag | None = None

        self.tree = QTreeView()
        self._header = TimeAxisHeader(self.time_window, SpanColumn.TIMELINE, self.tree)
        self.tree.setHeader(self._header)
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)  # constant-time layout: only visible rows are touched
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setAnimated(False)
        self.tree.setIndentation(16)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.setItemDelegateForColumn(SpanColumn.TIMELINE, TimelineDelegate(self.time_window, self.tree))
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
        self.model.set_trace(detail)
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
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    def selected_span(self) -> StoredSpan | None:
        return self.model.span_at(self.tree.currentIndex())

    def first_span(self, predicate: Callable[[StoredSpan], bool]) -> StoredSpan | None:
        """The first span in tree order for which `predicate` holds."""
        return self.model.first_span(predicate)

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

    def _on_model_reset(self) -> None:
        self.time_window.reset()
        self.tree.expandAll()
        if self._selected_id is not None:
            self._selected_id = None
            self.sig_span_selected.emit(None)

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        """Arriving spans open, so their children show as they come; collapsed parents stay collapsed."""
        for row in range(first, last + 1):
            self.tree.expand(self.model.index(row, 0, parent))

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        span = self.model.span_at(current)
        self._selected_id = span.span_id if span is not None else None
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
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal) or text in ("+", "="):
            self.time_window.zoom_by(KEY_ZOOM_STEP)
        elif key == Qt.Key.Key_Minus or text == "-":
            self.time_window.zoom_by(1 / KEY_ZOOM_STEP)
        elif key == Qt.Key.Key_0 or text == "0":
            self.time_window.reset()
        else:
            return False
        return True  # the tree would expand and collapse on + and -

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
