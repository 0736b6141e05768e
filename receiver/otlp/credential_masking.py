"""Masks credentials in an export request, in place, before it is decoded: every later step
(decoding, GenAI analysis, storage, the full-text index) sees only masked values. The rules
are `receiver.otlp.credentials`'; `credential_scan` says cheaply whether any can apply, so a
request without credentials (nearly all) is not walked. Pure; no I/O.

Masked: attribute values of spans, events, links, log records, data points and exemplars, of
resources and scopes; log bodies; span and event names and status messages.

One exception to "before decoding": the values of spans' credential keys are masked right
after (`mask_credential_keys`), where each span's keys are a dict and checking them costs a
fraction of scanning the bytes. Nothing has been stored or indexed by then, and the GenAI
analysis, which runs during decoding, reads none of those keys (a test holds it to that).
A span's keys are those of its attributes, events and links, and of maps under a headers or
credential key; other maps nested in a span's attributes are not searched for keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from receiver.otlp.credential_scan import may_hold_credentials, may_hold_known_formats
from receiver.otlp.credentials import (
    KeyKind,
    key_kind,
    masked_header_text,
    masked_query_string,
    masked_secret,
    masked_text,
)
from receiver.records import SPAN_COLUMNS, WriteBatch

__all__ = ["mask_credential_keys", "mask_credentials"]


def mask_credentials(request: Message, raw: bytes | None = None) -> None:
    """Mask what looks like a credential in this export request (spans' keys excepted:
    `mask_credential_keys`); `raw` is its protobuf bytes if at hand, else it is serialized
    to be scanned."""
    data = request.SerializeToString() if raw is None else raw
    if isinstance(request, ExportTraceServiceRequest):
        for group in request.resource_spans:  # few: their keys are checked here
            _mask_resource_and_scopes(group, group.scope_spans)
        if may_hold_known_formats(data):
            for group in request.resource_spans:
                for scope_group in group.scope_spans:
                    _mask_each(scope_group.spans, _mask_span, may_hold_known_formats)
    elif isinstance(request, ExportLogsServiceRequest):
        if may_hold_credentials(data):
            for group in request.resource_logs:
                _mask_resource_and_scopes(group, group.scope_logs)
                for scope_group in group.scope_logs:
                    _mask_each(scope_group.log_records, _mask_log_record, may_hold_credentials)
    elif isinstance(request, ExportMetricsServiceRequest) and may_hold_credentials(data):
        for group in request.resource_metrics:
            _mask_resource_and_scopes(group, group.scope_metrics)
            for scope_group in group.scope_metrics:
                _mask_each(scope_group.metrics, _mask_metric, may_hold_credentials)


def _mask_each(items: Iterable[Message], mask: Callable[[Any], None], may_hold: Callable[[bytes], bool]) -> None:
    """Mask the items that may hold a credential (scanned one by one: few of a request do)."""
    for item in items:
        if may_hold(item.SerializeToString()):
            mask(item)


def _mask_resource_and_scopes(group: Message, scope_groups: Iterable[Message]) -> None:
    _mask_key_values(group.resource.attributes)
    for scope_group in scope_groups:
        _mask_key_values(scope_group.scope.attributes)


def _mask_span(span: Span) -> None:
    _mask_text_field(span, "name")
    if span.HasField("status"):
        _mask_text_field(span.status, "message")
    _mask_key_values(span.attributes)
    for event in span.events:
        _mask_text_field(event, "name")
        _mask_key_values(event.attributes)
    for link in span.links:
        _mask_key_values(link.attributes)


def _mask_log_record(record: LogRecord) -> None:
    if record.HasField("body"):
        _mask_value(record.body, KeyKind.PLAIN)
    _mask_key_values(record.attributes)


def _mask_metric(metric: Metric) -> None:
    _mask_key_values(metric.metadata)
    member = metric.WhichOneof("data")
    if member is None:
        return
    for point in getattr(metric, member).data_points:
        _mask_key_values(point.attributes)
        for exemplar in getattr(point, "exemplars", ()):
            _mask_key_values(exemplar.filtered_attributes)


def _mask_text_field(message: Message, field: str) -> None:
    text = getattr(message, field)
    if text:
        masked = masked_text(text)
        if masked != text:
            setattr(message, field, masked)


def _mask_key_values(key_values: Iterable[KeyValue], kind: KeyKind | None = None) -> None:
    """`kind` given: every value is of that kind (the entries of a credential's map)."""
    for key_value in key_values:
        if key_value.HasField("value"):
            _mask_value(key_value.value, kind or key_kind(key_value.key))


def _mask_value(value: AnyValue, kind: KeyKind) -> None:
    member = value.WhichOneof("value")
    if member == "string_value":
        text = value.string_value
        masked = _masked(text, kind)
        if masked != text:
            value.string_value = masked
    elif member == "array_value":
        for item in value.array_value.values:
            _mask_value(item, kind)
    elif member == "kvlist_value":
        # a credential's map is all secret; in a headers map, each entry is judged by its name
        _mask_key_values(value.kvlist_value.values, KeyKind.SECRET if kind is KeyKind.SECRET else None)


def _masked(text: str, kind: KeyKind) -> str:
    if kind is KeyKind.PLAIN:
        return masked_text(text)
    if kind is KeyKind.SECRET:
        return masked_secret(text)
    if kind is KeyKind.HEADERS:
        return masked_header_text(text)
    return masked_text(masked_query_string(text))


# --- spans' keys, once decoded -----------------------------------------------------------------------

_ATTRIBUTES, _EVENTS, _LINKS = (SPAN_COLUMNS.index(name) for name in ("attributes", "events", "links"))
assert _EVENTS == _ATTRIBUTES + 1 and _LINKS == _ATTRIBUTES + 2


def mask_credential_keys(batch: WriteBatch) -> WriteBatch:
    """`batch` with the values of its spans' credential keys masked (rules 1-3 of
    `credentials` that go by key): the same batch when no key names a credential."""
    rows = batch.span_rows
    stored = [row[_ATTRIBUTES] for row in rows]
    stored += [item["attributes"] for row in rows if row[_EVENTS] or row[_LINKS]
               for item in (*row[_EVENTS], *row[_LINKS])]
    try:
        keys = set().union(*stored)
    except TypeError:  # a typed attribute list (receiver.attributes): its items are dicts
        keys = {key for attributes in stored for key in _keys(attributes)}
    if keys <= _PLAIN_KEYS:
        return batch
    credential = False
    for key in keys - _PLAIN_KEYS:
        if key_kind(key) is not KeyKind.PLAIN:
            credential = True
        elif len(_PLAIN_KEYS) < _MAX_PLAIN_KEYS:
            _PLAIN_KEYS.add(key)
    if not credential:
        return batch
    return dataclasses.replace(batch, span_rows=tuple(_row_masked(row) for row in rows))


_PLAIN_KEYS: set[str] = set()  # keys seen that name no credential: most batches need no more look
_MAX_PLAIN_KEYS = 65_536  # a sender inventing keys must not grow memory without bound


def _keys(stored: Any) -> Iterable[str]:
    """The keys of either stored attribute shape (receiver.attributes)."""
    return stored if type(stored) is dict else [kv["key"] for kv in stored]


def _row_masked(row: tuple) -> tuple:
    events = [{**item, "attributes": _stored_masked(item["attributes"])} for item in row[_EVENTS]]
    links = [{**item, "attributes": _stored_masked(item["attributes"])} for item in row[_LINKS]]
    return (*row[:_ATTRIBUTES], _stored_masked(row[_ATTRIBUTES]), events, links, *row[_LINKS + 1:])


def _stored_masked(stored: Any) -> Any:
    if type(stored) is dict:  # plain shape: {key: value}
        return {key: value if key_kind(key) is KeyKind.PLAIN else _plain_masked(value, key_kind(key))
                for key, value in stored.items()}
    return [kv if "value" not in kv or key_kind(kv["key"]) is KeyKind.PLAIN
            else {**kv, "value": _typed_masked(kv["value"], key_kind(kv["key"]))} for kv in stored]


def _nested_kind(parent: KeyKind, key: str) -> KeyKind:
    return KeyKind.SECRET if parent is KeyKind.SECRET else key_kind(key)


def _plain_masked(value: Any, kind: KeyKind) -> Any:
    if isinstance(value, str):
        return value if kind is KeyKind.PLAIN else _masked(value, kind)
    if isinstance(value, list):
        return [_plain_masked(item, kind) for item in value]
    if isinstance(value, dict):
        return {key: _plain_masked(item, _nested_kind(kind, key)) for key, item in value.items()}
    return value


def _typed_masked(value: dict[str, Any], kind: KeyKind) -> dict[str, Any]:
    """A typed OTLP/JSON AnyValue (receiver.attributes)."""
    if "stringValue" in value:
        return value if kind is KeyKind.PLAIN else {"stringValue": _masked(value["stringValue"], kind)}
    if "arrayValue" in value:
        return {"arrayValue": {"values": [_typed_masked(item, kind) for item in value["arrayValue"].get("values", [])]}}
    if "kvlistValue" in value:
        return {"kvlistValue": {"values": [
            kv if "value" not in kv else {**kv, "value": _typed_masked(kv["value"], _nested_kind(kind, kv["key"]))}
            for kv in value["kvlistValue"].get("values", [])]}}
    return value
