"""The waterfall's delegates: `TimelineDelegate` paints one span's bar in the timeline column,
`RowDelegate` the text columns, with a span's evaluation badges after its name (`paint_badges`:
a count per verdict, green passed, red failed, grey none; a person for each annotation); both
give find-in-trace matches a highlighter's background.

Painting reads only the row's roles, the shared `TimeWindow` and the view's matches, so the
tree view's painting of visible rows only is all the scaling a 10,000-span trace needs (and
highlighting thousands of matches is one repaint, not a signal per row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.formatting import format_duration_ns
from app.models.span_display import Badge, evaluation_badges, verdict_colour
from app.models.span_tree_model import CATEGORY_ROLE, END_NS_ROLE, ERROR_ROLE, EVALUATIONS_ROLE, START_NS_ROLE
from app.span_category import CATEGORY_COLOURS, ERROR_COLOUR, OTHER
from app.widgets.time_axis import TimeWindow, tick_offsets, tick_step, timeline_area

__all__ = ["MATCH_COLOUR", "MIN_BAR_PX", "RowDelegate", "TimelineDelegate", "badges_width", "bar_colour",
           "paint_badges"]

MIN_BAR_PX = 2.0  # an instant span still shows
BAR_HEIGHT = 0.58  # of the row
TEXT_GAP_PX = 5
_OFFSCREEN_PX = 50  # how far past the cell a clipped bar is drawn (keeps coordinates small when zoomed)
MATCH_COLOUR = QColor(250, 204, 21, 70)  # a translucent amber: a highlighter's mark on light and dark bases
BADGE_GAP_PX = 3  # between badges, and between the name and the first
BADGE_PADDING_PX = 4  # inside a badge, each side
BADGE_FONT_SCALE = 0.85
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

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        results = index.model().data(index, EVALUATIONS_ROLE) if index.column() == 0 else None
        if not results:
            super().paint(painter, option, index)
            return
        # The row as usual with its name cut short enough for the badges to follow it in the cell.
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        widget = item.widget
        style = widget.style() if widget is not None else QApplication.style()
        badges = evaluation_badges(results)
        font = badge_font(item.font)
        needed = badges_width(badges, font, _badge_height(item))
        text_box = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, item, widget)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        names = QFontMetricsF(item.font)
        room = max(0.0, text_box.width() - 2 * margin - BADGE_GAP_PX - needed)
        item.text = names.elidedText(item.text, Qt.TextElideMode.ElideRight, room)
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)
        left = text_box.left() + margin + (names.horizontalAdvance(item.text) + BADGE_GAP_PX if item.text else 0)
        painter.save()
        painter.setClipRect(option.rect)
        paint_badges(painter, QPointF(left, option.rect.center().y() + 0.5), badges, font, _badge_height(item))
        painter.restore()


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


def badge_font(like: QFont) -> QFont:
    font = QFont(like)
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * BADGE_FONT_SCALE)
    font.setBold(True)
    return font


def _badge_height(option: QStyleOptionViewItem) -> float:
    return max(10.0, min(option.rect.height() - 4.0, QFontMetricsF(option.font).height() + 1))


def _badge_width(badge: Badge, metrics: QFontMetricsF, height: float) -> float:
    glyphs = 2 if badge.human else 1  # a person and its verdict; a verdict and its count
    text = 0.0 if badge.human else metrics.horizontalAdvance(str(badge.count)) + 2
    return 2 * BADGE_PADDING_PX + glyphs * height * 0.62 + text


def badges_width(badges: Sequence[Badge], font: QFont, height: float) -> float:
    metrics = QFontMetricsF(font)
    return sum(_badge_width(badge, metrics, height) for badge in badges) + BADGE_GAP_PX * (len(badges) - 1)


def paint_badges(painter: QPainter, start: QPointF, badges: Sequence[Badge], font: QFont, height: float) -> None:
    """The badges in a line from `start` (their left edge, at mid height): white marks on the verdict's colour."""
    metrics = QFontMetricsF(font)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setFont(font)
    x, top = start.x(), start.y() - height / 2
    glyph = height * 0.62
    for badge in badges:
        width = _badge_width(badge, metrics, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(verdict_colour(badge.passed)))
        painter.drawRoundedRect(QRectF(x, top, width, height), height / 2, height / 2)
        mark = QRectF(x + BADGE_PADDING_PX, top + (height - glyph) / 2, glyph, glyph)
        if badge.human:
            _person(painter, mark)
            mark.translate(glyph, 0)
        _verdict_mark(painter, mark, badge.passed)
        if not badge.human:
            painter.setPen(QColor("white"))
            text = QRectF(mark.right() + 2, top, width, height)
            painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, str(badge.count))
        x += width + BADGE_GAP_PX


def _verdict_mark(painter: QPainter, box: QRectF, passed: int | None) -> None:
    """A tick, a cross or a dot, in white, drawn (not a font's glyph: every platform alike)."""
    pen = QPen(QColor("white"), max(1.4, box.width() * 0.17), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
               Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    inner = box.adjusted(box.width() * 0.15, box.height() * 0.15, -box.width() * 0.15, -box.height() * 0.15)
    if passed == 1:
        painter.drawPolyline([QPointF(inner.left(), inner.center().y() + inner.height() * 0.05),
                              QPointF(inner.left() + inner.width() * 0.38, inner.bottom()),
                              QPointF(inner.right(), inner.top() + inner.height() * 0.1)])
    elif passed == 0:
        painter.drawLine(inner.topLeft(), inner.bottomRight())
        painter.drawLine(inner.topRight(), inner.bottomLeft())
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("white"))
        painter.drawEllipse(box.center(), box.width() * 0.17, box.width() * 0.17)


def _person(painter: QPainter, box: QRectF) -> None:
    """A person (head and shoulders), in white: the mark of an annotation someone made."""
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("white"))
    w, h = box.width(), box.height()
    painter.drawEllipse(QPointF(box.center().x(), box.top() + h * 0.28), w * 0.22, h * 0.22)
    shoulders = QPainterPath()
    shoulders.moveTo(box.left() + w * 0.1, box.bottom())
    shoulders.cubicTo(box.left() + w * 0.1, box.top() + h * 0.5, box.right() - w * 0.1, box.top() + h * 0.5,
                      box.right() - w * 0.1, box.bottom())
    shoulders.closeSubpath()
    painter.drawPath(shoulders)


def _luminance(colour: QColor) -> float:
    """WCAG relative luminance: which of black or white text reads on the bar."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())
