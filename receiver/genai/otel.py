"""OpenTelemetry GenAI conventions, current and older (`gen_ai.*`), including what pydantic-ai,
Logfire, OpenLIT and the Anthropic SDK write into that namespace. Pure; see
GENAI_CONVENTIONS.md section 2 for where each key comes from.

`KEYS` maps an attribute to (canonical field, reader); earlier keys for a field win. The
normaliser reads each attribute a span has once, through these tables; `finish` then applies
the rules a table cannot say.
"""

from __future__ import annotations

from typing import Any

from receiver.genai.coerce import (
    as_bool,
    as_float,
    as_int,
    as_str,
    as_str_list,
    canonical_operation,
    canonical_provider,
    json_or_text,
    parse_json,
)
from receiver.genai.fields import GenAiFields
from receiver.genai.message_events import messages_from_span_events
from receiver.genai.messages import otel_messages, otel_parts
from receiver.genai.span_view import SpanView


def _list(value: Any) -> list | None:
    parsed = parse_json(value)
    return parsed if isinstance(parsed, list) else None


def _seconds_to_ms(value: Any) -> float | None:
    seconds = as_float(value)
    return None if seconds is None else seconds * 1000.0


KEYS: dict[str, tuple[str, Any]] = {}
for _field, _reader, _keys in (
    ("operation", canonical_operation, ("gen_ai.operation.name",)),
    ("provider", canonical_provider, ("gen_ai.provider.name", "gen_ai.system")),
    ("request_model", as_str, ("gen_ai.request.model",)),
    ("response_model", as_str, ("gen_ai.response.model",)),
    ("input_tokens", as_int, ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")),
    ("output_tokens", as_int, ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")),
    ("cache_read_tokens", as_int, ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
                                   "gen_ai.usage.details.cache_read_tokens")),
    ("cache_write_tokens", as_int, ("gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens",
                                    "gen_ai.usage.cache_creation_input_tokens",
                                    "gen_ai.usage.details.cache_write_tokens")),
    ("reasoning_tokens", as_int, ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
                                  "gen_ai.usage.details.reasoning_tokens", "llm.usage.reasoning_tokens")),
    ("temperature", as_float, ("gen_ai.request.temperature",)),
    ("top_p", as_float, ("gen_ai.request.top_p",)),
    ("seed", as_int, ("gen_ai.request.seed", "gen_ai.openai.request.seed")),
    ("max_tokens", as_int, ("gen_ai.request.max_tokens",)),
    ("finish_reasons", as_str_list, ("gen_ai.response.finish_reasons", "anthropic.message.stop_reason")),
    ("response_id", as_str, ("gen_ai.response.id",)),
    ("tool_name", as_str, ("gen_ai.tool.name",)),
    ("tool_call_id", as_str, ("gen_ai.tool.call.id",)),
    ("tool_arguments", json_or_text, ("gen_ai.tool.call.arguments", "gen_ai.tool.args")),
    ("tool_result", json_or_text, ("gen_ai.tool.call.result",)),
    ("tool_definitions", _list, ("gen_ai.tool.definitions",)),
    ("is_streaming", as_bool, ("gen_ai.request.stream", "gen_ai.is_streaming", "llm.is_streaming")),
    ("agent_name", as_str, ("gen_ai.agent.name", "agent_name")),
    ("session_id", as_str, ("gen_ai.conversation.id", "session.id")),
    ("user_id", as_str, ("user.id", "enduser.id", "gen_ai.request.user")),
    ("ttft_ms", _seconds_to_ms, ("gen_ai.response.time_to_first_chunk", "gen_ai.client.operation.time_to_first_chunk",
                                 "gen_ai.server.time_to_first_token")),
    ("display_name", as_str, ("logfire.msg",)),
    ("input_messages", otel_messages, ("gen_ai.input.messages", "pydantic_ai.all_messages")),
    ("output_messages", otel_messages, ("gen_ai.output.messages",)),
    ("system_instructions", otel_parts, ("gen_ai.system_instructions",)),
):
    for _key in _keys:
        KEYS[_key] = (_field, _reader)

AGGREGATED_USAGE = "gen_ai.aggregated_usage."


def finish(span: SpanView, out: GenAiFields, *, content: bool = True) -> None:
    a = span.attributes
    if content and out.input_messages is None and out.output_messages is None and span.events:
        out.input_messages, out.output_messages = messages_from_span_events(
            [(e.name, e.attributes) for e in span.events])
    if span.scope_name == "com.anthropic.sdk.python" and out.provider is None:
        out.provider = "anthropic"
    if span.scope_name.startswith("pydantic-ai") and out.input_tokens is not None:
        # pydantic-ai leaves out a token attribute whose value is 0: there, absent means 0
        out.cache_read_tokens = 0 if out.cache_read_tokens is None else out.cache_read_tokens
        out.cache_write_tokens = 0 if out.cache_write_tokens is None else out.cache_write_tokens
    if "gen_ai.aggregated_usage.input_tokens" in a or "gen_ai.aggregated_usage.output_tokens" in a:
        # an agent run's totals (pydantic-ai): shown, never added to the children again
        out.extras["aggregated_usage"] = {k[len(AGGREGATED_USAGE):]: v for k, v in a.items()
                                          if k.startswith(AGGREGATED_USAGE)}
