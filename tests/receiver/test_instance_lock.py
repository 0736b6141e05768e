"""One writer per database file. A second Tracepane that would write to a file another one
writes to (the window and `serve`, or `delete` beside a running window) fails at once with a
message naming the first, and changes nothing; commands that only read go on working beside
a writer. The lock is the OS's, so it goes when its holder stops, or dies."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading

import pytest

from receiver import DatabaseInUse, PortInUse, Receiver, ReceiverConfig, TraceStore
from receiver.storage.writer import DatabaseWriter
from receiver.storage.writer_lock import WriterLock, lock_path
from tests.conftest import TRACEPANE, post, run_tracepane
from tests.otlp_builders import make_request, make_span, new_trace_id
from tests.serve_process import ServeProcess

EXIT_DATABASE_IN_USE = 3


def _config(db_path, **ports) -> ReceiverConfig:
    return ReceiverConfig(db_path=db_path, **{"grpc_port": 0, "http_port": 0, **ports})


def _store_one(port: int, name: str = "stored") -> str:
    trace_id = new_trace_id()
    assert post(port, make_request(make_span(trace_id=trace_id, name=name)).SerializeToString()).status == 200
    return trace_id.hex()


def _in_use_line(stderr: str, holder: str, pid: int, db_path) -> None:
    """One line, naming the holder, its PID and the file, and saying what to do."""
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert f"another Tracepane ({holder}, PID {pid}) is already writing to {db_path}" in stderr
    assert "--db" in stderr


@pytest.mark.parametrize("command", [[str(TRACEPANE), "serve"], [sys.executable, "-m", "receiver"]],
                         ids=["tracepane serve", "python -m receiver"])
def test_a_second_serve_on_the_same_database_exits_3_naming_the_first(db_path, command):
    first = ServeProcess(db_path)
    first.wait_listening()
    try:
        second = ServeProcess(db_path, command=command)
        assert second.proc.wait(60) == EXIT_DATABASE_IN_USE
        assert second.proc.stdout.read() == ""  # it never said it listens
        _in_use_line(second.proc.stderr.read(), "serve", first.proc.pid, db_path)
        second.stop()
        _store_one(first.http_port)  # the first one goes on, undisturbed
    finally:
        assert first.stop() == 0


@pytest.mark.parametrize("args", [["delete", "{trace}"], ["pin", "{trace}"], ["prune", "--older-than", "0"],
                                  ["clear", "--yes"], ["import", "{file}"]], ids=lambda args: args[0])
def test_commands_that_write_fail_with_exit_3_beside_a_running_window(db_path, tmp_path, args):
    window = Receiver(_config(db_path), holder="window")  # the window's receiver, as app.receiver_host makes it
    window.start()
    try:
        trace_id = _store_one(window.addresses.http_port)
        exported = tmp_path / "trace.jsonl"
        assert run_tracepane("export", trace_id, "-o", str(exported), "--db", str(db_path)).returncode == 0
        done = run_tracepane(*(arg.format(trace=trace_id, file=exported) for arg in args), "--db", str(db_path))
        assert done.returncode == EXIT_DATABASE_IN_USE, done.stderr
        _in_use_line(done.stderr, "window", os.getpid(), db_path)
        assert "close its window first" in done.stderr
        store = window.store()
        try:  # nothing changed: still there, not pinned, nothing imported twice
            (summary,) = store.list_traces().traces
            assert (summary.trace_id, summary.pinned, summary.span_count) == (trace_id, False, 1)
        finally:
            store.close()
    finally:
        window.stop()


def test_reading_commands_and_readers_never_wait_for_the_writer(receiver, db_path, tmp_path):
    trace_id = _store_one(receiver.addresses.http_port, "read me")
    assert lock_path(db_path).exists()  # the receiver holds its writer lock meanwhile
    for args in (["traces", "--json"], ["show", trace_id, "--json"], ["stats", "--json"],
                 ["export", trace_id, "-o", str(tmp_path / "out.jsonl")], ["diff", trace_id, trace_id]):
        done = run_tracepane(*args, "--db", str(db_path), timeout=60)
        assert done.returncode == 0, (args, done.stderr)
    assert [t["trace_id"] for t in json.loads(run_tracepane("traces", "--db", str(db_path), "--json").stdout)] == [
        trace_id]
    reader = TraceStore(db_path)  # the window's readers: a TraceStore per worker
    try:
        assert reader.get_trace(trace_id).spans[0].name == "read me"
    finally:
        reader.close()


def test_a_second_writer_in_the_same_process_is_refused_and_sequential_ones_are_not(db_path):
    with Receiver(_config(db_path)) as first:
        _store_one(first.addresses.http_port)
        with pytest.raises(DatabaseInUse, match=rf"another Tracepane \(receiver, PID {os.getpid()}\)"):
            Receiver(_config(db_path)).start()
        writer = DatabaseWriter(db_path, queue_spans=10, batch_spans=10, holder="delete")
        with pytest.raises(DatabaseInUse):
            writer.start()
    for _ in range(2):  # stop() let go of it: the next one starts, and the one after
        with Receiver(_config(db_path)) as again:
            _store_one(again.addresses.http_port)
    writer = DatabaseWriter(db_path, queue_spans=10, batch_spans=10)
    writer.start()
    writer.close()
    assert lock_path(db_path).read_bytes() == b""  # no note of a writer that has gone


def test_a_receiver_that_fails_to_start_lets_go_of_the_database(db_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(PortInUse):  # the writer had started: it is stopped again
            Receiver(_config(db_path, http_port=taken.getsockname()[1])).start()
    with Receiver(_config(db_path)) as receiver:
        _store_one(receiver.addresses.http_port)


def test_the_lock_is_taken_before_an_unusable_file_would_be_set_aside(db_path):
    garbage = b"not a database, and not ours to move while another Tracepane has it\n" * 100
    db_path.write_bytes(garbage)
    other = WriterLock(db_path, "serve")
    other.acquire()
    try:
        with pytest.raises(DatabaseInUse, match=r"\(serve, PID \d+\)"):
            Receiver(_config(db_path)).start()
        assert db_path.read_bytes() == garbage
        assert not list(db_path.parent.glob(f"{db_path.name}.unusable-*"))
    finally:
        other.release()


def test_a_killed_writer_leaves_no_stale_lock(db_path):
    crashed = ServeProcess(db_path)
    crashed.wait_listening()
    trace_id = _store_one(crashed.http_port, "before the crash")
    assert json.loads(lock_path(db_path).read_bytes()) == {"pid": crashed.proc.pid, "holder": "serve"}
    crashed.kill9()  # the OS lets go of its lock; the note it left is stale, and overwritten
    crashed.stop()
    with Receiver(_config(db_path), holder="window") as receiver:
        assert json.loads(lock_path(db_path).read_bytes()) == {"pid": os.getpid(), "holder": "window"}
        store = receiver.store()
        assert store.get_trace(trace_id).spans[0].name == "before the crash"
        store.close()


def test_without_a_note_the_message_still_says_what_to_do(db_path):
    other = WriterLock(db_path, "serve")
    other.acquire()
    try:
        lock_path(db_path).write_bytes(b"")  # as in the instant between locking and writing the note
        with pytest.raises(DatabaseInUse) as caught:
            Receiver(_config(db_path)).start()
        assert str(caught.value).startswith(f"another Tracepane is already writing to {db_path}; stop it first")
    finally:
        other.release()


def test_two_receivers_starting_at_once_one_wins(db_path):
    """The lock is taken atomically: of two writers racing for a new file, exactly one starts."""
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def start() -> None:
        receiver = Receiver(_config(db_path))
        barrier.wait()
        try:
            receiver.start()
            outcomes.append(receiver)
        except DatabaseInUse as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    started = [o for o in outcomes if isinstance(o, Receiver)]
    try:
        assert len(started) == 1 and sum(isinstance(o, DatabaseInUse) for o in outcomes) == 1
    finally:
        for receiver in started:
            receiver.stop()
