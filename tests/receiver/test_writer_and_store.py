"""The writer and the read API: idempotent, order-independent ingest with per-trace rollups
kept in the same transaction; WAL so readers never block the receiver; paged listing."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading

import pytest

from receiver.errors import TraceNotFound
from receiver.records import TraceFilter
from receiver.storage.schema import open_write_db
from receiver.storage.store import QueryOnForbiddenThread, TraceStore
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


def _send(receiver, *spans, service="svc"):
    answer = post(receiver.addresses.http_port, make_request(*spans, service=service).SerializeToString())
    assert answer.status == 200, answer.body


def test_a_resent_span_is_stored_once_and_counted_once(receiver, store):
    trace_id = new_trace_id()
    spans = [make_span(trace_id=trace_id, name=f"s{i}") for i in range(3)]
    _send(receiver, *spans)
    _send(receiver, *spans)  # an exporter retrying after a timeout
    _send(receiver, spans[0])
    assert len(store.get_trace(trace_id.hex()).spans) == 3
    assert store.get_trace_summary(trace_id.hex()).span_count == 3
    assert store.stats().spans == 3


def test_children_before_parent_across_requests_give_the_same_rollup(receiver, store):
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="root", start_ns=1_000_000_000_000_000_000, duration_ns=10_000)
    child = make_span(trace_id=trace_id, parent_span_id=root.span_id, name="child",
                      start_ns=root.start_time_unix_nano + 10, duration_ns=20_000, error=True)
    _send(receiver, child, service="worker")
    early = store.get_trace_summary(trace_id.hex())
    assert (early.has_root, early.root_name, early.span_count, early.error_count) == (False, "child", 1, 1)

    _send(receiver, root, service="gateway")
    late = store.get_trace_summary(trace_id.hex())
    assert (late.has_root, late.root_name, late.service_name) == (True, "root", "gateway")
    assert (late.span_count, late.error_count) == (2, 1)
    assert late.start_time_unix_nano == root.start_time_unix_nano
    assert late.end_time_unix_nano == child.end_time_unix_nano
    assert late.updated_unix_nano >= early.updated_unix_nano


def test_database_is_wal_and_never_exclusive(receiver, db_path):
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    db = open_write_db(db_path.with_name("second.db"))
    assert db.execute("PRAGMA locking_mode").fetchone()[0] == "normal"
    db.close()


def test_a_reader_holding_a_snapshot_does_not_block_ingest(receiver, store, db_path):
    first = new_trace_id()
    _send(receiver, make_span(trace_id=first))
    reader = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM spans").fetchone()[0] == 1  # snapshot taken
    second = new_trace_id()
    _send(receiver, make_span(trace_id=second))  # acknowledged while the reader holds its snapshot
    assert reader.execute("SELECT count(*) FROM spans").fetchone()[0] == 1
    reader.execute("COMMIT")
    assert reader.execute("SELECT count(*) FROM spans").fetchone()[0] == 2
    reader.close()


def test_read_connections_cannot_write(receiver, store):
    _send(receiver, make_span(trace_id=new_trace_id()))
    store.list_traces()
    conn = store._connection()
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("DELETE FROM spans")


def test_list_traces_pages_newest_first_without_gaps_or_repeats(receiver, store):
    ids = []
    for i in range(25):
        trace_id = new_trace_id()
        ids.append(trace_id.hex())
        _send(receiver, make_span(trace_id=trace_id, start_ns=1_000_000_000_000_000_000 + i * 1000,
                                  error=i % 5 == 0), service="even" if i % 2 == 0 else "odd")
    seen, cursor = [], None
    while True:
        page = store.list_traces(limit=7, after=cursor)
        seen.extend(t.trace_id for t in page.traces)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(ids))
    odd = store.list_traces(TraceFilter(service_name="odd"), limit=100).traces
    assert [t.trace_id for t in odd] == [ids[i] for i in reversed(range(1, 25, 2))]
    errors = store.list_traces(TraceFilter(errors_only=True), limit=100).traces
    assert [t.trace_id for t in errors] == [ids[i] for i in (20, 15, 10, 5, 0)]


def test_unknown_trace_raises_trace_not_found(receiver, store):
    _send(receiver, make_span(trace_id=new_trace_id()))
    with pytest.raises(TraceNotFound):
        store.get_trace("f" * 32)


def test_writer_publishes_an_event_after_commit(receiver, store):
    seen_at_commit = []
    published = threading.Event()

    def on_commit(event):  # runs on the writer thread: the data must already be readable
        reader = TraceStore(store.db_path)
        seen_at_commit.append((event, reader.get_trace_summary(next(iter(event.trace_ids))).span_count))
        reader.close()
        published.set()

    receiver.subscribe(on_commit)
    trace_id = new_trace_id()
    _send(receiver, make_span(trace_id=trace_id), make_span(trace_id=trace_id))
    assert published.wait(10)
    (event, span_count), = seen_at_commit
    assert event.trace_ids == {trace_id.hex()} and event.spans_written == 2 and span_count == 2


def test_a_row_the_database_cannot_hold_fails_its_request_and_the_writer_goes_on(db_path):
    from receiver.errors import StorageFailed
    from receiver.otlp.decode_traces import decode_export_trace_request
    from receiver.storage.writer import DatabaseWriter

    def batch(span):
        return decode_export_trace_request(make_request(span))

    trace_id = new_trace_id()
    odd = batch(make_span(trace_id=trace_id, name="odd"))
    row = list(odd.span_rows[0])
    row[-1] = 2**70  # beyond any SQLite INTEGER; decoding never makes one, but a bug might
    odd = dataclasses.replace(odd, span_rows=(tuple(row),))
    writer = DatabaseWriter(db_path, queue_spans=100, batch_spans=100)
    writer.start()
    try:
        with pytest.raises(StorageFailed, match="database write failed"):
            writer.submit(odd).wait(10)
        assert writer.submit(batch(make_span(trace_id=trace_id, name="fine"))).wait(10).spans == 1
    finally:
        writer.close()
    reader = TraceStore(db_path)
    assert [s.name for s in reader.get_trace(trace_id.hex()).spans] == ["fine"]
    reader.close()


def test_a_failing_request_in_a_shared_batch_sinks_only_itself(db_path):
    # Requests that queue up while the writer is busy go in one transaction; when one of them
    # cannot be stored, the others still are, and only its sender hears of the failure.
    from receiver.errors import StorageFailed
    from receiver.events import Subscribers
    from receiver.otlp.decode_traces import decode_export_trace_request
    from receiver.storage.writer import DatabaseWriter

    def batch(trace_id, name, *, unstorable=False):
        decoded = decode_export_trace_request(make_request(make_span(trace_id=trace_id, name=name)))
        if not unstorable:
            return decoded
        row = list(decoded.span_rows[0])
        row[-1] = 2**70  # no SQLite INTEGER holds it
        return dataclasses.replace(decoded, span_rows=(tuple(row),))

    writer_busy, release = threading.Event(), threading.Event()

    def hold_the_writer(event):  # runs on the writer thread after each commit
        writer_busy.set()
        assert release.wait(10)

    subscribers = Subscribers()
    unsubscribe = subscribers.subscribe(hold_the_writer)
    writer = DatabaseWriter(db_path, queue_spans=100, batch_spans=100, subscribers=subscribers)
    writer.start()
    traces = [new_trace_id() for _ in range(4)]
    try:
        first = writer.submit(batch(traces[0], "first"))
        assert writer_busy.wait(10)  # the writer is past its commit, held in the subscriber
        unsubscribe()
        tickets = [writer.submit(batch(traces[1], "before")),
                   writer.submit(batch(traces[2], "odd", unstorable=True)),
                   writer.submit(batch(traces[3], "after"))]
        assert writer.pending_spans == 3  # queued together behind the held writer: one batch
        release.set()
        assert first.wait(10).spans == 1
        assert tickets[0].wait(10).spans == 1
        with pytest.raises(StorageFailed, match="database write failed"):
            tickets[1].wait(10)
        assert tickets[2].wait(10).spans == 1
    finally:
        release.set()
        writer.close()
    reader = TraceStore(db_path)
    assert [reader.get_trace(t.hex()).spans[0].name for t in (traces[0], traces[1], traces[3])] == [
        "first", "before", "after"]
    with pytest.raises(TraceNotFound):
        reader.get_trace(traces[2].hex())
    reader.close()


def test_an_sqlite_too_old_for_the_writer_is_named_at_start(db_path, monkeypatch):
    from receiver.config import ReceiverConfig
    from receiver.errors import StorageFailed
    from receiver.service import Receiver

    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))  # Ubuntu 20.04's
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(StorageFailed, match=r"SQLite 3\.31\.1 is too old: Tracepane needs 3\.35\.0 or newer"):
        Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)).start()


def test_a_store_can_keep_a_thread_free_of_queries(receiver, store):
    """What the app's tests use to prove the GUI thread never waits on the database."""
    trace_id = new_trace_id()
    _send(receiver, make_span(trace_id=trace_id))
    store.forbid_queries_on(threading.get_ident())
    for query in (lambda: store.list_traces(), lambda: store.get_trace(trace_id.hex()), store.stats):
        with pytest.raises(QueryOnForbiddenThread):
            query()
    answers: list = []
    worker = threading.Thread(target=lambda: answers.append(store.list_traces().traces))
    worker.start()
    worker.join(30)
    assert [t.trace_id for t in answers[0]] == [trace_id.hex()]  # other threads still query
    store.forbid_queries_on(None)
    assert store.stats().spans == 1
