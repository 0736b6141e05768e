"""Deleting stored data: some traces (`delete_traces`) or everything (`clear_all`).

Both run inside a transaction on the write connection (as `DatabaseWriter` jobs) and only
touch the database; what the writer holds in memory about the deleted rows (first reports of
response ids, shared rows known to be stored) it forgets itself, from what they return.

A model call reported twice keeps one first report; the later copies point at it
(`duplicate_of`) and stay out of their traces' totals. Deleting the trace of a first report
would leave its copies pointing at nothing and counted nowhere, so the earliest copy in
another trace becomes the first report: it counts in its trace's totals again and the other
copies point at it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from receiver.errors import TraceNotFound
from receiver.storage import cost_attributes
from receiver.storage.batch_rows import refresh_trace_rollups
from receiver.storage.response_ids import MERGED_THROUGH, Key, service_key
from receiver.storage.text_index import clear_text_index, lower_watermark, unindex_traces
from receiver.storage.usage import add_spans, remove_traces
from receiver.storage.usage import clear as clear_usage

_TRACE_IDS = "(SELECT value FROM json_each(:trace_ids))"
# Ids with anything stored: a rollup, spans, or only log records (their spans never came).
_PRESENT = ("SELECT value FROM json_each(:trace_ids) AS wanted WHERE "
            "EXISTS (SELECT 1 FROM traces WHERE trace_id = wanted.value) "
            "OR EXISTS (SELECT 1 FROM spans WHERE trace_id = wanted.value) "
            "OR EXISTS (SELECT 1 FROM logs WHERE trace_id = wanted.value)")
_FIRST_REPORTS = ("SELECT rowid, span_id, response_id, service_name FROM spans "
                  f"WHERE trace_id IN {_TRACE_IDS} AND response_id IS NOT NULL AND duplicate_of IS NULL")
_RESPONSE_IDS = f"SELECT DISTINCT response_id FROM spans WHERE trace_id IN {_TRACE_IDS} AND response_id IS NOT NULL"
# No index leads from a span to its copies, so this reads the spans table; but a copy is always
# stored after its first report (a larger rowid), so only the rows after the earliest deleted
# first report: deleting a recent trace reads a few recent rows.
_COPIES = ("SELECT rowid, trace_id, span_id, response_id, service_name, duplicate_of FROM spans "
           "WHERE rowid > :after AND duplicate_of IN (SELECT value FROM json_each(:span_ids)) "
           f"AND trace_id NOT IN {_TRACE_IDS} ORDER BY rowid")
_FORGET_FIRST_REPORT = "DELETE FROM response_ids WHERE response_id = ? AND service_key = ? AND span_id = ?"
_NEW_FIRST_REPORT = ("INSERT INTO response_ids (response_id, service_key, span_id) VALUES (?, ?, ?) "
                     "ON CONFLICT DO NOTHING")
# Records that lost their span ids are shown with every span carrying their response id
# (store._ORPHAN_LOG_QUERY), so they go only with the last such span: when no first report of
# that id is left in `response_ids`, which holds one for every span carrying it (the writer
# merges its in-memory ids before it deletes; a copy's first report is found there too).
_DELETE_ORPHAN_LOGS = ("DELETE FROM logs WHERE trace_id IS NULL "
                       "AND response_id IN (SELECT value FROM json_each(:response_ids)) "
                       "AND NOT EXISTS (SELECT 1 FROM response_ids AS r WHERE r.response_id = logs.response_id)")
# Deleting the newest spans gives their rowids to the next ones: were the mark left above them,
# a restart after an unclean stop would not read their response ids back (ResponseIds.load).
_LOWER_MERGED_THROUGH = ("UPDATE writer_state SET value = min(value, coalesce((SELECT max(rowid) FROM spans), 0)) "
                         "WHERE name = ?")

# Rows that spans, log records and metric points refer to by a content hash.
SHARED_TABLES = ("resources", "scopes", "prices")


@dataclass(frozen=True, slots=True)
class DeletedCounts:
    """What a deletion removed. `traces` counts rows of the trace list (as `StoreStats` does);
    `trace_ids` are the ids `delete_traces` found anything stored under (rollup, spans or log
    records), empty after `clear_all`."""

    traces: int = 0
    spans: int = 0
    logs: int = 0
    metric_points: int = 0
    trace_ids: frozenset[str] = frozenset()

    def __add__(self, other: DeletedCounts) -> DeletedCounts:
        return DeletedCounts(self.traces + other.traces, self.spans + other.spans, self.logs + other.logs,
                             self.metric_points + other.metric_points, self.trace_ids | other.trace_ids)


@dataclass(frozen=True, slots=True)
class TraceDeletion:
    """`delete_traces`' result: the counts, and what the writer must change in memory."""

    counts: DeletedCounts
    forgotten: dict[Key, str] = field(default_factory=dict)  # deleted first reports: key -> span id
    promoted: dict[Key, str] = field(default_factory=dict)  # copies that are first reports now
    recounted_trace_ids: frozenset[str] = frozenset()  # other traces whose totals changed


def normalised_trace_ids(trace_ids: Iterable[str]) -> list[str]:
    """Distinct, lower-case (as stored), in the order given."""
    return list(dict.fromkeys(t.strip().lower() for t in trace_ids))


def delete_traces(conn: sqlite3.Connection, trace_ids: Iterable[str], *, must_exist: bool = False) -> TraceDeletion:
    """Delete these traces' spans, log records and rollups (inside the caller's transaction).
    Ids with nothing stored are skipped, or with `must_exist` make it raise `TraceNotFound`
    before anything is deleted."""
    wanted = normalised_trace_ids(trace_ids)
    ids = {"trace_ids": orjson.dumps(wanted).decode()}
    present = [trace_id for (trace_id,) in conn.execute(_PRESENT, ids)]
    if must_exist and len(present) < len(wanted):
        found = set(present)
        raise TraceNotFound("no trace " + ", ".join(t for t in wanted if t not in found))
    if not present:
        return TraceDeletion(DeletedCounts())
    ids = {"trace_ids": orjson.dumps(present).decode()}

    first_reports = conn.execute(_FIRST_REPORTS, ids).fetchall()
    forgotten: dict[Key, str] = {(response_id, service): span_id for _, span_id, response_id, service in first_reports}
    conn.executemany(_FORGET_FIRST_REPORT, [(response_id, service_key(service), span_id)
                                            for _, span_id, response_id, service in first_reports])
    promoted, recounted = _promote_copies(conn, ids, first_reports)
    response_ids = [response_id for (response_id,) in conn.execute(_RESPONSE_IDS, ids)]

    unindex_traces(conn, _TRACE_IDS, ids)
    remove_traces(conn, _TRACE_IDS, ids)
    spans = _changes(conn, f"DELETE FROM spans WHERE trace_id IN {_TRACE_IDS}", ids)
    logs = _changes(conn, f"DELETE FROM logs WHERE trace_id IN {_TRACE_IDS}", ids)
    if response_ids:
        logs += _changes(conn, _DELETE_ORPHAN_LOGS, {"response_ids": orjson.dumps(response_ids).decode()})
    cost_attributes.remove_traces(conn, _TRACE_IDS, ids)
    traces = _changes(conn, f"DELETE FROM traces WHERE trace_id IN {_TRACE_IDS}", ids)
    conn.execute(f"DELETE FROM pins WHERE trace_id IN {_TRACE_IDS}", ids)  # deleted by hand: unpinned
    conn.execute(f"DELETE FROM evaluations WHERE trace_id IN {_TRACE_IDS}", ids)  # annotations too
    conn.execute(_LOWER_MERGED_THROUGH, (MERGED_THROUGH,))
    lower_watermark(conn)
    if recounted:
        with cost_attributes.refreshing(conn, sorted(recounted)):
            refresh_trace_rollups(conn, sorted(recounted))
    return TraceDeletion(DeletedCounts(traces, spans, logs, 0, frozenset(present)), forgotten, promoted,
                         frozenset(recounted))


def _promote_copies(conn: sqlite3.Connection, ids: dict[str, str],
                    first_reports: list[tuple]) -> tuple[dict[Key, str], set[str]]:
    """Make the earliest copy in another trace of each deleted first report the first report
    (counted again), and point the later copies at it. Returns the new first reports and
    their traces."""
    if not first_reports:
        return {}, set()
    params = {**ids, "after": min(rowid for rowid, *_ in first_reports),
              "span_ids": orjson.dumps(sorted({span_id for _, span_id, _, _ in first_reports})).decode()}
    deleted = {(response_id, service, span_id) for _, span_id, response_id, service in first_reports}
    promoted: dict[Key, str] = {}
    recounted: set[str] = set()
    repoint: list[tuple[str | None, int]] = []
    for rowid, trace_id, span_id, response_id, service, duplicate_of in conn.execute(_COPIES, params):
        if (response_id, service, duplicate_of) not in deleted:  # a copy of another call, same span id
            continue
        key = (response_id, service)
        if key in promoted:
            repoint.append((promoted[key], rowid))
        else:  # rows come in rowid order: the first seen was stored first
            promoted[key] = span_id
            recounted.add(trace_id)
            repoint.append((None, rowid))
    conn.executemany("UPDATE spans SET duplicate_of = ? WHERE rowid = ?", repoint)
    counted_now = [rowid for duplicate_of, rowid in repoint if duplicate_of is None]
    if counted_now:  # first reports now: in the usage rollups from here on
        add_spans(conn, "s.rowid IN (SELECT value FROM json_each(:rowids))",
                  {"rowids": orjson.dumps(counted_now).decode()})
    conn.executemany(_NEW_FIRST_REPORT, [(response_id, service_key(service), span_id)
                                         for (response_id, service), span_id in promoted.items()])
    return promoted, recounted


def clear_all(conn: sqlite3.Connection, *, keep_shared_rows: bool = False) -> DeletedCounts:
    """Empty every table of received data (inside the caller's transaction). With
    `keep_shared_rows`, the resource, scope and price rows stay: a receiver in another
    process that still believes them stored then keeps writing complete spans.

    Freed pages are not overwritten (secure_delete FAST, where this SQLite's default is ON):
    that wrote the whole file once more into the write-ahead log (measured: 0.42 s and a WAL
    as big as the database, against 0.045 s and 0.2 MB for 85 MB of spans). The writer's VACUUM
    afterwards drops the freed pages from the file instead."""
    (secure_delete,) = conn.execute("PRAGMA secure_delete").fetchone()
    conn.execute("PRAGMA secure_delete = FAST")
    try:
        clear_text_index(conn)
        clear_usage(conn)
        cost_attributes.clear(conn)
        traces, spans, logs, metric_points = [_changes(conn, f"DELETE FROM {table}")
                                              for table in ("traces", "spans", "logs", "metric_points")]
        conn.execute("DELETE FROM response_ids")
        conn.execute("DELETE FROM pins")
        conn.execute("DELETE FROM evaluations")
        conn.execute("DELETE FROM writer_state WHERE name = ?", (MERGED_THROUGH,))  # merged through nothing
        if not keep_shared_rows:
            for table in SHARED_TABLES:
                conn.execute(f"DELETE FROM {table}")
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(secure_delete)}")
    return DeletedCounts(traces, spans, logs, metric_points)


def _changes(conn: sqlite3.Connection, sql: str, params: dict | tuple = ()) -> int:
    """Run one statement; return the rows it changed."""
    return conn.execute(sql, params).rowcount  # the statement's own rows, not its triggers
