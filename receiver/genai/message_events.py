"""Messages carried by events rather than span attributes -> the canonical OTel message shape
(see `messages` for the shape and the choices made). Pure; never raises on bad input.

* log records of one span (GENAI_CONVENTIONS.md section 3 and 9): the current
  `gen_ai.client.inference.operation.details` event, whose attributes hold the messages as
  structured values, and the older one-record-per-message events (`gen_ai.user.message`,
  `gen_ai.choice`, …) whose bodies are OpenAI-like maps;
* span events of semconv ≈1.26 (`gen_ai.content.prompt` / `gen_ai.content.completion`).
"""

from __future__ import annotations

from typing import Any

from receiver.genai.coerce import as_int
from receiver.genai.messages import Message, Part, openai_message, openai_style_messages, otel_messages, otel_parts

DETAILS_EVENT = "gen_ai.client.inference.operation.details"
OLD_MESSAGE_EVENTS = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
                      "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}
CHOICE_EVENT = "gen_ai.choice"


def messages_from_log_events(
        events: Any) -> tuple[list[Message] | None, list[Message] | None, list[Part] | None]:
    """One span's log events `[(event_name, body, attributes)]`, in time order -> (input, output,
    system instructions), each None when absent.

    A `gen_ai.system.message` stays in the input list as role `system`, the way v2 spans write
    it; system instructions come only from a sender that keeps them apart (the details event's
    `gen_ai.system_instructions`). An empty name falls back to the `event.name` attribute (SDKs
    before the OTLP `eventName` field). When a details event and old events are both present,
    the details event wins per field."""
    details: list[Any] = [None, None, None]
    inputs: list[Message] = []
    choices: list[tuple[int, Message]] = []
    for event in events if isinstance(events, (list, tuple)) else ():
        if not isinstance(event, (list, tuple)) or len(event) != 3:
            continue
        name, body, attrs = event
        attrs = attrs if isinstance(attrs, dict) else {}
        name = name or attrs.get("event.name")
        if name == DETAILS_EVENT:
            details[0] = details[0] or otel_messages(attrs.get("gen_ai.input.messages"))
            details[1] = details[1] or otel_messages(attrs.get("gen_ai.output.messages"))
            details[2] = details[2] or otel_parts(attrs.get("gen_ai.system_instructions"))
            continue
        body = {"content": body} if isinstance(body, str) else body if isinstance(body, dict) else {}
        if name in OLD_MESSAGE_EVENTS:
            role = OLD_MESSAGE_EVENTS[name]
            if role == "tool" and "tool_call_id" not in body:
                body = {**body, "tool_call_id": body.get("id")}  # the tool event names its call `id`
            message = openai_message({"role": role, **body}, role)  # a `role` in the body overrides
            if message is not None:
                inputs.append(message)
        elif name == CHOICE_EVENT:
            finish_reason = body.get("finish_reason")
            message = openai_message({"message": body.get("message") or {}, "finish_reason": finish_reason})
            if message is None and isinstance(finish_reason, str):  # content not captured: keep the reason
                message = {"role": "assistant", "parts": [], "finish_reason": finish_reason}
            if message is not None:
                index = as_int(body.get("index"))
                choices.append((len(choices) if index is None else index, message))
    choices.sort(key=lambda choice: choice[0])  # stable: equal indices keep their arrival order
    output = [message for _, message in choices]
    return details[0] or inputs or None, details[1] or output or None, details[2]


def messages_from_span_events(events: Any) -> tuple[list[Message] | None, list[Message] | None]:
    """Span events `[(name, attributes)]` -> (input, output): `gen_ai.content.prompt` /
    `gen_ai.content.completion` with OpenAI-style message JSON in `gen_ai.prompt` / `gen_ai.completion`.
    The first event of each kind wins."""
    found: dict[str, list[Message] | None] = {"prompt": None, "completion": None}
    for event in events if isinstance(events, (list, tuple)) else ():
        if not isinstance(event, (list, tuple)) or len(event) != 2 or not isinstance(event[1], dict):
            continue
        name, attrs = event
        which = name[len("gen_ai.content."):] if isinstance(name, str) and name.startswith("gen_ai.content.") else ""
        if which in found and found[which] is None:
            found[which] = openai_style_messages(attrs.get(f"gen_ai.{which}"),
                                                 "user" if which == "prompt" else "assistant")
    return found["prompt"], found["completion"]
