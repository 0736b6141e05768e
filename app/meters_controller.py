"""Keeps the meters strip live: the usage of its scope, read on the `QueryWorker` (key
"meters": a newer question supersedes an older one) when the scope, the filter's time range
or the open trace changes, and after every coalesced commit.

All traffic reads the per-minute rollups (never the spans) and counts the flagged answers of
the time range; a trace or a session reads its own spans and evaluation results, a bounded few."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.list_filter import TIME_RANGES
from app.widgets.meters_strip import MeterScope, MetersStrip
from app.workers import QueryWorker
from receiver import IngestEvent, TraceStore, TraceSummary, UsageTotals
from receiver.genai.evaluations import is_flagging

__all__ = ["MetersController"]

_NS = 1_000_000_000
# usage, spend rate (traffic only), flagged answers
Answer = tuple[UsageTotals, float | None, int]


class MetersController(QObject):
    sig_updated = Signal()  # the strip shows a fresh answer

    def __init__(self, worker: QueryWorker, strip: MetersStrip, *, clock_ns: Callable[[], int] = time.time_ns,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker, self.strip = worker, strip
        self._clock_ns = clock_ns
        self._time_range = "All time"
        self._trace: TraceSummary | None = None
        strip.sig_scope_changed.connect(lambda _scope: self.refresh())
        strip.set_scopes_available(session=False, trace=False)

    def set_time_range(self, label: str) -> None:
        if label != self._time_range:
            self._time_range = label
            self.refresh()

    def set_open_trace(self, trace: TraceSummary | None) -> None:
        """The trace (and through it the session) the other scopes count."""
        self._trace = trace
        self.strip.set_scopes_available(session=bool(trace and trace.session_id), trace=trace is not None)
        if self.strip.scope != MeterScope.TRAFFIC:
            self.refresh()

    def on_spans_ingested(self, _event: IngestEvent) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.worker.ask(self._query(), self._show, key="meters")

    def _query(self) -> Callable[[TraceStore], Answer]:
        scope, trace = self.strip.scope, self._trace
        if scope == MeterScope.TRACE and trace is not None:
            trace_id = trace.trace_id
            return lambda store: (store.traces_usage([trace_id]), None, _flagged_in(store, [trace_id]))
        if scope == MeterScope.SESSION and trace is not None and trace.session_id:
            session = trace.session_id

            def session_query(store: TraceStore) -> Answer:
                trace_ids = [t.trace_id for t in store.session_traces(session)]
                return store.traces_usage(trace_ids), None, _flagged_in(store, trace_ids)

            return session_query
        now, seconds = self._clock_ns(), TIME_RANGES.get(self._time_range)
        if seconds is None:
            return lambda store: (store.usage(), store.spend_rate(now), store.flagged_answers())
        start = now - seconds * _NS
        return lambda store: (store.usage(start, now), store.spend_rate(now, start, now),
                              store.flagged_answers(start, now))

    def _show(self, answer: Answer) -> None:
        self.strip.show_usage(*answer)
        self.sig_updated.emit()


def _flagged_in(store: TraceStore, trace_ids: list[str]) -> int:
    """The answers of these traces a hallucination or groundedness evaluator failed, each once
    (as `TraceStore.flagged_answers` counts them: a result on no span flags its trace)."""
    return len({(e.trace_id, e.span_id) for trace_id in trace_ids for e in store.evaluations(trace_id)
                if e.passed == 0 and is_flagging(e.name)})
