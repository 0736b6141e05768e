"""The two sides of an MCP call: the client span that sent a request and the server span that
handled it (`receiver.genai.mcp` keeps each one's protocol facts in `genai_extras["mcp"]`).

Propagated context: the server span descends from the client span in one trace, so the pair
is found by walking up from the server span. Lost context (the caller injected no
`traceparent` into `params._meta`): the server span starts a trace of its own, and its
client span is looked for in the other traces of the moment by what both sides record:

* the method, and its target (tool, prompt or resource) when both name one;
* the JSON-RPC request id and the MCP session id, when both carry one;
* time: the server span lies inside the client span, give or take `CLOCK_SKEW_NS` (the two
  processes' clocks differ); among several candidates, the one starting closest wins.

Only traces that started within `LOOKBACK_NS` before the call are searched (an index range
on `traces`), so a database of any size answers quickly. A server span with no client-kind
span above it in its trace is *unpropagated*: the app flags it with the propagation hint.
Read-only and pure SQL; one answer per span id, as plain JSON-friendly dicts.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

__all__ = ["CLOCK_SKEW_NS", "LOOKBACK_NS", "mcp_calls"]

CLOCK_SKEW_NS = 1_000_000_000  # two processes on one machine (or NTP-synced ones) agree within a second
LOOKBACK_NS = 10 * 60 * 1_000_000_000  # a client trace that started longer before the call is not searched
CLIENT, SERVER = 3, 2  # OTLP SpanKind
_MCP_EXTRAS = "%\"mcp\":%"  # LIKE pattern: a span whose genai_extras has the "mcp" facts

_COLUMNS = ("s.trace_id, s.span_id, s.parent_span_id, s.kind, s.name, s.start_time_unix_nano, "
            "s.end_time_unix_nano, s.service_name, s.genai_extras")
_TRACE_MCP_SPANS = f"SELECT {_COLUMNS} FROM spans AS s WHERE s.trace_id = ? AND s.genai_extras LIKE '{_MCP_EXTRAS}'"
_TRACE_TREE = "SELECT span_id, parent_span_id, kind FROM spans WHERE trace_id = ?"
# candidates in other traces: an index range on traces_by_start, then each trace's spans by primary key
_CANDIDATES = f"""
SELECT {_COLUMNS} FROM traces AS t JOIN spans AS s ON s.trace_id = t.trace_id
WHERE t.start_time_unix_nano BETWEEN :first_start AND :last_start AND t.trace_id != :trace_id
  AND t.end_time_unix_nano >= :min_end AND s.kind = :kind
  AND s.start_time_unix_nano BETWEEN :min_start AND :max_start AND s.end_time_unix_nano BETWEEN :min_end AND :max_end
  AND s.genai_extras LIKE '{_MCP_EXTRAS}'
"""
_KIND_ABOVE = """
WITH RECURSIVE up(span_id) AS (
    SELECT parent_span_id FROM spans WHERE trace_id = :trace_id AND span_id = :span_id
    UNION SELECT s.parent_span_id FROM spans AS s JOIN up ON s.trace_id = :trace_id AND s.span_id = up.span_id)
SELECT 1 FROM spans WHERE trace_id = :trace_id AND span_id IN (SELECT span_id FROM up) AND kind = :kind LIMIT 1
"""
_KIND_BELOW = """
WITH RECURSIVE down(span_id) AS (
    SELECT span_id FROM spans WHERE trace_id = :trace_id AND parent_span_id = :span_id
    UNION SELECT s.span_id FROM spans AS s JOIN down ON s.trace_id = :trace_id AND s.parent_span_id = down.span_id)
SELECT 1 FROM spans WHERE trace_id = :trace_id AND span_id IN (SELECT span_id FROM down) AND kind = :kind
  AND genai_extras LIKE '%"mcp":%' LIMIT 1
"""


@dataclass(frozen=True, slots=True)
class _Side:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    kind: int
    name: str
    start: int
    end: int
    service_name: str | None
    facts: dict[str, Any]

    @property
    def side(self) -> str:
        return self.facts.get("side") or {CLIENT: "client", SERVER: "server"}.get(self.kind, "")


def _side(row: tuple) -> _Side | None:
    try:
        facts = json.loads(row[8]).get("mcp")
    except (ValueError, AttributeError):
        return None
    return _Side(*row[:8], facts) if isinstance(facts, dict) and facts.get("method") else None


def _same_call(client: _Side, server: _Side) -> bool:
    """Whether the two spans can be the two ends of one request (the time test is the caller's)."""
    c, s = client.facts, server.facts
    if c["method"] != s["method"]:
        return False
    return all(c.get(key) is None or s.get(key) is None or c[key] == s[key]
               for key in ("target", "request_id", "session_id"))


def _answer(span: _Side, peer: _Side | None, *, unpropagated: bool = False) -> dict[str, Any]:
    answer = {"side": span.side, "method": span.facts["method"], "target": span.facts.get("target"),
              "unpropagated": unpropagated, "peer_trace_id": None, "peer_span_id": None, "peer_name": None,
              "peer_service": None, "across_traces": False}
    if peer is not None:
        answer.update(peer_trace_id=peer.trace_id, peer_span_id=peer.span_id, peer_name=peer.name,
                      peer_service=peer.service_name, across_traces=peer.trace_id != span.trace_id)
    return answer


def mcp_calls(conn: sqlite3.Connection, trace_id: str) -> dict[str, dict[str, Any]]:
    """Each MCP span of the trace (by span id): its side, method and target, the other side
    of its call if it is stored (`peer_trace_id`, `peer_span_id`, `peer_name`,
    `peer_service`, `across_traces`), and `unpropagated` for a server span that no caller's
    context reached. {} for a trace without MCP spans (one scan of its spans' rows)."""
    sides = [side for row in conn.execute(_TRACE_MCP_SPANS, [trace_id]) if (side := _side(row)) is not None]
    if not sides:
        return {}
    tree = {span_id: (parent, kind) for span_id, parent, kind in conn.execute(_TRACE_TREE, [trace_id])}
    by_id = {side.span_id: side for side in sides}
    answers: dict[str, dict[str, Any]] = {}
    paired_clients: set[str] = set()
    for server in (s for s in sides if s.side == "server"):
        peer, client_above, parent = None, False, server.parent_span_id
        while parent is not None and parent in tree:
            client_above = client_above or tree[parent][1] == CLIENT
            candidate = by_id.get(parent)
            if candidate is not None and candidate.side == "client" and _same_call(candidate, server):
                peer = candidate
                break
            parent = tree[parent][0]
        # a walk that stopped at a missing parent found a lost span, not a lost context
        unpropagated = not client_above and parent is None
        if peer is None and unpropagated:
            peer = _client_elsewhere(conn, server)
        if peer is not None and peer.trace_id == trace_id:
            paired_clients.add(peer.span_id)
            answers[peer.span_id] = _answer(peer, server)
        answers[server.span_id] = _answer(server, peer, unpropagated=unpropagated)
    for span in sides:
        if span.span_id in answers:
            continue
        peer = _server_elsewhere(conn, span) if span.side == "client" else None
        answers[span.span_id] = _answer(span, peer)
    return answers


def _candidates(conn: sqlite3.Connection, span: _Side, kind: int, *, first_start: int, last_start: int,
                min_start: int, max_start: int, min_end: int, max_end: int) -> list[_Side]:
    rows = conn.execute(_CANDIDATES, {"trace_id": span.trace_id, "kind": kind, "first_start": first_start,
                                      "last_start": last_start, "min_start": min_start, "max_start": max_start,
                                      "min_end": min_end, "max_end": max_end})
    return [side for row in rows if (side := _side(row)) is not None]


def _client_elsewhere(conn: sqlite3.Connection, server: _Side) -> _Side | None:
    """The client span of another trace whose interval holds this server span, and whose call
    did not reach a server span of its own trace."""
    found = [client for client in _candidates(
        conn, server, CLIENT, first_start=server.start - LOOKBACK_NS, last_start=server.start + CLOCK_SKEW_NS,
        min_start=server.start - LOOKBACK_NS, max_start=server.start + CLOCK_SKEW_NS,
        min_end=server.end - CLOCK_SKEW_NS, max_end=2**63 - 1)
        if _same_call(client, server) and not _kind_near(conn, _KIND_BELOW, client, SERVER)]
    return min(found, key=lambda client: (abs(server.start - client.start), client.span_id), default=None)


def _server_elsewhere(conn: sqlite3.Connection, client: _Side) -> _Side | None:
    """The unpropagated server span of another trace that lies inside this client span."""
    found = [server for server in _candidates(
        conn, client, SERVER, first_start=client.start - CLOCK_SKEW_NS, last_start=client.end + CLOCK_SKEW_NS,
        min_start=client.start - CLOCK_SKEW_NS, max_start=client.end + CLOCK_SKEW_NS,
        min_end=client.start - CLOCK_SKEW_NS, max_end=client.end + CLOCK_SKEW_NS)
        if _same_call(client, server) and not _kind_near(conn, _KIND_ABOVE, server, CLIENT)]
    return min(found, key=lambda server: (abs(server.start - client.start), server.span_id), default=None)


def _kind_near(conn: sqlite3.Connection, query: str, span: _Side, kind: int) -> bool:
    """A span of `kind` above (`_KIND_ABOVE`) or, MCP, below (`_KIND_BELOW`) the span in its trace."""
    params = {"trace_id": span.trace_id, "span_id": span.span_id, "kind": kind}
    return conn.execute(query, params).fetchone() is not None
