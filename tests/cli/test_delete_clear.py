"""`tracepane delete` and `tracepane clear` on a database file, without a running receiver: by
prefix, unknown and malformed ids, the question `clear` asks on a terminal, and its refusal to
guess when there is no terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess

import pytest

from receiver.config import ReceiverConfig
from receiver.service import Receiver
from tests.conftest import TRACEPANE
from tests.genai.test_genai_ingest import chat_span, send, shown
from tests.otlp_builders import make_span, new_trace_id


def tracepane(*args: str, answer: str | None = None) -> subprocess.CompletedProcess:
    """Run the installed command; stdin is not a terminal, unless `answer` is typed into one."""
    if answer is None:
        return subprocess.run([str(TRACEPANE), *args], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode() + b"\n")
        return subprocess.run([str(TRACEPANE), *args], capture_output=True, text=True, timeout=60, stdin=terminal)
    finally:
        os.close(controller)
        os.close(terminal)


def trace_ids(db_path) -> list[str]:
    done = tracepane("traces", "--db", str(db_path), "--json")
    assert done.returncode == 0, done.stderr
    return sorted(t["trace_id"] for t in json.loads(done.stdout))


def empty_db_bytes(path) -> int:
    """The size of a database holding only the schema: what `clear` should shrink a file back to."""
    with Receiver(ReceiverConfig(db_path=path, grpc_port=0, http_port=0)):
        pass
    return json.loads(tracepane("stats", "--json", "--db", str(path)).stdout)["db_bytes"]


@pytest.fixture
def filled(db_path) -> list[str]:
    """Two traces of two spans each, with a 100 KB prompt apiece, written by a receiver that has
    stopped since."""
    ids = [new_trace_id(), new_trace_id()]
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)) as receiver:
        for trace_id in ids:
            agent = make_span(trace_id=trace_id, name="agent", attributes={"input.value": os.urandom(50_000).hex()})
            send(receiver, agent, chat_span(trace_id, response_id=trace_id.hex()))
    return sorted(trace_id.hex() for trace_id in ids)


def test_delete_by_prefix_takes_only_that_trace(filled, db_path):
    doomed, kept = filled
    done = tracepane("delete", doomed[:8].upper(), "--db", str(db_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"deleted trace {doomed} (2 spans, 0 log records)"
    assert trace_ids(db_path) == [kept]
    assert tracepane("show", doomed, "--db", str(db_path)).returncode == 1

    done = tracepane("--json", "delete", kept, "--db", str(db_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"trace_ids": [kept], "spans": 2, "logs": 0}
    assert trace_ids(db_path) == []


def test_unknown_ids_fail_with_exit_1_and_delete_nothing(filled, db_path):
    known, unknown = filled[0], "0" * 32
    for args in ([unknown], [known, unknown], [known[:10], "ffffffffffffffffffff"]):
        done = tracepane("delete", *args, "--db", str(db_path))
        assert done.returncode == 1, args
        assert "no trace" in done.stderr and known not in done.stderr
    assert trace_ids(db_path) == filled  # a typo among the ids deletes none of them


def test_malformed_ids_are_usage_errors(filled, db_path):
    done = tracepane("delete", filled[0], "not-hex", "--db", str(db_path))
    assert done.returncode == 2 and "hex digits" in done.stderr
    assert trace_ids(db_path) == filled


def test_clear_yes_deletes_everything(filled, db_path):
    empty_bytes = empty_db_bytes(db_path.parent / "empty.db")
    assert db_path.stat().st_size > empty_bytes + 150_000  # the prompts take room before
    done = tracepane("clear", "--yes", "--json", "--db", str(db_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"traces": 2, "spans": 4, "logs": 0, "metric_points": 0,
                                       "db_path": str(db_path)}
    assert trace_ids(db_path) == []
    stats = json.loads(tracepane("stats", "--json", "--db", str(db_path)).stdout)
    assert (stats["traces"], stats["spans"], stats["logs"]) == (0, 0, 0)
    assert stats["db_bytes"] <= empty_bytes  # ...and it went back to the file system after
    again = tracepane("clear", "--yes", "--db", str(db_path))
    assert again.returncode == 0 and "nothing to clear" in again.stdout


def test_clear_without_a_terminal_or_yes_refuses_and_deletes_nothing(filled, db_path):
    done = tracepane("clear", "--db", str(db_path))
    assert done.returncode == 2
    assert "--yes" in done.stderr
    assert trace_ids(db_path) == filled


def test_clear_on_a_terminal_asks_first(filled, db_path):
    declined = tracepane("clear", "--db", str(db_path), answer="n")
    assert f"Delete all 2 traces (4 spans) in {db_path}? [y/N]" in declined.stderr
    assert declined.returncode == 1 and trace_ids(db_path) == filled
    accepted = tracepane("clear", "--db", str(db_path), answer="y")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == f"deleted 2 traces (4 spans, 0 log records, 0 metric points) from {db_path}"
    assert trace_ids(db_path) == []


def test_a_missing_database_has_nothing_to_clear_and_no_trace_to_delete(tmp_path):
    missing = tmp_path / "none.db"
    cleared = tracepane("clear", "--db", str(missing))
    assert cleared.returncode == 0 and "nothing to clear" in cleared.stdout
    deleted = tracepane("delete", "abc", "--db", str(missing))
    assert deleted.returncode == 1 and "not found" in deleted.stderr
    assert not missing.exists()


def test_clear_beside_a_running_receiver_refuses_and_its_later_spans_stay_whole(receiver, db_path):
    # One writer per file (receiver.storage.writer_lock): `clear` cannot take rows from under a
    # receiver that believes them stored; it says who writes and exits 3 (tests/receiver/test_instance_lock.py).
    before = new_trace_id()
    send(receiver, make_span(trace_id=before, name="before"))
    done = tracepane("clear", "--yes", "--db", str(db_path))
    assert done.returncode == 3 and "is already writing to" in done.stderr
    assert trace_ids(db_path) == [before.hex()]
    after = new_trace_id()
    send(receiver, make_span(trace_id=after, name="after"))
    (span,) = shown(receiver, after)["spans"]
    assert span["resource"] == {"service.name": "svc"} and span["scope"]["name"] == "tests"
