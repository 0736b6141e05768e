"""`TraceStore`: the read API. Read-only connections, one per thread, a time limit per query,
plain records out (never a cursor or a raw connection).

A reader cannot block the receiver: connections are opened `mode=ro` on a WAL database, so
they take no write lock and a running writer commits while they read.
"""

from __future__ import annotations

import gc
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from receiver.errors import DatabaseMissing, TraceNotFound
from receiver.records import (
    GENAI_FIELDS,
    EvaluatorSummary,
    LinkingSpan,
    StoredEvaluation,
    StoredLog,
    StoredMetricPoint,
    StoredSpan,
    TraceDetail,
    TraceFacets,
    TraceFilter,
    TracePage,
    TraceSummary,
)
from receiver.storage.cost_by_attribute import (
    AttributeCosts,
    Progress,
    attribute_costs,
    attribute_spend_rates,
    cost_keys,
    scan_costs,
)
from receiver.storage.evaluation_query import (
    EVALUATION_COUNTS_SQL,
    evaluation_series,
    evaluator_summaries,
    flagged_answers,
    trace_evaluations,
)
from receiver.storage.metric_series import MetricSeries, genai_metric_series
from receiver.storage.pins import PINNED_SQL
from receiver.storage.read_db import open_read_db
from receiver.storage.row_records import OUTLINE_GENAI_FIELDS, outline_span, stored_log, stored_span, trace_summary
from receiver.storage.sessions import SessionSummary, list_sessions
from receiver.storage.span_links import linking_spans
from receiver.storage.stats import StoreStats, count_stats
from receiver.storage.text_search import log_has, quick_scan_finds, search_page, search_terms, span_has
from receiver.storage.trace_where import trace_where
from receiver.storage.usage_query import (
    UsageSeries,
    UsageTotals,
    latency_percentiles,
    spend_rate_per_hour,
    traces_usage,
    usage_series,
    usage_totals,
)

__all__ = ["TraceStore", "QueryCancelled", "QueryTimeout", "DEFAULT_QUERY_TIMEOUT_S"]

FACET_TRACES = 20_000  # newest traces whose models a filter offers
DEFAULT_QUERY_TIMEOUT_S = 10.0  # a runaway filter must not freeze a caller forever
_PROGRESS_EVERY_N_OPS = 10_000

_TRACE_COLUMNS = ("trace_id, root_name, has_root, service_name, start_time_unix_nano, "
                  "end_time_unix_nano, span_count, error_count, updated_unix_nano, input_tokens, output_tokens, "
                  "cache_read_tokens, cache_write_tokens, cost_usd, llm_calls, unpriced_calls, models, session_id, "
                  f"orphan_spans, {PINNED_SQL}, {EVALUATION_COUNTS_SQL}")
_SPAN_QUERY = """
SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.start_time_unix_nano,
       s.end_time_unix_nano, s.status_code, s.status_message, s.trace_state, s.flags,
       s.attributes, s.events, s.links, s.dropped_attributes_count, s.dropped_events_count,
 s.dropped_links_count, s.service_name, {genai},
       p.price_id, p.input_mtok, p.output_mtok, p.cache_read_mtok, p.cache_write_mtok, p.source,
       p.model_ref, p.provider, p.price_date,
       r.attributes, r.dropped_attributes_count, r.entity_refs, r.schema_url,
       c.name, c.version, c.attributes, c.dropped_attributes_count, c.schema_url
FROM spans s
LEFT JOIN resources r ON r.resource_id = s.resource_id
LEFT JOIN scopes c ON c.scope_id = s.scope_id
LEFT JOIN prices p ON p.price_id = s.price_id
WHERE s.trace_id = ?
ORDER BY s.start_time_unix_nano, s.span_id
""".format(genai=", ".join(f"s.{name}" for name in GENAI_FIELDS))



_LOG_QUERY = """
SELECT l.trace_id, l.span_id, l.time_unix_nano, l.observed_time_unix_nano, l.severity_number,
       l.severity_text, l.event_name, l.body, l.attributes, l.dropped_attributes_count, l.flags,
       l.service_name,
       r.attributes, r.dropped_attributes_count, r.entity_refs, r.schema_url,
       c.name, c.version, c.attributes, c.dropped_attributes_count, c.schema_url
FROM logs l
LEFT JOIN resources r ON r.resource_id = l.resource_id
LEFT JOIN scopes c ON c.scope_id = l.scope_id
WHERE l.trace_id = ?
ORDER BY coalesce(nullif(l.time_unix_nano, 0), l.observed_time_unix_nano), l.log_id
"""


# Records emitted after their span closed carry no ids; they are found by response id.
_ORPHAN_LOG_QUERY = _LOG_QUERY.replace(
    "WHERE l.trace_id = ?", "WHERE l.trace_id IS NULL AND l.response_id IN (SELECT value FROM json_each(?))")


class QueryTimeout(sqlite3.OperationalError):
    """A read ran past its time limit and was interrupted."""


class QueryCancelled(sqlite3.OperationalError):
    """A read was stopped because its caller no longer wants the answer (`cancel_when`)."""


class QueryOnForbiddenThread(RuntimeError):
    """A query ran on the thread the store was told to keep free (the app's GUI thread)."""


class TraceStore:
    def __init__(self, db_path: Path, *, query_timeout_s: float = DEFAULT_QUERY_TIMEOUT_S) -> None:
        self.db_path = Path(db_path)
        self._timeout_s = query_timeout_s
        self._forbidden_thread: int | None = None
        self._cancel_checks = threading.local()  # per thread: a callable, True = stop the query
        # Keyed by thread id, not a threading.local: on a thread Python did not start (the app's
        # QThread worker) each call from C++ gets a fresh Python thread state, so a local would be
        # empty at every query and a new connection opened each time (one more kept open per query).
        self._conns: dict[int, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    # --- queries ------------------------------------------------------------------------

    def list_traces(self, filters: TraceFilter | None = None, *, limit: int = 100,
                    after: tuple[int, str] | None = None) -> TracePage:
        """Traces newest first. `after` is the previous page's `next_cursor`."""
        filters = filters or TraceFilter()
        terms = search_terms(filters.text) if filters.text else []
        with self._read() as conn:
            kept_keys = set(cost_keys(conn)) if filters.attributes else set()
            where, params = trace_where(filters, scan_text=not terms, kept_keys=kept_keys)
            if after is not None:
                where.append("(start_time_unix_nano, trace_id) < (:after_start, :after_id)")
                params["after_start"], params["after_id"] = after
            if terms:
                rows = [row[1:] for row in search_page(conn, terms, f"start_time_unix_nano, {_TRACE_COLUMNS}",
                                                       where, params, limit + 1)]
            else:
                sql = f"SELECT {_TRACE_COLUMNS} FROM traces"
                if where:
                    sql += " WHERE " + " AND ".join(where)
                sql += " ORDER BY start_time_unix_nano DESC, trace_id DESC LIMIT :limit"
                params["limit"] = limit + 1
                rows = conn.execute(sql, params).fetchall()
        traces = [trace_summary(row) for row in rows[:limit]]
        cursor = None
        if len(rows) > limit and traces:
            cursor = (traces[-1].start_time_unix_nano, traces[-1].trace_id)
        return TracePage(traces, cursor)

    def get_trace_summary(self, trace_id: str) -> TraceSummary:
        with self._read() as conn:
            row = conn.execute(f"SELECT {_TRACE_COLUMNS} FROM traces WHERE trace_id = ?",
                               [trace_id.lower()]).fetchone()
        if row is None:
            raise TraceNotFound(f"no trace {trace_id}")
        return trace_summary(row)

    def get_trace_summaries(self, trace_ids: Iterable[str]) -> list[TraceSummary]:
        """The list rows of these traces (those that exist), newest first: what a live view
        re-reads for the traces a commit touched."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_TRACE_COLUMNS} FROM traces "
                                "WHERE trace_id IN (SELECT value FROM json_each(?)) "
                                "ORDER BY start_time_unix_nano DESC, trace_id DESC",
                                [json.dumps([t.lower() for t in trace_ids])]).fetchall()
        return [trace_summary(row) for row in rows]

    def facets(self) -> TraceFacets:
        """The services and models a filter can pick from. Models come from the newest
        `FACET_TRACES` traces only, so the answer stays quick on a database of any size."""
        with self._read() as conn:
            services = [name for (name,) in conn.execute(
                "SELECT DISTINCT service_name FROM traces WHERE service_name IS NOT NULL ORDER BY 1")]
            models = [name for (name,) in conn.execute(
                "SELECT DISTINCT m.value FROM (SELECT models FROM traces ORDER BY start_time_unix_nano DESC "
                "LIMIT ?) AS t, json_each(t.models) AS m ORDER BY 1", [FACET_TRACES])]
        return TraceFacets(services, models)

    def find_trace_ids(self, prefix: str, *, limit: int = 10) -> list[str]:
        """Trace ids starting with a hex prefix (for short ids typed by people)."""
        prefix = prefix.lower()
        upper = prefix + "g"  # every hex id with this prefix sorts below prefix + "g"
        with self._read() as conn:
            rows = conn.execute("SELECT trace_id FROM traces WHERE trace_id >= ? AND trace_id < ? "
                                "ORDER BY trace_id LIMIT ?", [prefix, upper, limit]).fetchall()
        return [trace_id for (trace_id,) in rows]

    def get_trace(self, trace_id: str) -> TraceDetail:
        """All spans of one trace in start order, and its log records in time order (they
        may have arrived before the spans, or without them); `TraceNotFound` if neither."""
        trace_id = trace_id.lower()
        with self._read() as conn:  # one snapshot for all three
            span_rows = conn.execute(_SPAN_QUERY, [trace_id]).fetchall()
            log_rows = conn.execute(_LOG_QUERY, [trace_id]).fetchall()
            spans = [stored_span(row) for row in span_rows]
            orphan_rows = _orphan_log_rows(conn, spans)
            evaluations = trace_evaluations(conn, trace_id)
        if not span_rows and not log_rows:
            raise TraceNotFound(f"no trace {trace_id}")
        spans, logs = _with_logs(spans, log_rows, orphan_rows)
        return TraceDetail(trace_id, spans, logs, evaluations)

    # --- one open trace at any size: its outline, one span in full, find in it -----------
    # A 10,000-span trace's full detail takes seconds to parse; what its waterfall needs is
    # a fraction of that, and the content only for the span being looked at.

    def get_trace_outline(self, trace_id: str) -> TraceDetail:
        """The trace's spans in start order as an *outline*: every span's ids, name, kind,
        times, status, service and the GenAI fields a waterfall shows (`OUTLINE_GENAI_FIELDS`),
        read from their columns with no JSON parsed. Everything else is empty or zero:
        attributes, events, links, trace state, flags, dropped counts, resource, scope, content;
        and there are no log records. `get_span` gives one span in full. `TraceNotFound` if the
        trace has neither spans nor log records."""
        trace_id = trace_id.lower()
        with _collector_paused():
            with self._read() as conn:
                rows = conn.execute(_OUTLINE_QUERY, [trace_id]).fetchall()
                if not rows and conn.execute(_HAS_LOGS, [trace_id]).fetchone() is None:
                    raise TraceNotFound(f"no trace {trace_id}")
                evaluations = trace_evaluations(conn, trace_id)
            return TraceDetail(trace_id, [outline_span(row) for row in rows], [], evaluations)

    def get_span(self, trace_id: str, span_id: str) -> tuple[StoredSpan, list[StoredLog]]:
        """One span exactly as `get_trace` gives it (content from its attributes and from its log
        records), and its log records in time order; `TraceNotFound` if it is not stored."""
        trace_id, span_id = trace_id.lower(), span_id.lower()
        with self._read() as conn:  # one snapshot
            row = conn.execute(_ONE_SPAN_QUERY, [trace_id, span_id]).fetchone()
            if row is None:
                raise TraceNotFound(f"no span {span_id} in trace {trace_id}")
            span = stored_span(row)
            log_rows = conn.execute(_SPAN_LOG_QUERY, [trace_id, span_id]).fetchall()
            orphan_rows = _orphan_log_rows(conn, [span])
        spans, logs = _with_logs([span], log_rows, orphan_rows)
        return spans[0], logs

    def find_in_trace(self, trace_id: str, text: str) -> list[str]:
        """Ids of the trace's spans (in start order) whose name, status message, string attribute
        values (message text travels in them), events, or log records contain `text`,
        case-insensitively (ASCII), as the trace list's free text matches. One query."""
        if not text:
            return []
        with self._read() as conn:
            rows = conn.execute(_FIND_QUERY, {"trace_id": trace_id.lower(), "text": text,
                                              "quick": quick_scan_finds(text)}).fetchall()
        return [span_id for (span_id,) in rows]

    def linking_spans(self, trace_id: str, service_name: str) -> dict[str, list[LinkingSpan]]:
        """Spans of `service_name` linking into the trace, by the linked span id (`storage.span_links`)."""
        with self._read() as conn:
            return linking_spans(conn, trace_id.lower(), service_name)

    def mcp_calls(self, trace_id: str) -> dict[str, dict[str, Any]]:
        """The trace's MCP spans with the other side of each call, across traces too (`storage.mcp_pairs`)."""
        from receiver.storage.mcp_pairs import mcp_calls

        with self._read() as conn:
            return mcp_calls(conn, trace_id.lower())

    def metric_points(self, name: str | None = None, *, since_unix_nano: int = 0,
                      limit: int = 10_000) -> list[StoredMetricPoint]:
        """Metric data points in time order, of one metric or all."""
        sql = ("SELECT name, description, unit, kind, aggregation_temporality, is_monotonic, "
               "start_time_unix_nano, time_unix_nano, value, count, sum, min, max, attributes, data, "
               "service_name FROM metric_points WHERE time_unix_nano >= ?")
        params: list[Any] = [since_unix_nano]
        if name is not None:
            sql += " AND name = ?"
            params.append(name)
        sql += " ORDER BY time_unix_nano, point_id LIMIT ?"
        params.append(limit)
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [StoredMetricPoint(*row[:5], None if row[5] is None else bool(row[5]), *row[6:13],
                                  json.loads(row[13]), json.loads(row[14]), row[15]) for row in rows]

    def unlinked_logs(self, text: str | None = None, *, min_severity: int = 0,
                      limit: int = 500) -> list[StoredLog]:
        """Log records linked to no span (no trace id, no stored span's response id), newest
        first, optionally narrowed by free text and a lowest OTLP severity number
        (`storage.unlinked_logs`)."""
        from receiver.storage.unlinked_logs import unlinked_logs

        with self._read() as conn:
            return unlinked_logs(conn, text, min_severity=min_severity, limit=limit)

    def usage(self, start_ns: int | None = None, end_ns: int | None = None) -> UsageTotals:
        """Calls, errors by kind, tokens and cost of the spans that started in the minutes
        overlapping [start_ns, end_ns), from the per-minute rollups."""
        with self._read() as conn:
            return usage_totals(conn, start_ns, end_ns)

    def traces_usage(self, trace_ids: Iterable[str]) -> UsageTotals:
        """The same totals for these traces, from their spans."""
        with self._read() as conn:
            return traces_usage(conn, list(trace_ids))

    # --- evaluation results and annotations (storage.evaluation_query) -------------------

    def evaluations(self, trace_id: str) -> list[StoredEvaluation]:
        with self._read() as conn:
            return trace_evaluations(conn, trace_id.lower())

    def evaluator_summaries(self, start_ns: int | None = None, end_ns: int | None = None) -> list[EvaluatorSummary]:
        with self._read() as conn:
            return evaluator_summaries(conn, start_ns, end_ns)

    def evaluation_series(self, start_ns: int, end_ns: int,
                          step_ns: int) -> dict[str, list[tuple[int, int, float | None, float | None]]]:
        with self._read() as conn:
            return evaluation_series(conn, start_ns, end_ns, step_ns)

    def flagged_answers(self, start_ns: int | None = None, end_ns: int | None = None) -> int:
        with self._read() as conn:
            return flagged_answers(conn, start_ns, end_ns)

    def sessions(self, limit: int = 500) -> list[SessionSummary]:
        """Sessions (traces grouped by session id), the most recently active first."""
        with self._read() as conn:
            return list_sessions(conn, limit)

    def session_traces(self, session_id: str) -> list[TraceSummary]:
        """A session's traces (its turns), oldest first."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_TRACE_COLUMNS} FROM traces WHERE session_id = ? "
                                "ORDER BY start_time_unix_nano, trace_id", [session_id]).fetchall()
        return [trace_summary(row) for row in rows]

    def spend_rate(self, now_ns: int, start_ns: int | None = None, end_ns: int | None = None) -> float:
        """Dollars per hour: of the last 60 minutes, or of a time range (both bounds)."""
        with self._read() as conn:
            return spend_rate_per_hour(conn, now_ns, start_ns, end_ns)

    def latency_percentiles(self, start_ns: int | None = None, end_ns: int | None = None,
                            **options: Any) -> dict[float, float] | None:
        """Model-call latency percentiles in ms (`usage_query.latency_percentiles`)."""
        with self._read() as conn:
            return latency_percentiles(conn, start_ns, end_ns, **options)

    def usage_series(self, first_minute: int, past_minute: int, step_minutes: int,
                     model: str | None = None) -> UsageSeries:
        """The charts' per-step series from the rollups (`usage_query.usage_series`)."""
        with self._read() as conn:
            return usage_series(conn, first_minute, past_minute, step_minutes, model)

    def metric_series(self, first_minute: int, past_minute: int, step_minutes: int,
                      model: str | None = None) -> MetricSeries:
        """The GenAI metrics received, per step on the same steps as `usage_series`
        (`metric_series.genai_metric_series`)."""
        with self._read() as conn:
            return genai_metric_series(conn, first_minute, past_minute, step_minutes, model)

    def cost_keys(self) -> list[str]:
        """The attribute keys whose cost is kept at ingestion."""
        with self._read() as conn:
            return cost_keys(conn)

    def attribute_costs(self, key: str, start_ns: int | None = None, end_ns: int | None = None, *,
                        limit: int = 12, progress: Progress | None = None) -> AttributeCosts:
        """Cost by the values of `key` over the traces that started in the range: from the
        rollups for a configured key, else computed from the spans (reporting `progress`)."""
        with self._read() as conn:
            if key in cost_keys(conn):
                return attribute_costs(conn, key, start_ns, end_ns, limit)
            return scan_costs(conn, key, start_ns, end_ns, limit=limit, progress=progress)

    def attribute_spend_rates(self, key: str, now_ns: int) -> list[tuple[str, float]]:
        """Dollars per hour over the last 60 minutes of each value of a configured key."""
        with self._read() as conn:
            return attribute_spend_rates(conn, key, now_ns)

    def usage_extent(self) -> tuple[int, int] | None:
        """The first and last minute with usage stored, or None."""
        with self._read() as conn:
            row = conn.execute("SELECT min(minute), max(minute) FROM usage_minutes").fetchone()
        return None if row[0] is None else (row[0], row[1])

    def stats(self) -> StoreStats:
        with self._read() as conn:
            return count_stats(conn, self.db_path)

    def forbid_queries_on(self, thread_id: int | None) -> None:
        """Make every query on this thread (`threading.get_ident()`) raise: the app's tests keep
        the GUI thread free of database work this way. None lifts it."""
        self._forbidden_thread = thread_id

    def cancel_when(self, check: Callable[[], bool] | None) -> None:
        """On this thread, stop any query (raising `QueryCancelled`) as soon as `check()` is
        true: the app's worker stops a slow search the user has already typed past."""
        self._cancel_checks.check = check

    # --- connections --------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction (one snapshot) with a deadline, on this thread's connection."""
        if self._forbidden_thread == threading.get_ident():
            raise QueryOnForbiddenThread(f"a query on thread {threading.current_thread().name}, "
                                         "which must not query the database")
        conn = self._connection()
        deadline = time.monotonic() + self._timeout_s
        cancelled = getattr(self._cancel_checks, "check", None)
        stop = (lambda: time.monotonic() > deadline) if cancelled is None else (
            lambda: time.monotonic() > deadline or cancelled())
        conn.set_progress_handler(stop, _PROGRESS_EVERY_N_OPS)
        conn.execute("BEGIN")
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                if cancelled is not None and cancelled():
                    raise QueryCancelled("query cancelled: a newer one replaced it") from exc
                raise QueryTimeout(f"query took longer than {self._timeout_s:g} s") from exc
            raise
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")
            conn.set_progress_handler(None, 0)

    def _connection(self) -> sqlite3.Connection:
        thread_id = threading.get_ident()
        with self._lock:
            conn = self._conns.get(thread_id)
        if conn is None:
            if not self.db_path.exists():
                raise DatabaseMissing(f"no database at {self.db_path}")
            conn = open_read_db(self.db_path)
            with self._lock:
                self._conns[thread_id] = conn
        return conn

    def close(self) -> None:
        """Close this store's connections (call from the thread that owns them)."""
        with self._lock:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            try:
                conn.close()
            except sqlite3.ProgrammingError:  # opened on another thread that is gone
                pass


def _orphan_log_rows(conn: sqlite3.Connection, spans: list[StoredSpan]) -> list[tuple]:
    """Log records stored without ids that name one of these spans' response ids."""
    response_ids = sorted({s.genai["response_id"] for s in spans if s.genai.get("response_id")})
    return conn.execute(_ORPHAN_LOG_QUERY, [json.dumps(response_ids)]).fetchall() if response_ids else []


def _with_logs(spans: list[StoredSpan], log_rows: list[tuple],
               orphan_rows: list[tuple]) -> tuple[list[StoredSpan], list[StoredLog]]:
    """The spans with their content (from attributes and log records), and the log records
    (the orphans they adopt included) in time order."""
    # the message readers load only for a trace's detail: listing and counting stay quick to start
    from receiver.genai.assemble import adopt_orphan_logs, attach_log_content, with_content

    logs = [stored_log(row) for row in log_rows]
    logs += adopt_orphan_logs(spans, [stored_log(row) for row in orphan_rows])
    logs.sort(key=lambda r: r.time_or_observed_unix_nano)
    return attach_log_content([with_content(s) for s in spans], logs), logs


# --- the open trace at any size (get_trace_outline, get_span, find_in_trace) ------------

_OUTLINE_QUERY = (
    "SELECT trace_id, span_id, parent_span_id, name, kind, start_time_unix_nano, end_time_unix_nano, status_code, "
    f"status_message, service_name, {', '.join(OUTLINE_GENAI_FIELDS)} "
    "FROM spans WHERE trace_id = ? ORDER BY start_time_unix_nano, span_id")
_HAS_LOGS = "SELECT 1 FROM logs WHERE trace_id = ? LIMIT 1"
_ONE_SPAN_QUERY = _SPAN_QUERY.replace("WHERE s.trace_id = ?", "WHERE s.trace_id = ? AND s.span_id = ?")
_SPAN_LOG_QUERY = _LOG_QUERY.replace("WHERE l.trace_id = ?", "WHERE l.trace_id = ? AND l.span_id = ?")
_LOG_HAS = log_has("l")
_FIND_QUERY = f"""
SELECT s.span_id FROM spans AS s
WHERE s.trace_id = :trace_id AND (
    {span_has('s')}
    OR s.span_id IN (SELECT l.span_id FROM logs AS l WHERE l.trace_id = :trace_id AND l.span_id IS NOT NULL
                     AND {_LOG_HAS})
    OR (s.response_id IS NOT NULL AND s.duplicate_of IS NULL AND EXISTS (
        SELECT 1 FROM logs AS l WHERE l.trace_id IS NULL AND l.response_id = s.response_id
        AND l.service_name IS s.service_name AND {_LOG_HAS})))
ORDER BY s.start_time_unix_nano, s.span_id
"""


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while tens of thousands of records are made: they are not
    garbage, and in an app's large heap the collections it would trigger cost a third of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
