"""A model call reported twice is found whatever happened between the two reports: a restart,
an unclean stop before the writer merged its response ids, an upgrade from a database whose
duplicates a trigger marked, a re-send, a rolled-back request (receiver.storage.response_ids)."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from sqlite_utils import Database

from receiver.config import ReceiverConfig
from receiver.errors import StorageFailed
from receiver.genai.analyser import SpanAnalyser
from receiver.otlp.decode_traces import decode_export_trace_request
from receiver.service import Receiver
from receiver.storage.response_ids import MERGED_THROUGH
from receiver.storage.schema import MIGRATIONS, open_write_db
from receiver.storage.writer import DatabaseWriter
from tests.genai.test_genai_ingest import chat_span, send, shown
from tests.otlp_builders import make_request, new_trace_id


def running(db_path):
    return Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0))


def duplicate_of(receiver, trace_id: bytes) -> str | None:
    (span,) = [s for s in shown(receiver, trace_id)["spans"] if s["response_id"]]
    return span["duplicate_of"]


def first_span_id(receiver, trace_id: bytes) -> str:
    return shown(receiver, trace_id)["spans"][0]["span_id"]


@pytest.mark.parametrize("stop", ["clean", "unclean"])
def test_a_copy_after_a_restart_points_at_the_first_report(db_path, stop):
    first, copy, other = new_trace_id(), new_trace_id(), new_trace_id()
    with running(db_path) as receiver:
        send(receiver, chat_span(first, response_id="resp-restart"))
        original = first_span_id(receiver, first)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT span_id FROM response_ids WHERE response_id = 'resp-restart'").fetchall() == [
            (original,)]  # merged when the writer closed
        if stop == "unclean":  # as if the process died before its merge: the ids are only in the spans
            conn.execute("DELETE FROM response_ids")
            conn.execute("UPDATE writer_state SET value = 0 WHERE name = ?", (MERGED_THROUGH,))
    with running(db_path) as receiver:
        send(receiver, chat_span(copy, response_id="resp-restart"))
        send(receiver, chat_span(other, response_id="resp-restart"), service="another-service")
        assert duplicate_of(receiver, copy) == original
        assert duplicate_of(receiver, other) is None


def test_two_reports_in_one_request_and_a_resent_span(receiver):
    trace_id = new_trace_id()
    a = chat_span(trace_id, response_id="resp-pair")
    b = chat_span(trace_id, response_id="resp-pair")
    send(receiver, a, b)
    send(receiver, a)  # re-sent by an exporter after a timeout: skipped, never its own duplicate
    spans = {s["span_id"]: s for s in shown(receiver, trace_id)["spans"]}
    assert len(spans) == 2
    assert spans[a.span_id.hex()]["duplicate_of"] is None
    assert spans[b.span_id.hex()]["duplicate_of"] == a.span_id.hex()


def test_a_rolled_back_request_claims_no_response_id(db_path):
    def batch(trace_id, *, unstorable=False):
        decoded = decode_export_trace_request(make_request(chat_span(trace_id, response_id="resp-rolled-back")),
                                              SpanAnalyser())
        row = list(decoded.span_rows[0])
        if unstorable:
            row[-1] = 2**70  # no SQLite INTEGER holds it: the request fails and rolls back
        return dataclasses.replace(decoded, span_rows=(tuple(row),))

    writer = DatabaseWriter(db_path, queue_spans=100, batch_spans=100)
    writer.start()
    try:
        with pytest.raises(StorageFailed):
            writer.submit(batch(new_trace_id(), unstorable=True)).wait(10)
        assert writer.submit(batch(new_trace_id())).wait(10).spans == 1
    finally:
        writer.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT duplicate_of FROM spans").fetchall() == [(None,)]


def test_an_older_database_keeps_its_marks_and_its_first_reports(db_path):
    # A database as version m005 left it: duplicates marked by a trigger on insert.
    db = Database(sqlite3.connect(db_path))
    MIGRATIONS.apply(db, stop_before="m006_response_ids_table")
    columns = ("trace_id", "span_id", "name", "kind", "start_time_unix_nano", "end_time_unix_nano",
               "status_code", "status_message", "trace_state", "flags", "attributes", "events", "links",
               "dropped_attributes_count", "dropped_events_count", "dropped_links_count", "service_name",
               "resource_id", "scope_id", "response_id")
    for trace, span in (("a" * 32, "1" * 16), ("b" * 32, "2" * 16)):
        db.conn.execute(f"INSERT INTO spans ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                        (trace, span, "chat", 3, 1, 2, 0, "", "", 0, "{}", "[]", "[]", 0, 0, 0, "svc", 1, 1,
                         "resp-old"))
    db.conn.commit()
    assert db.conn.execute("SELECT duplicate_of FROM spans ORDER BY rowid").fetchall() == [(None,), ("1" * 16,)]
    db.conn.close()

    open_write_db(db_path).conn.close()  # migrates
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT * FROM response_ids").fetchall() == [("resp-old", "=svc", "1" * 16)]
        assert not conn.execute("SELECT name FROM sqlite_master WHERE name IN "
                                "('spans_mark_duplicate', 'spans_by_response')").fetchall()
    copy = new_trace_id()
    with running(db_path) as receiver:
        send(receiver, chat_span(copy, response_id="resp-old"))
        assert duplicate_of(receiver, copy) == "1" * 16


def test_merged_response_ids_keep_services_apart_and_are_found_after_a_restart(db_path):
    # No service, a service named "", and a named one: three different first reports, through
    # the in-memory map, the merge into the table, and a fresh writer's lookup.
    from receiver.records import SPAN_COLUMNS
    from receiver.storage.response_ids import ResponseIds

    def rows(prefix: str) -> tuple[tuple, ...]:
        made = []
        for i, service in enumerate((None, "", "svc")):
            row = dict.fromkeys(SPAN_COLUMNS)
            row.update(trace_id="ab" * 16, span_id=f"{prefix}{i:015x}", service_name=service, response_id="resp-x")
            made.append(tuple(row.values()))
        return tuple(made)

    def keys(batch: tuple[tuple, ...]):
        service, response = SPAN_COLUMNS.index("service_name"), SPAN_COLUMNS.index("response_id")
        return tuple((i, (row[response], row[service])) for i, row in enumerate(batch))

    duplicate = SPAN_COLUMNS.index("duplicate_of")
    db = open_write_db(db_path)
    first = rows("a")
    ids = ResponseIds()
    ids.load(db.conn)
    ids.look_up(db.conn, [keys(first)])
    assert ids.mark_duplicates(first, keys(first)) is first  # three services: no duplicate
    ids.commit()
    ids.merge(db.conn)
    assert sorted(db.conn.execute("SELECT service_key, span_id FROM response_ids")) == [
        ("", "a" + "0" * 15), ("=", "a" + "0" * 14 + "1"), ("=svc", "a" + "0" * 14 + "2")]
    again = ResponseIds()
    again.load(db.conn)
    copies = rows("b")
    again.look_up(db.conn, [keys(copies)])
    marked = again.mark_duplicates(copies, keys(copies))
    assert [row[duplicate] for row in marked] == [row[SPAN_COLUMNS.index("span_id")] for row in first]
    db.conn.close()
