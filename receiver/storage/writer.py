"""`DatabaseWriter`: the only thread that writes to the database.

Requests are queued as tickets; the writer thread takes as many as fit in one batch, writes
them in one transaction (`batch_transaction`: should one request fail, the batch goes again
with a savepoint per request, so that it does not sink the others), updates the per-trace
rollups in the same transaction, commits, and only then releases the waiting requests and
tells subscribers.
The queue is bounded in spans: when full, `submit` raises `AtCapacity` at once and the
transport answers "retry later".

Other work on the database (deleting traces, clearing everything) comes as jobs (`run_job`):
a function of the connection that the writer thread runs between two batches, ahead of the
spans still queued, in a transaction of its own. Jobs are not counted against the queue's
bound; the ingest loop only checks whether any is waiting. Retention (`retention_runner`)
is a job the writer gives itself, every few seconds and chunk after chunk while over budget.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from receiver.errors import AtCapacity, DiskFull, StorageFailed, StoreClosed
from receiver.events import IngestEvent, Subscribers
from receiver.records import WriteBatch
from receiver.storage import cost_attributes
from receiver.storage.batch_transaction import WRITE_ERRORS, BatchTransaction
from receiver.storage.checkpointer import CHECKPOINT_EVERY_ROWS, Checkpointer
from receiver.storage.deletion import DeletedCounts, TraceDeletion, clear_all, delete_traces, normalised_trace_ids
from receiver.storage.evaluation_rows import EvaluationLinks, remove_annotation, set_annotation
from receiver.storage.file_space import limit_wal, truncate_wal, vacuum_if_mostly_free
from receiver.storage.pins import set_pinned
from receiver.storage.read_db import open_read_db
from receiver.storage.response_ids import MERGE_AT, ResponseIds
from receiver.storage.retention import expired_trace_ids
from receiver.storage.retention_budget import RetentionBudget
from receiver.storage.retention_runner import RetentionRunner, RetentionTurn
from receiver.storage.schema import open_write_db
from receiver.storage.set_aside import set_aside_if_unusable
from receiver.storage.storage_health import StorageHealth, is_disk_full
from receiver.storage.text_index import index_pending
from receiver.storage.write_tickets import Job, WriteTicket, Written
from receiver.storage.writer_lock import WriterLock

log = logging.getLogger(__name__)
T = TypeVar("T")

IDLE_CHECKPOINT_S = 0.5  # after this long with nothing to write, have the WAL folded into the database
# Full-text indexing waits for a pause this long in the traffic, so that it never slows a
# burst of exports down; past TEXT_BACKLOG_MAX rows waiting it goes on between batches anyway
# (readers scan what waits: that must stay small).
INDEX_AFTER_IDLE_S = 0.05
TEXT_BACKLOG_MAX = 50_000
STARTUP_TIMEOUT_S = 30.0  # opening and migrating a large database can take a moment
CLOSE_TIMEOUT_S = 30.0



class DatabaseWriter:
    def __init__(self, db_path: Path, *, queue_spans: int, batch_spans: int,
                 subscribers: Subscribers | None = None,
                 clock_ns: Callable[[], int] = time.time_ns, holder: str = "",
                 budget: RetentionBudget | None = None) -> None:
        self._db_path = db_path
        # one writer per file; `holder` says who in the other's message ("window", "serve"…)
        self._lock = WriterLock(db_path, holder)
        self.health = StorageHealth(db_path)  # e.g. disk full: for the user, while it lasts
        self.retention = RetentionRunner(budget or RetentionBudget(), self.health, clock_ns=clock_ns)
        # The log is checkpointed (and so kept) within the budget's share for it.
        self._checkpoint_every_rows = min(CHECKPOINT_EVERY_ROWS, max(256, self.retention.budget.wal_bytes // 6144))
        self._queue_spans = queue_spans
        self._batch_spans = batch_spans
        self._subscribers = subscribers or Subscribers()
        self._clock_ns = clock_ns
        self._cond = threading.Condition()
        self._queue: deque[WriteTicket] = deque()
        self._jobs: deque[Job] = deque()
        self._pending_spans = 0  # queued or being written
        self._in_flight = 0
        self._closing = False
        self._ready = threading.Event()
        self._startup_error: Exception | None = None
        self.set_aside = ""  # what was done with an unusable file found at the path (`set_aside`)
        self._thread = threading.Thread(target=self._run, name="tracepane-writer", daemon=True)
        # writer-thread state: the shared rows the database is known to hold, to skip statements
        self._response_ids = ResponseIds()  # finds model calls reported twice (schema m006)
        self._evaluation_links = EvaluationLinks()  # results known by response id, linked to their spans
        self._batches = BatchTransaction(self._response_ids, self.health, clock_ns, self._evaluation_links)
        self._checkpointer = Checkpointer(db_path)
        self._rows_since_checkpoint = 0
        self._vacuum_wanted = False  # after a clear: the file is nearly all free pages
        # rows waiting for the full-text index: a guess, corrected by each chunk indexed (an
        # earlier run may have left some)
        self._text_backlog = TEXT_BACKLOG_MAX
        self._indexing = False  # indexing chunk after chunk while nothing else comes

    # --- called from other threads ------------------------------------------------------

    def start(self) -> None:
        """Take the file's writer lock (`DatabaseInUse` if another Tracepane holds it: nothing is
        touched, not even an unusable file set aside), then open, migrate and start writing."""
        self._lock.acquire()
        try:
            self._thread.start()
        except BaseException:
            self._lock.release()
            raise
        if not self._ready.wait(STARTUP_TIMEOUT_S):
            with self._cond:  # the thread stops (and lets go of the lock) once it has opened
                self._closing = True
            raise StorageFailed(f"opening {self._db_path} took longer than {STARTUP_TIMEOUT_S:g} s")
        if self._startup_error is not None:
            self._thread.join()  # it is returning: the lock is free when this raises
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

    def wait_indexed(self, timeout: float = 10.0) -> bool:
        """Wait until everything written so far is in the full-text index; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight and not self._text_backlog,
                                       timeout)

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

    def run_job(self, job: Callable[[sqlite3.Connection], T], timeout: float) -> T:
        """Have the writer thread run `job(connection)` between two batches, ahead of the spans
        still queued, in a transaction of its own: committed when it returns, rolled back when
        it raises. Returns its result, or raises its exception, here; `StorageFailed` if it has
        not finished within `timeout` (one not yet started is withdrawn; one running finishes
        or rolls back on its own), `StoreClosed` when the writer is closing or not running."""
        return self._call(Job(job), timeout)

    def delete_traces(self, trace_ids: Iterable[str], timeout: float, *, must_exist: bool = False) -> DeletedCounts:
        """Delete these traces (see `deletion.delete_traces`) and forget them here too; the
        subscribers are told which were deleted. Raises `TraceNotFound` (nothing deleted) when
        `must_exist` and some id has nothing stored, `StorageFailed` when the database fails."""
        wanted = normalised_trace_ids(trace_ids)
        if not wanted:
            return DeletedCounts()
        # with every first report in the table, the deletion sees which response ids live on
        deletion: TraceDeletion = self._call(Job(lambda conn: delete_traces(conn, wanted, must_exist=must_exist),
                                                  before=self._merge_response_ids,
                                                  after_commit=self._forget_deleted), timeout, "deleting traces")
        return deletion.counts

    def set_pinned(self, trace_ids: Iterable[str], pinned: bool, timeout: float) -> frozenset[str]:
        """Pin or unpin these stored traces (`pins.set_pinned`); the subscribers hear of the
        ones whose pin changed, like of new data, so a live list redraws them."""
        wanted = normalised_trace_ids(trace_ids)

        def tell(changed: frozenset[str]) -> None:
            if changed:
                self._subscribers.publish(IngestEvent(changed, 0))

        return self._call(Job(lambda conn: set_pinned(conn, wanted, pinned), after_commit=tell), timeout,
                          "pinning")

    def set_annotation(self, trace_id: str, span_id: str | None, timeout: float, **fields: Any) -> tuple:
        """A person's mark on a span or trace (`evaluation_rows.set_annotation`: passed, name,
        label, score, note); the subscribers hear of the trace like of new data."""
        return self._call(Job(lambda conn: set_annotation(conn, trace_id, span_id, **fields),
                              after_commit=lambda _: self._tell_changed(trace_id)), timeout, "annotating")

    def remove_annotation(self, trace_id: str, span_id: str | None, timeout: float) -> bool:
        return self._call(Job(lambda conn: remove_annotation(conn, trace_id, span_id),
                              after_commit=lambda _: self._tell_changed(trace_id)), timeout, "annotating")

    def _tell_changed(self, trace_id: str) -> None:
        self._subscribers.publish(IngestEvent(frozenset({trace_id}), 0))

    def delete_older_than(self, before_ns: int, timeout: float) -> DeletedCounts:
        """Retention by age: delete the unpinned traces that ended before `before_ns`, oldest
        first (`retention.expired_trace_ids`), like `delete_traces`: a chunk per job, so ingest
        waits for one chunk at most. `timeout` is per chunk."""
        total = DeletedCounts()
        while True:
            deletion: TraceDeletion = self._call(
                Job(lambda conn: delete_traces(conn, expired_trace_ids(conn, before_ns)),
                     before=self._merge_response_ids, after_commit=self._forget_deleted), timeout,
                "applying retention")
            if not deletion.counts.trace_ids:
                return total
            total += deletion.counts

    def set_budget(self, budget: RetentionBudget, timeout: float) -> None:
        """Retention keeps to `budget` from now on; its next turn comes at once."""
        def change(conn: sqlite3.Connection) -> None:
            self.retention.change_budget(budget)
            self._checkpoint_every_rows = min(CHECKPOINT_EVERY_ROWS, max(256, budget.wal_bytes // 6144))

        self._call(Job(change, before=lambda conn: limit_wal(conn, budget)), timeout, "changing the budget")

    def clear_all(self, timeout: float, *, keep_shared_rows: bool = False) -> DeletedCounts:
        """Delete everything received (see `deletion.clear_all`) and forget it here too; the
        subscribers are told. The file gives back its space when the writer next idles."""
        return self._call(Job(lambda conn: clear_all(conn, keep_shared_rows=keep_shared_rows),
                               after_commit=lambda _: self._forget_all(keep_shared_rows)), timeout, "clearing")

    def _call(self, job: Job[T], timeout: float, doing: str = "") -> T:
        """Queue the job and wait for it; with `doing`, a database error is a `StorageFailed`."""
        with self._cond:
            if self._closing or not self._thread.is_alive():
                raise StoreClosed("the database writer is not running")
            self._jobs.append(job)
            self._cond.notify_all()
        if not job._done.wait(timeout):
            with self._cond:
                if not job.started:
                    self._jobs.remove(job)
                    raise StorageFailed(f"the database was busy for {timeout:g} s; nothing was changed, retry later")
            raise StorageFailed(f"the change did not finish within {timeout:g} s; it goes on (or rolls back) "
                                "in the background")
        if isinstance(job.error, sqlite3.Error) and doing:
            failed = DiskFull if is_disk_full(job.error) else StorageFailed
            raise failed(f"{doing} failed: {job.error}; nothing was changed") from job.error
        if job.error is not None:
            raise job.error
        return job.result

    # --- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._write_until_closed()
        finally:  # after the connection is closed: the next writer finds the file settled
            self._lock.release()

    def _write_until_closed(self) -> None:
        try:
            self.set_aside = set_aside_if_unusable(self._db_path)
            db = open_write_db(self._db_path)
        except Exception as exc:  # reported to start(), never raised across threads
            self._startup_error = StorageFailed(f"cannot open database {self._db_path}: {exc}")
            self._ready.set()
            return
        try:
            # through a connection of its own with the default small cache: read through the
            # writer's (64 MiB) the table would stay in memory for good (+43 MiB at a million spans)
            loading = open_read_db(self._db_path)
            try:
                self._response_ids.load(loading)
                self._evaluation_links.load(loading)
            finally:
                loading.close()
        except sqlite3.Error as exc:
            db.close()
            self._startup_error = StorageFailed(f"cannot read database {self._db_path}: {exc}")
            self._ready.set()
            return
        limit_wal(db.conn, self.retention.budget)
        self._checkpointer.start()
        self._ready.set()
        wal_dirty = False
        try:
            while True:
                if self.retention.due():
                    self._jobs.append(Job(self.retention.turn, before=self._merge_response_ids,
                                          after_commit=self._after_retention))
                if self._jobs:
                    self._run_jobs(db.conn)
                    wal_dirty = True
                if self._text_backlog:
                    timeout = 0 if self._indexing else INDEX_AFTER_IDLE_S
                else:
                    timeout = IDLE_CHECKPOINT_S if wal_dirty else None
                retention_in = self.retention.seconds_until_due()  # runs when idle too
                woken_for_retention = retention_in is not None and (timeout is None or retention_in < timeout)
                if woken_for_retention:
                    timeout = retention_in
                tickets = self._take_batch(timeout)
                self._indexing = tickets is None and self._text_backlog > 0
                if self._indexing:  # a pause in the traffic: index what was written
                    self._index_text(db.conn)
                    wal_dirty = True
                    continue
                if tickets is None and woken_for_retention:  # not idle long: only retention's turn
                    continue
                if tickets is None:  # idle: a good moment for the merge and the checkpoint
                    self._merge_response_ids(db.conn)
                    if self._vacuum_wanted or self.retention.budget.max_bytes:
                        self._vacuum(db.conn)
                    if self.retention.budget.max_bytes:  # the log counts against the budget
                        self._truncate_wal(db.conn)
                    self._checkpointer.request()
                    self._rows_since_checkpoint = 0
                    wal_dirty = False
                    continue
                if not tickets:
                    if self._jobs:
                        continue
                    return
                written = self._write(db, tickets)
                self._rows_since_checkpoint += written
                if self._text_backlog > TEXT_BACKLOG_MAX:
                    self._index_text(db.conn)
                if self._response_ids.unmerged >= MERGE_AT:
                    self._merge_response_ids(db.conn)
                if self._rows_since_checkpoint >= self._checkpoint_every_rows:
                    self._checkpointer.request()
                    self._rows_since_checkpoint = 0
                wal_dirty = True
        finally:
            self._checkpointer.close(CLOSE_TIMEOUT_S)
            self._merge_response_ids(db.conn)
            if self._vacuum_wanted:
                self._vacuum(db.conn)
            with self._cond:  # left by a writer thread that failed
                jobs, self._jobs = list(self._jobs), deque()
            for job in jobs:
                job.finish(error=StoreClosed("the database writer stopped"))
            db.close()

    def _run_jobs(self, conn: sqlite3.Connection) -> None:
        while True:
            with self._cond:
                if not self._jobs:
                    return
                job = self._jobs.popleft()
                job.started = True
            try:
                if job.before is not None:
                    job.before(conn)
                conn.execute("BEGIN")
                try:
                    result = job.work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except Exception as exc:  # the caller's to handle; the writer goes on
                if is_disk_full(exc):
                    self.health.disk_full()
                if job.work == self.retention.turn:  # nobody waits for it: said here, tried again later
                    self.retention.finished(None)
                    _warn_will_retry("a retention turn failed", exc)
                job.finish(error=exc)
                continue
            except BaseException:
                job.finish(error=StoreClosed("the database writer stopped"))
                raise
            if job.after_commit is not None:
                try:
                    job.after_commit(result)
                except Exception:
                    log.exception("after a job's commit")
            job.finish(result)

    def _forget_deleted(self, deletion: TraceDeletion) -> None:
        self._response_ids.forget_first_reports(deletion.forgotten)
        self._response_ids.note_stored(deletion.promoted)
        if deletion.counts.trace_ids:
            self._subscribers.publish(IngestEvent(deletion.recounted_trace_ids, 0,
                                                  deleted_trace_ids=deletion.counts.trace_ids))

    def _after_retention(self, turn: RetentionTurn) -> None:
        self._forget_deleted(turn.deletion)
        self.retention.finished(turn)

    def _forget_all(self, kept_shared_rows: bool) -> None:
        self._response_ids.clear()
        self._evaluation_links.clear()
        if not kept_shared_rows:
            self._batches.forget_shared_rows()
        self._vacuum_wanted = True
        self._subscribers.publish(IngestEvent(frozenset(), 0, cleared=True))

    def _vacuum(self, conn: sqlite3.Connection) -> None:
        self._vacuum_wanted = False
        try:
            vacuum_if_mostly_free(conn)
        except sqlite3.Error as exc:  # the free pages are reused by later spans anyway
            _warn_will_retry("VACUUM of the database's free pages failed", exc)

    def _truncate_wal(self, conn: sqlite3.Connection) -> None:
        try:
            truncate_wal(conn)
        except sqlite3.Error as exc:
            _warn_will_retry("truncating the write-ahead log failed", exc)

    def _index_text(self, conn: sqlite3.Connection) -> None:
        """Index the pending text, and read the cost-by-attribute values of the same spans."""
        try:
            indexed = index_pending(conn, also=cost_attributes.take_values)
        except sqlite3.Error as exc:  # the rows stay pending (readers scan them): tried after the next write
            _warn_will_retry("full-text indexing failed", exc)
            indexed = 0
        if indexed:  # cost by attribute may have changed: readers of it look again (told before
            # `wait_indexed` returns, so a caller that waited hears nothing of it after)
            self._subscribers.publish(IngestEvent(frozenset(), 0, derived_updated=True))
        with self._cond:
            self._text_backlog = max(self._text_backlog - indexed, 1) if indexed else 0
            self._cond.notify_all()

    def _merge_response_ids(self, conn: sqlite3.Connection) -> None:
        try:
            self._response_ids.merge(conn)
        except sqlite3.Error as exc:  # the ids stay in memory (and in the spans): tried again later
            _warn_will_retry("merging response ids failed", exc)

    def _take_batch(self, idle_timeout: float | None) -> list[WriteTicket] | None:
        """The next batch; [] when a job is waiting or when closing with nothing left; None
        after `idle_timeout` idle."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._queue or self._jobs or self._closing, idle_timeout):
                return None
            tickets: list[WriteTicket] = []
            spans = 0
            while self._queue and (not tickets or spans + self._queue[0].batch.size <= self._batch_spans):
                ticket = self._queue.popleft()
                tickets.append(ticket)
                spans += ticket.batch.size
            self._in_flight = len(tickets)
            return tickets

    def _write(self, db, tickets: list[WriteTicket]) -> int:
        """One transaction for the batch; returns the rows written. Few statements per batch:
        each one gives up the GIL and must win it back from the decoding threads. So the
        requests go in together, and only when one fails does the batch go again with a
        savepoint per request, so that one failing request does not sink the others."""
        conn = db.conn
        error: Exception | None = None
        written, touched = Written(), set()
        try:
            try:
                written, touched = self._batches.write(conn, tickets, isolated=False)
            except WRITE_ERRORS as exc:
                if len(tickets) == 1 or is_disk_full(exc):  # no room: none of them would fit alone either
                    raise
                written, touched = self._batches.write(conn, tickets, isolated=True)
        except WRITE_ERRORS as exc:
            error = self._batches.error(exc, f"writing a batch of {len(tickets)} requests failed")
        if error is None and not any(isinstance(t.error, DiskFull) for t in tickets):
            self.health.writes_succeed()
        with self._cond:
            self._pending_spans -= sum(t.batch.size for t in tickets)
            self._in_flight = 0
            if error is None:
                self._text_backlog += written.spans + written.logs
            self._cond.notify_all()
        for ticket in tickets:
            ticket._finish(error or ticket.error)
        if error is None and written != Written():
            self._subscribers.publish(IngestEvent(frozenset(touched), written.spans, written.logs,
                                                  written.metric_points))
        return 0 if error else written.spans + written.logs + written.metric_points

def _warn_will_retry(what: str, exc: Exception) -> None:
    """Background work that fails is tried again later. A full disk is no surprise, and the user
    hears of it once the writes fail (`health`): a line at info level, no more."""
    if is_disk_full(exc):
        log.info("%s (%s); will retry", what, exc)
    else:
        log.warning("%s; will retry", what, exc_info=exc)
