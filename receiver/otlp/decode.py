"""Pure functions from OTLP protobuf messages to the receiver's records. No I/O.

One `_decode_<message>` per message; `AnyValue` is dispatched on `WhichOneof` into the
typed OTLP/JSON shape described in `receiver.attributes`. Spans with ids of the wrong length
are rejected one by one (the rest of the request is kept) and counted for the OTLP
`partial_success` answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from receiver.records import ResourceRecord, ScopeRecord, SpanBatch, SpanRecord

__all__ = ["decode_export_trace_request", "encode_attributes"]

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
MAX_TIME_UNIX_NANO = 2**63 - 1  # SQLite integers are signed 64-bit; OTLP times are unsigned
MAX_REASONS_IN_MESSAGE = 3  # the partial-success message names a few reasons, not thousands

_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode_export_trace_request(request: ExportTraceServiceRequest) -> SpanBatch:
    resources: dict[int, ResourceRecord] = {}
    scopes: dict[int, ScopeRecord] = {}
    spans: list[SpanRecord] = []
    reasons: list[str] = []
    rejected = 0
    for resource_spans in request.resource_spans:
        resource = _decode_resource(resource_spans)
        resources[resource.resource_id] = resource
        for scope_spans in resource_spans.scope_spans:
            scope = _decode_scope(scope_spans)
            scopes[scope.scope_id] = scope
            for span in scope_spans.spans:
                problem = _invalid_span(span)
                if problem:
                    rejected += 1
                    if len(reasons) < MAX_REASONS_IN_MESSAGE:
                        reasons.append(f"span {span.name!r}: {problem}")
                    continue
                spans.append(_decode_span(span, resource, scope.scope_id))
    message = ""
    if rejected:
        message = f"rejected {rejected} of {rejected + len(spans)} spans: " + "; ".join(reasons)
    return SpanBatch(tuple(resources.values()), tuple(scopes.values()), tuple(spans), rejected, message)


def _invalid_span(span: Span) -> str | None:
    if len(span.trace_id) != TRACE_ID_BYTES:
        return f"trace_id is {len(span.trace_id)} bytes, expected {TRACE_ID_BYTES}"
    if not any(span.trace_id):
        return "trace_id is all zeros"
    if len(span.span_id) != SPAN_ID_BYTES:
        return f"span_id is {len(span.span_id)} bytes, expected {SPAN_ID_BYTES}"
    if not any(span.span_id):
        return "span_id is all zeros"
    if span.parent_span_id and len(span.parent_span_id) != SPAN_ID_BYTES:
        return f"parent_span_id is {len(span.parent_span_id)} bytes, expected 0 or {SPAN_ID_BYTES}"
    if span.start_time_unix_nano > MAX_TIME_UNIX_NANO or span.end_time_unix_nano > MAX_TIME_UNIX_NANO:
        return "timestamp beyond the year 2262 (does not fit a signed 64-bit nanosecond count)"
    return None


def _content_id(*parts: bytes) -> int:
    """A stable signed 64-bit id from content, so equal resources and scopes share a row."""
    digest = hashlib.blake2b(b"\x00".join(parts), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _decode_resource(resource_spans: ResourceSpans) -> ResourceRecord:
    resource: Resource = resource_spans.resource
    schema_url = resource_spans.schema_url
    service_name = None
    for kv in resource.attributes:
        if kv.key == "service.name" and kv.value.WhichOneof("value") == "string_value":
            service_name = kv.value.string_value
    entity_refs = [
        {"schemaUrl": ref.schema_url, "type": ref.type, "idKeys": list(ref.id_keys),
         "descriptionKeys": list(ref.description_keys)}
        for ref in resource.entity_refs
    ]
    return ResourceRecord(
        resource_id=_content_id(resource.SerializeToString(deterministic=True), schema_url.encode()),
        service_name=service_name,
        attributes_json=encode_attributes(resource.attributes),
        dropped_attributes_count=resource.dropped_attributes_count,
        entity_refs_json=_JSON.encode(entity_refs),
        schema_url=schema_url,
    )


def _decode_scope(scope_spans: ScopeSpans) -> ScopeRecord:
    scope: InstrumentationScope = scope_spans.scope
    schema_url = scope_spans.schema_url
    return ScopeRecord(
        scope_id=_content_id(scope.SerializeToString(deterministic=True), schema_url.encode()),
        name=scope.name,
        version=scope.version,
        attributes_json=encode_attributes(scope.attributes),
        dropped_attributes_count=scope.dropped_attributes_count,
        schema_url=schema_url,
    )


def _decode_span(span: Span, resource: ResourceRecord, scope_id: int) -> SpanRecord:
    parent = span.parent_span_id
    events, links = span.events, span.links
    return SpanRecord(  # positional, in column order: this runs for every span received
        span.trace_id.hex(),
        span.span_id.hex(),
        parent.hex() if parent and any(parent) else None,
        span.name,
        span.kind,
        span.start_time_unix_nano,
        span.end_time_unix_nano,
        span.status.code,
        span.status.message,
        span.trace_state,
        span.flags,
        encode_attributes(span.attributes),
        _JSON.encode([_decode_event(e) for e in events]) if events else "[]",
        _JSON.encode([_decode_link(link) for link in links]) if links else "[]",
        span.dropped_attributes_count,
        span.dropped_events_count,
        span.dropped_links_count,
        resource.service_name,
        resource.resource_id,
        scope_id,
    )


def _decode_event(event: Span.Event) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": event.time_unix_nano, "name": event.name,
                           "attributes": _stored_attributes(event.attributes)}
    if event.dropped_attributes_count:
        out["droppedAttributesCount"] = event.dropped_attributes_count
    return out


def _decode_link(link: Span.Link) -> dict[str, Any]:
    out: dict[str, Any] = {"traceId": link.trace_id.hex(), "spanId": link.span_id.hex(),
                           "attributes": _stored_attributes(link.attributes)}
    if link.trace_state:
        out["traceState"] = link.trace_state
    if link.dropped_attributes_count:
        out["droppedAttributesCount"] = link.dropped_attributes_count
    if link.flags:
        out["flags"] = link.flags
    return out


def _stored_attributes(key_values: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """Attributes nested in an event or link: the same two shapes, as JSON values."""
    plain = _plain_attributes(key_values)
    return _typed_key_values(key_values) if plain is None else plain


def encode_attributes(key_values: Any) -> str:
    """An attribute list as stored JSON: plain when lossless, else typed (`receiver.attributes`)."""
    if not key_values:
        return "{}"
    plain = _plain_attributes(key_values)
    return _JSON.encode(_typed_key_values(key_values) if plain is None else plain)


def _plain_attributes(key_values: Any) -> dict[str, Any] | None:
    """{key: value} for the common case, or None when the plain shape would lose something."""
    plain: dict[str, Any] = {}
    for kv in key_values:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "string_value":
            plain[kv.key] = value.string_value
        elif kind == "int_value":
            plain[kv.key] = value.int_value
        elif kind == "bool_value":
            plain[kv.key] = value.bool_value
        elif kind == "double_value" and math.isfinite(value.double_value):
            plain[kv.key] = value.double_value
        elif kind in ("array_value", "kvlist_value"):
            nested = _plain_value(value)
            if nested is _LOSSY:
                return None
            plain[kv.key] = nested
        else:  # bytes, empty, missing, non-finite
            return None
    return plain if len(plain) == len(key_values) else None  # a repeated key needs the list


_LOSSY = object()


def _plain_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind in ("string_value", "int_value", "bool_value"):
        return getattr(value, kind)
    if kind == "double_value":
        return value.double_value if math.isfinite(value.double_value) else _LOSSY
    if kind == "array_value":
        items = [_plain_value(v) for v in value.array_value.values]
        return _LOSSY if any(item is _LOSSY for item in items) else items
    if kind == "kvlist_value":
        nested = _plain_attributes(value.kvlist_value.values)
        return _LOSSY if nested is None else nested
    return _LOSSY


def _typed_key_values(key_values: Any) -> list[dict[str, Any]]:
    return [_decode_key_value(kv) for kv in key_values]


def _decode_key_value(kv: KeyValue) -> dict[str, Any]:
    if not kv.HasField("value"):
        return {"key": kv.key}
    return {"key": kv.key, "value": _typed_any_value(kv.value)}


def _typed_any_value(value: AnyValue) -> dict[str, Any]:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return {"stringValue": value.string_value}
    if kind == "int_value":
        return {"intValue": value.int_value}
    if kind == "bool_value":
        return {"boolValue": value.bool_value}
    if kind == "double_value":
        number = value.double_value
        return {"doubleValue": number if math.isfinite(number) else _non_finite(number)}
    if kind == "array_value":
        return {"arrayValue": {"values": [_typed_any_value(v) for v in value.array_value.values]}}
    if kind == "kvlist_value":
        return {"kvlistValue": {"values": _typed_key_values(value.kvlist_value.values)}}
    if kind == "bytes_value":
        return {"bytesValue": base64.b64encode(value.bytes_value).decode("ascii")}
    if kind is None:
        return {}
    # A oneof member added by a newer proto package: keep it as protobuf's JSON mapping does.
    return json_format.MessageToDict(value)


def _non_finite(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"
