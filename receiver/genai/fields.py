"""The canonical GenAI record of one span: the same fields whichever instrumentation sent it.

Token meaning follows the OpenTelemetry convention: `input_tokens` counts all input tokens,
cached ones included; `cache_read_tokens` and `cache_write_tokens` are parts of it;
`output_tokens` includes `reasoning_tokens`. None means "the telemetry does not say"
(never 0 for unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings", "retrieval", "execute_tool",
              "invoke_agent", "create_agent", "other")

# Fields holding message content: derived when a span is read, not on the ingest path.
CONTENT_FIELDS = frozenset({"input_messages", "output_messages", "system_instructions", "tool_arguments",
                            "tool_result", "tool_definitions"})

Messages = list[dict[str, Any]]  # OTel gen_ai.input.messages / output.messages shape
Parts = list[dict[str, Any]]  # OTel gen_ai.system_instructions shape


@dataclass(slots=True)
class GenAiFields:
    operation: str | None = None
    provider: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    finish_reasons: list[str] | None = None
    response_id: str | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None
    tool_arguments: Any = None
    tool_result: Any = None
    tool_definitions: list[Any] | None = None
    is_streaming: bool | None = None
    agent_name: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    ttft_ms: float | None = None
    error_type: str | None = None
    display_name: str | None = None
    input_messages: Messages | None = None
    output_messages: Messages | None = None
    system_instructions: Parts | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # family-specific facts worth showing
