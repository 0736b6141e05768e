"""The Raw tab: the span as JSON, exactly as `tracepane show --json` prints it, read-only and
copyable in one click."""

from __future__ import annotations

import json
from collections.abc import Sequence

from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from app.cli_output import span_json
from app.widgets.inspector.common import InspectorPage, copy_to_clipboard, fixed_font, muted_label
from receiver.records import StoredLog, StoredSpan

__all__ = ["RawTab", "span_text"]


def span_text(span: StoredSpan) -> str:
    return json.dumps(span_json(span), indent=2, ensure_ascii=False)


class RawTab(InspectorPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        bar.addWidget(muted_label("The span as `tracepane show --json` prints it"), 1)
        self.copy_button = QPushButton("Copy JSON")
        self.copy_button.clicked.connect(lambda: copy_to_clipboard(self.editor.toPlainText()))
        bar.addWidget(self.copy_button)
        layout.addLayout(bar)
        self.editor = QPlainTextEdit()
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setFont(fixed_font(self.font()))
        layout.addWidget(self.editor, 1)
        self.set_content(page)
        self.show_placeholder("Select a span")

    def show_span(self, span: StoredSpan | None, logs: Sequence[StoredLog] = ()) -> None:
        if span is None:
            self.editor.clear()
            self.show_placeholder("Select a span")
            return
        self.editor.setPlainText(span_text(span))
        self.show_content()
