"""Small pieces the inspector's tabs share: fonts, palette-derived colours, the placeholder page,
a text label that turns selectable on hover, a link-styled button, the copy button."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QEnterEvent,
    QFont,
    QFontDatabase,
    QIcon,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QWidget,
)

__all__ = ["CopyButton", "InspectorPage", "LinkButton", "TextLabel", "blend", "copy_to_clipboard", "fixed_font",
           "borderless_scroll_area", "muted_label", "scaled_font"]

COPIED_FEEDBACK_MS = 1200  # how long a copy button shows its tick
COPIED_COLOUR = "#10b981"


def fixed_font(like: QFont) -> QFont:
    """The system's monospace font at the size of `like` (the app font, usually)."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if like.pointSizeF() > 0:
        font.setPointSizeF(like.pointSizeF())
    elif like.pixelSize() > 0:
        font.setPixelSize(like.pixelSize())
    return font


def scaled_font(like: QFont, factor: float = 1.0, *, bold: bool = False) -> QFont:
    font = QFont(like)
    if factor != 1.0 and font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    font.setBold(bold)
    return font


def blend(base: QColor, tint: QColor, amount: float) -> QColor:
    """`base` moved `amount` (0–1) of the way towards `tint`."""
    return QColor.fromRgbF(base.redF() + (tint.redF() - base.redF()) * amount,
                           base.greenF() + (tint.greenF() - base.greenF()) * amount,
                           base.blueF() + (tint.blueF() - base.blueF()) * amount)


def borderless_scroll_area() -> QScrollArea:
    """A tab's scrolling page: its content resizes with it, no frame inside the tab's own."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area


def muted_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A secondary label: the palette's placeholder colour, so it follows light and dark."""
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


class TextLabel(QLabel):
    """Plain text that becomes selectable when the mouse first comes over it: a selectable label
    keeps a text document, which makes building and laying out hundreds of them (a long
    conversation) several times slower, and selecting starts with the mouse anyway."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, wrap: bool = True) -> None:
        super().__init__(text, parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(wrap)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setCursor(Qt.CursorShape.IBeamCursor)

    def enterEvent(self, event: QEnterEvent) -> None:
        if not self.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse:
            self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        super().enterEvent(event)


def copy_to_clipboard(text: str) -> None:
    QApplication.clipboard().setText(text)


class InspectorPage(QStackedWidget):
    """A tab's two faces: a quiet centred placeholder, or the content the subclass installs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._placeholder = muted_label()
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._placeholder.setMargin(24)
        self.addWidget(self._placeholder)

    def set_content(self, widget: QWidget) -> None:
        self.addWidget(widget)

    def show_placeholder(self, text: str) -> None:
        self._placeholder.setText(text)
        self.setCurrentIndex(0)

    def placeholder_text(self) -> str:
        """What the placeholder says, or "" while the content shows."""
        return self._placeholder.text() if self.currentIndex() == 0 else ""

    def show_content(self) -> None:
        self.setCurrentIndex(1)


class LinkButton(QPushButton):
    """A button that reads as a link ("Show more"): the palette's link colour, underlined on hover."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setFlat(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        return QSize(metrics.horizontalAdvance(self.text()) + 4, metrics.height() + 4)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        font = self.font()
        font.setUnderline(self.underMouse() or self.hasFocus())
        painter.setFont(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.Link))
        painter.drawText(self.rect().adjusted(2, 0, -2, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         self.text())


class CopyButton(QToolButton):
    """A small flat button that puts `text` on the clipboard and shows a tick for a moment."""

    def __init__(self, text: str, what: str = "value", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self._copied = False
        self.setAutoRaise(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setToolTip(f"Copy {what}")
        self.setAccessibleName(f"Copy {what}")
        line = self.fontMetrics().height()
        self.setIconSize(QSize(line - 2, line - 2))
        self.setFixedSize(line + 4, line + 2)  # no taller than a line of text, so rows stay tight
        self._paint_icon()
        self.clicked.connect(self._copy)

    @property
    def copy_text(self) -> str:
        return self._text

    def _copy(self) -> None:
        copy_to_clipboard(self._text)
        self._copied = True
        self._paint_icon()
        QTimer.singleShot(COPIED_FEEDBACK_MS, self, self._reset)

    def _reset(self) -> None:
        self._copied = False
        self._paint_icon()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._paint_icon()
        super().changeEvent(event)

    def _paint_icon(self) -> None:
        """Two overlapping sheets (or a tick after copying): faint at rest, in the text colour under the mouse."""
        palette = self.palette()
        if self._copied:
            rest = hover = QColor(COPIED_COLOUR)
        else:
            hover = palette.color(QPalette.ColorRole.Text)
            rest = blend(palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.PlaceholderText),
                         0.7)
        icon = QIcon(self._pixmap(rest))
        icon.addPixmap(self._pixmap(hover), QIcon.Mode.Active)
        self.setIcon(icon)

    def _pixmap(self, colour: QColor) -> QPixmap:
        ratio = max(1.0, self.devicePixelRatioF())
        size = self.iconSize()
        pixmap = QPixmap(int(size.width() * ratio), int(size.height() * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(colour, 1.4)
        painter.setPen(pen)
        w, h = size.width(), size.height()
        if self._copied:
            tick = [QPointF(w * 0.18, h * 0.55), QPointF(w * 0.42, h * 0.78), QPointF(w * 0.85, h * 0.25)]
            painter.drawPolyline(tick)
        else:
            painter.drawRoundedRect(QRectF(w * 0.1, h * 0.32, w * 0.56, h * 0.6), 2, 2)  # the front sheet
            painter.drawPolyline([QPointF(w * 0.36, h * 0.32), QPointF(w * 0.36, h * 0.08),  # the one behind it
                                  QPointF(w * 0.9, h * 0.08), QPointF(w * 0.9, h * 0.66), QPointF(w * 0.66, h * 0.66)])
        painter.end()
        return pixmap
