"""How attribute lists are stored, and the two views readers take of them.

An OTLP attribute list is stored as JSON in one of two shapes:

* **plain** — a JSON object `{"key": value}` — whenever that loses nothing: every key is
  unique and every value is a string, bool, int, finite double, or an array / key-value
  list of such values. JSON keeps each of these types apart (a double is written with a
  decimal point or exponent, so `3.0` stays a double), and SQLite's JSON functions read it
  directly (`json_extract(attributes, '$."gen_ai.request.model"')`). This is nearly always
  the shape, and it is the cheap one to write.
* **typed** — a JSON list in OTLP/JSON's `KeyValue` shape — when plain would lose
  something: bytes, empty values, a missing value, non-finite doubles, or a repeated key.
  Values are `{"stringValue": s}`, `{"boolValue": b}`, `{"intValue": n}` (a JSON integer),
  `{"doubleValue": x}` ("NaN"/"Infinity"/"-Infinity" as text), `{"bytesValue": base64}`,
  `{"arrayValue": {"values": [...]}}`, `{"kvlistValue": {"values": [...]}}`, `{}` for
  empty, and a `KeyValue` without `"value"` when none was set.

`plain_attributes` gives people's view of either shape (bytes as base64 text, empty as
null); `typed_attributes` gives the exact OTLP/JSON list of either shape, for export.
"""

from __future__ import annotations

from typing import Any

StoredAttributes = dict[str, Any] | list[dict[str, Any]]


def plain_attributes(stored: StoredAttributes) -> dict[str, Any]:
    """Either stored shape -> {key: plain value}; of a repeated key the last value wins."""
    if isinstance(stored, dict):
        return stored
    return {kv["key"]: plain_value(kv.get("value")) for kv in stored}


def plain_value(typed: dict[str, Any] | None) -> Any:
    if not typed:
        return None
    kind, value = next(iter(typed.items()))
    if kind == "arrayValue":
        return [plain_value(v) for v in value.get("values", [])]
    if kind == "kvlistValue":
        return plain_attributes(value.get("values", []))
    return value  # strings, bools, ints, doubles ("NaN" stays text: JSON has no literal for it), base64


def typed_attributes(stored: StoredAttributes) -> list[dict[str, Any]]:
    """Either stored shape -> the OTLP/JSON KeyValue list (exact: plain is only used when lossless)."""
    if isinstance(stored, list):
        return stored
    return [{"key": key, "value": typed_value(value)} for key, value in stored.items()]


def typed_value(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [typed_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": typed_attributes(value)}}
    raise TypeError(f"not a plain attribute value: {value!r}")
