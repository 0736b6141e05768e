"""`ExportTraceServiceRequest` -> `WriteBatch`. Pure functions, no I/O.

Each span becomes one tuple in the column order of the `spans` table
(`records.SPAN_COLUMNS`), with its attributes, events and links as JSON values and its
canonical GenAI fields and cost (`receiver.genai`); the writer encodes a request's rows
as one JSON array, and SQLite stores those three as JSON text.
Prompts and completions stay in the attributes; readers derive the message fields from them.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from receiver.attributes import plain_attributes
from receiver.genai.analyser import SpanAnalyser
from receiver.genai.content import without_content
from receiver.genai.evaluations import has_span_results, span_evaluation_rows
from receiver.genai.span_view import SpanEvent, SpanView
from receiver.otlp.limits import limited_text
from receiver.otlp.values import (
    MAX_TIME_UNIX_NANO,
    Rejections,
    RequestWalk,
    dropped_attributes,
    stored_attributes,
)
from receiver.records import GENAI_FIELDS, SPAN_COLUMNS, PriceRecord, ResourceRecord, ScopeRecord, WriteBatch

__all__ = ["decode_export_trace_request"]

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
_ZERO_TRACE_ID, _ZERO_SPAN_ID = bytes(TRACE_ID_BYTES), bytes(SPAN_ID_BYTES)
_RESPONSE_ID = SPAN_COLUMNS.index("response_id")
_ATTRIBUTES, _EVENTS, _SERVICE = (SPAN_COLUMNS.index(c) for c in ("attributes", "events", "service_name"))


def decode_export_trace_request(request: ExportTraceServiceRequest,
                                analyser: SpanAnalyser | None = None) -> WriteBatch:
    walk = RequestWalk()
    rows: list[tuple] = []
    response_keys: list[tuple[int, tuple[str, str | None]]] = []
    evaluation_rows: list[tuple] = []
    prices: dict[int, PriceRecord] = {}
    trace_ids: set[str] = set()
    rejected = Rejections("spans")
    for resource, scope, span in walk.items(request.resource_spans, "scope_spans", "spans"):
        # each protobuf field read builds a new Python object: read each once
        trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
        start, end = span.start_time_unix_nano, span.end_time_unix_nano
        problem = _invalid_span(trace_id, span_id, parent, start, end)
        if problem:
            rejected.add(f"span {span.name!r}: {problem}")
            continue
        trace_hex = trace_id.hex()
        trace_ids.add(trace_hex)
        row = _span_row(span, trace_hex, span_id, parent, start, end, resource, scope, analyser, prices)
        if row[_RESPONSE_ID] is not None:
            response_keys.append((len(rows), (row[_RESPONSE_ID], resource.service_name)))
        rows.append(row)
        if row[_ATTRIBUTES] or row[_EVENTS]:
            evaluation_rows += _evaluations(row, trace_hex, end)
    return WriteBatch(resources=tuple(walk.resources.values()), scopes=tuple(walk.scopes.values()),
                      prices=tuple(prices.values()), span_rows=tuple(rows), evaluation_rows=tuple(evaluation_rows),
                      trace_ids=frozenset(trace_ids), response_keys=tuple(response_keys), rejected=rejected.count,
                      rejection_message=rejected.message(len(rows)))


def _evaluations(row: tuple, trace_hex: str, end: int) -> list[tuple]:
    """The evaluation results the span carries (`receiver.genai.evaluations`), usually none."""
    attributes, events = row[_ATTRIBUTES], row[_EVENTS]
    plain = attributes if isinstance(attributes, dict) else plain_attributes(attributes)
    if not has_span_results(plain, events):
        return []
    return span_evaluation_rows(plain, events, trace_id=trace_hex, span_id=row[1], end_unix_nano=end,
                                service_name=row[_SERVICE], event_attributes=plain_attributes)


def _invalid_span(trace_id: bytes, span_id: bytes, parent: bytes, start: int, end: int) -> str | None:
    if len(trace_id) != TRACE_ID_BYTES:
        return f"trace_id is {len(trace_id)} bytes, expected {TRACE_ID_BYTES}"
    if trace_id == _ZERO_TRACE_ID:
        return "trace_id is all zeros"
    if len(span_id) != SPAN_ID_BYTES:
        return f"span_id is {len(span_id)} bytes, expected {SPAN_ID_BYTES}"
    if span_id == _ZERO_SPAN_ID:
        return "span_id is all zeros"
    if parent and len(parent) != SPAN_ID_BYTES:
        return f"parent_span_id is {len(parent)} bytes, expected 0 or {SPAN_ID_BYTES}"
    if start > MAX_TIME_UNIX_NANO or end > MAX_TIME_UNIX_NANO:
        return "timestamp beyond the year 2262 (does not fit a signed 64-bit nanosecond count)"
    return None


def _span_row(span: Span, trace_hex: str, span_id: bytes, parent: bytes, start: int, end: int,
              resource: ResourceRecord, scope: ScopeRecord, analyser: SpanAnalyser | None,
              prices: dict[int, PriceRecord]) -> tuple:
    """One span in `records.SPAN_COLUMNS` order (runs for every span received; the fields
    that validation read come in as they are)."""
    name = limited_text(span.name)
    status = span.status
    status_code, status_message = status.code, limited_text(status.message)
    attribute_list, event_list = span.attributes, span.events
    attributes = stored_attributes(attribute_list) if attribute_list else {}
    events = [_event(e) for e in event_list] if event_list else []
    genai: tuple = _NO_GENAI
    if analyser is not None:
        view = SpanView(name, attributes if isinstance(attributes, dict) else plain_attributes(attributes),
                        tuple(SpanEvent(e["name"], e["timeUnixNano"], plain_attributes(e["attributes"]))
                              for e in events) if events else (),
                        start, status_code, status_message, scope.name, span.kind)
        genai, price = analyser.analyse(view)
        if price is not None:
            prices[price.price_id] = price
        if not analyser.store_content:
            attributes = without_content(attributes)
            events = [{**e, "attributes": without_content(e["attributes"])} for e in events]
    links = span.links
    return (
        trace_hex,
        span_id.hex(),
        parent.hex() if parent and parent != _ZERO_SPAN_ID else None,
        name,
        span.kind,
        start,
        end,
        status_code,
        status_message,
        span.trace_state,
        span.flags,
        attributes,  # JSON values: the whole batch is encoded at once (writer._span_rows_json)
        events,
        [_link(link) for link in links] if links else [],
        dropped_attributes(span),
        span.dropped_events_count,
        span.dropped_links_count,
        resource.service_name,
        resource.resource_id,
        scope.scope_id,
        *genai,
    )


_NO_GENAI = (None,) * (len(GENAI_FIELDS) + 1)  # GenAI columns and price_id of a span not analysed


def _event(event: Span.Event) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": event.time_unix_nano, "name": limited_text(event.name),
                           "attributes": stored_attributes(event.attributes)}
    dropped = dropped_attributes(event)
    if dropped:
        out["droppedAttributesCount"] = dropped
    return out


def _link(link: Span.Link) -> dict[str, Any]:
    out: dict[str, Any] = {"traceId": link.trace_id.hex(), "spanId": link.span_id.hex(),
                           "attributes": stored_attributes(link.attributes)}
    if link.trace_state:
        out["traceState"] = link.trace_state
    dropped = dropped_attributes(link)
    if dropped:
        out["droppedAttributesCount"] = dropped
    if link.flags:
        out["flags"] = link.flags
    return out
