"""The playground's editor fields to a model call and back: messages and tools as JSON text
(OpenTelemetry's message shape, which both APIs' bodies are built from), parameters as text
where empty means "not set". A mistake is an `EditError` naming the field. Pure (no Qt)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.provider_payloads import PARAMETERS, ModelCall

__all__ = ["EditError", "call_from_edits", "json_text", "parameter_text"]

_READERS = {"temperature": float, "top_p": float, "seed": int, "max_tokens": int}


class EditError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def parameter_text(value: Any) -> str:
    return "" if value is None else str(value)


def _json_list(field: str, text: str) -> list[Any]:
    if not text.strip():
        return []
    try:
        value = json.loads(text)
    except ValueError as error:
        raise EditError(field, f"not JSON ({error})") from None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise EditError(field, "must be a JSON list of objects")
    return value


def call_from_edits(api: str, model: str, system: str, messages: str, tools: str,
                    parameters: Mapping[str, str]) -> ModelCall:
    """The call the editor describes; raises EditError for the first field that is wrong."""
    if not model.strip():
        raise EditError("Model", "a model name is needed")
    message_list = _json_list("Messages", messages)
    if not message_list:
        raise EditError("Messages", "there must be at least one message")
    for message in message_list:
        if not isinstance(message.get("role"), str) or not isinstance(message.get("parts"), list):
            raise EditError("Messages", 'each message needs a "role" and a list of "parts"')
    values: dict[str, Any] = {}
    for name in PARAMETERS:
        text = (parameters.get(name) or "").strip()
        if text:
            try:
                values[name] = _READERS[name](text)
            except ValueError:
                kind = "a number" if _READERS[name] is float else "a whole number"
                raise EditError(name, f"{text!r} is not {kind}") from None
    return ModelCall(api=api, model=model.strip(), system=system.strip() or None, messages=message_list,
                     tools=_json_list("Tools", tools), parameters=values)
