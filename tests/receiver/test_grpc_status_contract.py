"""The OTLP/gRPC status contract on a real grpcio channel."""

from __future__ import annotations

import threading

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from receiver.config import ReceiverConfig
from receiver.service import Receiver
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture
def channel(receiver):
    with grpc.insecure_channel(f"127.0.0.1:{receiver.addresses.grpc_port}") as ch:
        yield ch


def test_empty_request_is_ok_without_partial_success(channel):
    response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(ExportTraceServiceRequest(), timeout=10)
    assert not response.HasField("partial_success")


def test_undecodable_bytes_are_invalid_argument(channel, receiver):
    raw = channel.unary_unary(EXPORT)  # no serializer: bytes go out as they are
    with pytest.raises(grpc.RpcError) as caught:
        raw(b"\x0a\xff\xff\xff", timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "protobuf" in caught.value.details()
    assert receiver.counters().requests_failed == 1


def test_some_invalid_spans_give_partial_success_and_the_rest_is_stored(channel, receiver):
    good = new_trace_id()
    request = make_request(make_span(trace_id=good, name="ok"),
                           make_span(trace_id=good, span_id=b"\x00" * 8, name="zero span id"),
                           make_span(trace_id=good, parent_span_id=b"\x01\x02", name="short parent"))
    response = trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)
    assert response.partial_success.rejected_spans == 2
    assert "all zeros" in response.partial_success.error_message
    store = receiver.store()
    assert [s.name for s in store.get_trace(good.hex()).spans] == ["ok"]
    store.close()


def test_a_message_over_the_limit_is_resource_exhausted_and_the_server_keeps_serving(db_path):
    config = ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, max_request_bytes=4096)
    with Receiver(config) as small, grpc.insecure_channel(f"127.0.0.1:{small.addresses.grpc_port}") as ch:
        stub = trace_service_pb2_grpc.TraceServiceStub(ch)
        big = make_request(make_span(trace_id=new_trace_id(), attributes={"blob": "x" * 10_000}))
        with pytest.raises(grpc.RpcError) as caught:
            stub.Export(big, timeout=10)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        trace_id = new_trace_id()
        stub.Export(make_request(make_span(trace_id=trace_id)), timeout=10)
        store = small.store()
        assert store.get_trace(trace_id.hex()).spans
        store.close()


def test_a_full_queue_answers_unavailable_and_503_with_retry_after(db_path):
    """The writer is held inside a commit callback, so one request waits in the queue and the
    next one finds it full; releasing the writer lets the waiting request finish."""
    config = ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, queue_spans=2)
    with Receiver(config) as r, grpc.insecure_channel(f"127.0.0.1:{r.addresses.grpc_port}") as ch:
        stub = trace_service_pb2_grpc.TraceServiceStub(ch)
        held, release = threading.Event(), threading.Event()

        def hold_writer(event):
            held.set()
            release.wait(30)

        unsubscribe = r.subscribe(hold_writer)
        stub.Export(make_request(make_span(trace_id=new_trace_id())), timeout=10)
        assert held.wait(10)
        unsubscribe()
        waiting_id = new_trace_id()
        waiting = stub.Export.future(make_request(make_span(trace_id=waiting_id), make_span(trace_id=waiting_id)),
                                     timeout=30)
        assert r.wait_for_pending_spans(2, timeout=10)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Export(make_request(make_span(trace_id=new_trace_id())), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        answer = post(r.addresses.http_port, make_request(make_span(trace_id=new_trace_id())).SerializeToString())
        assert answer.status == 503 and answer.headers["Retry-After"] == "1"
        release.set()
        assert isinstance(waiting.result(timeout=30), ExportTraceServiceResponse)
        store = r.store()
        assert len(store.get_trace(waiting_id.hex()).spans) == 2
        store.close()


def test_a_request_that_trips_a_decoding_bug_is_internal_and_the_next_one_is_stored(channel, receiver, monkeypatch):
    # A fault injected where no known input fails: the safety net for the bugs nobody has found yet.
    from receiver.genai.analyser import SpanAnalyser

    analyse = SpanAnalyser.analyse

    def analyse_or_fail(self, span):
        if span.name == "trips a bug":
            raise KeyError("surprise")
        return analyse(self, span)

    monkeypatch.setattr(SpanAnalyser, "analyse", analyse_or_fail)
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Export(make_request(make_span(trace_id=new_trace_id(), name="trips a bug")), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "a bug" in caught.value.details() and "KeyError" in caught.value.details()
    trace_id = new_trace_id()
    stub.Export(make_request(make_span(trace_id=trace_id, name="fine")), timeout=10)
    store = receiver.store()
    assert [s.name for s in store.get_trace(trace_id.hex()).spans] == ["fine"]
    store.close()
    body = make_request(make_span(trace_id=new_trace_id(), name="trips a bug")).SerializeToString()
    http = post(receiver.addresses.http_port, body)
    assert http.status == 500 and b"a bug" in http.body
