"""A trace as a compact Markdown outline of its agent path, sized for pasting into an issue or
an LLM chat: a heading with the totals, then one bullet per span in tree order with its
kind, duration, tokens and cost; under model calls the messages new to that call (the
system prompt and the conversation so far once, then only what each call added) and its
answer or tool calls; under tool calls their arguments and result; errors with their
message; evaluation results and annotations where they belong. Long text is cut. Pure."""

from __future__ import annotations

import json
from typing import Any

from app.cli_output import evaluation_line
from app.formatting import format_cost_usd, format_duration_ns, plural
from app.span_category import AGENT, CHAT, TOOL, category_of
from app.trace_compare import depth_first, root_span
from receiver.records import STATUS_CODE_ERROR, StoredSpan, TraceDetail

__all__ = ["trace_markdown"]

TEXT_CHARS = 400  # of one message or value
MAX_SPANS = 300  # listed; the rest are counted


def trace_markdown(detail: TraceDetail) -> str:
    spans = detail.spans
    root = root_span(detail)
    lines = [f"## Trace `{detail.trace_id}` — {root.name if root else '(no spans)'}", "", _totals(spans)]
    lines += [f"- evaluation {_cut(evaluation_line(e))}" for e in detail.span_evaluations(None)] + [""]
    seen_messages = 0  # of the conversation, already shown under an earlier model call
    depth_of: dict[str, int] = {}
    ids = {s.span_id for s in spans}
    for listed, span in enumerate(depth_first(spans)):
        if listed == MAX_SPANS:
            lines.append(f"- … and {plural(len(spans) - MAX_SPANS, 'more span')}")
            break
        parent = span.parent_span_id if span.parent_span_id in ids else None
        depth = depth_of[span.span_id] = depth_of.get(parent, -1) + 1 if parent else 0
        indent = "  " * depth
        lines.append(f"{indent}- **{span.name}** ({_facts(span)})")
        inner = indent + "  "
        if span.status_code == STATUS_CODE_ERROR:
            lines.append(f"{inner}- ERROR: {_cut(span.status_message or span.genai.get('error_type') or 'error')}")
        lines += [f"{inner}- evaluation {_cut(evaluation_line(e))}" for e in detail.span_evaluations(span.span_id)]
        category = category_of(span.genai)
        if category == CHAT:
            messages = span.content.get("input_messages") or []
            if not seen_messages and span.content.get("system_instructions"):
                lines.append(f"{inner}- system: {_cut(_plain(span.content['system_instructions']))}")
            for message in messages[seen_messages:] if len(messages) > seen_messages else messages[-1:]:
                lines += [f"{inner}- {line}" for line in _message_lines(message)]
            seen_messages = max(seen_messages, len(messages))
            for message in span.content.get("output_messages") or []:
                lines += [f"{inner}- → {line}" for line in _message_lines(message)]
        elif category == TOOL:
            if span.content.get("tool_arguments") is not None:
                lines.append(f"{inner}- arguments: `{_cut(_compact(span.content['tool_arguments']))}`")
            if span.content.get("tool_result") is not None:
                lines.append(f"{inner}- result: `{_cut(_compact(span.content['tool_result']))}`")
    return "\n".join(lines) + "\n"


def _totals(spans: list[StoredSpan]) -> str:
    if not spans:
        return ""
    start = min(s.start_time_unix_nano for s in spans)
    end = max(s.end_time_unix_nano for s in spans)
    calls = [s for s in spans if s.genai.get("input_tokens") is not None or s.genai.get("output_tokens") is not None]
    tokens_in = sum(s.genai.get("input_tokens") or 0 for s in calls)
    tokens_out = sum(s.genai.get("output_tokens") or 0 for s in calls)
    cost = sum(s.genai.get("cost_usd") or 0.0 for s in spans)
    models = sorted({m for s in spans if (m := s.genai.get("response_model") or s.genai.get("request_model"))})
    errors = sum(s.status_code == STATUS_CODE_ERROR for s in spans)
    facts = [format_duration_ns(end - start), plural(len(spans), "span"),
             f"{tokens_in:,} in / {tokens_out:,} out tokens", format_cost_usd(cost if calls else None)]
    if models:
        facts.append("models " + ", ".join(models))
    if errors:
        facts.append(plural(errors, "error"))
    session = next((s.genai.get("session_id") for s in spans if s.genai.get("session_id")), None)
    if session:
        facts.append(f"session {session}")
    return " · ".join(facts)


def _facts(span: StoredSpan) -> str:
    category = category_of(span.genai)
    facts = [] if category in (CHAT, TOOL, AGENT) else [category]
    facts.append(format_duration_ns(span.end_time_unix_nano - span.start_time_unix_nano))
    genai = span.genai
    if genai.get("input_tokens") is not None or genai.get("output_tokens") is not None:
        facts.append(f"{genai.get('input_tokens') or 0:,}/{genai.get('output_tokens') or 0:,} tokens")
    if genai.get("cost_usd"):
        facts.append(format_cost_usd(genai["cost_usd"]))
    if category == CHAT and genai.get("temperature") is not None:
        facts.append(f"temperature {genai['temperature']}")
    return ", ".join(facts)


def _message_lines(message: dict) -> list[str]:
    role = message.get("role", "?")
    lines = []
    for part in message.get("parts") or []:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            lines.append(f"{role}: {_cut(str(part.get('content', '')))}")
        elif kind == "tool_call":
            lines.append(f"{role} calls `{part.get('name')}({_cut(_compact(part.get('arguments')))})`")
        elif kind == "tool_call_response":
            lines.append(f"{role}: tool result `{_cut(_compact(part.get('response')))}`")
    return lines or [f"{role}: (no text)"]


def _plain(instructions: Any) -> str:
    if isinstance(instructions, list):
        return " ".join(str(p.get("content", "")) for p in instructions if isinstance(p, dict))
    return str(instructions)


def _compact(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1] + "…"

