"""The SQL that puts a batch's rows into the tables, and the per-trace rollups recomputed
after them: the writer's statements, apart from its queue and thread (`writer.py`)."""

from __future__ import annotations

import re
import sqlite3
import time

import orjson

from receiver.records import LOG_COLUMNS, METRIC_POINT_COLUMNS, SPAN_COLUMNS
from receiver.storage.usage import MODEL_CALL_SQL

INSERT_PRICE = "INSERT OR IGNORE INTO prices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
# Rows that spans and log records refer to by a content-hashed id (each record's first field):
# WriteBatch field -> its INSERT. Each is written once; the writer remembers what is stored.
SHARED_ROWS = (
    ("resources", "INSERT OR IGNORE INTO resources VALUES (?, ?, ?, ?, ?, ?)"),
    ("scopes", "INSERT OR IGNORE INTO scopes VALUES (?, ?, ?, ?, ?, ?)"),
    ("prices", INSERT_PRICE),
)
# A re-sent span (same trace and span id) is ignored: spans are immutable once ended, and
# exporters re-send whole batches after a timeout, so the first copy is kept.
# Rows go in as multi-row INSERTs, a few hundred rows per SQLite call: the sqlite3 module
# releases and retakes the GIL around every call, and while decode threads are busy each
# retake can wait a whole switch interval (measured: row-at-a-time inserts fell from 74,000
# to 127 rows/s beside one busy decoding thread).
def _row_sql(columns: tuple[str, ...]) -> str:
    return "(" + ", ".join("?" for _ in columns) + ")"


_SPAN_ROW_SQL, LOG_ROW_SQL = _row_sql(SPAN_COLUMNS), _row_sql(LOG_COLUMNS)
METRIC_ROW_SQL = _row_sql(METRIC_POINT_COLUMNS)
# Span rows, the bulk of every batch, travel as one JSON array bound as one parameter:
# binding ~50 values per span one by one holds the GIL that decoding needs, while SQLite
# unpacks the JSON with the GIL released (docs/benchmarks.md, session 5). MATERIALIZED:
# each row's text is cut out of the array once, not once per column.
_SPAN_VALUES = ", ".join(f"json_extract(row, '$[{i}]')" for i in range(len(SPAN_COLUMNS)))
_INSERT_SPANS_FROM_JSON = ("WITH batch(row) AS MATERIALIZED (SELECT value FROM json_each(?)) "
                           f"INSERT INTO spans SELECT {_SPAN_VALUES} FROM batch WHERE true ON CONFLICT DO NOTHING")
_MAX_ROWS_PER_STATEMENT = 1000  # SQLite's variable limit binds first: one statement per usual request


# SQL: how many spans of the trace `{trace}` name a parent that is not stored (a lost span, or
# context not propagated across a process boundary); with the root missing, its children count.
ORPHAN_SPANS_SQL = ("SELECT count(*) FROM spans AS o WHERE o.trace_id = {trace} AND o.parent_span_id IS NOT NULL "
                    "AND NOT EXISTS (SELECT 1 FROM spans AS p WHERE p.trace_id = o.trace_id "
                    "AND p.span_id = o.parent_span_id)")

# Recomputed from the stored spans of every touched trace in one statement, so arrival order
# never matters: the head is the earliest span without a parent, else (root not arrived yet)
# the earliest span.
_UPSERT_TRACES = f"""
INSERT INTO traces (trace_id, root_span_id, root_name, has_root, service_name,
                    start_time_unix_nano, end_time_unix_nano, span_count, error_count,
                    updated_unix_nano, input_tokens, output_tokens, cache_read_tokens,
                    cache_write_tokens, cost_usd, llm_calls, unpriced_calls, models, session_id, orphan_spans)
SELECT agg.trace_id, head.span_id, head.name, head.parent_span_id IS NULL, head.service_name,
       agg.start_ns, agg.end_ns, agg.n, agg.errors, :now, agg.input_tokens, agg.output_tokens,
       agg.cache_read_tokens, agg.cache_write_tokens, agg.cost_usd, agg.llm_calls, agg.unpriced_calls,
       (SELECT json_group_array(model) FROM (
            SELECT DISTINCT coalesce(response_model, request_model) AS model FROM spans
            WHERE trace_id = agg.trace_id AND operation IN {MODEL_CALL_SQL} AND duplicate_of IS NULL
              AND model IS NOT NULL ORDER BY model)),
       -- the head's own, when it has one, is the root-most: look further only when it has none
       coalesce(head.session_id, (SELECT session_id FROM spans WHERE trace_id = agg.trace_id AND session_id IS NOT NULL
                                  ORDER BY parent_span_id IS NOT NULL, start_time_unix_nano LIMIT 1)),
       ({ORPHAN_SPANS_SQL.format(trace="agg.trace_id")})
FROM (SELECT trace_id, min(start_time_unix_nano) AS start_ns, max(end_time_unix_nano) AS end_ns,
             count(*) AS n, sum(status_code = 2) AS errors,
             -- usage totals count every model call once: duplicates stay out
             sum(input_tokens) FILTER (WHERE duplicate_of IS NULL) AS input_tokens,
             sum(output_tokens) FILTER (WHERE duplicate_of IS NULL) AS output_tokens,
             sum(cache_read_tokens) FILTER (WHERE duplicate_of IS NULL) AS cache_read_tokens,
             sum(cache_write_tokens) FILTER (WHERE duplicate_of IS NULL) AS cache_write_tokens,
             sum(cost_usd) FILTER (WHERE duplicate_of IS NULL) AS cost_usd,
             count(*) FILTER (WHERE duplicate_of IS NULL AND operation IN {MODEL_CALL_SQL}) AS llm_calls,
             count(*) FILTER (WHERE duplicate_of IS NULL AND cost_usd IS NULL
                              AND cost_breakdown IS NOT NULL) AS unpriced_calls
      FROM spans WHERE trace_id IN (SELECT value FROM json_each(:trace_ids))
      GROUP BY trace_id) AS agg
JOIN spans AS head ON head.rowid = (
    SELECT rowid FROM spans WHERE trace_id = agg.trace_id
    ORDER BY parent_span_id IS NOT NULL, start_time_unix_nano, span_id LIMIT 1)
WHERE true
ON CONFLICT (trace_id) DO UPDATE SET
    root_span_id = excluded.root_span_id, root_name = excluded.root_name,
    has_root = excluded.has_root, service_name = excluded.service_name,
    start_time_unix_nano = excluded.start_time_unix_nano,
    end_time_unix_nano = excluded.end_time_unix_nano,
    span_count = excluded.span_count, error_count = excluded.error_count,
    updated_unix_nano = excluded.updated_unix_nano, input_tokens = excluded.input_tokens,
    output_tokens = excluded.output_tokens, cache_read_tokens = excluded.cache_read_tokens,
    cache_write_tokens = excluded.cache_write_tokens, cost_usd = excluded.cost_usd,
    llm_calls = excluded.llm_calls, unpriced_calls = excluded.unpriced_calls, models = excluded.models,
    session_id = excluded.session_id, orphan_spans = excluded.orphan_spans
"""


def refresh_trace_rollups(conn: sqlite3.Connection, trace_ids: list[str], now_ns: int | None = None) -> None:
    """Recompute the rollups of these traces from their stored spans (inside a transaction)."""
    conn.execute(_UPSERT_TRACES, {"trace_ids": orjson.dumps(trace_ids), "now": now_ns or time.time_ns()})


def span_rows_json(rows: tuple[tuple, ...]) -> bytes | None:
    """The rows as one JSON array for `_INSERT_SPANS_FROM_JSON`; None where they must be bound
    value by value: SQLite's JSON functions end a string at an escaped NUL, and a value JSON
    cannot hold fails its request there, with the writer's error handling."""
    try:
        encoded = orjson.dumps(rows)
    except (orjson.JSONEncodeError, OverflowError):
        return None
    return None if _ESCAPED_NUL.search(encoded) else encoded


def insert_span_rows(conn: sqlite3.Connection, rows: tuple[tuple, ...], rows_json: bytes | None) -> int:
    """Insert span rows (new ones only: ingest is idempotent); return how many were new."""
    if not rows:
        return 0
    if rows_json is None:
        return insert_rows(conn, "spans", _SPAN_ROW_SQL, tuple(_bindable(row) for row in rows))
    conn.execute(_INSERT_SPANS_FROM_JSON, (rows_json,))
    # changes(), not total_changes: the rows the statement inserted, not its triggers' rows
    # (`rowcount` is -1 for a statement that starts with WITH)
    return conn.execute("SELECT changes()").fetchone()[0]


_ESCAPED_NUL = re.compile(rb"\\u0000")  # a regex finds it in a batch in 60 % of `in`'s time


def _bindable(row: tuple) -> tuple:
    """A span row with its JSON values (attributes, events, links) as the text SQLite stores."""
    return tuple(orjson.dumps(v).decode() if isinstance(v, dict | list) else v for v in row)


def insert_rows(conn: sqlite3.Connection, table: str, row_sql: str, rows: tuple[tuple, ...]) -> int:
    """INSERT … VALUES (…), (…), … in chunks that fit SQLite's bound-variable limit; return
    how many rows were new. A row already stored (same key) is skipped: ingest is idempotent."""
    if not rows:
        return 0
    new_rows = 0
    per_statement = min(_MAX_ROWS_PER_STATEMENT,
                        conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(rows[0]))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        sql = f"INSERT INTO {table} VALUES {', '.join([row_sql] * len(chunk))} ON CONFLICT DO NOTHING"
        new_rows += conn.execute(sql, [value for row in chunk for value in row]).rowcount  # not its triggers
    return new_rows
