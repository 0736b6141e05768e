"""OTLP/JSON bodies -> protobuf messages, and typed JSON -> protobuf for export.

OTLP/JSON is protobuf's JSON mapping with one exception: trace and span ids are hex, not
base64. Ids are rewritten to base64 first, then protobuf's own parser does the rest
(lowerCamelCase or snake_case keys, 64-bit integers as strings or numbers, enums as
integers or names, unknown fields ignored as the OTLP spec requires).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from receiver.errors import BadPayload

__all__ = ["parse_otlp_json", "parse_otlp_dict"]

# Keys that hold ids in spans, links and log records (never looked for inside attributes
# or bodies, whose keys are the user's).
_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


_INVALID_ID = base64.b64encode(b"\x00").decode("ascii")


def parse_otlp_json(body: bytes, message_type: type[Message]) -> Message:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadPayload(f"body is not valid JSON: {exc}") from None
    return parse_otlp_dict(document, message_type)


def parse_otlp_dict(document: Any, message_type: type[Message]) -> Message:
    if not isinstance(document, dict):
        raise BadPayload(f"OTLP/JSON body must be an object, not {type(document).__name__}")
    _rewrite_ids(document)
    message = message_type()
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError, RecursionError) as exc:
        raise BadPayload(f"not a valid {message_type.DESCRIPTOR.name}: {exc}") from None
    except SystemError as exc:  # protobuf's C parser on a lone surrogate (a UnicodeEncodeError inside)
        raise BadPayload(f"not a valid {message_type.DESCRIPTOR.name}: a string is not valid "
                         f"Unicode ({exc.__cause__ or exc})") from None
    return message


def _rewrite_ids(node: Any) -> None:
    """Hex ids -> base64 in place, wherever an id key appears (spans, links, log records)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = _hex_id_to_base64(value)
            elif isinstance(value, (dict, list)) and key not in ("attributes", "body", "value"):
                _rewrite_ids(value)
    elif isinstance(node, list):
        for item in node:
            _rewrite_ids(item)


def _hex_id_to_base64(text: str) -> str:
    """Hex per the OTLP spec; a value that is not hex but is valid base64 (protobuf's own
    mapping, which some senders use) passes through; anything else becomes a one-byte id,
    which validation rejects per span (an empty id would silently turn a bad parent id into
    a root)."""
    try:
        return base64.b64encode(bytes.fromhex(text)).decode("ascii")
    except ValueError:
        pass
    try:
        base64.b64decode(text, validate=True)
        return text
    except (binascii.Error, ValueError):
        return _INVALID_ID
