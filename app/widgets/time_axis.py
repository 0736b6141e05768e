"""The waterfall's shared time axis: the visible window (`TimeWindow`), nice tick steps and
labels, and the header that paints them above the timeline column (`TimeAxisHeader`).

Times stay integer nanoseconds since the epoch; labels are offsets from the trace's start.
The header section and the timeline cells inset the same `TIMELINE_PAD_PX`, so ticks and
bars line up.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QWheelEvent
from PySide6.QtWidgets import QHeaderView, QStyle, QStyleOptionHeader, QWidget

__all__ = ["MIN_WINDOW_NS", "TIMELINE_PAD_PX", "ZOOM_STEP", "TimeAxisHeader", "TimeWindow", "format_offset",
           "tick_offsets", "tick_step", "timeline_area"]

TIMELINE_PAD_PX = 10  # both sides: room for the first and last tick labels and for the bar's ends
MIN_WINDOW_NS = 1_000  # zooming stops at one microsecond across the column
MIN_TICK_SPACING_PX = 64
ZOOM_STEP = 1.25  # per wheel notch
_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs"), (1, "ns"))


def timeline_area(rect: QRect) -> QRect:
    """The part of a timeline cell (or header section) that maps the window."""
    return rect.adjusted(TIMELINE_PAD_PX, 0, -TIMELINE_PAD_PX, 0)


def tick_step(span_ns: float, width_px: float, min_spacing_px: float = MIN_TICK_SPACING_PX) -> int:
    """A round step (1, 2, 2.5 or 5 × 10^k ns) giving ticks at least `min_spacing_px` apart."""
    target = span_ns * min_spacing_px / max(width_px, 1.0)
    if target <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(target))
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * magnitude
        if step >= target and step == int(step):
            return int(step)
    return int(10 * magnitude)


def tick_offsets(first_ns: float, last_ns: float, step: int) -> list[int]:
    """Multiples of `step` within [first_ns, last_ns] (offsets from the trace's start)."""
    start = math.ceil(first_ns / step) * step
    count = max(0, int((last_ns - start) // step) + 1)
    return [start + i * step for i in range(min(count, 1000))]


def format_offset(offset_ns: int, step: int) -> str:
    """"0 ms", "250 ms", "1.25 s": each label in its own unit, with the decimals the step needs."""
    magnitude = abs(offset_ns) or step
    unit, suffix = next(((u, s) for u, s in _UNITS if magnitude >= u), _UNITS[-1])
    decimals = next((d for d in range(10) if (step * 10 ** d) % unit == 0), 9)
    text = f"{offset_ns / unit:.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {suffix}"


class TimeWindow(QObject):
    """The visible part of the trace's time range; the whole trace unless zoomed."""

    sig_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._full = (0, 1)
        self._zoom: tuple[int, int] | None = None  # None: the whole trace

    @property
    def full_start(self) -> int:
        return self._full[0]

    @property
    def full_end(self) -> int:
        return self._full[1]

    @property
    def start(self) -> int:
        return (self._zoom or self._full)[0]

    @property
    def end(self) -> int:
        return (self._zoom or self._full)[1]

    @property
    def width(self) -> int:
        return self.end - self.start

    @property
    def is_zoomed(self) -> bool:
        return self._zoom is not None

    def set_full_range(self, start_ns: int, end_ns: int) -> None:
        """The trace's range (it grows while spans arrive); a zoomed window stays where it is."""
        self._full = (start_ns, max(end_ns, start_ns + 1))
        if self._zoom is not None:
            self._zoom = self._clamped(*self._zoom)
        self.sig_changed.emit()

    def zoom_to(self, start_ns: float, end_ns: float) -> None:
        self._set(self._clamped(min(start_ns, end_ns), max(start_ns, end_ns)))

    def reset(self) -> None:
        self._set(None)

    def zoom_by(self, factor: float, anchor_ns: float | None = None) -> None:
        """Zoom in (`factor` > 1) or out, keeping `anchor_ns` (default: the centre) where it is."""
        start, end = self.start, self.end
        anchor = (start + end) / 2 if anchor_ns is None else min(max(anchor_ns, start), end)
        fraction = (anchor - start) / (end - start)
        width = max((end - start) / factor, MIN_WINDOW_NS)
        self.zoom_to(anchor - fraction * width, anchor + (1 - fraction) * width)

    def pan_to(self, start_ns: float) -> None:
        if self._zoom is not None:
            self.zoom_to(start_ns, start_ns + self.width)

    def x_of(self, ns: float, left: float, width: float) -> float:
        return left + (ns - self.start) * width / self.width

    def ns_at(self, x: float, left: float, width: float) -> float:
        return self.start + (x - left) * self.width / max(width, 1.0)

    def _clamped(self, start: float, end: float) -> tuple[int, int] | None:
        full_start, full_end = self._full
        full_width = full_end - full_start
        width = max(end - start, min(MIN_WINDOW_NS, full_width))
        if width >= full_width:
            return None
        start = min(max(start, full_start), full_end - width)
        return round(start), round(start + width)

    def _set(self, zoom: tuple[int, int] | None) -> None:
        if zoom != self._zoom:
            self._zoom = zoom
            self.sig_changed.emit()


class TimeAxisHeader(QHeaderView):
    """A horizontal header whose timeline section is a time axis: tick marks and offsets from
    the trace's start over the visible window. A wheel over the axis zooms around the cursor;
    a double-click on it shows the whole trace again."""

    def __init__(self, window: TimeWindow, column: int, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._window = window
        self._column = column
        window.sig_changed.connect(self.viewport().update)

    def axis_area(self) -> QRect:
        """The window's extent in viewport coordinates (shared with the timeline cells)."""
        left = self.sectionViewportPosition(self._column)
        return timeline_area(QRect(left, 0, self.sectionSize(self._column), self.height()))

    def paintSection(self, painter: QPainter, rect: QRect, logicalIndex: int) -> None:
        if logicalIndex != self._column:
            super().paintSection(painter, rect, logicalIndex)
            return
        painter.save()
        option = QStyleOptionHeader()
        self.initStyleOption(option)  # the palette and font (ForIndex alone leaves the default palette)
        self.initStyleOptionForIndex(option, logicalIndex)
        option.rect, option.text = rect, ""
        self.style().drawControl(QStyle.ControlElement.CE_Header, option, painter, self)
        self._paint_ticks(painter, rect)
        painter.restore()

    def _paint_ticks(self, painter: QPainter, rect: QRect) -> None:
        area = timeline_area(rect)
        window = self._window
        step = tick_step(window.width, area.width())
        origin = window.full_start
        text = self.palette().color(QPalette.ColorRole.ButtonText)
        tick = QColor(text)
        tick.setAlphaF(0.45)
        metrics = painter.fontMetrics()
        painter.setClipRect(rect)
        right_of_last = -1e9
        for offset in tick_offsets(window.start - origin, window.end - origin, step):
            x = round(window.x_of(origin + offset, area.left(), area.width()))
            painter.setPen(tick)
            painter.drawLine(x, rect.bottom() - 4, x, rect.bottom())
            label = format_offset(offset, step)
            width = metrics.horizontalAdvance(label)
            left = min(max(x - width / 2, rect.left() + 3), rect.right() - 3 - width)
            if left < right_of_last + 8:
                continue  # would overlap the previous label
            right_of_last = left + width
            painter.setPen(text)
            painter.drawText(QRectF(left, rect.top(), width, rect.height() - 4),
                             Qt.AlignmentFlag.AlignCenter, label)

    def viewportEvent(self, event: QEvent) -> bool:
        # QHeaderView hands wheel events to the view's rows (which scroll); over the axis they zoom
        if event.type() == QEvent.Type.Wheel and self._zoom_by_wheel(event):
            return True
        return super().viewportEvent(event)

    def _zoom_by_wheel(self, event: QWheelEvent) -> bool:
        x = event.position().x()
        if self.logicalIndexAt(round(x)) != self._column or not event.angleDelta().y():
            return False
        area = self.axis_area()
        anchor = self._window.ns_at(x, area.left(), area.width())
        self._window.zoom_by(ZOOM_STEP ** (event.angleDelta().y() / 120), anchor)
        event.accept()
        return True

    def mouseDoubleClickEvent(self, event) -> None:
        x = round(event.position().x())
        on_handle = abs(x - self.sectionViewportPosition(self._column)) <= 4
        if self.logicalIndexAt(QPoint(x, 1)) == self._column and not on_handle:
            self._window.reset()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)
