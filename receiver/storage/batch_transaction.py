"""`BatchTransaction`: one batch of requests written and committed in one transaction, with the
per-trace rollups updated in it (`DatabaseWriter` decides when; this is the how). Should one
request fail, the writer runs the batch again isolated: a savepoint per request, so that one
failing request does not sink the others."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

import orjson

from receiver.errors import DiskFull, StorageFailed
from receiver.storage import cost_attributes
from receiver.storage.batch_rows import (
    LOG_ROW_SQL,
    METRIC_ROW_SQL,
    SHARED_ROWS,
    insert_rows,
    insert_span_rows,
    refresh_trace_rollups,
    span_rows_json,
)
from receiver.storage.evaluation_rows import EvaluationLinks, insert_evaluations
from receiver.storage.response_ids import ResponseIds
from receiver.storage.storage_health import StorageHealth, is_disk_full
from receiver.storage.usage import add_new_spans
from receiver.storage.write_tickets import WriteTicket, Written

__all__ = ["WRITE_ERRORS", "BatchTransaction"]

log = logging.getLogger(__name__)

# A value SQLite cannot hold (an integer beyond 64 bits) fails its request, never the writer.
WRITE_ERRORS = (sqlite3.Error, orjson.JSONEncodeError, OverflowError)
MAX_KNOWN_IDS = 100_000  # shared rows known to be stored, per table; forgotten past this (then re-inserted, ignored)


class BatchTransaction:
    """Used by the writer thread only."""

    def __init__(self, response_ids: ResponseIds, health: StorageHealth, clock_ns: Callable[[], int],
                 evaluation_links: EvaluationLinks | None = None) -> None:
        self._response_ids = response_ids
        self._evaluation_links = evaluation_links or EvaluationLinks()
        self._health = health
        self._clock_ns = clock_ns
        # the shared rows the database is known to hold, to skip their statements
        self._known_ids: dict[str, set[int]] = {table: set() for table, _ in SHARED_ROWS}

    def forget_shared_rows(self) -> None:
        """After everything was deleted."""
        for known in self._known_ids.values():
            known.clear()

    def write(self, conn: sqlite3.Connection, tickets: list[WriteTicket], *,
              isolated: bool) -> tuple[Written, set[str]]:
        """Write and commit the tickets; return what was new and the traces it touched. With
        `isolated`, each request is in a savepoint and a failing one is rolled back alone
        (its ticket keeps the error); without, any failure rolls everything back and raises."""
        touched: set[str] = set()  # traces with new data
        span_traces: set[str] = set()  # ... of which new spans, whose rollups need updating
        written = Written()
        new_ids: dict[str, set[int]] = {table: set() for table, _ in SHARED_ROWS}  # known once committed
        conn.execute("BEGIN")
        try:
            (spans_before,) = conn.execute("SELECT coalesce(max(rowid), 0) FROM spans").fetchone()
            self._response_ids.look_up(conn, [ticket.batch.response_keys for ticket in tickets])
            for ticket in tickets:
                ticket.error, ticket.written = None, Written()
                if isolated:
                    conn.execute("SAVEPOINT request")
                    try:
                        ticket.written = self._insert(conn, ticket, new_ids)
                    except WRITE_ERRORS as exc:
                        ticket.error = self.error(exc, f"writing a request of {ticket.batch.size} items failed")
                        self._response_ids.forget_request()
                        conn.execute("ROLLBACK TO request")
                        continue
                    finally:
                        conn.execute("RELEASE request")
                else:
                    ticket.written = self._insert(conn, ticket, new_ids)
                written += ticket.written
                if ticket.written.spans:
                    span_traces.update(ticket.batch.trace_ids)
                if ticket.written.spans or ticket.written.logs:
                    touched.update(ticket.batch.trace_ids)
            if span_traces:
                with cost_attributes.refreshing(conn, sorted(span_traces)):
                    refresh_trace_rollups(conn, sorted(span_traces), self._clock_ns())
                add_new_spans(conn, spans_before)
            conn.execute("COMMIT")
        except BaseException:
            self._response_ids.rollback()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._response_ids.commit()
        for table, new in new_ids.items():
            known = self._known_ids[table]
            if len(known) + len(new) > MAX_KNOWN_IDS:
                known.clear()
            known |= new
        return written, touched

    def error(self, exc: Exception, doing: str) -> StorageFailed:
        """What the request's sender is told. A full disk is expected, and retried by every exporter
        until there is room: said once (`health`), not logged with its traceback each time."""
        if is_disk_full(exc):
            self._health.disk_full()
            return DiskFull("the disk is full: the database cannot grow; retry later")
        log.exception("%s", doing)
        return StorageFailed(f"database write failed: {exc}")

    def _insert(self, conn: sqlite3.Connection, ticket: WriteTicket, new_ids: dict[str, set[int]]) -> Written:
        """Write one request's rows; return how many of each were new."""
        batch = ticket.batch
        self._response_ids.begin_request()
        for table, insert in SHARED_ROWS:
            known = self._known_ids[table]
            records = [r for r in getattr(batch, table) if r[0] not in known]
            if records:
                conn.executemany(insert, records)
                new_ids[table].update(r[0] for r in records)
        rows = self._response_ids.mark_duplicates(batch.span_rows, batch.response_keys)
        rows_json = ticket.span_rows_json if rows is batch.span_rows else span_rows_json(rows)
        spans = insert_span_rows(conn, rows, rows_json)
        if spans < len(rows):  # some were stored already (re-sent)
            self._response_ids.confirm(conn)
        links = self._evaluation_links
        if batch.response_keys:
            links.note_calls(conn, [(response_id, rows[i][0], rows[i][1])
                                    for i, (response_id, _) in batch.response_keys])
        if batch.evaluation_rows:
            evaluations = links.linked(batch.evaluation_rows)
            insert_evaluations(conn, evaluations)
            links.note_unlinked(evaluations)
        return Written(spans, insert_rows(conn, "logs", LOG_ROW_SQL, batch.log_rows),
                       insert_rows(conn, "metric_points", METRIC_ROW_SQL, batch.metric_rows))
