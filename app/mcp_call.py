"""What the app says about an MCP span: which side of a call it is, where the other side is,
and whether the caller's context reached it. The pairing itself is the receiver's
(`receiver.storage.mcp_pairs`); `OpenTrace` puts each MCP span's answer in
`span.genai["mcp_call"]`, and the waterfall, the Overview and the trace header read it from
there. Pure, no Qt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from receiver.records import StoredSpan

__all__ = ["MCP_CALL", "UNPROPAGATED", "call_of", "facts_of", "header_problem", "row_marker", "tooltip_lines",
           "unpropagated_peers"]

MCP_CALL = "mcp_call"  # the key of a span's pairing answer in `StoredSpan.genai`
UNPROPAGATED = "context not propagated"


def call_of(span: StoredSpan) -> Mapping[str, Any] | None:
    call = span.genai.get(MCP_CALL)
    return call if isinstance(call, Mapping) else None


def facts_of(span: StoredSpan) -> Mapping[str, Any]:
    """The protocol facts the normaliser kept (`receiver.genai.mcp`): {} on an outline span."""
    extras = span.genai.get("genai_extras")
    facts = extras.get("mcp") if isinstance(extras, Mapping) else None
    return facts if isinstance(facts, Mapping) else {}


def _call_name(call: Mapping[str, Any]) -> str:
    return " ".join(part for part in (call.get("method"), call.get("target")) if part)


def _where(call: Mapping[str, Any]) -> str:
    if not call.get("across_traces"):
        return "in this trace"
    return f"in trace {str(call.get('peer_trace_id'))[:8]}…"


def row_marker(call: Mapping[str, Any]) -> str:
    """The waterfall's short tag after a span's name: `⇄ MCP client → weather-mcp-server`,
    `⇄ MCP server ← weather-agent`, and a warning on a server no caller's context reached."""
    side = call.get("side") or "?"
    arrow = "→" if side == "client" else "←"
    text = f"⇄ MCP {side}"
    if call.get("peer_span_id"):
        text += f" {arrow} {call.get('peer_service') or call.get('peer_name') or 'other side'}"
    if call.get("unpropagated"):
        text += f" · ⚠ {UNPROPAGATED}"
    return text


def tooltip_lines(call: Mapping[str, Any]) -> list[str]:
    side = call.get("side") or "?"
    lines = [f"MCP {_call_name(call)}: the {side} side of the call"]
    if call.get("peer_span_id"):
        other = "server" if side == "client" else "client"
        service = f", {call['peer_service']}" if call.get("peer_service") else ""
        lines.append(f"its {other} side: {call.get('peer_name')}{service}, {_where(call)} "
                     "(the Overview links to it)")
    if call.get("unpropagated"):
        lines.append("⚠ the caller's trace context did not reach this server span: it starts a trace of its own")
    return lines


def unpropagated_peers(spans: Iterable[StoredSpan]) -> list[tuple[StoredSpan, Mapping[str, Any]]]:
    """The server spans of a trace that no caller's context reached, with their pairing answers."""
    return [(span, call) for span in spans if (call := call_of(span)) is not None and call.get("unpropagated")]


def header_problem(spans: Iterable[StoredSpan]) -> tuple[str, tuple[str, ...]]:
    """One sentence for the trace header about the MCP server spans of this trace that no
    caller's context reached ("" if none), and the traces their client spans are in."""
    flagged = unpropagated_peers(spans)
    if not flagged:
        return "", ()
    span, call = flagged[0]
    more = f" (and {len(flagged) - 1} more)" if len(flagged) > 1 else ""
    text = (f"MCP server span “{span.name}”{more} has no caller in this trace: the client did not "
            "propagate its trace context (traceparent in params._meta).")
    peers = tuple(dict.fromkeys(c["peer_trace_id"] for _, c in flagged if c.get("peer_trace_id")))
    if peers:
        text += f" Its client span was found in trace {peers[0][:8]}…."
    return text, peers
