"""Deleting traces and clearing everything through the running receiver (writer jobs): what goes,
what stays (other traces, their totals, log records a surviving span still carries), model calls
reported twice, ingest afterwards, and jobs that fail or cannot start in time."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from receiver import DeletedCounts, IngestEvent, TraceNotFound
from receiver.config import ReceiverConfig
from receiver.errors import StorageFailed, StoreClosed
from receiver.otlp.decode_traces import decode_export_trace_request
from receiver.service import Receiver
from receiver.storage.stats import read_stats
from receiver.storage.writer import DatabaseWriter
from tests.conftest import post
from tests.genai.test_genai_ingest import chat_span, send, shown, summary
from tests.otlp_builders import make_request, make_span, new_trace_id


def send_logs(receiver, *records: LogRecord, service: str = "svc") -> None:
    request = logs_service_pb2.ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
    resource_logs.scope_logs.add().log_records.extend(records)
    answer = post(receiver.addresses.http_port, request.SerializeToString(), path="/v1/logs")
    assert answer.status == 200, answer.body


def span_log(span, text: str) -> LogRecord:
    return LogRecord(time_unix_nano=span.start_time_unix_nano + 1, trace_id=span.trace_id, span_id=span.span_id,
                     body=AnyValue(string_value=text))


def late_log(response_id: str, text: str) -> LogRecord:
    """A record emitted after its span closed: no ids, only the response id to join by."""
    return LogRecord(time_unix_nano=1, body=AnyValue(string_value=text),
                     attributes=[KeyValue(key="gen_ai.response.id", value=AnyValue(string_value=response_id))])


def log_texts(receiver, trace_id: bytes) -> set[str]:
    return {record["body"] for record in shown(receiver, trace_id)["logs"]}


def model_call(receiver, trace_id: bytes) -> dict:
    (span,) = [s for s in shown(receiver, trace_id)["spans"] if s["response_id"]]
    return span


def running(db_path) -> Receiver:
    return Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0))


def test_deleting_a_trace_takes_its_spans_and_records_and_leaves_the_other_whole(receiver, store):
    doomed, kept = new_trace_id(), new_trace_id()
    doomed_root, kept_root = make_span(trace_id=doomed, name="agent"), make_span(trace_id=kept, name="agent")
    send(receiver, doomed_root, chat_span(doomed, response_id="resp-doomed"))
    send(receiver, kept_root, chat_span(kept, response_id="resp-kept"), make_span(trace_id=kept, error=True))
    send_logs(receiver, span_log(doomed_root, "doomed says"), late_log("resp-doomed", "doomed, late"),
              span_log(kept_root, "kept says"), late_log("resp-kept", "kept, late"))
    kept_before = store.get_trace_summary(kept.hex())
    assert kept_before.input_tokens == 100 and kept_before.error_count == 1

    counts = receiver.delete_traces([doomed.hex().upper()])  # ids as people paste them

    assert counts == DeletedCounts(traces=1, spans=2, logs=2, trace_ids=frozenset({doomed.hex()}))
    with pytest.raises(TraceNotFound):
        store.get_trace(doomed.hex())
    assert [t.trace_id for t in store.list_traces().traces] == [kept.hex()]
    assert store.get_trace_summary(kept.hex()) == kept_before  # its rollup untouched
    assert len(shown(receiver, kept)["spans"]) == 3
    assert log_texts(receiver, kept) == {"kept says", "kept, late"}
    assert store.stats()[:4] == (3, 1, 2, 0)  # spans, traces, logs, metric points: only the kept trace's
    assert receiver.delete_traces([doomed.hex(), "f" * 32]) == DeletedCounts()  # gone already, or never there


@pytest.mark.parametrize("first_report", ["in memory", "merged into the table"])
def test_a_later_copy_of_a_deleted_first_report_becomes_the_first_report(db_path, first_report):
    # The same model call reported in three traces (e.g. a provider SDK's tracing beside an
    # instrumentation): the first report counts, the copies point at it.
    first, copy, later_copy, arriving = (new_trace_id() for _ in range(4))
    receiver = running(db_path)
    receiver.start()
    try:
        send(receiver, chat_span(first, response_id="resp-shared"))
        send(receiver, make_span(trace_id=copy, name="agent"), chat_span(copy, response_id="resp-shared"))
        send(receiver, chat_span(later_copy, response_id="resp-shared"))
        send_logs(receiver, late_log("resp-shared", "usage, late"))
        original = model_call(receiver, first)
        assert model_call(receiver, copy)["duplicate_of"] == original["span_id"]
        assert summary(receiver, copy).input_tokens is None  # counted once: in the first trace
        if first_report == "merged into the table":  # a clean stop merges the writer's ids
            receiver.stop()
            receiver = running(db_path)
            receiver.start()

        assert receiver.delete_traces([first.hex()]).spans == 1

        promoted = model_call(receiver, copy)
        assert promoted["duplicate_of"] is None
        assert model_call(receiver, later_copy)["duplicate_of"] == promoted["span_id"]
        copy_totals = summary(receiver, copy)
        assert (copy_totals.input_tokens, copy_totals.llm_calls) == (100, 1)
        assert copy_totals.cost_usd == pytest.approx(original["cost_usd"])
        assert summary(receiver, later_copy).input_tokens is None
        assert "usage, late" in log_texts(receiver, copy)  # the copies still carry its response id
        send(receiver, chat_span(arriving, response_id="resp-shared"))
        assert model_call(receiver, arriving)["duplicate_of"] == promoted["span_id"]
    finally:
        receiver.stop()
    with running(db_path) as restarted:  # the new first report is in the table, not only in memory
        again = new_trace_id()
        send(restarted, chat_span(again, response_id="resp-shared"))
        assert model_call(restarted, again)["duplicate_of"] == promoted["span_id"]


def test_clear_all_empties_the_store_and_ingest_goes_on(receiver, store, db_path):
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="agent")
    send(receiver, root, chat_span(trace_id, response_id="resp-before"))
    send(receiver, chat_span(new_trace_id(), response_id="resp-other"))
    send_logs(receiver, span_log(root, "hello"))
    metrics = metrics_service_pb2.ExportMetricsServiceRequest()
    metrics.resource_metrics.add().scope_metrics.add().metrics.add(name="calls").gauge.data_points.add(
        time_unix_nano=10, as_int=3)
    assert post(receiver.addresses.http_port, metrics.SerializeToString(), path="/v1/metrics").status == 200

    assert receiver.clear_all() == DeletedCounts(traces=2, spans=3, logs=1, metric_points=1)

    assert store.stats()[:4] == (0, 0, 0, 0)
    assert store.list_traces().traces == []
    with sqlite3.connect(db_path) as conn:
        for table in ("resources", "scopes", "prices", "response_ids"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
    # The same service, scope, model and price again: the writer must write their rows anew
    # (it remembered them as stored), and the response id is a first report again.
    after = new_trace_id()
    send(receiver, chat_span(after, response_id="resp-before"))
    (span,) = shown(receiver, after)["spans"]
    assert span["service_name"] == "svc" and span["resource"] == {"service.name": "svc"}
    assert span["scope"]["name"] == "tests"
    assert span["duplicate_of"] is None and span["cost_breakdown"]["source"].startswith("genai-prices")
    assert summary(receiver, after).input_tokens == 100


def test_clearing_gives_the_space_back_to_the_file_system(db_path):
    writer = DatabaseWriter(db_path, queue_spans=10_000, batch_spans=1_000)
    writer.start()
    try:
        for _ in range(8):
            trace_id = new_trace_id()
            request = make_request(*(make_span(trace_id=trace_id, attributes={"prompt": os.urandom(1000).hex()})
                                     for _ in range(250)))
            writer.submit(decode_export_trace_request(request))
        assert writer.flush(30)
        full = read_stats(db_path).db_bytes
        assert full > 4_000_000
        assert writer.clear_all(30).spans == 2000
    finally:
        writer.close()
    assert read_stats(db_path).db_bytes < full / 20


def test_a_failing_job_rolls_back_raises_in_the_caller_and_the_writer_goes_on(db_path):
    writer = DatabaseWriter(db_path, queue_spans=100, batch_spans=100)
    writer.start()
    trace_id = new_trace_id()

    def count_spans(conn):
        return conn.execute("SELECT count(*) FROM spans").fetchone()[0]

    def half_done(conn):
        conn.execute("DELETE FROM spans")
        raise ValueError("changed my mind")

    try:
        assert writer.submit(decode_export_trace_request(make_request(make_span(trace_id=trace_id)))).wait(10).spans
        with pytest.raises(ValueError, match="changed my mind"):
            writer.run_job(half_done, 10)
        assert writer.run_job(count_spans, 10) == 1  # rolled back
        assert writer.submit(decode_export_trace_request(make_request(make_span(trace_id=trace_id)))).wait(10).spans
        assert writer.run_job(count_spans, 10) == 2
    finally:
        writer.close()
    with pytest.raises(StoreClosed):
        writer.run_job(count_spans, 10)


def test_a_job_that_cannot_start_in_time_is_withdrawn_unrun(db_path):
    writer = DatabaseWriter(db_path, queue_spans=100, batch_spans=100)
    writer.start()
    started, release = threading.Event(), threading.Event()
    results = []

    def hold_the_writer(conn):
        started.set()
        assert release.wait(10)
        return "held"

    holder = threading.Thread(target=lambda: results.append(writer.run_job(hold_the_writer, 10)))
    try:
        assert writer.submit(decode_export_trace_request(make_request(make_span(trace_id=new_trace_id())))).wait(10)
        holder.start()
        assert started.wait(10)
        with pytest.raises(StorageFailed, match="nothing was changed"):
            writer.clear_all(0.2)
        release.set()
        holder.join(10)
        assert results == ["held"]
        assert writer.run_job(lambda conn: conn.execute("SELECT count(*) FROM spans").fetchone()[0], 10) == 1
    finally:
        release.set()
        writer.close()


def test_subscribers_hear_what_was_deleted_and_that_all_was_cleared(receiver):
    first, copy = new_trace_id(), new_trace_id()
    send(receiver, chat_span(first, response_id="resp-told"))
    send(receiver, chat_span(copy, response_id="resp-told"))
    assert receiver.wait_indexed()  # and told of the values read after the commits
    events: list[IngestEvent] = []
    receiver.subscribe(events.append)

    receiver.delete_traces([first.hex(), "f" * 32])
    # the copy's trace now counts the call: its totals changed too
    assert events == [IngestEvent(frozenset({copy.hex()}), 0, deleted_trace_ids=frozenset({first.hex()}))]
    receiver.delete_traces(["f" * 32])
    assert len(events) == 1  # nothing deleted, nothing told
    receiver.clear_all()
    assert events[-1] == IngestEvent(frozenset(), 0, cleared=True)
