"""The waterfall's delegates: `TimelineDelegate` paints one span's bar in the timeline column,
`RowDelegate` the text columns; both give find-in-trace matches a highlighter's background.

Painting reads only the row's roles, the shared `TimeWindow` and the view's matches, so the
tree view's painting of visible rows only is all the scaling a 10,000-span trace needs (and
highlighting thousands of matches is one repaint, not a signal per row).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.formatting import format_duration_ns
from app.models.span_tree_model import CATEGORY_ROLE, END_NS_ROLE, ERROR_ROLE, START_NS_ROLE
from app.span_category import CATEGORY_COLOURS, ERROR_COLOUR, OTHER
from app.widgets.time_axis import TimeWindow, tick_offsets, tick_step, timeline_area

__all__ = ["MATCH_COLOUR", "MIN_BAR_PX", "RowDelegate", "TimelineDelegate", "bar_colour"]

MIN_BAR_PX = 2.0  # an instant span still shows
BAR_HEIGHT = 0.58  # of the row
TEXT_GAP_PX = 5
_OFFSCREEN_PX = 50  # how far past the cell a clipped bar is drawn (keeps coordinates small when zoomed)
MATCH_COLOUR = QColor(250, 204, 21, 70)  # a translucent amber: a highlighter's mark on light and dark bases
IsMatch = Callable[[QModelIndex | QPersistentModelIndex], bool]


def bar_colour(category: str, is_error: bool) -> QColor:
    return QColor(ERROR_COLOUR if is_error else CATEGORY_COLOURS.get(category, CATEGORY_COLOURS[OTHER]))


class RowDelegate(QStyledItemDelegate):
    """A row's cells as usual, on a highlighter's background where `is_match` says so."""

    def __init__(self, is_match: IsMatch, parent=None) -> None:
        super().__init__(parent)
        self._is_match = is_match

    def initStyleOption(self, option: QStyleOptionViewItem,  # noqa: N802 - Qt override
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        if self._is_match(index):
            option.backgroundBrush = QBrush(MATCH_COLOUR)


class TimelineDelegate(RowDelegate):
    def __init__(self, window: TimeWindow, is_match: IsMatch, parent=None) -> None:
        super().__init__(is_match, parent)
        self._window = window
        self._ticks: tuple[tuple, list[float]] = ((), [])

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        super().paint(painter, option, index)  # the row's background and selection: the cell has no text
        model = index.model()  # asked directly: no round trip through C++ for each role
        start, end = model.data(index, START_NS_ROLE), model.data(index, END_NS_ROLE)
        if start is None or end is None:
            return
        painter.save()
        painter.setClipRect(option.rect)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = timeline_area(option.rect)
        self._paint_grid(painter, option, area)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text_colour = option.palette.color(QPalette.ColorRole.HighlightedText if selected
                                           else QPalette.ColorRole.Text)
        self._paint_bar(painter, option.rect, area, start, end, index, text_colour, selected)
        painter.restore()

    def _paint_grid(self, painter: QPainter, option: QStyleOptionViewItem, area) -> None:
        """Faint lines at the axis ticks, so a bar's start reads against the header's labels."""
        grid = option.palette.color(QPalette.ColorRole.Text)
        grid.setAlphaF(0.09)
        painter.setPen(QPen(grid, 1))
        for x in self._tick_xs(area.left(), area.width()):
            painter.drawLine(QPointF(x, option.rect.top()), QPointF(x, option.rect.bottom() + 1))

    def _tick_xs(self, left: int, width: int) -> list[float]:
        """The ticks' x positions, computed once per window and column geometry (every row shares them)."""
        window = self._window
        key = (window.start, window.end, window.full_start, left, width)
        if self._ticks[0] != key:
            origin = window.full_start
            step = tick_step(window.width, width)
            self._ticks = (key, [round(window.x_of(origin + offset, left, width)) + 0.5
                                 for offset in tick_offsets(window.start - origin, window.end - origin, step)])
        return self._ticks[1]

    def _paint_bar(self, painter: QPainter, cell, area, start: int, end: int, index, text_colour: QColor,
                   selected: bool) -> None:
        window = self._window
        left = window.x_of(start, area.left(), area.width())
        right = max(window.x_of(end, area.left(), area.width()), left + MIN_BAR_PX)
        if right < cell.left() or left > cell.right():
            return  # outside the zoomed window
        left, right = max(left, cell.left() - _OFFSCREEN_PX), min(right, cell.right() + _OFFSCREEN_PX)
        height = max(4.0, round(cell.height() * BAR_HEIGHT))
        bar = QRectF(left, cell.top() + (cell.height() - height) / 2, right - left, height)
        model = index.model()
        colour = bar_colour(model.data(index, CATEGORY_ROLE) or OTHER, bool(model.data(index, ERROR_ROLE)))
        if selected:  # the highlight may be the bar's own hue: outline it in the highlighted text colour
            painter.setPen(QPen(text_colour, 1.5))
        else:
            painter.setPen(QPen(colour.darker(135), 1) if bar.width() > 3 else Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        radius = min(3.0, bar.width() / 2)
        painter.drawRoundedRect(bar.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
        self._paint_duration(painter, cell, area, bar, end - start, colour, text_colour)

    def _paint_duration(self, painter: QPainter, cell, area, bar: QRectF, duration_ns: int, colour: QColor,
                        text_colour: QColor) -> None:
        """The duration beside the bar: right of it, else left of it, else inside it, else not at all."""
        label = format_duration_ns(duration_ns)
        width = painter.fontMetrics().horizontalAdvance(label)
        if bar.right() + TEXT_GAP_PX + width <= cell.right() - 2:
            box = QRectF(bar.right() + TEXT_GAP_PX, cell.top(), width + 1, cell.height())
        elif bar.left() - TEXT_GAP_PX - width >= cell.left() + 2:
            box = QRectF(bar.left() - TEXT_GAP_PX - width, cell.top(), width + 1, cell.height())
        elif bar.width() >= width + 2 * TEXT_GAP_PX:
            visible = bar.intersected(QRectF(area).adjusted(-TEXT_GAP_PX, 0, TEXT_GAP_PX, 0))
            box = QRectF(visible.center().x() - width / 2, cell.top(), width + 1, cell.height())
            text_colour = QColor("#111827") if _luminance(colour) > 0.3 else QColor("#ffffff")
        else:
            return
        painter.setPen(text_colour)
        painter.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)


def _luminance(colour: QColor) -> float:
    """WCAG relative luminance: which of black or white text reads on the bar."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())
