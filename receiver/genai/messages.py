"""Message-shape converters: each convention family's chat content -> the OpenTelemetry shape.

Canonical (`gen_ai.input.messages` / `gen_ai.output.messages`): a list of
`{"role", "parts": [...], "name"?, "finish_reason"?}`; parts `{"type": "text", "content"}`,
`{"type": "tool_call", "id", "name", "arguments"}`, `{"type": "tool_call_response", "id", "response"}`,
any other part type passed through. System instructions are a list of parts. See
GENAI_CONVENTIONS.md section 3 for where each family keeps its messages. Messages carried by
events live in `message_events` (its two readers are importable from here too).

Pure and forgiving: no I/O, never raises on bad input (unusable input gives None), never
mutates its input (unchanged part dicts may be shared with it). These run on the ingest
path for every LLM span, so the usual case — a well-formed OTel JSON string — costs one
`json.loads` and one pass.

Choices where the conventions leave room:
* tool-call `arguments` sent as a JSON string are parsed (kept as the string if they do not
  parse); a tool *response* is kept as sent — a string that looks like JSON is still what the
  tool returned, and a list of content blocks (Anthropic) stays a list.
* pydantic-ai's `result` key becomes `response`; its extra `name` stays on the part.
* finish reasons are kept raw (`tool_calls`, `end_turn`…); `normalise` canonicalises the span's list.
* messages assembled from fragments (flattened attributes, events) that end up with no part are
  dropped (LangChain's failed call writes only `llm.output_messages.0.message.role`); a message
  with no usable role gets `unknown` (flattened Traceloop: `user` / `assistant` by direction).
* a message without `parts` but with OpenAI-style `content` / `tool_calls` is converted, wherever
  it arrives — some senders put OpenAI-style messages where the OTel shape belongs.
"""

from __future__ import annotations

import json
from typing import Any

from receiver.genai.coerce import parse_json, skim_json

Message = dict[str, Any]
Part = dict[str, Any]

UNKNOWN_ROLE = "unknown"
_INVALID = object()  # "did not parse", distinct from a JSON null


def _loads(text: str) -> Any:
    return parse_json(text, invalid=_INVALID)  # JSON null stays apart from "not JSON"


def _structured(value: Any) -> Any:
    """A JSON string parsed (or _INVALID); an already structured value (arrayValue) as it is."""
    return _loads(value) if isinstance(value, str) else value


def _arguments(value: Any) -> Any:
    if isinstance(value, str):
        parsed = _loads(value)
        return value if parsed is _INVALID else parsed
    return value


def _role(value: Any, default: str = UNKNOWN_ROLE) -> str:
    return value if isinstance(value, str) and value else default


def _text(content: Any) -> Part:
    return {"type": "text", "content": content if isinstance(content, str) else str(content)}


def _tool_call(call_id: Any, name: Any, arguments: Any) -> Part | None:
    if call_id is None and name is None and arguments is None:
        return None
    part: Part = {"type": "tool_call"}
    for key, value in (("id", call_id), ("name", name), ("arguments", _arguments(arguments))):
        if value is not None:
            part[key] = value
    return part


def _tool_response(call_id: Any, response: Any) -> Part:
    return {"type": "tool_call_response", "id": call_id, "response": response}


# --- the OTel shape -------------------------------------------------------------------------

def _part(part: Any) -> Part | None:
    """One OTel part, normalised; provider content blocks (`{"type": "text", "text"}`) accepted too."""
    if isinstance(part, str):
        return _text(part)
    if not isinstance(part, dict):
        return None
    kind = part.get("type")
    if kind == "text" or kind is None:
        if isinstance(part.get("content"), str):
            return part if kind else {**part, "type": "text"}
        if isinstance(part.get("text"), str):
            return _block(part)
        return part if kind else None
    if kind == "tool_call":
        arguments = part.get("arguments")
        return {**part, "arguments": _arguments(arguments)} if isinstance(arguments, str) else part
    if kind == "tool_call_response" and "response" not in part and "result" in part:
        return {("response" if key == "result" else key): value for key, value in part.items()}
    if kind in ("image_url", "tool_use", "tool_result"):
        return _block(part)
    return part


def _parts(items: list) -> list[Part]:
    return [part for part in map(_part, items) if part is not None]


def _message(message: Any, default_role: str = UNKNOWN_ROLE) -> Message | None:
    if not isinstance(message, dict):
        return None
    parts = message.get("parts")
    if not isinstance(parts, list):
        if any(key in message for key in ("content", "tool_calls", "function_call", "message")):
            return openai_message(message, default_role)
        if not isinstance(message.get("role"), str):
            return None
        parts = []
    return {**message, "role": _role(message.get("role"), default_role), "parts": _parts(parts)}


def _message_list(value: Any, convert: Any, default_role: str) -> list[Message] | None:
    data = _structured(value)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return None
    messages = [m for m in (convert(item, default_role) for item in data) if m is not None]
    return messages or None


def otel_messages(value: Any) -> list[Message] | None:
    """`gen_ai.input.messages` / `gen_ai.output.messages` (also `pydantic_ai.all_messages`):
    a JSON string or an already structured list -> canonical messages, or None."""
    return _message_list(value, _message, UNKNOWN_ROLE)


def output_finish_reasons(value: Any) -> list[str] | None:
    """The finish reasons in `gen_ai.output.messages`, without converting the messages: what
    the ingest path needs of them (each message or choice carries its own)."""
    data = skim_json(value)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return None
    return [m["finish_reason"] for m in data if isinstance(m, dict) and isinstance(m.get("finish_reason"), str)] or None


def otel_parts(value: Any) -> list[Part] | None:
    """`gen_ai.system_instructions`: a JSON list of parts, a structured list, or a bare string."""
    data = _structured(value)
    if isinstance(value, str) and not isinstance(data, (list, dict, str)):
        data = value  # plain text (or JSON that is no list of parts: "42" is text too)
    if isinstance(data, (str, dict)):
        data = [data]
    if not isinstance(data, list):
        return None
    parts: list[Part] = []
    for item in data:
        if isinstance(item, dict) and "type" not in item and isinstance(item.get("parts"), list):
            parts.extend(_parts(item["parts"]))  # a system *message* where parts belong
        elif (part := _part(item)) is not None:
            parts.append(part)
    parts = [p for p in parts if p.get("content") != ""]
    return parts or None


# --- OpenAI-style messages and provider content blocks ---------------------------------------

def _block(block: Any) -> Part | None:
    """A provider content block (OpenAI / Anthropic) -> an OTel part; unknown ones pass through."""
    if isinstance(block, str):
        return _text(block) if block else None
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    text = block.get("text")
    if kind in ("text", "input_text", "output_text", None) and isinstance(text, str):
        return _text(text)
    if kind == "image_url":
        url = block.get("image_url")
        url = url.get("url") if isinstance(url, dict) else url
        return {"type": "uri", "modality": "image", "uri": url} if isinstance(url, str) else block
    if kind == "tool_use":
        return _tool_call(block.get("id"), block.get("name"), block.get("input"))
    if kind == "tool_result":
        return _tool_response(block.get("tool_use_id"), block.get("content"))
    if kind in ("tool_call", "tool_call_response"):
        return _part(block)
    return block if kind is not None else None


def _content_parts(content: Any) -> list[Part]:
    if content is None or content == "":
        return []
    if isinstance(content, (str, int, float)):
        return [_text(content)]
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return []
    return [part for part in map(_block, content) if part is not None]


def _openai_tool_calls(calls: Any) -> list[Part]:
    """`[{id, type, function: {name, arguments}}]`, or flat `[{id, name, arguments}]`."""
    parts = []
    for call in calls if isinstance(calls, list) else ():
        if isinstance(call, dict):
            function = call.get("function")
            function = function if isinstance(function, dict) else call
            part = _tool_call(call.get("id"), function.get("name"), function.get("arguments"))
            if part is not None:
                parts.append(part)
    return parts


def openai_message(message: Any, default_role: str = UNKNOWN_ROLE) -> Message | None:
    """One OpenAI-style message (or choice `{index, finish_reason, message}`) -> canonical, or None."""
    if not isinstance(message, dict):
        return None
    if isinstance(message.get("parts"), list):
        return _message(message, default_role)
    if isinstance(message.get("message"), dict):  # a choice: {index, finish_reason, message}
        inner = openai_message(message["message"], "assistant")
        if inner is not None and isinstance(message.get("finish_reason"), str):
            inner.setdefault("finish_reason", message["finish_reason"])
        return inner
    role = _role(message.get("role"), default_role)
    content = message.get("content")
    if role == "tool" and message.get("tool_call_id") is not None:
        parts = [_tool_response(message["tool_call_id"], content)]
    else:
        parts = _content_parts(content)
    parts += _openai_tool_calls(message.get("tool_calls"))
    legacy = message.get("function_call")  # OpenAI's pre-tools function calling
    if isinstance(legacy, dict) and (part := _tool_call(None, legacy.get("name"), legacy.get("arguments"))):
        parts.append(part)
    if not parts:
        return None
    out: Message = {"role": role, "parts": parts}
    for key in ("name", "finish_reason"):
        if isinstance(message.get(key), str) and message[key]:
            out[key] = message[key]
    return out


def openai_style_messages(value: Any, default_role: str = UNKNOWN_ROLE) -> list[Message] | None:
    """OpenAI chat messages `[{role, content, tool_calls?, tool_call_id?}]` (JSON string or list)."""
    return _message_list(value, openai_message, default_role)


# --- flattened attributes --------------------------------------------------------------------

def _indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """`<prefix>.<i>.<rest>` keys -> one `{rest: value}` dict per index, in numeric order."""
    head = prefix + "."
    groups: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if key.startswith(head):
            index, _, rest = key[len(head):].partition(".")
            if rest and index.isascii() and index.isdecimal():
                groups.setdefault(int(index), {})[rest] = value
    return [groups[i] for i in sorted(groups)]


def openinference_messages(attrs: dict[str, Any], prefix: str) -> list[Message] | None:
    """OpenInference `llm.input_messages` / `llm.output_messages` flattened attributes."""
    if not isinstance(attrs, dict):
        return None
    messages = []
    for f in _indexed(attrs, prefix):
        role = _role(f.get("message.role"))
        content = f.get("message.content")
        if role == "tool" and f.get("message.tool_call_id") is not None:
            parts = [_tool_response(f["message.tool_call_id"], content)]
        else:
            parts = _content_parts(content)
        for c in _indexed(f, "message.contents"):
            text, url = c.get("message_content.text"), c.get("message_content.image.image.url")
            if isinstance(text, str):
                parts.append(_text(text))
            elif isinstance(url, str):
                parts.append({"type": "uri", "modality": "image", "uri": url})
        for c in _indexed(f, "message.tool_calls"):
            part = _tool_call(c.get("tool_call.id"), c.get("tool_call.function.name"),
                              c.get("tool_call.function.arguments"))
            if part is not None:
                parts.append(part)
        legacy = _tool_call(None, f.get("message.function_call_name"), f.get("message.function_call_arguments_json"))
        if legacy is not None:
            parts.append(legacy)
        if parts:
            message: Message = {"role": role, "parts": parts}
            if isinstance(f.get("message.name"), str) and f["message.name"]:
                message["name"] = f["message.name"]
            messages.append(message)
    return messages or None


def traceloop_messages(attrs: dict[str, Any], prefix: str) -> list[Message] | None:
    """Traceloop classic `gen_ai.prompt.<i>.*` / `gen_ai.completion.<i>.*` flattened attributes.
    A prompt without role (embeddings inputs) is `user`, a completion without role `assistant`."""
    if not isinstance(attrs, dict):
        return None
    default_role = "assistant" if prefix.endswith("completion") else "user"
    messages = []
    for f in _indexed(attrs, prefix):
        content = f.get("content")
        if isinstance(content, str) and content.startswith("[{"):  # multimodal: the provider's content list
            blocks = _loads(content)
            if isinstance(blocks, list) and all(isinstance(b, dict) and "type" in b for b in blocks):
                content = blocks
        message = openai_message({
            "role": f.get("role"), "content": content, "tool_call_id": f.get("tool_call_id"),
            "tool_calls": _indexed(f, "tool_calls"), "name": f.get("name"), "finish_reason": f.get("finish_reason"),
        }, default_role)
        if message is not None:
            messages.append(message)
    return messages or None


# --- search text ------------------------------------------------------------------------------

def message_text(messages: Any, system: Any = None) -> str:
    """All readable text of the system parts and messages, one piece a line, for full-text search:
    text, tool-call names and arguments, tool responses. Binary (`blob`) parts are left out."""
    pieces: list[str] = []
    for part in system if isinstance(system, list) else ():
        _part_text(part, pieces)
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict) and isinstance(message.get("parts"), list):
            for part in message["parts"]:
                _part_text(part, pieces)
    return "\n".join(pieces)


def _part_text(part: Any, pieces: list[str]) -> None:
    if not isinstance(part, dict):
        return
    kind = part.get("type")
    if kind == "tool_call":
        _add_text(part.get("name"), pieces)
        _add_text(part.get("arguments"), pieces)
    elif kind == "tool_call_response":
        _add_text(part.get("response"), pieces)
    elif kind != "blob" and isinstance(part.get("content"), str):
        _add_text(part["content"], pieces)  # text, reasoning, generic parts


def _add_text(value: Any, pieces: list[str]) -> None:
    if value is None or value == "":
        return
    if isinstance(value, str):
        pieces.append(value)
    elif isinstance(value, list) and value and all(isinstance(b, dict) and isinstance(b.get("text"), str)
                                                   for b in value):
        pieces.extend(b["text"] for b in value)  # content blocks (Anthropic tool results)
    else:
        try:
            pieces.append(json.dumps(value, ensure_ascii=False, default=str))
        except (ValueError, TypeError, RecursionError):
            pass

