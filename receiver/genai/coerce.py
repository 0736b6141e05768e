"""Forgiving readers for attribute values: a malformed value gives None (the raw attribute
is kept anyway), never an exception on the ingest path. Plus the value vocabularies shared
by every convention family (operations, providers, finish reasons, error types)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import orjson

from receiver.genai.fields import OPERATIONS

MAX_JSON_CHARS = 4 * 1024 * 1024  # a multi-megabyte "JSON" attribute is kept raw, not parsed


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what an SQLite INTEGER holds
_INT_TEXT = re.compile(r"\s*[-+]?[0-9]+\s*")  # ASCII digits (isdigit() takes '²', which int() refuses)


def as_int(value: Any) -> int | None:
    """An integer, or None when the value is no integer or is beyond 64 bits (a column can't
    hold it; the raw attribute keeps it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
        return value
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def as_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_str_list(value: Any) -> list[str] | None:
    """A list of strings from a list, a JSON list in a string, or a single string."""
    if isinstance(value, str):
        parsed = parse_json(value) if value.startswith("[") else None
        value = parsed if isinstance(parsed, list) else [value]
    if isinstance(value, list):
        items = [item for item in value if isinstance(item, str) and item]
        return items or None
    return None


def parse_json(value: Any, invalid: Any = None) -> Any:
    """A JSON string parsed, or `invalid` (unparsable or over MAX_JSON_CHARS); non-strings pass
    through (structured OTLP values)."""
    if not isinstance(value, str):
        return value
    if len(value) > MAX_JSON_CHARS:
        return invalid
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return invalid


def skim_json(value: Any) -> Any:
    """`parse_json` for what the ingest path only skims (finish reasons, invocation
    parameters), with orjson: several times faster on every model call. It reads integers
    past 64 bits as floats, which nothing skimmed holds; what it refuses (NaN literals) goes
    to the exact reader."""
    if not isinstance(value, str) or len(value) > MAX_JSON_CHARS:
        return parse_json(value)
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return parse_json(value)


def json_or_text(value: Any) -> Any:
    """Tool arguments and results: parsed when they are JSON, else kept as they came."""
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("{", "[", '"'):
            parsed = parse_json(value)
            if parsed is not None:
                return parsed
    return value


class Memo(dict):
    """A pure reader's answers by (hashable) value, for the few values senders repeat on every
    span (operation and provider names, span kinds, finish-reason lists): each is worked out
    once. Bounded: free-form values start it over rather than grow it."""

    def __init__(self, reader: Callable[[Any], Any], limit: int = 1024) -> None:
        super().__init__()
        self.reader, self.limit = reader, limit

    def __missing__(self, value: Any) -> Any:
        if len(self) >= self.limit:
            self.clear()
        answer = self[value] = self.reader(value)
        return answer


# --- vocabularies ---------------------------------------------------------------------------

OPERATION_ALIASES = {"completion": "text_completion", "text_completion": "text_completion",
                     "embedding": "embeddings", "generate": "generate_content"}


def canonical_operation(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    name = value.strip().lower()
    if name in OPERATIONS:
        return name
    return OPERATION_ALIASES.get(name, "other")


def operation_from_span_name(name: str) -> str | None:
    """`chat gpt-4o-mini`, `invoke_agent x`, `openai.chat`, `anthropic.messages.create`…"""
    first = name.split(" ", 1)[0].lower()
    if first in OPERATIONS:
        return first
    if "." in first:
        last = first.rsplit(".", 1)[1]
        if last in ("chat", "create") and (first.startswith(("openai.", "anthropic.", "cohere.", "mistral"))):
            return "chat"
        if last in ("embeddings", "embed"):
            return "embeddings"
        if last == "completion":
            return "text_completion"
    return None


# OpenInference and other spellings -> OpenTelemetry provider names
PROVIDER_ALIASES = {
    "aws": "aws.bedrock", "bedrock": "aws.bedrock", "azure": "azure.ai.openai", "google": "gcp.gen_ai",
    "vertexai": "gcp.vertex_ai", "vertex_ai": "gcp.vertex_ai", "gemini": "gcp.gemini", "mistralai": "mistral_ai",
    "mistral": "mistral_ai", "xai": "x_ai", "watsonx": "ibm.watsonx.ai", "moonshot": "moonshot_ai",
}


def canonical_provider(value: Any) -> str | None:
    text = as_str(value)
    if text is None:
        return None
    name = text.strip().lower()
    return PROVIDER_ALIASES.get(name, name)


FINISH_REASON_ALIASES = {
    "tool_calls": "tool_call", "function_call": "tool_call", "tool_use": "tool_call",
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "refusal": "content_filter",
}


def canonical_finish_reasons(reasons: list[str] | None) -> list[str] | None:
    if not reasons:
        return None
    return [FINISH_REASON_ALIASES.get(r.lower(), r.lower()) for r in reasons]


_CLASS_REPR = re.compile(r"<class '([^']+)'>")


def clean_error_type(value: Any) -> str | None:
    """`<class 'openai.BadRequestError'>` and `pydantic_ai.exceptions.X` -> the class name."""
    text = as_str(value)
    if text is None:
        return None
    match = _CLASS_REPR.search(text)
    if match:
        text = match.group(1)
    if "." in text and " " not in text:
        last = text.rsplit(".", 1)[1]
        if last[:1].isupper():
            return last
    return text
