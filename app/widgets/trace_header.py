"""One line about the open trace above its waterfall: what it was, how long, how many
tokens and dollars; the trace id selectable for copying."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from app.formatting import format_cost_usd, format_duration_ns, format_time_ns, format_tokens, plural
from receiver import TraceSummary

__all__ = ["TraceHeader"]


class TraceHeader(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = QLabel()
        font = self.title_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title_label.setFont(font)
        self.facts_label = QLabel()
        # long facts are cut, never widen the window: the trace id and the title stay whole
        self.facts_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title_label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self.title_label.setMinimumWidth(60)
        self.id_label = QLabel(enabled=False)
        self.id_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.id_label.setToolTip("Trace ID (select to copy)")
        # title and id on the first line, the facts on the second: both stay whole at any width
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.setVerticalSpacing(2)
        layout.addWidget(self.title_label, 0, 0)
        layout.addWidget(self.id_label, 0, 1, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.facts_label, 1, 0, 1, 2)
        layout.setColumnStretch(0, 1)
        self.show_trace(None)

    def show_trace(self, trace: TraceSummary | None) -> None:
        if trace is None:
            self.title_label.setText("No trace selected")
            self.facts_label.setText("")
            self.id_label.setText("")
            return
        self.title_label.setText(trace.root_name or "(no root span)")
        facts = [format_time_ns(trace.start_time_unix_nano), format_duration_ns(trace.duration_ns),
                 plural(trace.span_count, "span")]
        if trace.error_count:
            facts.append(plural(trace.error_count, "error"))
        if trace.llm_calls:
            facts.append(f"{format_tokens(trace.input_tokens, trace.output_tokens)} tokens")
            facts.append(format_cost_usd(trace.cost_usd, unpriced=trace.unpriced_calls))
        if trace.session_id:
            facts.append(f"session {trace.session_id}")
        self.facts_label.setText("  ·  ".join(facts))
        self.id_label.setText(trace.trace_id)
