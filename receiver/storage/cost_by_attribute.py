"""Reading cost by attribute: from the rollups for a configured key (`cost_attributes`), or
computed from the spans for any other key, in chunks that report progress and can be
stopped. Both count a trace once, under its value of the key (the root span's, else the
first span's that has one)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from receiver.storage.cost_attributes import span_value_sql, valid_cost_key
from receiver.storage.usage_query import minute_window

__all__ = ["AttributeCost", "AttributeCosts", "attribute_costs", "attribute_spend_rates", "cost_keys",
           "scan_costs", "trace_value_sql"]

_NS_PER_MINUTE = 60_000_000_000
SCAN_CHUNK_TRACES = 2_000
Progress = Callable[[int, int], None]  # traces done, traces in all


@dataclass(frozen=True, slots=True)
class AttributeCost:
    """One value of a key (`""`: the traces that have none) and its traces' usage."""

    value: str
    traces: int = 0
    calls: int = 0  # model calls
    error_traces: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: AttributeCost) -> AttributeCost:
        return AttributeCost(self.value, self.traces + other.traces, self.calls + other.calls,
                             self.error_traces + other.error_traces, self.input_tokens + other.input_tokens,
                             self.output_tokens + other.output_tokens, self.cost_usd + other.cost_usd)


@dataclass(frozen=True, slots=True)
class AttributeCosts:
    """The most expensive values of a key over a time range, and the rest summed."""

    key: str
    values: list[AttributeCost]  # cost descending (then traces), at most the limit asked
    others: AttributeCost | None  # the values past the limit, summed (value = their count)
    precomputed: bool

    @property
    def total_cost_usd(self) -> float:
        return sum(v.cost_usd for v in self.values) + (self.others.cost_usd if self.others else 0.0)


def cost_keys(conn: sqlite3.Connection) -> list[str]:
    return [key for (key,) in conn.execute("SELECT key FROM cost_keys ORDER BY key")]


def attribute_costs(conn: sqlite3.Connection, key: str, start_ns: int | None, end_ns: int | None,
                    limit: int = 12) -> AttributeCosts:
    """From the rollups (the minutes of trace starts overlapping [start_ns, end_ns))."""
    where, params = minute_window(start_ns, end_ns)
    rows = conn.execute(f"""
        SELECT value, sum(traces), sum(calls), sum(error_traces), sum(input_tokens), sum(output_tokens),
               total(cost_usd)
        FROM cost_minutes WHERE key = :key AND {where} GROUP BY value HAVING sum(traces) > 0""",
                        {**params, "key": key}).fetchall()
    return _ranked(key, [AttributeCost(*row) for row in rows], limit, precomputed=True)


def trace_value_sql(key: str, trace_id_sql: str = "traces.trace_id") -> str:
    """SQL: a trace's value of `key` (written into the statement), computed from its spans."""
    return f"""(SELECT value FROM (
        SELECT {span_value_sql(valid_cost_key(key))} AS value, s.parent_span_id IS NULL AS from_root, s.rowid AS n
        FROM spans AS s LEFT JOIN resources AS r ON r.resource_id = s.resource_id
        WHERE s.trace_id = {trace_id_sql})
    WHERE value IS NOT NULL ORDER BY from_root DESC, n LIMIT 1)"""


def scan_costs(conn: sqlite3.Connection, key: str, start_ns: int | None, end_ns: int | None, *,
               limit: int = 12, progress: Progress | None = None) -> AttributeCosts:
    """Computed from the spans of the traces that started in [start_ns, end_ns), a chunk of
    traces at a time; `progress` hears after each chunk."""
    key = valid_cost_key(key)
    bounds = {"start": start_ns if start_ns is not None else -(2 ** 63),
              "end": end_ns if end_ns is not None else 2 ** 63 - 1}
    (total,) = conn.execute("SELECT count(*) FROM traces WHERE start_time_unix_nano >= :start "
                            "AND start_time_unix_nano < :end", bounds).fetchone()
    by_value: dict[str, AttributeCost] = {}
    done, cursor = 0, (bounds["end"], "~")
    while done < total:
        rows = conn.execute(f"""
            SELECT t.start_time_unix_nano, t.trace_id, {trace_value_sql(key, 't.trace_id')}, t.llm_calls,
                   t.error_count > 0, coalesce(t.input_tokens, 0), coalesce(t.output_tokens, 0),
                   coalesce(t.cost_usd, 0)
            FROM traces AS t WHERE t.start_time_unix_nano >= :start
              AND (t.start_time_unix_nano, t.trace_id) < (:at, :after)
            ORDER BY t.start_time_unix_nano DESC, t.trace_id DESC LIMIT :chunk""",
            {**bounds, "at": cursor[0], "after": cursor[1], "chunk": SCAN_CHUNK_TRACES}).fetchall()
        if not rows:
            break
        for _start, _trace_id, value, calls, has_error, tokens_in, tokens_out, cost in rows:
            value = value or ""
            by_value[value] = by_value.get(value, AttributeCost(value)) + AttributeCost(
                value, 1, calls, int(has_error), tokens_in, tokens_out, cost)
        done += len(rows)
        cursor = (rows[-1][0], rows[-1][1])
        if progress:
            progress(done, total)
    return _ranked(key, list(by_value.values()), limit, precomputed=False)


def attribute_spend_rates(conn: sqlite3.Connection, key: str, now_ns: int) -> list[tuple[str, float]]:
    """Dollars per hour of each value of a configured key over the last 60 minutes (of trace
    starts), highest first; values without cost left out."""
    past = now_ns // _NS_PER_MINUTE + 1
    rows = conn.execute("""
        SELECT value, total(cost_usd) AS cost FROM cost_minutes
        WHERE key = ? AND minute >= ? AND minute < ? AND value != ''
        GROUP BY value HAVING cost > 0 ORDER BY cost DESC""", (key, past - 60, past)).fetchall()
    return [(value, cost) for value, cost in rows]


def _ranked(key: str, costs: list[AttributeCost], limit: int, *, precomputed: bool) -> AttributeCosts:
    costs.sort(key=lambda c: (-c.cost_usd, -c.traces, c.value))
    shown, rest = costs[:limit], costs[limit:]
    others = None
    if rest:
        others = AttributeCost(f"{len(rest)} more")
        for cost in rest:
            others = others + cost
    return AttributeCosts(key, shown, others, precomputed)
