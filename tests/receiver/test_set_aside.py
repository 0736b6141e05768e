"""A database file Tracepane cannot use is moved aside at start, untouched, with a message,
and a fresh database takes its place; Tracepane's own database is opened as it is."""

from __future__ import annotations

import sqlite3

from receiver import Receiver, ReceiverConfig
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


def _start_and_store_one(db_path) -> Receiver:
    receiver = Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0))
    receiver.start()
    body = make_request(make_span(trace_id=new_trace_id(), name="after")).SerializeToString()
    assert post(receiver.addresses.http_port, body).status == 200
    return receiver


def test_a_file_that_is_not_a_database_is_moved_aside_untouched(db_path):
    garbage = b"this is not SQLite, it is someone's notes\n" * 1000
    db_path.write_bytes(garbage)
    receiver = _start_and_store_one(db_path)
    try:
        (aside,) = db_path.parent.glob(f"{db_path.name}.unusable-*")
        assert aside.read_bytes() == garbage
        assert len(receiver.notices) == 1
        assert "is not a database" in receiver.notices[0] and aside.name in receiver.notices[0]
        store = receiver.store()
        assert [t.root_name for t in store.list_traces().traces] == ["after"]
        store.close()
    finally:
        receiver.stop()


def test_another_programs_sqlite_file_is_moved_aside(db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.close()
    receiver = _start_and_store_one(db_path)
    try:
        (aside,) = db_path.parent.glob(f"{db_path.name}.unusable-*")
        assert "another program's data" in receiver.notices[0]
        with sqlite3.connect(aside) as moved:
            assert moved.execute("SELECT body FROM notes").fetchall() == [("keep me",)]
        moved.close()
    finally:
        receiver.stop()


def test_tracepanes_own_database_is_opened_as_it_is(db_path):
    _start_and_store_one(db_path).stop()
    receiver = _start_and_store_one(db_path)
    try:
        assert receiver.notices == []
        assert not list(db_path.parent.glob("*.unusable-*"))
        store = receiver.store()
        assert len(store.list_traces().traces) == 2
        store.close()
    finally:
        receiver.stop()
