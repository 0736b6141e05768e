"""The trace the user has open: its outline loaded on the `QueryWorker` when selected, and
loaded again when a commit touches it, so its waterfall grows while its spans are still
arriving; and the full span (content, log records) of the span being looked at. A trace may
be opened `together` with others (the fragments of a run whose context was lost): their
spans are shown as one, under the open trace's id.

The outline (`TraceStore.get_trace_outline`) is what a waterfall needs of every span, and
stays quick at 10,000 spans; a span's attributes, messages and logs are fetched when it is
selected (`open_span`). A small trace comes with all its spans in full, and a big one with
the span that will be shown first, so the inspector fills without a second round trip.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from app.call_as_code import can_be_code
from app.mcp_call import MCP_CALL
from app.playground.run_record import PLAYGROUND_RUNS, PLAYGROUND_SERVICE
from app.workers import QueryWorker
from receiver import IngestEvent, TraceDetail, TraceNotFound, TraceStore
from receiver.records import StoredEvaluation, StoredLog, StoredSpan

__all__ = ["FULL_TRACE_SPANS", "OpenTrace"]

FULL_TRACE_SPANS = 200  # a trace this small comes with every span in full (get_trace: ~35 ms at this size)
KEPT_SPANS = 256  # full spans kept, for going back and forth in a big trace

FullSpan = tuple[StoredSpan, list[StoredLog]]


@dataclass(frozen=True)
class _Load:
    outline: TraceDetail
    full: dict[str, FullSpan]  # span id -> the span in full and its log records


def _load(store: TraceStore, trace_id: str, wanted_span_id: str | None) -> _Load:
    """Runs on the worker thread."""
    load = _load_spans(store, trace_id, wanted_span_id)
    facts = _cross_trace_facts(store, trace_id)
    return _with_facts(load, facts) if facts else load


def _cross_trace_facts(store: TraceStore, trace_id: str) -> dict[str, dict[str, object]]:
    """What other traces say of this trace's spans, by span id, as `genai` keys: the other side
    of an MCP call (`app.mcp_call`), the playground's runs of a model call."""
    facts: dict[str, dict[str, object]] = {}
    for span_id, call in store.mcp_calls(trace_id).items():
        facts.setdefault(span_id, {})[MCP_CALL] = call
    for span_id, runs in store.linking_spans(trace_id, PLAYGROUND_SERVICE).items():
        facts.setdefault(span_id, {})[PLAYGROUND_RUNS] = runs
    return facts


def _with_facts(load: _Load, facts: dict[str, dict[str, object]]) -> _Load:
    def told(span: StoredSpan) -> StoredSpan:
        extra = facts.get(span.span_id)
        return span if extra is None else dataclasses.replace(span, genai={**span.genai, **extra})

    outline = load.outline
    full = {span_id: (told(span), logs) for span_id, (span, logs) in load.full.items()}
    spans = [full[span.span_id][0] if span.span_id in full else told(span) for span in outline.spans]
    return _Load(dataclasses.replace(outline, spans=spans), full)


def _load_spans(store: TraceStore, trace_id: str, wanted_span_id: str | None) -> _Load:
    outline = store.get_trace_outline(trace_id)
    if len(outline.spans) <= FULL_TRACE_SPANS:
        detail = store.get_trace(trace_id)
        logs: dict[str | None, list[StoredLog]] = {}
        for record in detail.logs:
            logs.setdefault(record.span_id, []).append(record)
        # the full spans serve as the outline too: one snapshot, so both hold the same spans
        return _Load(TraceDetail(trace_id, detail.spans, [], detail.evaluations),
                     {span.span_id: (span, logs.get(span.span_id, [])) for span in detail.spans})
    ids = {span.span_id for span in outline.spans}
    if wanted_span_id not in ids:  # the span a waterfall selects first: the first top-level one
        wanted_span_id = next((span.span_id for span in outline.spans if span.parent_span_id not in ids), None)
    try:
        full = {} if wanted_span_id is None else {wanted_span_id: store.get_span(trace_id, wanted_span_id)}
    except TraceNotFound:  # deleted since the outline was read: it is asked for again when selected
        full = {}
    return _Load(outline, full)


def _load_together(store: TraceStore, trace_ids: tuple[str, ...], wanted_span_id: str | None) -> _Load:
    """The traces' spans as one outline under the first's id, in start order. The others may
    have been deleted meanwhile: they are left out."""
    spans: list[StoredSpan] = []
    evaluations: list[StoredEvaluation] = []
    full: dict[str, FullSpan] = {}
    for i, trace_id in enumerate(trace_ids):
        try:
            load = _load(store, trace_id, wanted_span_id)
        except TraceNotFound:
            if i == 0:
                raise
            continue
        spans += load.outline.spans
        evaluations += load.outline.evaluations
        full.update(load.full)
    spans.sort(key=lambda span: (span.start_time_unix_nano, span.span_id))
    evaluations.sort(key=lambda result: result.time_unix_nano)
    return _Load(TraceDetail(trace_ids[0], spans, [], evaluations), full)


def _span_with_call(store: TraceStore, trace_id: str, span_id: str) -> FullSpan:
    """One span in full, with the other side of its MCP call if it is one, and its playground runs."""
    span, logs = store.get_span(trace_id, span_id)
    extra: dict[str, object] = {}
    if span.genai.get("genai_extras") and "mcp" in span.genai["genai_extras"]:
        call = store.mcp_calls(trace_id).get(span_id)
        if call is not None:
            extra[MCP_CALL] = call
    if can_be_code(span) and (runs := store.linking_spans(trace_id, PLAYGROUND_SERVICE).get(span_id)):
        extra[PLAYGROUND_RUNS] = runs
    return (dataclasses.replace(span, genai={**span.genai, **extra}) if extra else span), logs


class OpenTrace(QObject):
    sig_loaded = Signal(object)  # the open trace's outline TraceDetail with its evaluation results (again, as it grows)
    sig_closed = Signal()  # nothing is open (deselected, or the trace was deleted)
    sig_failed = Signal(str)
    sig_span_loaded = Signal(object, object)  # a span of the open trace in full, and its log records

    def __init__(self, worker: QueryWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.trace_id: str | None = None
        self.together: tuple[str, ...] = ()  # other traces shown with it, oldest first
        self.detail: TraceDetail | None = None  # the outline: no attributes, content or log records
        self._trace_of: dict[str, str] = {}  # span id -> trace id, of the spans shown together
        self._full: OrderedDict[str, FullSpan] = OrderedDict()
        self._span_id: str | None = None  # the span last asked for in full

    def open(self, trace_id: str | None, together: tuple[str, ...] = ()) -> None:
        """Open a trace (None: close it), alone or with others shown as one."""
        together = tuple(t for t in together if t != trace_id) if trace_id is not None else ()
        if trace_id == self.trace_id and together == self.together:
            return
        if trace_id != self.trace_id:
            self.detail, self._span_id = None, None
        self.trace_id, self.together = trace_id, together
        self._full.clear()
        if trace_id is None:
            self.worker.ask(lambda store: None, lambda _: None, key="open-trace")  # drops a load in flight
            self.sig_closed.emit()
            return
        self._load()

    def full_span(self, span_id: str) -> FullSpan | None:
        """The span in full and its log records, if they are here already."""
        return self._full.get(span_id)

    def open_span(self, span_id: str) -> FullSpan | None:
        """The span in full now if it is here, else None and `sig_span_loaded` when it has been read."""
        self._span_id = span_id
        if (full := self._full.get(span_id)) is not None:
            self._full.move_to_end(span_id)
            return full
        trace_id = self.trace_id
        if trace_id is not None:
            own = self._trace_of.get(span_id, trace_id)
            self.worker.ask(lambda store: _span_with_call(store, own, span_id),
                            lambda full: self._span_read(trace_id, full), key="open-span",
                            on_failed=self.sig_failed.emit)
        return None

    def refresh(self) -> None:
        """Read the open trace again: another trace now says something of its spans (a
        playground run of one of its calls was recorded)."""
        if self.trace_id is not None:
            self._load()

    def on_spans_ingested(self, event: IngestEvent) -> None:
        if self.trace_id is None:
            return
        if event.cleared or self.trace_id in event.deleted_trace_ids:
            self.open(None)
        elif event.deleted_trace_ids & set(self.together):
            self.together = tuple(t for t in self.together if t not in event.deleted_trace_ids)
            self._load()
        elif self.trace_id in event.trace_ids or event.trace_ids & set(self.together):
            self._load()

    def _load(self) -> None:
        trace_id, wanted, together = self.trace_id, self._span_id, self.together
        if together:
            def read(store: TraceStore) -> _Load:
                return _load_together(store, (trace_id, *together), wanted)
        else:
            def read(store: TraceStore) -> _Load:
                return _load(store, trace_id, wanted)
        self.worker.ask(read, lambda load: self._apply(trace_id, together, load), key="open-trace",
                        on_failed=self.sig_failed.emit)

    def _apply(self, trace_id: str, together: tuple[str, ...], load: _Load) -> None:
        if trace_id == self.trace_id and together == self.together:
            self.detail = load.outline
            self._trace_of = {span.span_id: span.trace_id for span in load.outline.spans} if together else {}
            self._full = OrderedDict(load.full)  # a reload's spans may have changed, and their logs arrived
            self.sig_loaded.emit(load.outline)

    def _span_read(self, trace_id: str, full: FullSpan) -> None:
        if trace_id != self.trace_id:
            return
        self._full[full[0].span_id] = full
        while len(self._full) > KEPT_SPANS:
            self._full.popitem(last=False)
        self.sig_span_loaded.emit(*full)
