"""Per-minute usage rollups, kept by the writer in the same transaction as the spans, so that
meters and charts read a few rows per minute instead of scanning spans.

`usage_minutes`: per minute (of the span's start), model and operation: calls, errors by
kind, token sums, cost. Every span counts once: a duplicate report of a model call
(`duplicate_of`) stays out, as it does in the trace totals.

`latency_minutes`: per minute and model, fixed log-scale histograms of model calls' duration
(by input-length band), time to first token and time per output token. A bucket spans a
factor of 2^(1/4); a percentile is reported as its bucket's geometric middle, within
`BUCKET_ERROR` of the true value.

Rows change by adding or subtracting the contribution of some spans (`add_spans`,
`remove_traces`), so the rollups stay equal to what a scan of the stored spans would give,
through re-sent spans (not new: not added), deletion and duplicates promoted when their
first report is deleted.
"""

from __future__ import annotations

import math
import sqlite3

BUCKETS_PER_DOUBLING = 4
BUCKET_ERROR = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1  # ±9.05 %
_MIN_BUCKET, _MAX_BUCKET = -40, 120  # 1 µs .. 12 days
INPUT_BANDS = (1_000, 4_000, 16_000)  # input tokens: <1,000 | 1,000-3,999 | 4,000-15,999 | >=16,000
MODEL_CALLS = ("chat", "text_completion", "generate_content", "embeddings")
ERROR_KINDS = ("provider_5xx", "client_4xx", "timeout", "tool", "other")
BUCKET_FUNCTION = "tp_latency_bucket"


def latency_bucket(ms: float | None) -> int | None:
    """The histogram bucket of a latency in milliseconds (None for none or a non-positive one)."""
    if ms is None or not ms > 0:
        return None
    return max(_MIN_BUCKET, min(_MAX_BUCKET, math.floor(BUCKETS_PER_DOUBLING * math.log2(ms))))


def bucket_middle_ms(bucket: int) -> float:
    return 2 ** ((bucket + 0.5) / BUCKETS_PER_DOUBLING)


def register_functions(conn: sqlite3.Connection) -> None:
    """The SQL function the rollup statements use (on every connection that writes them)."""
    conn.create_function(BUCKET_FUNCTION, 1, latency_bucket, deterministic=True)


MODEL_CALL_SQL = "(" + ", ".join(f"'{op}'" for op in MODEL_CALLS) + ")"  # for `operation IN ...`
_HTTP_STATUS = ("coalesce(json_extract(s.attributes, '$.\"http.response.status_code\"'), "
                "json_extract(s.attributes, '$.\"http.status_code\"'))")
_ERROR_TEXT = "lower(coalesce(s.error_type, '') || ' ' || s.status_message)"
# An error span's kind: from its status (message), then `error.type`, then the HTTP status
# attributes. Matched on class names and messages as the SDKs write them.
ERROR_KIND_SQL = f"""CASE
    WHEN s.status_code != 2 THEN NULL
    WHEN s.operation = 'execute_tool' THEN 'tool'
    WHEN {_ERROR_TEXT} GLOB '*time*out*' OR {_ERROR_TEXT} GLOB '*timedout*' THEN 'timeout'
    WHEN {_ERROR_TEXT} GLOB '*context*length*' OR {_ERROR_TEXT} GLOB '*badrequest*'
      OR {_ERROR_TEXT} GLOB '*bad request*' OR {_ERROR_TEXT} GLOB '*ratelimit*'
      OR {_ERROR_TEXT} GLOB '*rate limit*' OR {_ERROR_TEXT} GLOB '*rate_limit*'
      OR {_ERROR_TEXT} GLOB '*content*filter*' OR {_ERROR_TEXT} GLOB '*policy*'
      OR {_ERROR_TEXT} GLOB '*permission*' OR {_ERROR_TEXT} GLOB '*authenticat*'
      OR {_ERROR_TEXT} GLOB '*notfound*' OR {_ERROR_TEXT} GLOB '*unprocessable*' THEN 'client_4xx'
    WHEN {_ERROR_TEXT} GLOB '*internalserver*' OR {_ERROR_TEXT} GLOB '*internal server*'
      OR {_ERROR_TEXT} GLOB '*serviceunavailable*' OR {_ERROR_TEXT} GLOB '*service unavailable*'
      OR {_ERROR_TEXT} GLOB '*overloaded*' OR {_ERROR_TEXT} GLOB '*server error*'
      OR {_ERROR_TEXT} GLOB '*server_error*' THEN 'provider_5xx'
    WHEN {_HTTP_STATUS} = 408 OR {_HTTP_STATUS} = 504 THEN 'timeout'
    WHEN {_HTTP_STATUS} >= 500 THEN 'provider_5xx'
    WHEN {_HTTP_STATUS} >= 400 THEN 'client_4xx'
    ELSE 'other'
END"""

_BAND_SQL = ("CASE WHEN s.input_tokens IS NULL THEN -1 WHEN s.input_tokens < 1000 THEN 0 "
             "WHEN s.input_tokens < 4000 THEN 1 WHEN s.input_tokens < 16000 THEN 2 ELSE 3 END")
_SPAN_KEYS = ("s.start_time_unix_nano / 60000000000 AS minute, "
              "coalesce(s.response_model, s.request_model, '') AS model")


def _usage_upsert(where: str) -> str:
    counts = ", ".join(f":sign * count(*) FILTER (WHERE kind = '{kind}')" for kind in ERROR_KINDS)
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in _USAGE_VALUES)
    return f"""
INSERT INTO usage_minutes (minute, model, operation, {', '.join(_USAGE_VALUES)})
SELECT minute, model, operation, :sign * count(*), :sign * count(*) FILTER (WHERE kind IS NOT NULL), {counts},
       :sign * coalesce(sum(input_tokens), 0), :sign * coalesce(sum(output_tokens), 0),
       :sign * coalesce(sum(cache_read_tokens), 0), :sign * coalesce(sum(cache_write_tokens), 0),
       :sign * coalesce(sum(input_tokens) FILTER (WHERE cache_read_tokens IS NOT NULL), 0),
       :sign * total(cost_usd), :sign * count(*) FILTER (WHERE cost_usd IS NULL AND cost_breakdown IS NOT NULL),
       :sign * count(*) FILTER (WHERE is_streaming), :sign * total(duration_ms)
FROM (SELECT {_SPAN_KEYS}, coalesce(s.operation, 'other') AS operation, {ERROR_KIND_SQL} AS kind,
             s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.cost_usd,
             s.cost_breakdown, s.is_streaming,
             (s.end_time_unix_nano - s.start_time_unix_nano) / 1e6 AS duration_ms
      FROM spans AS s WHERE ({where}) AND s.duplicate_of IS NULL)
WHERE true GROUP BY minute, model, operation
ON CONFLICT (minute, model, operation) DO UPDATE SET {updates}"""


_USAGE_VALUES = ("calls", "errors", *(f"errors_{kind}" for kind in ERROR_KINDS), "input_tokens", "output_tokens",
                 "cache_read_tokens", "cache_write_tokens", "cache_known_input_tokens", "cost_usd",
                 "unpriced_calls", "streaming_calls", "duration_ms")


def _latency_upsert(where: str) -> str:
    return f"""
WITH calls AS (
    SELECT {_SPAN_KEYS}, {_BAND_SQL} AS band, (s.end_time_unix_nano - s.start_time_unix_nano) / 1e6 AS duration_ms,
           s.ttft_ms, s.output_tokens
    FROM spans AS s WHERE ({where}) AND s.duplicate_of IS NULL AND s.operation IN {MODEL_CALL_SQL})
INSERT INTO latency_minutes (minute, model, metric, band, bucket, count)
SELECT minute, model, metric, band, bucket, :sign * count(*) FROM (
    SELECT minute, model, 'duration' AS metric, band, {BUCKET_FUNCTION}(duration_ms) AS bucket FROM calls
    UNION ALL
    SELECT minute, model, 'ttft', -1, {BUCKET_FUNCTION}(ttft_ms) FROM calls WHERE ttft_ms IS NOT NULL
    UNION ALL
    SELECT minute, model, 'tpot', -1, {BUCKET_FUNCTION}((duration_ms - ttft_ms) / (output_tokens - 1)) FROM calls
    WHERE ttft_ms IS NOT NULL AND output_tokens > 1)
WHERE bucket IS NOT NULL GROUP BY minute, model, metric, band, bucket
ON CONFLICT (minute, model, metric, band, bucket) DO UPDATE SET count = count + excluded.count"""


def create_usage_tables(conn: sqlite3.Connection) -> None:
    """The tables (a migration), filled from the spans stored so far."""
    columns = ", ".join(f"{name} {'REAL' if name in ('cost_usd', 'duration_ms') else 'INTEGER'} NOT NULL"
                        for name in _USAGE_VALUES)
    conn.execute(f"""
        CREATE TABLE usage_minutes (
            minute INTEGER NOT NULL,  -- of the span's start, since the epoch
            model TEXT NOT NULL,  -- response model, else request model, else ''
            operation TEXT NOT NULL,
            {columns},
            PRIMARY KEY (minute, model, operation)
        ) WITHOUT ROWID""")
    conn.execute("""
        CREATE TABLE latency_minutes (
            minute INTEGER NOT NULL,
            model TEXT NOT NULL,
            metric TEXT NOT NULL,  -- duration | ttft | tpot (ms; tpot per output token)
            band INTEGER NOT NULL,  -- duration: input-length band (INPUT_BANDS; -1 unknown); others -1
            bucket INTEGER NOT NULL,  -- floor(4 log2 ms)
            count INTEGER NOT NULL,
            PRIMARY KEY (minute, model, metric, band, bucket)
        ) WITHOUT ROWID""")
    add_spans(conn, "true", {})


def add_spans(conn: sqlite3.Connection, where: str, params: dict, *, sign: int = 1) -> None:
    """Add (or with sign -1 take away) the spans `s` matching `where` to the rollups."""
    for sql in (_usage_upsert(where), _latency_upsert(where)):
        conn.execute(sql, {**params, "sign": sign})
    if sign < 0:
        conn.execute("DELETE FROM usage_minutes WHERE calls = 0")
        conn.execute("DELETE FROM latency_minutes WHERE count = 0")


def add_new_spans(conn: sqlite3.Connection, after_rowid: int) -> None:
    """The writer's call: spans stored in this transaction have rowids above `after_rowid`."""
    add_spans(conn, "s.rowid > :after", {"after": after_rowid})


def remove_traces(conn: sqlite3.Connection, trace_ids_sql: str, params: dict) -> None:
    """Before these traces' spans are deleted (inside the caller's transaction)."""
    add_spans(conn, f"s.trace_id IN {trace_ids_sql}", params, sign=-1)


def rebuild(conn: sqlite3.Connection) -> None:
    """From scratch (after costs were recomputed)."""
    clear(conn)
    add_spans(conn, "true", {})


def clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM usage_minutes")
    conn.execute("DELETE FROM latency_minutes")
