"""OpenInference (Arize): `openinference.span.kind`, `llm.*`, `tool.*`, `input.value`… Pure.

Its native keys win over the `gen_ai.*` copies it may also write (those can hold the response
model as the request model, or a tool's JSON schema as its arguments). `KEYS` are read in the
normaliser's single pass; `finish` adds what needs several keys at once."""

from __future__ import annotations

from typing import Any

from receiver.genai.coerce import (
    Memo,
    as_bool,
    as_float,
    as_int,
    as_str,
    canonical_provider,
    json_or_text,
    parse_json,
    skim_json,
)
from receiver.genai.fields import GenAiFields
from receiver.genai.messages import openinference_messages
from receiver.genai.span_view import SpanView

SPAN_KINDS = {"LLM": "chat", "EMBEDDING": "embeddings", "RETRIEVER": "retrieval", "TOOL": "execute_tool",
              "AGENT": "invoke_agent"}  # CHAIN, PROMPT, RERANKER, GUARDRAIL, EVALUATOR, … -> other
FIRST_TOKEN_EVENT = "First Token Stream Event"
JSON_MIME = "application/json"
MARKER = "openinference.span.kind"
_KINDS = Memo(str.upper)  # marker value -> upper case: a handful, read on every span


def _single_reason(value: Any) -> list[str] | None:
    reason = as_str(value)
    return [reason] if reason else None


KEYS: dict[str, tuple[str, Any]] = {}
for _field, _reader, _keys in (
    ("provider", canonical_provider, ("llm.provider", "llm.system")),
    ("request_model", as_str, ("llm.request.model_name", "embedding.model_name")),
    # llm.model_name is what the library saw in the response (the request model for a LangChain stream)
    ("response_model", as_str, ("llm.response.model_name", "llm.model_name")),
    ("input_tokens", as_int, ("llm.token_count.prompt",)),
    ("output_tokens", as_int, ("llm.token_count.completion",)),
    ("cache_read_tokens", as_int, ("llm.token_count.prompt_details.cache_read",)),
    ("cache_write_tokens", as_int, ("llm.token_count.prompt_details.cache_write",)),
    ("reasoning_tokens", as_int, ("llm.token_count.completion_details.reasoning",)),
    ("finish_reasons", _single_reason, ("llm.finish_reason",)),
    ("session_id", as_str, ("session.id",)),
    ("user_id", as_str, ("user.id",)),
):
    for _key in _keys:
        KEYS[_key] = (_field, _reader)


def is_openinference(span: SpanView) -> bool:
    return MARKER in span.attributes


def finish(span: SpanView, out: GenAiFields, *, content: bool = True) -> None:
    """Fill what OpenInference says beyond single keys; `out` already holds the table values."""
    a = span.attributes
    marker = a.get(MARKER, "")
    kind = _KINDS[marker] if marker.__class__ is str else str(marker).upper()
    operation = SPAN_KINDS.get(kind, "other")
    if operation == "chat" and "llm.prompts" in a and "llm.input_messages.0.message.role" not in a:
        operation = "text_completion"
    out.operation = operation
    raw_params = a.get("llm.invocation_parameters") or a.get("embedding.invocation_parameters")
    params = None if raw_params is None else skim_json(raw_params)
    if isinstance(params, dict):
        for name, value in (("request_model", as_str(params.get("model"))),
                            ("temperature", as_float(params.get("temperature"))),
                            ("top_p", as_float(params.get("top_p"))), ("seed", as_int(params.get("seed"))),
                            ("max_tokens", as_int(params.get("max_tokens", params.get("max_completion_tokens"))))):
            if value is not None and (name != "request_model" or out.request_model is None):
                setattr(out, name, value)
        if kind != "LLM" or as_bool(params.get("stream")):  # LangChain reports stream=false for streams
            out.is_streaming = as_bool(params.get("stream"))
    if content:
        out.input_messages = openinference_messages(a, "llm.input_messages") or out.input_messages
        out.output_messages = openinference_messages(a, "llm.output_messages") or out.output_messages
        out.tool_definitions = _tool_definitions(a) or out.tool_definitions
    output = _value(a, "output") if content or operation == "execute_tool" or "output.mime_type" in a else None
    if isinstance(output, dict) and out.response_id is None:
        out.response_id = as_str(output.get("id"))
    if operation == "execute_tool":
        # its own keys first, then the gen_ai.* ones the table read, then the span name
        out.tool_name = ("tool.name" in a and as_str(a["tool.name"])) or out.tool_name or span.name
        out.tool_call_id = ("tool_call.id" in a and as_str(a["tool_call.id"])) or out.tool_call_id
        if out.tool_call_id is None and isinstance(output, dict):  # LangChain's ToolMessage names its call
            data = output.get("data")
            out.tool_call_id = as_str(output.get("tool_call_id")) or (
                as_str(data.get("tool_call_id")) if isinstance(data, dict) else None)
        if content:
            out.tool_arguments = _value(a, "input")
            out.tool_result = output
    elif content and operation in ("invoke_agent", "other") and out.input_messages is None:
        # agent and chain spans carry only the raw input and output: show them as the exchange
        out.input_messages = _text_message("user", a.get("input.value"))
        out.output_messages = _text_message("assistant", a.get("output.value"))
    if operation == "invoke_agent":
        out.agent_name = ("agent.name" in a and as_str(a["agent.name"])) or out.agent_name or span.name
    first_token = next((e for e in span.events if e.name == FIRST_TOKEN_EVENT), None) if span.events else None
    if first_token is not None and span.start_time_unix_nano:
        out.ttft_ms = (first_token.time_unix_nano - span.start_time_unix_nano) / 1e6
        out.is_streaming = True


def _value(a: dict[str, Any], which: str) -> Any:
    """`input.value` / `output.value`, parsed when its mime type says JSON."""
    raw = a.get(f"{which}.value")
    if raw is None:
        return None
    if a.get(f"{which}.mime_type") == JSON_MIME:
        parsed = parse_json(raw)
        return raw if parsed is None else parsed
    return json_or_text(raw) if isinstance(raw, str) and raw[:1] in "{[" else raw


def _tool_definitions(a: dict[str, Any]) -> list | None:
    tools = []
    for i in range(1000):
        schema = a.get(f"llm.tools.{i}.tool.json_schema")
        if schema is None:
            break
        tools.append(json_or_text(schema))
    return tools or None


def _text_message(role: str, text: Any) -> list | None:
    if not isinstance(text, str) or not text:
        return None
    return [{"role": role, "parts": [{"type": "text", "content": text}]}]
