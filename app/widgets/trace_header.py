"""One line about the open trace above its waterfall: what it was, how long, how many
tokens and dollars, how many evaluation results (and failed); the trace id selectable for
copying. Below it, when a span's parent never arrived, what is missing and how context
propagation is fixed, with a link to the other traces of its session (the fragments a lost
context splits a run into)."""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from app.formatting import format_cost_usd, format_duration_ns, format_time_ns, format_tokens, plural
from app.propagation import PROPAGATION_HINT, propagation_problem
from receiver import TraceSummary

__all__ = ["TraceHeader"]


class TraceHeader(QWidget):
    sig_session_wanted = Signal(str)  # the session id whose traces the user wants listed together
    sig_together_wanted = Signal(str)  # show the open trace with its session's traces from around then
    sig_alone_wanted = Signal()  # show the open trace by itself again
    sig_traces_wanted = Signal(tuple)  # show the open trace with these traces (an MCP call's other side)

    def __init__(self, parent: QWidget | None = None, *, clock_ns: Callable[[], int] = time.time_ns) -> None:
        super().__init__(parent)
        self._clock_ns = clock_ns
        self._trace: TraceSummary | None = None
        self._together = 0  # other traces shown with it
        self._mcp_problem: tuple[str, tuple[str, ...]] = ("", ())  # an MCP server span no caller's context reached
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
        self.problem_label = QLabel(objectName="propagation_problem", wordWrap=True, openExternalLinks=False)
        self.problem_label.setStyleSheet("QLabel#propagation_problem { border: 1px solid #d08a1e; "
                                         "border-radius: 4px; padding: 4px 6px; }")
        self.problem_label.setToolTip(PROPAGATION_HINT)
        self.problem_label.linkActivated.connect(self._link_clicked)
        self.problem_label.hide()
        layout.addWidget(self.problem_label, 2, 0, 1, 2)
        layout.setColumnStretch(0, 1)
        self.show_trace(None)

    def show_trace(self, trace: TraceSummary | None) -> None:
        if trace is None or self._trace is None or trace.trace_id != self._trace.trace_id:
            self._together = 0
            self._mcp_problem = ("", ())
        self._trace = trace
        if trace is None:
            self.title_label.setText("No trace selected")
            self.facts_label.setText("")
            self.id_label.setText("")
            self.problem_label.hide()
            return
        self.title_label.setText(trace.root_name or "(no root span)")
        facts = [format_time_ns(trace.start_time_unix_nano), format_duration_ns(trace.duration_ns),
                 plural(trace.span_count, "span")]
        if trace.error_count:
            facts.append(plural(trace.error_count, "error"))
        if trace.llm_calls:
            facts.append(f"{format_tokens(trace.input_tokens, trace.output_tokens)} tokens")
            facts.append(format_cost_usd(trace.cost_usd, unpriced=trace.unpriced_calls))
        if trace.evaluations:
            failed = f", {trace.evaluations_failed} failed" if trace.evaluations_failed else ""
            facts.append(f"{plural(trace.evaluations, 'evaluation')}{failed}")
        if trace.session_id:
            facts.append(f"session {trace.session_id}")
        self.facts_label.setText("  ·  ".join(facts))
        self.id_label.setText(trace.trace_id)
        self._show_problem(trace)

    def set_together(self, others: int) -> None:
        """The open trace is shown with `others` more traces of its session (0: alone)."""
        self._together = others
        if self._trace is not None:
            self._show_problem(self._trace)

    def set_mcp_problem(self, problem: str, client_traces: tuple[str, ...] = ()) -> None:
        """The open trace's MCP server span(s) that no caller's context reached (`mcp_call.header_problem`),
        and the traces their client spans were found in ("": none)."""
        self._mcp_problem = (problem, client_traces)
        if self._trace is not None:
            self._show_problem(self._trace)

    def problem_text(self) -> str:
        """The warning line as shown ("" when hidden)."""
        return self.problem_label.text() if self.problem_label.isVisibleTo(self) else ""

    def _show_problem(self, trace: TraceSummary) -> None:
        problem = propagation_problem(trace, self._clock_ns())
        mcp_problem, client_traces = self._mcp_problem
        self.problem_label.setVisible(bool(problem or mcp_problem) or self._together > 0)
        session = html.escape(trace.session_id or "")
        if self._together:
            self.problem_label.setText(
                f"Shown together with {plural(self._together, 'other trace')}"
                + (f" of session {session}" if session else "")
                + ' from around then: the fragments of one run? <a href="alone:">Show this trace alone</a>')
            return
        if not problem and mcp_problem:
            text = f"<b>⚠ Broken trace.</b> {html.escape(mcp_problem)} (hover for more)."
            if client_traces:
                text += f' <a href="traces:{",".join(client_traces)}">Show it with its client\'s trace</a>'
            self.problem_label.setText(text)
            return
        if not problem:
            return
        text = (f"<b>⚠ Broken trace.</b> {html.escape(problem)} Over MCP or a custom RPC, pass "
                "<tt>traceparent</tt> by hand (hover for more).")
        if trace.session_id:  # the other fragments of the run are likely its session's other traces
            text += (f' <a href="together:{session}">Show it with its session\'s traces from around then</a>'
                     f' · <a href="list:{session}">List the session\'s traces</a>')
        self.problem_label.setText(text)

    def _link_clicked(self, link: str) -> None:
        what, _, session = link.partition(":")
        session = html.unescape(session)
        if what == "together":
            self.sig_together_wanted.emit(session)
        elif what == "list":
            self.sig_session_wanted.emit(session)
        elif what == "alone":
            self.sig_alone_wanted.emit()
        elif what == "traces":
            self.sig_traces_wanted.emit(tuple(session.split(",")))
