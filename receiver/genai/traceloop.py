"""Traceloop / OpenLLMetry classic (≤0.54): flattened prompts and completions,
`llm.request.type`, `traceloop.*`. From 0.55 Traceloop writes the OpenTelemetry attributes,
which `otel.py` reads. Pure."""

from __future__ import annotations

from receiver.genai.coerce import as_str, canonical_operation, json_or_text
from receiver.genai.fields import GenAiFields
from receiver.genai.messages import traceloop_messages
from receiver.genai.span_view import SpanView

REQUEST_TYPES = {"chat": "chat", "completion": "text_completion", "embedding": "embeddings", "rerank": "other"}
SPAN_KINDS = {"agent": "invoke_agent", "tool": "execute_tool", "workflow": "other", "task": "other"}
ASSOCIATION = "traceloop.association.properties."


def is_traceloop(span: SpanView) -> bool:
    a = span.attributes
    return ("llm.request.type" in a or "traceloop.span.kind" in a or "gen_ai.prompt.0.content" in a
            or "gen_ai.prompt.0.role" in a or span.scope_name == "traceloop.tracer")


def extract_traceloop(span: SpanView) -> GenAiFields:
    a = span.attributes
    kind = as_str(a.get("traceloop.span.kind"))
    operation = REQUEST_TYPES.get(str(a.get("llm.request.type", "")).lower()) or SPAN_KINDS.get(kind or "")
    out = GenAiFields(
        operation=operation or canonical_operation(a.get("gen_ai.operation.name")),
        input_messages=traceloop_messages(a, "gen_ai.prompt"),
        output_messages=traceloop_messages(a, "gen_ai.completion"),
        is_streaming=a.get("llm.is_streaming") if isinstance(a.get("llm.is_streaming"), bool) else None,
    )
    reasons = [m.get("finish_reason") for m in out.output_messages or [] if m.get("finish_reason")]
    out.finish_reasons = reasons or None
    entity = as_str(a.get("traceloop.entity.name"))
    if kind == "tool":
        out.tool_name = entity
        out.tool_arguments = json_or_text(a.get("traceloop.entity.input"))
        out.tool_result = json_or_text(a.get("traceloop.entity.output"))
    elif kind == "agent":
        out.agent_name = entity
    for key, value in a.items():  # association properties: whatever keys the app passed
        if key.startswith(ASSOCIATION) and isinstance(value, str):
            name = key[len(ASSOCIATION):]
            if "session" in name or "conversation" in name or "thread" in name:
                out.session_id = out.session_id or value
            elif "user" in name:
                out.user_id = out.user_id or value
    return out
