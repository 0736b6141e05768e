"""Sessions (conversations): traces grouped by their session id, read from the per-trace
rollups (`traces.session_id`, taken at ingestion from `session.id`, `gen_ai.conversation.id`,
OpenInference's and OpenLLMetry's session attributes)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

__all__ = ["SessionSummary", "list_sessions"]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session_id: str
    turns: int  # traces
    first_start_unix_nano: int
    last_end_unix_nano: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    unpriced_calls: int
    llm_calls: int
    errors: int  # error spans over its traces
    error_traces: int


def list_sessions(conn: sqlite3.Connection, limit: int = 500) -> list[SessionSummary]:
    """Sessions, the most recently active first."""
    rows = conn.execute("""
        SELECT session_id, count(*), min(start_time_unix_nano), max(end_time_unix_nano),
               total(input_tokens), total(output_tokens), total(cost_usd), total(unpriced_calls),
               total(llm_calls), total(error_count), count(*) FILTER (WHERE error_count > 0)
        FROM traces WHERE session_id IS NOT NULL
        GROUP BY session_id ORDER BY max(end_time_unix_nano) DESC, session_id LIMIT ?""", [limit])
    return [SessionSummary(session_id, turns, first, last, int(tokens_in), int(tokens_out), cost, int(unpriced),
                           int(calls), int(errors), error_traces)
            for (session_id, turns, first, last, tokens_in, tokens_out, cost, unpriced, calls, errors, error_traces)
            in rows]
