"""A recorded model call as the request body each provider's API takes: OpenAI's chat
completions (OpenAI and OpenAI-compatible servers) and Anthropic's messages. The messages are
OpenTelemetry's `gen_ai.*.messages` shape (role, parts: text, tool_call, tool_call_response),
translated into each wire format, tool calls and results included. Pure: "Copy as code" prints
these bodies, the playground sends them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from receiver.records import StoredSpan

__all__ = ["ANTHROPIC", "OPENAI", "ModelCall", "anthropic_body", "api_of", "model_call", "openai_body"]

OPENAI, ANTHROPIC = "openai", "anthropic"  # the two wire formats
_ANTHROPIC_PROVIDERS = ("anthropic", "aws.bedrock.anthropic")
PARAMETERS = ("temperature", "top_p", "seed", "max_tokens")
ANTHROPIC_DEFAULT_MAX_TOKENS = 1024  # the messages API requires one


@dataclass(slots=True)
class ModelCall:
    """What a model was asked: enough to ask it again."""

    api: str  # OPENAI or ANTHROPIC
    model: str
    system: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)  # OTel shape
    tools: list[dict[str, Any]] = field(default_factory=list)  # as recorded (OpenAI or plain function shape)
    parameters: dict[str, Any] = field(default_factory=dict)  # of PARAMETERS, only those set


def api_of(provider: str | None) -> str:
    return ANTHROPIC if (provider or "").startswith(_ANTHROPIC_PROVIDERS) else OPENAI


def model_call(span: StoredSpan) -> ModelCall:
    """The call `span` recorded: model, system instructions, messages, tools, parameters."""
    genai, content = span.genai, span.content
    return ModelCall(api=api_of(genai.get("provider")),
                     model=str(genai.get("request_model") or genai.get("response_model") or ""),
                     system=_system_text(content.get("system_instructions")),
                     messages=list(content.get("input_messages") or []),
                     tools=list(content.get("tool_definitions") or []),
                     parameters={key: genai[key] for key in PARAMETERS if genai.get(key) is not None})


def openai_body(call: ModelCall) -> dict[str, Any]:
    """The chat completions request body."""
    chat = ([{"role": "system", "content": call.system}] if call.system else []) + [
        m for message in call.messages for m in _openai_messages(message)]
    body: dict[str, Any] = {"model": call.model, "messages": chat, **call.parameters}
    if call.tools:
        body["tools"] = [_openai_tool(tool) for tool in call.tools]
    return body


def anthropic_body(call: ModelCall) -> dict[str, Any]:
    """The messages request body (the API has no seed; it needs max_tokens)."""
    parameters = {k: v for k, v in call.parameters.items() if k != "seed"}
    body: dict[str, Any] = {"model": call.model,
                            "max_tokens": parameters.pop("max_tokens", ANTHROPIC_DEFAULT_MAX_TOKENS)}
    if call.system:
        body["system"] = call.system
    body["messages"] = [m for message in call.messages if (m := _anthropic_message(message))]
    body.update(parameters)
    if call.tools:
        body["tools"] = [_anthropic_tool(tool) for tool in call.tools]
    return body


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
