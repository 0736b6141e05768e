"""Which attributes carry message content, for the switch that stores none of it."""

from __future__ import annotations

from typing import Any

CONTENT_KEYS = frozenset({
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gen_ai.tool.args", "gen_ai.prompt",
    "gen_ai.completion", "pydantic_ai.all_messages", "final_result", "input.value", "output.value",
    "traceloop.entity.input", "traceloop.entity.output", "llm.prompts", "inputs", "embeddings",
})
CONTENT_PREFIXES = ("llm.input_messages.", "llm.output_messages.", "gen_ai.prompt.", "gen_ai.completion.",
                    "llm.prompts.", "llm.choices.", "embedding.embeddings.", "retrieval.documents.")


def is_content_key(key: str) -> bool:
    return key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)


def strip_request_content(request: Any) -> None:
    """Remove the content-bearing attributes from an ExportTraceServiceRequest's spans and
    their events, in place: what is forwarded when none is stored (--no-content)."""
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                for item in (span, *span.events):
                    kept = [kv for kv in item.attributes if not is_content_key(kv.key)]
                    if len(kept) < len(item.attributes):
                        del item.attributes[:]
                        item.attributes.extend(kept)


def without_content(stored: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """Either stored attribute shape (receiver.attributes) minus the content-bearing keys."""
    if isinstance(stored, dict):
        return {k: v for k, v in stored.items() if not is_content_key(k)}
    return [kv for kv in stored if not is_content_key(kv.get("key", ""))]
