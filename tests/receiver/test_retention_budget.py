"""Retention by size and age budgets, through the real receiver and a real SQLite file:
ordinary traces go oldest first, protected ones (an error, a high cost or duration) only after
them, pinned ones never; the file shrinks; ingest goes on between retention's chunks."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from receiver import Receiver, ReceiverConfig
from receiver.records import TraceFilter
from receiver.storage.retention_budget import CHUNK_TRACES, MIB
from receiver.storage.stats import read_stats
from tests.conftest import post
from tests.otlp_builders import any_value, make_request, make_span, new_trace_id

WAIT_S = 30.0
PROMPT_BYTES = 8_000  # per trace: 1 MiB holds about a hundred of them


def _send(receiver: Receiver, *spans) -> None:
    assert post(receiver.addresses.http_port, make_request(*spans).SerializeToString()).status == 200


def _trace(receiver: Receiver, *, error: bool = False, duration_ns: int = 1_000_000, start_ns: int | None = None,
           prompt_bytes: int = PROMPT_BYTES) -> str:
    """One single-span trace carrying a prompt of incompressible text; its id."""
    trace_id = new_trace_id()
    _send(receiver, make_span(trace_id=trace_id, name="agent run", error=error, duration_ns=duration_ns,
                              start_ns=start_ns or time.time_ns(),
                              attributes={"gen_ai.prompt": os.urandom(prompt_bytes // 2).hex()}))
    return trace_id.hex()


def _stored(receiver: Receiver) -> set[str]:
    store = receiver.store()
    try:
        return {t.trace_id for t in store.list_traces(TraceFilter(), limit=100_000).traces}
    finally:
        store.close()


def _wait_until(condition, timeout: float = WAIT_S) -> None:
    """Retention runs on the writer's own schedule: wait for what it leads to, by condition."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for retention"
        threading.Event().wait(0.05)


def _received_earlier(db_path, hours: float) -> None:
    """As if what is stored had arrived `hours` earlier (the receiver stopped meanwhile)."""
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE traces SET updated_unix_nano = updated_unix_nano - ?", (int(hours * 3_600 * 10**9),))
    conn.close()


def _receiver(db_path, max_db_mb: int = 1, max_age_days: float = 0) -> Receiver:
    return Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, max_db_mb=max_db_mb,
                                   max_age_days=max_age_days))


def test_over_the_size_budget_ordinary_traces_go_oldest_first_and_protected_and_pinned_ones_stay(db_path):
    with _receiver(db_path) as receiver:
        pinned = _trace(receiver)
        receiver.set_pinned([pinned])
        failed = [_trace(receiver, error=True) for _ in range(5)]
        marked_bad = _trace(receiver)  # a wrong answer is an error of its own kind
        receiver.set_annotation(marked_bad, None, passed=False)
        slow = [_trace(receiver, duration_ns=60 * 10**9) for _ in range(8)]  # above the 95th percentile
        ordinary = [_trace(receiver) for _ in range(200)]  # ~1.6 MiB with the others: over 1 MiB
        receiver.flush()

        protected = {pinned, *failed, marked_bad, *slow}
        _wait_until(lambda: _stored(receiver) >= protected and ordinary[0] not in _stored(receiver)
                    and read_stats(db_path).db_bytes <= 1.25 * MIB)
        stored = _stored(receiver)
        assert protected <= stored
        kept = [trace_id for trace_id in ordinary if trace_id in stored]
        assert kept == ordinary[-len(kept):], "ordinary traces are deleted oldest first"
        assert 10 < len(kept) < 150  # the newest fill what the protected and pinned ones leave


def test_protected_traces_go_oldest_first_once_no_ordinary_one_is_left_and_pinned_ones_never(db_path):
    with _receiver(db_path) as receiver:
        pinned = _trace(receiver)
        receiver.set_pinned([pinned])
        failed = [_trace(receiver, error=True) for _ in range(200)]  # all protected
        receiver.flush()

        _wait_until(lambda: failed[0] not in _stored(receiver) and read_stats(db_path).db_bytes <= 1.25 * MIB)
        stored = _stored(receiver)
        assert pinned in stored
        kept = [trace_id for trace_id in failed if trace_id in stored]
        assert kept and kept == failed[-len(kept):]


def test_slow_traces_go_before_those_with_errors_and_the_newest_go_last_of_all(db_path):
    with _receiver(db_path) as receiver:
        old = [_trace(receiver) for _ in range(40)]
        failed = [_trace(receiver, error=True) for _ in range(15)]  # older than the slow ones, yet kept
        slow = [_trace(receiver, duration_ns=60 * 10**9) for _ in range(40)]  # above the 95th percentile
        newest = [_trace(receiver) for _ in range(10)]  # ordinary, but the newest
        receiver.flush()

        _wait_until(lambda: slow[0] not in _stored(receiver) and read_stats(db_path).db_bytes <= 1.25 * MIB)
        stored = _stored(receiver)
        assert not set(old) & stored
        assert set(failed) | set(newest) <= stored
        kept = [trace_id for trace_id in slow if trace_id in stored]
        assert kept == slow[len(slow) - len(kept):], "slow traces go oldest first"


def test_pinned_traces_alone_over_the_budget_stop_retention_and_say_so_until_unpinned(db_path):
    with _receiver(db_path) as receiver:
        pinned = [_trace(receiver) for _ in range(200)]
        receiver.set_pinned(pinned)
        receiver.flush()

        _wait_until(lambda: "pinned traces alone fill the 1 MiB database budget" in receiver.storage_problem())
        assert set(pinned) <= _stored(receiver)

        receiver.set_pinned(pinned[:190], pinned=False)
        _wait_until(lambda: receiver.storage_problem() == "" and pinned[0] not in _stored(receiver))
        assert set(pinned[190:]) <= _stored(receiver)


def test_the_file_shrinks_when_retention_deletes(db_path):
    with _receiver(db_path, max_db_mb=0) as receiver:  # no budget yet: the file grows to ~4 MiB
        for _ in range(500):
            _trace(receiver)
        receiver.flush()
    grown = db_path.stat().st_size
    assert grown > 3 * MIB

    with _receiver(db_path, max_db_mb=1) as receiver:
        _wait_until(lambda: read_stats(db_path).db_bytes <= 1.25 * MIB)
        assert len(_stored(receiver)) < 200
    assert db_path.stat().st_size <= 1.25 * MIB < grown


def test_ingest_goes_on_between_retention_chunks(db_path):
    with _receiver(db_path, max_db_mb=0) as receiver:
        old = [_trace(receiver, prompt_bytes=200, start_ns=time.time_ns() - 3_600 * 10**9)
               for _ in range(4 * CHUNK_TRACES)]
        receiver.flush()
    _received_earlier(db_path, hours=1)

    events: list[str] = []
    with _receiver(db_path, max_db_mb=0, max_age_days=1 / 48) as receiver:  # 30 min: all of `old` expired
        receiver.subscribe(lambda e: events.append("deleted" if e.deleted_trace_ids else "written"))
        new = [_trace(receiver, prompt_bytes=200) for _ in range(20)]
        _wait_until(lambda: old[-1] not in _stored(receiver))
        assert set(new) <= _stored(receiver)
    deletions = [i for i, event in enumerate(events) if event == "deleted"]
    assert len(deletions) >= 4, "a chunk at a time"
    assert "written" in events[deletions[0]:deletions[-1]], "new spans were stored between two chunks"


def test_past_the_age_budget_unpinned_traces_go_but_an_old_trace_just_imported_stays(db_path):
    with _receiver(db_path, max_db_mb=0) as receiver:
        ran_long_ago = [_trace(receiver, prompt_bytes=200, start_ns=time.time_ns() - 3_600 * 10**9)
                        for _ in range(3)]
        receiver.set_pinned(ran_long_ago[:1])
        _evaluation_of_a_call_never_seen(receiver, time.time_ns() - 3_600 * 10**9)
        receiver.flush()
    _received_earlier(db_path, hours=1)
    with _receiver(db_path, max_db_mb=0, max_age_days=1 / 48) as receiver:
        # received just now, though it ran an hour ago: stays until it has been here 30 minutes
        just_imported = _trace(receiver, prompt_bytes=200, start_ns=time.time_ns() - 3_600 * 10**9)
        _wait_until(lambda: not set(ran_long_ago[1:]) & _stored(receiver))
        assert {ran_long_ago[0], just_imported} <= _stored(receiver)
        # a result whose call never arrived goes in the same turn
        assert receiver.run_job(lambda conn: conn.execute("SELECT count(*) FROM evaluations").fetchone()) == (0,)


def _evaluation_of_a_call_never_seen(receiver: Receiver, time_ns: int) -> None:
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add(
        time_unix_nano=time_ns, event_name="gen_ai.evaluation.result")
    for key, value in {"gen_ai.evaluation.name": "relevance", "gen_ai.response.id": "chatcmpl-gone"}.items():
        record.attributes.add(key=key, value=any_value(value))
    assert post(receiver.addresses.http_port, request.SerializeToString(), path="/v1/logs").status == 200
    assert receiver.run_job(lambda conn: conn.execute("SELECT count(*) FROM evaluations").fetchone()) == (1,)
