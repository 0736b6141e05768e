"""Model Context Protocol spans (the OpenTelemetry MCP conventions, as the `mcp` Python SDK
and FastMCP write them): a `tools/call` on either side is a tool call of the canonical
record, and every MCP span keeps its protocol facts in `extras["mcp"]` (method, side,
target, session, JSON-RPC request id, protocol version, resource URI, transport), which the
pairing of a call's client and server spans reads (`receiver.storage.mcp_pairs`). Pure.

The SDK's client span carries only `mcp.method.name` and `jsonrpc.request.id`, and names the
tool only in its span name ("MCP send tools/call get_weather"); the server span is named
"tools/call get_weather" and adds `gen_ai.tool.name`. Both spellings of the name are read.
"""

from __future__ import annotations

from typing import Any

from receiver.genai.coerce import as_str
from receiver.genai.fields import GenAiFields
from receiver.genai.span_view import SpanView

__all__ = ["EXTRAS_KEY", "MARKER", "SIDES", "TOOL_CALL", "finish", "target_from_name"]

MARKER = "mcp.method.name"  # a span with it is an MCP span (decided once per key shape, in the plan)
EXTRAS_KEY = "mcp"
TOOL_CALL = "tools/call"
CLIENT_PREFIX = "MCP send "  # the Python SDK's client span names
SIDES = {2: "server", 3: "client"}  # OTLP SpanKind SERVER, CLIENT
# extras field <- attribute key
_FACTS = (("session_id", "mcp.session.id"), ("request_id", "jsonrpc.request.id"),
          ("protocol_version", "mcp.protocol.version"), ("resource_uri", "mcp.resource.uri"),
          ("transport", "network.transport"), ("status_code", "rpc.response.status_code"))
# the method's own name for its target, besides the span name
_TARGET_KEYS = {TOOL_CALL: "gen_ai.tool.name", "prompts/get": "gen_ai.prompt.name",
                "resources/read": "mcp.resource.uri"}


def target_from_name(name: str, method: str) -> str | None:
    """"MCP send tools/call get_weather" or "tools/call get_weather" -> "get_weather"."""
    name = name.removeprefix(CLIENT_PREFIX)
    if name.startswith(method + " "):
        return name[len(method) + 1:].strip() or None
    return None


def finish(span: SpanView, out: GenAiFields) -> None:
    a = span.attributes
    method = as_str(a.get(MARKER))
    if method is None:
        return
    target_key = _TARGET_KEYS.get(method)
    target = (as_str(a.get(target_key)) if target_key else None) or target_from_name(span.name, method)
    facts: dict[str, Any] = {"method": method}
    side = SIDES.get(span.kind)
    if side is None and span.name.startswith(CLIENT_PREFIX):
        side = "client"
    if side is not None:
        facts["side"] = side
    if target is not None:
        facts["target"] = target
    for field, key in _FACTS:
        value = a.get(key)
        if value is not None and (value := as_str(value)) is not None:
            facts[field] = value
    out.extras[EXTRAS_KEY] = facts
    if method == TOOL_CALL:
        out.operation = "execute_tool"
        out.tool_name = out.tool_name or target
    elif out.operation is None:
        out.operation = "other"  # a protocol step (initialize, tools/list, resources/read…), still an MCP span
