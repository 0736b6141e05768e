"""The Messages tab: the span's conversation as chat bubbles — system instructions, the tools
on offer, the input messages, a divider, the output messages; for a tool execution its
arguments and result. Widgets are built once per span; a long history shows its latest
messages and builds the earlier ones when asked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.reproducibility import pretty_json
from app.widgets.inspector.common import InspectorPage, LinkButton, borderless_scroll_area, muted_label
from app.widgets.inspector.message_bubble import CodeBox, MessageBubble
from receiver.records import STATUS_CODE_ERROR, StoredLog, StoredSpan

__all__ = ["MessagesTab", "message_count"]

SHOWN_HISTORY = 30  # input messages built at first (the latest); earlier ones a page a click
EARLIER_PAGE = 30
BUBBLE_STRETCH, INDENT_STRETCH = 6, 1  # a chat bubble spans 6/7 of the width, indented by role


def _messages(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def message_count(span: StoredSpan | None) -> int:
    """Input and output messages on the span (what the tab's title counts)."""
    if span is None:
        return 0
    return len(_messages(span.content.get("input_messages"))) + len(_messages(span.content.get("output_messages")))


def _system_parts(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [{"type": "text", "content": value}]
    return value if isinstance(value, list) else [value]


def _rule() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Plain)
    line.setForegroundRole(QPalette.ColorRole.Mid)
    line.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return line


class _EarlierMessages(QWidget):
    """A page of earlier messages, built on request."""


class MessagesTab(InspectorPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scroll = borderless_scroll_area()
        self.set_content(self._scroll)
        self._column: QVBoxLayout | None = None
        self.earlier_button: QPushButton | None = None
        self._unbuilt: list[Any] = []  # the earliest input messages, not built yet
        self.show_placeholder("Select a span")

    # --- what tests and the panel use ---------------------------------------------------

    def show_span(self, span: StoredSpan | None, logs: Sequence[StoredLog] = ()) -> None:
        old = self._scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self._column, self.earlier_button, self._unbuilt = None, None, []
        if span is None:
            self.show_placeholder("Select a span")
            return
        content = span.content
        has_tool_io = "tool_arguments" in content or "tool_result" in content
        has_messages = any(key in content for key in ("input_messages", "output_messages", "system_instructions"))
        if not (has_messages or has_tool_io):
            self.show_placeholder("No messages on this span")
            return
        page = QWidget()
        self._column = QVBoxLayout(page)
        self._column.setContentsMargins(12, 12, 12, 12)
        self._column.setSpacing(8)
        if has_messages:
            self._add_conversation(span)
        if has_tool_io:
            self._add_tool_io(span)
        self._column.addStretch(1)
        self._scroll.setWidget(page)
        self.show_content()

    def bubbles(self) -> list[MessageBubble]:
        """The bubbles, top to bottom."""
        return [widget for widget in self._widgets_in_order() if isinstance(widget, MessageBubble)]

    def text(self) -> str:
        """Every label the tab shows, top to bottom, one a line (folded texts as shown)."""
        if self._column is None:
            return self.placeholder_text()
        lines = []
        for widget in self._widgets_in_order():
            if isinstance(widget, QLabel):
                lines.append(widget.text())
            lines += [label.text() for label in widget.findChildren(QLabel)]
        return "\n".join(lines)

    def _widgets_in_order(self) -> list[QWidget]:
        """The column's widgets in layout order (the bubbles sit in row layouts of their own)."""
        def walk(layout: QLayout) -> list[QWidget]:
            found: list[QWidget] = []
            for item in (layout.itemAt(i) for i in range(layout.count())):
                if item.layout() is not None:
                    found += walk(item.layout())
                elif isinstance(item.widget(), _EarlierMessages):
                    found += walk(item.widget().layout())
                elif item.widget() is not None:
                    found.append(item.widget())
            return found

        return [] if self._column is None else walk(self._column)

    # --- building -----------------------------------------------------------------------

    def _add_conversation(self, span: StoredSpan) -> None:
        content = span.content
        if content.get("system_instructions"):
            self._add_bubble(MessageBubble("system", _system_parts(content["system_instructions"])), self._column)
        if content.get("tool_definitions"):
            self._add_tool_definitions(content["tool_definitions"])
        history = _messages(content.get("input_messages"))
        hidden = max(0, len(history) - SHOWN_HISTORY)
        if hidden:
            self._unbuilt = history[:hidden]
            self.earlier_button = LinkButton()
            self.earlier_button.clicked.connect(self._show_earlier)
            self._column.addWidget(self.earlier_button, 0, Qt.AlignmentFlag.AlignHCenter)
            self._name_earlier_button()
        for message in history[hidden:]:
            self._add_message(message, self._column)
        if "output_messages" in content:
            self._add_divider("Output")
            for message in _messages(content["output_messages"]):
                self._add_message(message, self._column)
        elif span.status_code == STATUS_CODE_ERROR:  # say why there is no answer
            self._add_divider("Output")
            note = muted_label(f"No output: the call failed ({span.status_message or 'error'})")
            note.setWordWrap(True)
            note.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            self._column.addWidget(note)

    def _name_earlier_button(self) -> None:
        if self.earlier_button is not None:
            count = len(self._unbuilt)
            page = min(count, EARLIER_PAGE)
            more = f" of {count}" if count > page else ""
            self.earlier_button.setText(f"Show {page}{more} earlier messages")

    def _show_earlier(self) -> None:
        """Build the next page of earlier messages (the ones just above those shown), in one box
        laid out once."""
        if self.earlier_button is None or self._column is None:
            return
        page, self._unbuilt = self._unbuilt[-EARLIER_PAGE:], self._unbuilt[:-EARLIER_PAGE]
        box = _EarlierMessages()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(self._column.spacing())
        for message in page:
            self._add_message(message, layout)
        self._column.insertWidget(self._column.indexOf(self.earlier_button) + 1, box)
        if self._unbuilt:
            self._name_earlier_button()
        else:
            self.earlier_button.deleteLater()
            self.earlier_button = None

    def _add_tool_io(self, span: StoredSpan) -> None:
        content, genai = span.content, span.genai
        if "tool_arguments" in content:
            call = {"type": "tool_call", "name": genai.get("tool_name") or "tool", "id": genai.get("tool_call_id"),
                    "arguments": content["tool_arguments"]}
            self._add_bubble(MessageBubble("tool", [call], label="tool call"), self._column, side="start")
        if "tool_result" in content:
            self._add_divider("Result")
            result = {"type": "tool_call_response", "id": genai.get("tool_call_id"),
                      "response": content["tool_result"]}
            self._add_bubble(MessageBubble("tool", [result], label="tool result"), self._column, side="start")

    def _add_message(self, message: Any, layout: QVBoxLayout) -> None:
        if not isinstance(message, dict):
            self._add_bubble(MessageBubble("unknown", [message]), layout, side="start")
            return
        role = str(message.get("role") or "unknown")
        parts = message.get("parts")
        if not isinstance(parts, list):  # not the OTel shape: show what came
            parts = [{key: value for key, value in message.items() if key != "role"}]
        bubble = MessageBubble(role, parts, name=message.get("name"), finish_reason=message.get("finish_reason"))
        self._add_bubble(bubble, layout, side="end" if role == "user" else "start")

    def _add_bubble(self, bubble: MessageBubble, layout: QVBoxLayout, *, side: str = "full") -> None:
        """A bubble in its own row: users' on the right, the model's and tools' on the left."""
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        if side == "end":
            row.addStretch(INDENT_STRETCH)
        row.addWidget(bubble, BUBBLE_STRETCH)
        if side == "start":
            row.addStretch(INDENT_STRETCH)
        layout.addLayout(row)

    def _add_divider(self, text: str) -> None:
        row = QHBoxLayout()
        row.setContentsMargins(0, 6, 0, 2)
        row.setSpacing(10)
        row.addWidget(_rule(), 1)
        row.addWidget(muted_label(text))
        row.addWidget(_rule(), 1)
        self._column.addLayout(row)

    def _add_tool_definitions(self, definitions: Any) -> None:
        """The tools the model was offered, by name, with their definitions folded away."""
        names = [str(d.get("name") or d.get("function", {}).get("name") or "?") for d in _messages(definitions)
                 if isinstance(d, dict)]
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(4)
        line = QHBoxLayout()
        summary = muted_label(f"Tools available: {', '.join(names) or pretty_json(definitions)[:80]}")
        summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary.setWordWrap(True)
        line.addWidget(summary, 1)
        toggle = LinkButton("Show definitions")
        line.addWidget(toggle)
        layout.addLayout(line)
        code = CodeBox(pretty_json(definitions))
        code.setHidden(True)
        layout.addWidget(code)

        def flip() -> None:
            code.setHidden(not code.isHidden())
            toggle.setText("Show definitions" if code.isHidden() else "Hide definitions")

        toggle.clicked.connect(flip)
        self._column.addWidget(box)
