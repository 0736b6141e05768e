"""Traceloop / OpenLLMetry classic (≤0.54): flattened prompts and completions,
`llm.request.type`, `traceloop.*`. From 0.55 Traceloop writes the OpenTelemetry attributes,
which `otel.py` reads. Pure; fills only what the other families left empty."""

from __future__ import annotations

from receiver.genai.coerce import as_str, json_or_text
from receiver.genai.fields import GenAiFields
from receiver.genai.messages import traceloop_messages
from receiver.genai.span_view import SpanView

REQUEST_TYPES = {"chat": "chat", "completion": "text_completion", "embedding": "embeddings", "rerank": "other"}
SPAN_KINDS = {"agent": "invoke_agent", "tool": "execute_tool", "workflow": "other", "task": "other"}
ASSOCIATION = "traceloop.association.properties."
MARKERS = ("llm.request.type", "traceloop.span.kind", "gen_ai.prompt.0.content", "gen_ai.prompt.0.role")
SCOPE = "traceloop.tracer"


def finish(span: SpanView, out: GenAiFields, *, content: bool = True) -> None:
    a = span.attributes
    kind = as_str(a.get("traceloop.span.kind"))
    if out.operation is None:
        out.operation = REQUEST_TYPES.get(str(a.get("llm.request.type", "")).lower()) or SPAN_KINDS.get(kind or "")
    if content and out.input_messages is None:
        out.input_messages = traceloop_messages(a, "gen_ai.prompt")
    if out.output_messages is None and (content or out.finish_reasons is None):
        out.output_messages = traceloop_messages(a, "gen_ai.completion")  # also where finish reasons are
    entity = as_str(a.get("traceloop.entity.name"))
    if kind == "tool":
        out.tool_name = out.tool_name or entity
        if content and out.tool_arguments is None:
            out.tool_arguments = json_or_text(a.get("traceloop.entity.input"))
        if content and out.tool_result is None:
            out.tool_result = json_or_text(a.get("traceloop.entity.output"))
    elif kind == "agent":
        out.agent_name = out.agent_name or entity
    for key, value in a.items():  # association properties: whatever keys the app passed
        if key.startswith(ASSOCIATION) and isinstance(value, str):
            name = key[len(ASSOCIATION):]
            if "session" in name or "conversation" in name or "thread" in name:
                out.session_id = out.session_id or value
            elif "user" in name:
                out.user_id = out.user_id or value
