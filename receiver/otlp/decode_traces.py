"""`ExportTraceServiceRequest` -> `WriteBatch`. Pure functions, no I/O.

Each span becomes one tuple in the column order of the `spans` table
(`records.SPAN_COLUMNS`), with its attributes, events and links as JSON text, ready for the
writer's multi-row INSERT.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from receiver.otlp.values import (
    JSON,
    MAX_TIME_UNIX_NANO,
    Rejections,
    decode_resource,
    decode_scope,
    encode_attributes,
    stored_attributes,
)
from receiver.records import ResourceRecord, ScopeRecord, WriteBatch

__all__ = ["decode_export_trace_request"]

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8


def decode_export_trace_request(request: ExportTraceServiceRequest) -> WriteBatch:
    resources: dict[int, ResourceRecord] = {}
    scopes: dict[int, ScopeRecord] = {}
    rows: list[tuple] = []
    trace_ids: set[str] = set()
    rejected = Rejections("spans")
    for resource_spans in request.resource_spans:
        resource = decode_resource(resource_spans.resource, resource_spans.schema_url)
        resources[resource.resource_id] = resource
        for scope_spans in resource_spans.scope_spans:
            scope = decode_scope(scope_spans.scope, scope_spans.schema_url)
            scopes[scope.scope_id] = scope
            for span in scope_spans.spans:
                trace_id = span.trace_id
                problem = _invalid_span(span, trace_id)
                if problem:
                    rejected.add(f"span {span.name!r}: {problem}")
                    continue
                trace_hex = trace_id.hex()
                trace_ids.add(trace_hex)
                rows.append(_span_row(span, trace_hex, resource, scope.scope_id))
    return WriteBatch(resources=tuple(resources.values()), scopes=tuple(scopes.values()), span_rows=tuple(rows),
                      trace_ids=frozenset(trace_ids), rejected=rejected.count,
                      rejection_message=rejected.message(len(rows)))


def _invalid_span(span: Span, trace_id: bytes) -> str | None:
    if len(trace_id) != TRACE_ID_BYTES:
        return f"trace_id is {len(trace_id)} bytes, expected {TRACE_ID_BYTES}"
    if not any(trace_id):
        return "trace_id is all zeros"
    span_id = span.span_id
    if len(span_id) != SPAN_ID_BYTES:
        return f"span_id is {len(span_id)} bytes, expected {SPAN_ID_BYTES}"
    if not any(span_id):
        return "span_id is all zeros"
    parent = span.parent_span_id
    if parent and len(parent) != SPAN_ID_BYTES:
        return f"parent_span_id is {len(parent)} bytes, expected 0 or {SPAN_ID_BYTES}"
    if span.start_time_unix_nano > MAX_TIME_UNIX_NANO or span.end_time_unix_nano > MAX_TIME_UNIX_NANO:
        return "timestamp beyond the year 2262 (does not fit a signed 64-bit nanosecond count)"
    return None


def _span_row(span: Span, trace_hex: str, resource: ResourceRecord, scope_id: int) -> tuple:
    """One span in `records.SPAN_COLUMNS` order (runs for every span received)."""
    parent = span.parent_span_id
    status = span.status
    events, links = span.events, span.links
    return (
        trace_hex,
        span.span_id.hex(),
        parent.hex() if parent and any(parent) else None,
        span.name,
        span.kind,
        span.start_time_unix_nano,
        span.end_time_unix_nano,
        status.code,
        status.message,
        span.trace_state,
        span.flags,
        encode_attributes(span.attributes),
        JSON.encode([_event(e) for e in events]) if events else "[]",
        JSON.encode([_link(link) for link in links]) if links else "[]",
        span.dropped_attributes_count,
        span.dropped_events_count,
        span.dropped_links_count,
        resource.service_name,
        resource.resource_id,
        scope_id,
    )


def _event(event: Span.Event) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": event.time_unix_nano, "name": event.name,
                           "attributes": stored_attributes(event.attributes)}
    if event.dropped_attributes_count:
        out["droppedAttributesCount"] = event.dropped_attributes_count
    return out


def _link(link: Span.Link) -> dict[str, Any]:
    out: dict[str, Any] = {"traceId": link.trace_id.hex(), "spanId": link.span_id.hex(),
                           "attributes": stored_attributes(link.attributes)}
    if link.trace_state:
        out["traceState"] = link.trace_state
    if link.dropped_attributes_count:
        out["droppedAttributesCount"] = link.dropped_attributes_count
    if link.flags:
        out["flags"] = link.flags
    return out
