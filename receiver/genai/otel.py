"""OpenTelemetry GenAI conventions, current and older (`gen_ai.*`), including what pydantic-ai,
Logfire, OpenLIT and the Anthropic SDK write into that namespace. Pure; see
GENAI_CONVENTIONS.md section 2 for where each key comes from."""

from __future__ import annotations

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

INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
CACHE_READ_TOKENS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
                     "gen_ai.usage.details.cache_read_tokens")
CACHE_WRITE_TOKENS = ("gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens",
                      "gen_ai.usage.cache_creation_input_tokens", "gen_ai.usage.details.cache_write_tokens")
REASONING_TOKENS = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
                    "gen_ai.usage.details.reasoning_tokens", "llm.usage.reasoning_tokens")
TTFT_SECONDS = ("gen_ai.response.time_to_first_chunk", "gen_ai.client.operation.time_to_first_chunk",
                "gen_ai.server.time_to_first_token")
STREAM_FLAGS = ("gen_ai.request.stream", "gen_ai.is_streaming", "llm.is_streaming")


def extract_otel(span: SpanView) -> GenAiFields:
    a = span.attributes
    first = span.first
    out = GenAiFields(
        operation=canonical_operation(a.get("gen_ai.operation.name")),
        provider=canonical_provider(first("gen_ai.provider.name", "gen_ai.system")),
        request_model=as_str(a.get("gen_ai.request.model")),
        response_model=as_str(a.get("gen_ai.response.model")),
        input_tokens=as_int(first(*INPUT_TOKENS)),
        output_tokens=as_int(first(*OUTPUT_TOKENS)),
        cache_read_tokens=as_int(first(*CACHE_READ_TOKENS)),
        cache_write_tokens=as_int(first(*CACHE_WRITE_TOKENS)),
        reasoning_tokens=as_int(first(*REASONING_TOKENS)),
        temperature=as_float(a.get("gen_ai.request.temperature")),
        top_p=as_float(a.get("gen_ai.request.top_p")),
        seed=as_int(first("gen_ai.request.seed", "gen_ai.openai.request.seed")),
        max_tokens=as_int(a.get("gen_ai.request.max_tokens")),
        finish_reasons=as_str_list(first("gen_ai.response.finish_reasons", "anthropic.message.stop_reason")),
        response_id=as_str(a.get("gen_ai.response.id")),
        tool_name=as_str(a.get("gen_ai.tool.name")),
        tool_call_id=as_str(a.get("gen_ai.tool.call.id")),
        tool_arguments=json_or_text(first("gen_ai.tool.call.arguments", "gen_ai.tool.args")),
        tool_result=json_or_text(a.get("gen_ai.tool.call.result")),
        tool_definitions=_list(parse_json(a.get("gen_ai.tool.definitions"))),
        is_streaming=as_bool(first(*STREAM_FLAGS)),
        agent_name=as_str(first("gen_ai.agent.name", "agent_name")),
        session_id=as_str(first("gen_ai.conversation.id", "session.id")),
        user_id=as_str(first("user.id", "enduser.id", "gen_ai.request.user")),
        display_name=as_str(a.get("logfire.msg")),
        input_messages=otel_messages(a.get("gen_ai.input.messages")),
        output_messages=otel_messages(a.get("gen_ai.output.messages")),
        system_instructions=otel_parts(a.get("gen_ai.system_instructions")),
    )
    ttft_s = as_float(first(*TTFT_SECONDS))
    if ttft_s is not None:
        out.ttft_ms = ttft_s * 1000.0
    if out.input_messages is None and a.get("pydantic_ai.all_messages") is not None:
        out.input_messages = otel_messages(a.get("pydantic_ai.all_messages"))  # the whole agent run
    if out.input_messages is None and out.output_messages is None and span.events:
        out.input_messages, out.output_messages = messages_from_span_events(
            [(e.name, e.attributes) for e in span.events])
    if span.scope_name == "com.anthropic.sdk.python" and out.provider is None:
        out.provider = "anthropic"
    if span.scope_name.startswith("pydantic-ai") and out.input_tokens is not None:
        # pydantic-ai leaves out a token attribute whose value is 0: there, absent means 0
        out.cache_read_tokens = 0 if out.cache_read_tokens is None else out.cache_read_tokens
        out.cache_write_tokens = 0 if out.cache_write_tokens is None else out.cache_write_tokens
    return out


def _list(value: object) -> list | None:
    return value if isinstance(value, list) else None
