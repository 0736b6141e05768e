"""A model call as a runnable Python snippet that repeats the request with the provider's SDK —
model, system instructions, messages (tool calls and results included), temperature, top_p,
seed, max tokens, tools: the reproducibility record as code. OpenAI's chat completions API
for OpenAI and OpenAI-compatible providers, Anthropic's messages API for Anthropic. Pure;
Tracepane itself never sends it anywhere."""

from __future__ import annotations

import json
import pprint
from typing import Any

from receiver.records import StoredSpan

__all__ = ["call_as_code", "can_be_code"]

_ANTHROPIC = ("anthropic", "aws.bedrock.anthropic")


def can_be_code(span: StoredSpan | None) -> bool:
    """A chat-like model call with a model name: something to repeat."""
    return (span is not None and span.genai.get("operation") in ("chat", "text_completion", "generate_content")
            and bool(span.genai.get("request_model") or span.genai.get("response_model")))


def call_as_code(span: StoredSpan) -> str:
    genai, content = span.genai, span.content
    model = genai.get("request_model") or genai.get("response_model")
    parameters = {name: genai[key] for name, key in (("temperature", "temperature"), ("top_p", "top_p"),
                                                     ("seed", "seed"), ("max_tokens", "max_tokens"))
                  if genai.get(key) is not None}
    system = _system_text(content.get("system_instructions"))
    messages = content.get("input_messages") or []
    tools = content.get("tool_definitions") or []
    header = (f"# Repeats model call {span.span_id} of trace {span.trace_id} ({span.name}),\n"
              f"# as Tracepane recorded it. Response id then: {genai.get('response_id') or 'not recorded'}.\n")
    if (genai.get("provider") or "").startswith(_ANTHROPIC):
        return header + _anthropic(model, system, messages, tools, parameters)
    return header + _openai(model, system, messages, tools, parameters)


def _openai(model: str, system: str | None, messages: list, tools: list, parameters: dict) -> str:
    chat = ([{"role": "system", "content": system}] if system else []) + [m for message in messages
                                                                          for m in _openai_messages(message)]
    arguments = {"model": model, "messages": chat, **parameters}
    if tools:
        arguments["tools"] = [_openai_tool(tool) for tool in tools]
    seed_note = "" if "seed" in parameters else "# no seed was recorded: the answer may differ\n"
    return ("from openai import OpenAI\n\n"
            "client = OpenAI()  # OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server) from the environment\n"
            f"{seed_note}response = client.chat.completions.create(\n{_keywords(arguments)})\n"
            "print(response.choices[0].message)\n")


def _anthropic(model: str, system: str | None, messages: list, tools: list, parameters: dict) -> str:
    parameters = {k: v for k, v in parameters.items() if k != "seed"}  # the API has none
    arguments: dict[str, Any] = {"model": model, "max_tokens": parameters.pop("max_tokens", 1024)}
    if system:
        arguments["system"] = system
    arguments["messages"] = [m for message in messages if (m := _anthropic_message(message))]
    arguments.update(parameters)
    if tools:
        arguments["tools"] = [_anthropic_tool(tool) for tool in tools]
    return ("import anthropic\n\n"
            "client = anthropic.Anthropic()  # ANTHROPIC_API_KEY from the environment\n"
            f"response = client.messages.create(\n{_keywords(arguments)})\n"
            "print(response.content)\n")


def _keywords(arguments: dict[str, Any]) -> str:
    lines = []
    for name, value in arguments.items():
        text = pprint.pformat(value, indent=1, width=100, sort_dicts=False)
        lines.append(f"    {name}=" + text.replace("\n", "\n    " + " " * (len(name) + 1)) + ",")
    return "\n".join(lines) + "\n"


def _system_text(instructions: Any) -> str | None:
    if not instructions:
        return None
    if isinstance(instructions, str):
        return instructions
    texts = [part.get("content") for part in instructions if isinstance(part, dict) and part.get("content")]
    return "\n".join(str(t) for t in texts) or None


def _text(parts: list) -> str:
    return "".join(str(p.get("content", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")


def _arguments_json(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def _openai_messages(message: dict) -> list[dict]:
    role, parts = message.get("role", "user"), message.get("parts") or []
    responses = [p for p in parts if isinstance(p, dict) and p.get("type") == "tool_call_response"]
    if responses:  # each tool result is a message of its own
        return [{"role": "tool", "tool_call_id": p.get("id") or "",
                 "content": p["response"] if isinstance(p.get("response"), str) else json.dumps(p.get("response"))}
                for p in responses]
    out: dict[str, Any] = {"role": role, "content": _text(parts)}
    calls = [p for p in parts if isinstance(p, dict) and p.get("type") == "tool_call"]
    if calls:
        out["tool_calls"] = [{"id": p.get("id") or "", "type": "function",
                              "function": {"name": p.get("name"), "arguments": _arguments_json(p.get("arguments"))}}
                             for p in calls]
    return [out]


def _anthropic_message(message: dict) -> dict | None:
    role, parts = message.get("role", "user"), message.get("parts") or []
    if role == "system":
        return None
    blocks: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.append({"type": "text", "text": str(part.get("content", ""))})
        elif kind == "tool_call":
            arguments = part.get("arguments")
            blocks.append({"type": "tool_use", "id": part.get("id") or "", "name": part.get("name"),
                           "input": json.loads(arguments) if isinstance(arguments, str) else arguments or {}})
        elif kind == "tool_call_response":
            response = part.get("response")
            blocks.append({"type": "tool_result", "tool_use_id": part.get("id") or "",
                           "content": response if isinstance(response, str) else json.dumps(response)})
    role = "user" if role == "tool" else role
    return {"role": role, "content": blocks} if blocks else None


def _function(tool: dict) -> dict:
    return tool.get("function") if isinstance(tool.get("function"), dict) else tool


def _openai_tool(tool: dict) -> dict:
    function = _function(tool)
    return {"type": "function", "function": {key: function[key] for key in ("name", "description", "parameters")
                                             if key in function}}


def _anthropic_tool(tool: dict) -> dict:
    function = _function(tool)
    return {"name": function.get("name"), "description": function.get("description", ""),
            "input_schema": function.get("parameters") or function.get("input_schema") or {"type": "object"}}
