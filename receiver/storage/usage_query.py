"""Reading the usage rollups (`receiver.storage.usage`): totals and latency percentiles over a
time range, for the meters and the charts. A few rows per minute, never the spans."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from receiver.storage.usage import BUCKET_ERROR, ERROR_KIND_SQL, ERROR_KINDS, MODEL_CALL_SQL, bucket_middle_ms

__all__ = ["BUCKET_ERROR", "CHART_QUANTILES", "UsageSeries", "UsageTotals", "latency_percentiles",
           "spend_rate_per_hour", "traces_usage", "usage_series", "usage_totals"]

_NS_PER_MINUTE = 60_000_000_000
_NS_PER_HOUR = 60 * _NS_PER_MINUTE


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Calls and their usage over a time range (minutes of span starts)."""

    calls: int = 0  # every span
    llm_calls: int = 0  # model calls (chat, completions, embeddings)
    tool_calls: int = 0
    errors: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)  # ERROR_KINDS -> count
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_known_input_tokens: int = 0  # input tokens of the calls whose cache count is known
    cost_usd: float = 0.0
    unpriced_calls: int = 0

    @property
    def cache_hit_rate(self) -> float | None:
        """Cache-read tokens / input tokens, over the calls whose cache count is known (a call
        that reports none is unknown, not zero); None when there is none."""
        return self.cache_read_tokens / self.cache_known_input_tokens if self.cache_known_input_tokens else None


def usage_totals(conn: sqlite3.Connection, start_ns: int | None, end_ns: int | None) -> UsageTotals:
    where, params = minute_window(start_ns, end_ns)
    kinds = ", ".join(f"total(errors_{kind})" for kind in ERROR_KINDS)
    row = conn.execute(f"""
        SELECT total(calls), total(calls) FILTER (WHERE operation IN {MODEL_CALL_SQL}),
               total(calls) FILTER (WHERE operation = 'execute_tool'), total(errors), {kinds},
               total(input_tokens), total(output_tokens), total(cache_read_tokens), total(cache_write_tokens),
               total(cache_known_input_tokens), total(cost_usd), total(unpriced_calls)
        FROM usage_minutes WHERE {where}""", params).fetchone()
    return _totals(row)


def _totals(row: tuple) -> UsageTotals:
    """A row of calls, model calls, tool calls, errors, the errors of each kind, input, output,
    cache-read, cache-write and cache-known input tokens, cost, unpriced calls."""
    ints = [int(value) for value in row]
    n = len(ERROR_KINDS)
    return UsageTotals(ints[0], ints[1], ints[2], ints[3], dict(zip(ERROR_KINDS, ints[4:4 + n], strict=True)),
                       *ints[4 + n:9 + n], row[9 + n], ints[10 + n])


def traces_usage(conn: sqlite3.Connection, trace_ids: list[str]) -> UsageTotals:
    """The same totals for some traces (one open trace, a session's), from their spans."""
    kinds = ", ".join(f"count(*) FILTER (WHERE kind = '{kind}')" for kind in ERROR_KINDS)
    row = conn.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE operation IN {MODEL_CALL_SQL}),
               count(*) FILTER (WHERE operation = 'execute_tool'), count(kind), {kinds},
               total(input_tokens), total(output_tokens), total(cache_read_tokens), total(cache_write_tokens),
               total(input_tokens) FILTER (WHERE cache_read_tokens IS NOT NULL), total(cost_usd),
               count(*) FILTER (WHERE cost_usd IS NULL AND cost_breakdown IS NOT NULL)
        FROM (SELECT s.operation, s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens,
                     s.cost_usd, s.cost_breakdown, {ERROR_KIND_SQL} AS kind
              FROM spans AS s WHERE s.trace_id IN (SELECT value FROM json_each(:ids)) AND s.duplicate_of IS NULL)""",
                       {"ids": json.dumps([t.lower() for t in trace_ids])}).fetchone()
    return _totals(row)


def spend_rate_per_hour(conn: sqlite3.Connection, now_ns: int, start_ns: int | None = None,
                        end_ns: int | None = None) -> float:
    """Cost per hour: of the last 60 minutes up to `now_ns`; in a time-range scope (both
    bounds given), the range's cost over its hours."""
    if start_ns is not None and end_ns is not None:
        hours = max(end_ns - start_ns, _NS_PER_MINUTE) / _NS_PER_HOUR
        return usage_totals(conn, start_ns, end_ns).cost_usd / hours
    return usage_totals(conn, now_ns - _NS_PER_HOUR, now_ns).cost_usd


def latency_percentiles(conn: sqlite3.Connection, start_ns: int | None, end_ns: int | None, *,
                        metric: str = "duration", model: str | None = None, band: int | None = None,
                        quantiles: tuple[float, ...] = (0.5, 0.95, 0.99)) -> dict[float, float] | None:
    """Model-call latency percentiles in ms (each within ±`BUCKET_ERROR` of the true value),
    from the histograms; None when no call falls in the range."""
    where, params = minute_window(start_ns, end_ns)
    where += " AND metric = :metric"
    params["metric"] = metric
    if model is not None:
        where += " AND model = :model"
        params["model"] = model
    if band is not None:
        where += " AND band = :band"
        params["band"] = band
    buckets = conn.execute(f"SELECT bucket, sum(count) FROM latency_minutes WHERE {where} "
                           "GROUP BY bucket ORDER BY bucket", params).fetchall()
    return _quantiles(buckets, quantiles)


def minute_window(start_ns: int | None, end_ns: int | None) -> tuple[str, dict[str, int]]:
    """The minutes that overlap [start_ns, end_ns): rollups are per minute."""
    where, params = ["true"], {}
    if start_ns is not None:
        where.append("minute >= :first")
        params["first"] = start_ns // _NS_PER_MINUTE
    if end_ns is not None:
        where.append("minute < :past")
        params["past"] = -(-end_ns // _NS_PER_MINUTE)
    return " AND ".join(where), params


@dataclass(frozen=True, slots=True)
class UsageSeries:
    """Per-step series over a time range, for the charts: `minutes[i]` starts step i (minutes
    since the epoch, `step_minutes` long); every list has one value per step."""

    step_minutes: int
    minutes: list[int]
    calls_by_model: dict[str, list[int]]  # model calls per model
    cost_by_model: dict[str, list[float]]
    input_tokens: list[int]
    output_tokens: list[int]
    tool_calls: list[int]
    tool_errors: list[int]
    latency: dict[float, list[float | None]]  # quantile -> ms per step (None: no call)
    ttft: dict[float, list[float | None]]
    tpot: dict[float, list[float | None]]
    latency_by_band: dict[int, dict[float, float] | None]  # input band (0-3) -> quantile -> ms, whole range


CHART_QUANTILES = (0.5, 0.95, 0.99)


def usage_series(conn: sqlite3.Connection, first_minute: int, past_minute: int, step_minutes: int,
                 model: str | None = None) -> UsageSeries:
    """The charts' series for minutes [first_minute, past_minute), `step_minutes` a step,
    one model's or (None) every model's."""
    steps = max(1, -(-(past_minute - first_minute) // step_minutes))
    minutes = [first_minute + i * step_minutes for i in range(steps)]
    params: dict[str, Any] = {"first": first_minute, "past": past_minute, "step": step_minutes, "model": model}
    where = "minute >= :first AND minute < :past AND (:model IS NULL OR model = :model)"
    calls: dict[str, list[int]] = {}
    cost: dict[str, list[float]] = {}
    inputs, outputs, tools, tool_errors = [0] * steps, [0] * steps, [0] * steps, [0] * steps
    for step, row_model, operation, n, errors, tokens_in, tokens_out, dollars in conn.execute(f"""
            SELECT (minute - :first) / :step, model, operation IN {MODEL_CALL_SQL}, sum(calls),
                   sum(errors), sum(input_tokens), sum(output_tokens), total(cost_usd)
            FROM usage_minutes WHERE {where} AND (operation IN {MODEL_CALL_SQL} OR operation = 'execute_tool')
            GROUP BY 1, 2, 3""", params):
        if operation:  # a model call
            calls.setdefault(row_model, [0] * steps)[step] += n
            cost.setdefault(row_model, [0.0] * steps)[step] += dollars
            inputs[step] += tokens_in
            outputs[step] += tokens_out
        else:
            tools[step] += n
            tool_errors[step] += errors
    histograms: dict[str, list[list[tuple[int, int]]]] = {metric: [[] for _ in range(steps)]
                                                          for metric in ("duration", "ttft", "tpot")}
    for step, metric, bucket, count in conn.execute(
            f"SELECT (minute - :first) / :step, metric, bucket, sum(count) FROM latency_minutes WHERE {where} "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", params):
        histograms[metric][step].append((bucket, count))
    by_band = {band: latency_percentiles(conn, first_minute * _NS_PER_MINUTE, past_minute * _NS_PER_MINUTE,
                                         model=model, band=band, quantiles=CHART_QUANTILES) for band in range(4)}
    return UsageSeries(step_minutes, minutes, calls, cost, inputs, outputs, tools, tool_errors,
                       *(_quantile_series(histograms[metric]) for metric in ("duration", "ttft", "tpot")), by_band)


def _quantile_series(steps: list[list[tuple[int, int]]]) -> dict[float, list[float | None]]:
    series: dict[float, list[float | None]] = {q: [] for q in CHART_QUANTILES}
    for buckets in steps:
        values = _quantiles(buckets, CHART_QUANTILES)
        for q in CHART_QUANTILES:
            series[q].append(values[q] if values else None)
    return series


def _quantiles(buckets: list[tuple[int, int]], quantiles: tuple[float, ...]) -> dict[float, float] | None:
    """Nearest-rank quantiles of a histogram ((bucket, count) in bucket order), as bucket middles."""
    total = sum(count for _, count in buckets)
    if not total:
        return None
    result: dict[float, float] = {}
    for q in quantiles:
        rank, seen = q * total, 0
        for bucket, count in buckets:
            seen += count
            if seen >= rank:
                result[q] = bucket_middle_ms(bucket)
                break
    return result
