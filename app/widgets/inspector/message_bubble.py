"""One chat message as a bubble: a role chip, then its parts — text (folded when long), tool
calls with their arguments, tool results, and any other part as its JSON. Tints are blended
from the palette at paint time, so a palette change (dark mode) needs no rebuild."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.reproducibility import pretty_json
from app.span_category import CATEGORY_COLOURS, TOOL
from app.theme import is_dark
from app.widgets.inspector.common import LinkButton, TextLabel, blend, fixed_font, muted_label, scaled_font

__all__ = ["FOLD_CHARS", "FOLD_LINES", "CodeBox", "FoldableText", "MessageBubble", "ROLE_COLOURS", "role_chip"]

FOLD_CHARS = 600  # longer texts are folded behind "Show more"
FOLD_LINES = 12
ROLE_COLOURS = {"system": "#64748b", "user": "#3b82f6", "assistant": "#8b5cf6", "tool": CATEGORY_COLOURS[TOOL]}
OTHER_ROLE_COLOUR = "#94a3b8"
BUBBLE_RADIUS_PX = 8


def role_chip(text: str, colour: str) -> QLabel:
    """A small filled label (white on a mid-saturation hue reads in light and dark)."""
    chip = QLabel(text)
    chip.setTextFormat(Qt.TextFormat.PlainText)
    chip.setStyleSheet(f"QLabel {{ background: {colour}; color: white; border-radius: 4px; padding: 1px 7px; }}")
    chip.setFont(scaled_font(chip.font(), 0.9, bold=True))
    chip.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return chip


def _fold(text: str) -> str | None:
    """The folded form of a long text (its start), or None when it is short enough to show whole."""
    lines = text.splitlines()
    if len(text) <= FOLD_CHARS and len(lines) <= FOLD_LINES:
        return None
    return "\n".join(lines[:FOLD_LINES])[:FOLD_CHARS].rstrip() + " …"


class FoldableText(QWidget):
    """Selectable, word-wrapped text; a long one shows its start and a "Show more" / "Show less" toggle."""

    def __init__(self, text: str, *, monospace: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full, self._short = text, _fold(text)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self._label = TextLabel(self._short or text)
        if monospace:
            self._label.setFont(fixed_font(self.font()))
        layout.addWidget(self._label)
        self.toggle: QPushButton | None = None
        if self._short is not None:
            self.toggle = LinkButton("Show more")
            self.toggle.clicked.connect(self._flip)
            layout.addWidget(self.toggle)

    def is_folded(self) -> bool:
        return self._short is not None and self._label.text() == self._short

    def shown_text(self) -> str:
        return self._label.text()

    def full_text(self) -> str:
        return self._full

    def _flip(self) -> None:
        folded = self.is_folded()
        self._label.setText(self._full if folded else self._short)
        if self.toggle is not None:
            self.toggle.setText("Show less" if folded else "Show more")


class CodeBox(QFrame):
    """Monospace text (pretty-printed JSON) in a framed box a shade off the bubble."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codeBox")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.text = FoldableText(text, monospace=True)
        layout.addWidget(self.text)

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        base, text = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)
        painter.setBrush(blend(base, text, 0.06 if is_dark(palette) else 0.035))
        painter.setPen(QPen(blend(base, text, 0.16), 1))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)


class MessageBubble(QFrame):
    """A message: `role`, its `parts` (OTel GenAI shape), and optional name and finish reason."""

    def __init__(self, role: str, parts: list[Any], *, name: str | None = None, finish_reason: str | None = None,
                 label: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self._colour = QColor(ROLE_COLOURS.get(role, OTHER_ROLE_COLOUR))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 10)
        layout.setSpacing(6)
        header = QHBoxLayout()
        header.setSpacing(8)
        header.addWidget(role_chip(label or role, self._colour.name()))
        if name:
            header.addWidget(muted_label(name))
        header.addStretch(1)
        if finish_reason:
            header.addWidget(muted_label(f"finish: {finish_reason}"))
        layout.addLayout(header)
        for part in parts:
            layout.addWidget(self._part(part))

    def _part(self, part: Any) -> QWidget:
        if not isinstance(part, dict):
            return FoldableText(pretty_json(part))
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("content"), str):
            return FoldableText(part["content"])
        if kind == "tool_call":
            return self._titled(f"→ {part.get('name') or '?'}", part.get("id"), pretty_json(part.get("arguments", {})))
        if kind == "tool_call_response":
            return self._titled("← result", part.get("id"), pretty_json(part.get("response")))
        return self._titled(f"{kind or 'part'}", None, pretty_json(part))

    def _titled(self, title: str, call_id: Any, body: str) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        line = QHBoxLayout()
        line.setSpacing(8)
        heading = TextLabel(title, wrap=False)
        heading.setFont(scaled_font(fixed_font(self.font()), bold=True))
        line.addWidget(heading)
        if call_id:
            ident = TextLabel(str(call_id), wrap=False)
            ident.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            ident.setFont(fixed_font(self.font()))
            line.addWidget(ident)
        line.addStretch(1)
        layout.addLayout(line)
        layout.addWidget(CodeBox(body))
        return box

    def texts(self) -> list[str]:
        """Every text the bubble shows (labels and folded texts as shown)."""
        return [label.text() for label in self.findChildren(QLabel)]

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        dark = is_dark(palette)
        base = palette.color(QPalette.ColorRole.Base)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(blend(base, self._colour, 0.16 if dark else 0.08))
        painter.setPen(QPen(blend(base, self._colour, 0.45 if dark else 0.3), 1))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), BUBBLE_RADIUS_PX,
                                BUBBLE_RADIUS_PX)
