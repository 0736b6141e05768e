"""A model call as a runnable Python snippet that repeats the request with the provider's SDK —
model, system instructions, messages (tool calls and results included), temperature, top_p,
seed, max tokens, tools: the reproducibility record as code. OpenAI's chat completions API
for OpenAI and OpenAI-compatible providers, Anthropic's messages API for Anthropic
(`app.provider_payloads` builds the bodies). Pure; Tracepane itself never sends it anywhere."""

from __future__ import annotations

import pprint
from typing import Any

from app.provider_payloads import ANTHROPIC, anthropic_body, model_call, openai_body
from receiver.records import StoredSpan

__all__ = ["call_as_code", "can_be_code"]


def can_be_code(span: StoredSpan | None) -> bool:
    """A chat-like model call with a model name: something to repeat."""
    return (span is not None and span.genai.get("operation") in ("chat", "text_completion", "generate_content")
            and bool(span.genai.get("request_model") or span.genai.get("response_model")))


def call_as_code(span: StoredSpan) -> str:
    call = model_call(span)
    header = (f"# Repeats model call {span.span_id} of trace {span.trace_id} ({span.name}),\n"
              f"# as Tracepane recorded it. Response id then: {span.genai.get('response_id') or 'not recorded'}.\n")
    if call.api == ANTHROPIC:
        return header + ("import anthropic\n\n"
                         "client = anthropic.Anthropic()  # ANTHROPIC_API_KEY from the environment\n"
                         f"response = client.messages.create(\n{_keywords(anthropic_body(call))})\n"
                         "print(response.content)\n")
    seed_note = "" if "seed" in call.parameters else "# no seed was recorded: the answer may differ\n"
    return header + ("from openai import OpenAI\n\n"
                     "client = OpenAI()  # OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server) from the "
                     "environment\n"
                     f"{seed_note}response = client.chat.completions.create(\n{_keywords(openai_body(call))})\n"
                     "print(response.choices[0].message)\n")


def _keywords(arguments: dict[str, Any]) -> str:
    lines = []
    for name, value in arguments.items():
        text = pprint.pformat(value, indent=1, width=100, sort_dicts=False)
        lines.append(f"    {name}=" + text.replace("\n", "\n    " + " " * (len(name) + 1)) + ",")
    return "\n".join(lines) + "\n"
