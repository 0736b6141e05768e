"""What kind of step a span is, for colour and grouping: the canonical GenAI operation
(`receiver.genai`) folded into the six categories the screen shows. No Qt, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["AGENT", "CATEGORIES", "CATEGORY_COLOURS", "CHAT", "EMBEDDINGS", "ERROR_COLOUR", "OTHER",
           "RETRIEVAL", "TOOL", "category_of", "is_model_call"]

AGENT, CHAT, TOOL, RETRIEVAL, EMBEDDINGS, OTHER = "agent", "chat", "tool", "retrieval", "embeddings", "other"
CATEGORIES = (AGENT, CHAT, TOOL, RETRIEVAL, EMBEDDINGS, OTHER)

_BY_OPERATION = {
    "invoke_agent": AGENT, "create_agent": AGENT,
    "chat": CHAT, "text_completion": CHAT, "generate_content": CHAT,
    "execute_tool": TOOL,
    "retrieval": RETRIEVAL,
    "embeddings": EMBEDDINGS,
}
MODEL_CALL_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})

# Mid-saturation hues that read on a light and on a dark background alike (#rrggbb).
CATEGORY_COLOURS = {
    AGENT: "#8b5cf6",  # violet
    CHAT: "#3b82f6",  # blue
    TOOL: "#f59e0b",  # amber
    RETRIEVAL: "#10b981",  # green
    EMBEDDINGS: "#06b6d4",  # cyan
    OTHER: "#94a3b8",  # slate
}
ERROR_COLOUR = "#ef4444"


def category_of(genai: Mapping[str, Any]) -> str:
    """The category of a span from its canonical GenAI fields (`StoredSpan.genai`)."""
    return _BY_OPERATION.get(genai.get("operation") or "", OTHER)


def is_model_call(genai: Mapping[str, Any]) -> bool:
    """A call to a model (the spans whose tokens and cost the trace totals count)."""
    return genai.get("operation") in MODEL_CALL_OPERATIONS
