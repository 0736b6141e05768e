"""A broken trace shown with the rest of its run: the traces of its session from around then
(`propagation.fragments_near`), or the trace of the client of an MCP server span no caller's
context reached (`mcp_call.header_problem`), opened together in the waterfall, and back to it
alone — the links of the line above the waterfall (`TraceHeader`)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QStatusBar

from app.mcp_call import header_problem
from app.open_trace import OpenTrace
from app.propagation import fragments_near
from app.widgets.trace_header import TraceHeader
from app.workers import QueryWorker
from receiver import TraceDetail, TraceStore

__all__ = ["FragmentsController"]


class FragmentsController(QObject):
    def __init__(self, worker: QueryWorker, open_trace: OpenTrace, header: TraceHeader, status: QStatusBar,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker, self.open_trace, self.header, self.status = worker, open_trace, header, status
        header.sig_together_wanted.connect(self.show_together)
        header.sig_alone_wanted.connect(self.show_alone)
        header.sig_traces_wanted.connect(self.show_with)
        open_trace.sig_loaded.connect(self._trace_loaded)

    def show_together(self, session_id: str) -> None:
        trace_id = self.open_trace.trace_id
        if trace_id is None:
            return

        def read(store: TraceStore) -> list[str]:
            return fragments_near(store.get_trace_summary(trace_id), store.session_traces(session_id))

        self.worker.ask(read, lambda others: self._open(trace_id, others), key="fragments",
                        on_failed=lambda message: self.status.showMessage(f"Could not read the session: {message}",
                                                                          10_000))

    def show_with(self, others: tuple[str, ...]) -> None:
        """The open trace together with these (its MCP server span's client trace)."""
        if self.open_trace.trace_id is not None and others:
            self.open_trace.open(self.open_trace.trace_id, others)
            self.header.set_together(len(others))

    def _trace_loaded(self, detail: TraceDetail) -> None:
        if not self.open_trace.together:  # shown together, the client's spans are in view
            self.header.set_mcp_problem(*header_problem(detail.spans))

    def show_alone(self) -> None:
        if self.open_trace.trace_id is not None:
            self.open_trace.open(self.open_trace.trace_id)
            self.header.set_together(0)

    def _open(self, trace_id: str, others: list[str]) -> None:
        if trace_id != self.open_trace.trace_id:
            return  # another trace was opened meanwhile
        if not others:
            self.status.showMessage("No other trace of the session ran within a minute of this one", 8000)
            return
        self.open_trace.open(trace_id, tuple(others))
        self.header.set_together(len(others))
