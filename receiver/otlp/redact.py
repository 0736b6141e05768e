"""Message content taken out of stored spans and log records before they are shared: the text
of prompts, completions, system instructions, tool arguments and results is replaced by
"[redacted: N characters]", while everything else stays — the messages' structure (roles,
part types, tool names, finish reasons, ids), tokens, timings, models, cost attributes.

Content is where `receiver.genai.content` says it travels (attribute keys of every family),
and the bodies of GenAI event records. A JSON string (OpenInference, OpenLLMetry write
messages that way) is redacted inside and written back as JSON. Pure."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from receiver.genai.content import is_content_key
from receiver.records import StoredLog, StoredSpan

__all__ = ["redact_text", "redacted_logs", "redacted_spans"]

# keys whose string values describe a message rather than say what it said
_STRUCTURE_KEYS = frozenset({"role", "type", "finish_reason", "id", "name", "tool_call_id", "call_id",
                             "mime_type", "modality", "index", "model", "stop_reason"})


def redacted_spans(spans: list[StoredSpan]) -> list[StoredSpan]:
    return [dataclasses.replace(span, attributes=_redact_attributes(span.attributes),
                                events=[{**event, "attributes": _redact_attributes(event.get("attributes", {}))}
                                        for event in span.events], content={})
            for span in spans]


def redacted_logs(logs: list[StoredLog]) -> list[StoredLog]:
    return [dataclasses.replace(record, attributes=_redact_attributes(record.attributes),
                                body=_redact_any_value(record.body) if _is_genai_event(record) else record.body)
            for record in logs]


def redact_text(text: str) -> str:
    return f"[redacted: {len(text)} characters]"


def _is_genai_event(record: StoredLog) -> bool:
    return record.resolved_event_name.startswith("gen_ai.")


def _redact_attributes(stored: Any) -> Any:
    if isinstance(stored, dict):  # plain: {key: value}
        return {key: _redact_plain(value) if is_content_key(key) else value for key, value in stored.items()}
    return [{**kv, "value": _redact_any_value(kv.get("value"))} if is_content_key(kv.get("key", "")) else kv
            for kv in stored]  # typed: OTLP/JSON KeyValues


def _redact_plain(value: Any) -> Any:
    """A plain attribute value: text (JSON inside redacted within), or a structure."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return redact_text(value)
        if isinstance(parsed, (dict, list)):
            return json.dumps(_redact_tree(parsed), ensure_ascii=False, separators=(",", ":"))
        return redact_text(value)
    return _redact_tree(value)


def _redact_tree(node: Any, key: str | None = None) -> Any:
    """Parsed JSON (or a plain structure): every string but those naming structure."""
    if isinstance(node, dict):
        return {k: _redact_tree(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_redact_tree(item, key) for item in node]
    if isinstance(node, str) and key not in _STRUCTURE_KEYS:
        return _redact_plain(node) if node[:1] in ("{", "[") else redact_text(node)
    return node


def _redact_any_value(value: dict[str, Any] | None, key: str | None = None) -> dict[str, Any] | None:
    """A typed OTLP/JSON AnyValue (a log body, a typed attribute)."""
    if not value:
        return value
    kind, inner = next(iter(value.items()))
    if kind == "stringValue":
        if key in _STRUCTURE_KEYS:
            return value
        return {"stringValue": _redact_plain(inner)}
    if kind == "arrayValue":
        return {"arrayValue": {"values": [_redact_any_value(item, key) for item in inner.get("values", [])]}}
    if kind == "kvlistValue":
        return {"kvlistValue": {"values": [{**kv, "value": _redact_any_value(kv.get("value"), kv.get("key"))}
                                           for kv in inner.get("values", [])]}}
    return value
