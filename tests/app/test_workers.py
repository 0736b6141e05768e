"""QueryWorker: reads run on its own thread (never the GUI's), answers come back as signals
with their request id, failures as messages, and a newer request with the same key makes
the waiting older ones be skipped."""

from __future__ import annotations

import threading

import pytest

from app.workers import QueryWorker
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


@pytest.fixture
def stored_trace_id(receiver) -> str:
    trace_id = new_trace_id()
    assert post(receiver.addresses.http_port, make_request(make_span(trace_id=trace_id)).SerializeToString()
                ).status == 200
    return trace_id.hex()


@pytest.fixture
def worker(stored_trace_id, db_path):
    query_worker = QueryWorker(db_path)
    query_worker.store.forbid_queries_on(threading.get_ident())  # this test's thread is the GUI thread
    yield query_worker
    assert query_worker.shutdown()


def test_a_query_runs_on_the_worker_thread_and_answers_by_signal(qtbot, worker, stored_trace_id):
    with qtbot.waitSignal(worker.sig_result, timeout=5000) as answer:
        request_id = worker.request(lambda store: (threading.current_thread().name, store.list_traces().traces))
    thread_name, traces = answer.args[1]
    assert answer.args[0] == request_id
    assert thread_name != threading.main_thread().name
    assert [t.trace_id for t in traces] == [stored_trace_id]
    with pytest.raises(Exception, match="must not query"):  # the guard is on: here, it would raise
        worker.store.list_traces()


def test_a_failing_query_is_a_message_not_a_crash(qtbot, worker):
    with qtbot.waitSignal(worker.sig_failed, timeout=5000) as failure:
        request_id = worker.request(lambda store: store.get_trace("f" * 32))
    assert failure.args == [request_id, f"no trace {'f' * 32}"]
    with qtbot.waitSignal(worker.sig_result, timeout=5000):  # and the worker still answers
        worker.request(lambda store: store.stats())


def test_a_newer_request_with_the_same_key_skips_the_waiting_ones(qtbot, worker):
    release = threading.Event()
    ran: list[str] = []
    results: list[int] = []
    worker.sig_result.connect(lambda request_id, payload: results.append(request_id))

    def blocking(store):
        release.wait(10)  # holds the worker thread while the next requests queue up
        return "first"

    first = worker.request(blocking)
    stale = [worker.request(lambda store, n=n: ran.append(f"stale {n}"), key="traces") for n in range(3)]
    newest = worker.request(lambda store: ran.append("newest") or store.stats(), key="traces")
    release.set()
    qtbot.waitUntil(lambda: newest in results, timeout=5000)
    assert ran == ["newest"]
    assert results == [first, newest]
    assert not set(stale) & set(results)


def test_ask_answers_by_callback_and_a_newer_ask_with_the_key_drops_the_older(qtbot, worker, stored_trace_id):
    gate = threading.Event()
    answers: list = []
    worker.ask(lambda store: gate.wait(5), answers.append)  # holds the worker thread
    worker.ask(lambda store: "old", answers.append, key="k")
    worker.ask(lambda store: len(store.list_traces().traces), answers.append, key="k")
    worker.ask(lambda store: 1 / 0, answers.append, on_failed=lambda message: answers.append(f"failed: {message}"))
    gate.set()
    qtbot.waitUntil(lambda: len(answers) == 3, timeout=5000)
    assert answers == [True, 1, "failed: division by zero"]


def test_a_newer_request_with_the_key_stops_the_running_one(qtbot, receiver, db_path):
    from receiver import QueryCancelled, TraceFilter
    from tests.otlp_builders import make_request, make_span, new_trace_id

    spans = [make_span(trace_id=new_trace_id(), attributes={"prompt": f"question number {i}"}) for i in range(300)]
    assert post(receiver.addresses.http_port, make_request(*spans).SerializeToString()).status == 200
    query_worker = QueryWorker(db_path)
    started, gate, outcome = threading.Event(), threading.Event(), []

    def slow_search(store):
        started.set()
        gate.wait(5)  # the newer request is made while this one runs
        try:
            return store.list_traces(TraceFilter(text="?!"))  # no word to look up: a scan of every span
        except QueryCancelled as exc:
            outcome.append(exc)
            raise

    answers: list = []
    try:
        query_worker.ask(slow_search, answers.append, key="search")
        assert started.wait(5)
        query_worker.ask(lambda store: "newer", answers.append, key="search")
        gate.set()
        qtbot.waitUntil(lambda: answers == ["newer"], timeout=5000)
        assert len(outcome) == 1  # stopped inside SQLite, not run to the end and dropped
    finally:
        assert query_worker.shutdown()


def test_the_worker_thread_reads_through_one_connection_however_many_queries(qtbot, worker):
    # PySide gives each call into the QThread a fresh Python thread state: a threading.local
    # forgot the connection at every query and one more stayed open each time (the soak's leak)
    connections = []
    for _ in range(5):
        with qtbot.waitSignal(worker.sig_result, timeout=5000) as answer:
            worker.request(lambda store: (store.stats(), store._connection())[1])
        connections.append(answer.args[1])
    assert all(conn is connections[0] for conn in connections)
