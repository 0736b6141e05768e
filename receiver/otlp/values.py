"""Shared pieces of decoding every OTLP signal: attribute lists into their stored JSON
shapes (`receiver.attributes`), resources and scopes into content-addressed records, and
the bookkeeping of rejected items for `partial_success`. Pure functions, no I/O."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from receiver.otlp.limits import (
    SHORT_TEXT_CHARS,
    count_dropped,
    deep_value_marker,
    excess_entries,
    limited_bytes,
    limited_text,
    text_over_limit,
    too_deep,
)
from receiver.records import ResourceRecord, ScopeRecord, content_id

MAX_TIME_UNIX_NANO = 2**63 - 1  # SQLite integers are signed 64-bit; OTLP times are unsigned
MAX_REASONS_IN_MESSAGE = 3  # a partial-success message names a few reasons, not thousands
MAX_REASON_CHARS = 300  # ... each short (a reason quotes a name, which can be megabytes long)


class StoredJson:
    """Values as the JSON text we store: compact, UTF-8, exact. orjson writes it several times
    faster than the standard library (it runs for every span, event and log record); the
    standard encoder takes what orjson refuses (integers beyond 64 bits, lone surrogates).
    Non-finite numbers never get here as numbers: attributes keep them typed ("NaN")."""

    _fallback = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    def encode(self, value: Any) -> str:
        try:
            return orjson.dumps(value).decode()
        except TypeError:
            return self._fallback.encode(value)


JSON = StoredJson()


class Rejections:
    """Counts items refused one by one, and keeps the first few reasons for the message."""

    def __init__(self, noun: str) -> None:
        self.noun = noun
        self.count = 0
        self.reasons: list[str] = []

    def add(self, reason: str) -> None:
        self.count += 1
        if len(self.reasons) < MAX_REASONS_IN_MESSAGE:
            self.reasons.append(reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS] + "…")

    def message(self, accepted: int) -> str:
        if not self.count:
            return ""
        return f"rejected {self.count} of {self.count + accepted} {self.noun}: " + "; ".join(self.reasons)


class RequestWalk:
    """Walks one request's Resource* -> Scope* -> items, decoding each distinct resource and
    scope once (they become rows of their own tables, shared by the items)."""

    def __init__(self) -> None:
        self.resources: dict[int, ResourceRecord] = {}
        self.scopes: dict[int, ScopeRecord] = {}

    def items(self, resource_groups: Any, scope_field: str, items_field: str
              ) -> Iterator[tuple[ResourceRecord, ScopeRecord, Any]]:
        for group in resource_groups:
            resource = decode_resource(group.resource, group.schema_url)
            self.resources[resource.resource_id] = resource
            for scope_group in getattr(group, scope_field):
                scope = decode_scope(scope_group.scope, scope_group.schema_url)
                self.scopes[scope.scope_id] = scope
                for item in getattr(scope_group, items_field):
                    yield resource, scope, item


def decode_resource(resource: Resource, schema_url: str) -> ResourceRecord:
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
        resource_id=content_id(resource.SerializeToString(deterministic=True), schema_url.encode()),
        service_name=limited_text(service_name) if service_name else service_name,
        attributes_json=encode_attributes(resource.attributes),
        dropped_attributes_count=dropped_attributes(resource),
        entity_refs_json=JSON.encode(entity_refs),
        schema_url=schema_url,
    )


def decode_scope(scope: InstrumentationScope, schema_url: str) -> ScopeRecord:
    """`schema_url` is that of the ScopeSpans / ScopeLogs / ScopeMetrics holding the scope."""
    return ScopeRecord(
        scope_id=content_id(scope.SerializeToString(deterministic=True), schema_url.encode()),
        name=scope.name,
        version=scope.version,
        attributes_json=encode_attributes(scope.attributes),
        dropped_attributes_count=dropped_attributes(scope),
        schema_url=schema_url,
    )


def encode_attributes(key_values: Any) -> str:
    """An attribute list as stored JSON text."""
    return JSON.encode(stored_attributes(key_values)) if key_values else "{}"


def stored_attributes(key_values: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """An attribute list as a JSON value: plain when lossless, else typed (`receiver.attributes`),
    within the limits (`receiver.otlp.limits`): the plain shape is only used when nothing is cut,
    so that what is cut is cut (and counted) once, by the typed shape's functions."""
    excess = excess_entries(len(key_values))
    if excess:
        count_dropped(excess)
        key_values = key_values[:len(key_values) - excess]
    plain = _plain_attributes(key_values)
    return typed_key_values(key_values) if plain is None else plain


def dropped_attributes(item: Any) -> int:
    """The item's `dropped_attributes_count`, plus those its attribute list loses to the limit."""
    return item.dropped_attributes_count + excess_entries(len(item.attributes))


def _plain_attributes(key_values: Any, depth: int = 0) -> dict[str, Any] | None:
    """{key: value} for the common case, or None when the plain shape would lose something
    or a limit cuts something."""
    plain: dict[str, Any] = {}
    for kv in key_values:
        value = kv.value
        # Most attributes are strings or integers: read those without asking which member is
        # set (an unset member reads as "" or 0, so only those two values need the question).
        text = value.string_value
        if text:
            if len(text) > SHORT_TEXT_CHARS and text_over_limit(text):
                return None
            plain[kv.key] = text
            continue
        number = value.int_value
        if number:
            plain[kv.key] = number
            continue
        kind = value.WhichOneof("value")
        if kind == "string_value":
            plain[kv.key] = text
        elif kind == "int_value":
            plain[kv.key] = number
        elif kind == "bool_value":
            plain[kv.key] = value.bool_value
        elif kind == "double_value" and math.isfinite(value.double_value):
            plain[kv.key] = value.double_value
        elif kind in ("array_value", "kvlist_value"):
            nested = _plain_value(value, depth)
            if nested is _LOSSY:
                return None
            plain[kv.key] = nested
        else:  # bytes, empty, missing, non-finite
            return None
    return plain if len(plain) == len(key_values) else None  # a repeated key needs the list


_LOSSY = object()


def _plain_value(value: AnyValue, depth: int) -> Any:
    """A nested value's plain shape; `depth`: how many lists hold it."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        return _LOSSY if text_over_limit(text) else text
    if kind in ("int_value", "bool_value"):
        return getattr(value, kind)
    if kind == "double_value":
        return value.double_value if math.isfinite(value.double_value) else _LOSSY
    if kind == "array_value":
        values = value.array_value.values
        if too_deep(depth) or excess_entries(len(values)):
            return _LOSSY
        items = [_plain_value(v, depth + 1) for v in values]
        return _LOSSY if any(item is _LOSSY for item in items) else items
    if kind == "kvlist_value":
        values = value.kvlist_value.values
        if too_deep(depth) or excess_entries(len(values)):
            return _LOSSY
        nested = _plain_attributes(values, depth + 1)
        return _LOSSY if nested is None else nested
    return _LOSSY


def typed_key_values(key_values: Any, depth: int = 0) -> list[dict[str, Any]]:
    return [_typed_key_value(kv, depth) for kv in _within_entry_limit(key_values)]


def _within_entry_limit(entries: Any) -> Any:
    excess = excess_entries(len(entries))
    if not excess:
        return entries
    count_dropped(excess)
    return entries[:len(entries) - excess]


def _typed_key_value(kv: KeyValue, depth: int) -> dict[str, Any]:
    if not kv.HasField("value"):
        return {"key": kv.key}
    return {"key": kv.key, "value": typed_any_value(kv.value, depth)}


def typed_any_value(value: AnyValue, depth: int = 0) -> dict[str, Any]:
    """One AnyValue in OTLP/JSON's typed shape (exact, for any value within the limits);
    `depth`: how many lists hold it."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return {"stringValue": limited_text(value.string_value)}
    if kind == "int_value":
        return {"intValue": value.int_value}
    if kind == "bool_value":
        return {"boolValue": value.bool_value}
    if kind == "double_value":
        number = value.double_value
        return {"doubleValue": number if math.isfinite(number) else _non_finite(number)}
    if kind in ("array_value", "kvlist_value") and too_deep(depth):
        return {"stringValue": deep_value_marker()}
    if kind == "array_value":
        return {"arrayValue": {"values": [typed_any_value(v, depth + 1)
                                          for v in _within_entry_limit(value.array_value.values)]}}
    if kind == "kvlist_value":
        return {"kvlistValue": {"values": typed_key_values(value.kvlist_value.values, depth + 1)}}
    if kind == "bytes_value":
        return {"bytesValue": base64.b64encode(limited_bytes(value.bytes_value)).decode("ascii")}
    if kind is None:
        return {}
    # A oneof member added by a newer proto package: keep it as protobuf's JSON mapping does.
    return json_format.MessageToDict(value)


def _non_finite(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"
