"""`SpanWriter`: the only thread that writes to the database.

Requests are queued as tickets; the writer thread takes as many as fit in one batch, writes
them in one transaction (a savepoint per request, so one failing request does not sink the
others), updates the per-trace rollups in the same transaction, commits, and only then
releases the waiting requests and tells subscribers. The queue is bounded in spans: when
full, `submit` raises `AtCapacity` at once and the transport answers "retry later".
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from receiver.errors import AtCapacity, StorageFailed, StoreClosed
from receiver.events import IngestEvent, Subscribers
from receiver.records import SPAN_COLUMNS, WriteBatch
from receiver.storage.schema import open_write_db

log = logging.getLogger(__name__)

IDLE_CHECKPOINT_S = 0.5  # after this long with nothing to write, fold the WAL into the database
STARTUP_TIMEOUT_S = 30.0  # opening and migrating a large database can take a moment
CLOSE_TIMEOUT_S = 30.0

_INSERT_RESOURCE = "INSERT OR IGNORE INTO resources VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_SCOPE = "INSERT OR IGNORE INTO scopes VALUES (?, ?, ?, ?, ?, ?)"
# A re-sent span (same trace and span id) is ignored: spans are immutable once ended, and
# exporters re-send whole batches after a timeout, so the first copy is kept.
# Rows go in as multi-row INSERTs, a few hundred rows per SQLite call: the sqlite3 module
# releases and retakes the GIL around every call, and while decode threads are busy each
# retake can wait a whole switch interval (measured: row-at-a-time inserts fell from 74,000
# to 127 rows/s beside one busy decoding thread).
_SPAN_ROW_SQL = "(" + ", ".join("?" * len(SPAN_COLUMNS)) + ")"
_MAX_ROWS_PER_STATEMENT = 500


# Recomputed from the stored spans of every touched trace in one statement, so arrival order
# never matters: the head is the earliest span without a parent, else (root not arrived yet)
# the earliest span.
_UPSERT_TRACES = """
INSERT INTO traces (trace_id, root_span_id, root_name, has_root, service_name,
                    start_time_unix_nano, end_time_unix_nano, span_count, error_count,
                    updated_unix_nano)
SELECT agg.trace_id, head.span_id, head.name, head.parent_span_id IS NULL, head.service_name,
       agg.start_ns, agg.end_ns, agg.n, agg.errors, :now
FROM (SELECT trace_id, min(start_time_unix_nano) AS start_ns, max(end_time_unix_nano) AS end_ns,
             count(*) AS n, sum(status_code = 2) AS errors
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
    updated_unix_nano = excluded.updated_unix_nano
"""


class WriteTicket:
    """One request's batch on its way to the database; `wait` returns once it is committed."""

    __slots__ = ("batch", "_done", "error", "spans_written")

    def __init__(self, batch: WriteBatch) -> None:
        self.batch = batch
        self._done = threading.Event()
        self.error: Exception | None = None
        self.spans_written = 0

    def wait(self, timeout: float) -> int:
        """Block until committed; return the number of new spans. Raises the write's error."""
        if not self._done.wait(timeout):
            raise StorageFailed(f"the database did not commit within {timeout:g} s; retry later")
        if self.error is not None:
            raise self.error
        return self.spans_written

    def _finish(self, error: Exception | None = None) -> None:
        self.error = error
        self._done.set()


class SpanWriter:
    def __init__(self, db_path: Path, *, queue_spans: int, batch_spans: int,
                 subscribers: Subscribers | None = None,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._db_path = db_path
        self._queue_spans = queue_spans
        self._batch_spans = batch_spans
        self._subscribers = subscribers or Subscribers()
        self._clock_ns = clock_ns
        self._cond = threading.Condition()
        self._queue: deque[WriteTicket] = deque()
        self._pending_spans = 0  # queued or being written
        self._in_flight = 0
        self._closing = False
        self._ready = threading.Event()
        self._startup_error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="tracepane-writer", daemon=True)

    # --- called from other threads ------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT_S):
            raise StorageFailed(f"opening {self._db_path} took longer than {STARTUP_TIMEOUT_S:g} s")
        if self._startup_error is not None:
            raise self._startup_error

    def submit(self, batch: WriteBatch) -> WriteTicket:
        ticket = WriteTicket(batch)
        size = batch.size
        with self._cond:
            if self._closing:
                raise StoreClosed("the receiver is shutting down")
            # An empty queue always takes a request, however big, so no request can be
            # refused forever; otherwise the bound keeps memory flat under load.
            if self._pending_spans and self._pending_spans + size > self._queue_spans:
                raise AtCapacity(f"{self._pending_spans} spans are waiting to be written; retry later")
            self._queue.append(ticket)
            self._pending_spans += size
            self._cond.notify_all()
        return ticket

    @property
    def pending_spans(self) -> int:
        with self._cond:
            return self._pending_spans

    def wait_for_pending(self, spans: int, timeout: float) -> bool:
        """Wait until at least `spans` spans are queued or being written. False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending_spans >= spans, timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is committed. False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Refuse new work, write what is queued, and stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("writer thread did not stop within %.0f s; %d spans unwritten",
                          timeout, self._pending_spans)

    # --- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            db = open_write_db(self._db_path)
        except Exception as exc:  # reported to start(), never raised across threads
            self._startup_error = StorageFailed(f"cannot open database {self._db_path}: {exc}")
            self._ready.set()
            return
        self._ready.set()
        wal_dirty = False
        try:
            while True:
                tickets = self._take_batch(IDLE_CHECKPOINT_S if wal_dirty else None)
                if tickets is None:  # idle: a good moment for the checkpoint
                    _checkpoint(db)
                    wal_dirty = False
                    continue
                if not tickets:
                    return
                self._write(db, tickets)
                wal_dirty = True
        finally:
            db.close()

    def _take_batch(self, idle_timeout: float | None) -> list[WriteTicket] | None:
        """The next batch; [] when closing with nothing left; None after `idle_timeout` idle."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._queue or self._closing, idle_timeout):
                return None
            tickets: list[WriteTicket] = []
            spans = 0
            while self._queue and (not tickets or spans + self._queue[0].batch.size <= self._batch_spans):
                ticket = self._queue.popleft()
                tickets.append(ticket)
                spans += ticket.batch.size
            self._in_flight = len(tickets)
            return tickets

    def _write(self, db, tickets: list[WriteTicket]) -> None:
        touched: set[str] = set()
        written = 0
        error: Exception | None = None
        try:
            with db.atomic():
                for ticket in tickets:
                    try:
                        with db.atomic():  # savepoint: a failing request leaves the others intact
                            ticket.spans_written = _insert(db.conn, ticket.batch)
                    except sqlite3.Error as exc:
                        log.exception("writing a request of %d items failed", ticket.batch.size)
                        ticket.error = StorageFailed(f"database write failed: {exc}")
                        continue
                    if ticket.spans_written:
                        written += ticket.spans_written
                        touched.update(ticket.batch.trace_ids)
                if touched:
                    db.conn.execute(_UPSERT_TRACES, {"trace_ids": json.dumps(sorted(touched)),
                                                     "now": self._clock_ns()})
        except sqlite3.Error as exc:
            log.exception("committing a batch of %d requests failed", len(tickets))
            error = StorageFailed(f"database commit failed: {exc}")
        with self._cond:
            self._pending_spans -= sum(t.batch.size for t in tickets)
            self._in_flight = 0
            self._cond.notify_all()
        for ticket in tickets:
            ticket._finish(error or ticket.error)
        if error is None and written:
            self._subscribers.publish(IngestEvent(frozenset(touched), written))


def _checkpoint(db) -> None:
    try:  # PASSIVE: never waits for readers; what a reader still needs stays in the WAL
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        log.warning("WAL checkpoint failed; will retry when next idle", exc_info=True)


def _insert(conn: sqlite3.Connection, batch: WriteBatch) -> int:
    """Write one request's rows; return how many spans were new."""
    conn.executemany(_INSERT_RESOURCE, batch.resources)
    conn.executemany(_INSERT_SCOPE, batch.scopes)
    before = conn.total_changes
    _insert_rows(conn, "spans", _SPAN_ROW_SQL, batch.span_rows)
    return conn.total_changes - before


def _insert_rows(conn: sqlite3.Connection, table: str, row_sql: str, rows: tuple[tuple, ...]) -> None:
    """INSERT … VALUES (…), (…), … in chunks that fit SQLite's bound-variable limit.
    A row already stored (same key) is skipped: ingest is idempotent."""
    if not rows:
        return
    per_statement = min(_MAX_ROWS_PER_STATEMENT,
                        conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(rows[0]))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        sql = f"INSERT INTO {table} VALUES {', '.join([row_sql] * len(chunk))} ON CONFLICT DO NOTHING"
        conn.execute(sql, [value for row in chunk for value in row])
