"""The typed attribute shape the receiver stores, and its plain view.

Stored shape = OTLP/JSON (protobuf's JSON mapping of `KeyValue`/`AnyValue`), so a stored list
parses straight back into protobuf for export, and every value keeps its type:
`{"stringValue": s}`, `{"boolValue": b}`, `{"intValue": n}` (a JSON integer: exact for
int64), `{"doubleValue": x}` (non-finite values as "NaN"/"Infinity"/"-Infinity"),
`{"bytesValue": base64}`, `{"arrayValue": {"values": [...]}}`,
`{"kvlistValue": {"values": [{"key": k, "value": {...}}]}}`, and `{}` for an empty value.

The plain view (`plain_attributes`) is what people and `show --json` read: values as JSON
natives, bytes as base64 text, arrays as lists, kvlists as objects, empty as null.
"""

from __future__ import annotations

import math
from typing import Any

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def plain_value(typed: dict[str, Any] | None) -> Any:
    if not typed:
        return None
    kind, value = next(iter(typed.items()))
    if kind == "arrayValue":
        return [plain_value(v) for v in value.get("values", [])]
    if kind == "kvlistValue":
        return plain_attributes(value.get("values", []))
    if kind == "doubleValue" and isinstance(value, str):
        return value  # "NaN"/"Infinity" stay text: JSON has no literal for them
    return value


def plain_attributes(typed_list: list[dict[str, Any]]) -> dict[str, Any]:
    """Typed KeyValue list -> {key: plain value}; a repeated key keeps its last value."""
    return {kv["key"]: plain_value(kv.get("value")) for kv in typed_list}
