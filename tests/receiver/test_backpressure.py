"""Backpressure without loss: with the writer's queue full the receiver answers 503 with
Retry-After / UNAVAILABLE, the real OpenTelemetry exporters back off and retry, and every
span ends up stored."""

from __future__ import annotations

import threading

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from receiver.config import ReceiverConfig
from receiver.service import Receiver
from tests.sdk_spans import finished_spans


def _traces(count: int, spans_each: int) -> list[list]:
    spans = finished_spans("backpressure", count, spans_each)
    return [spans[i:i + spans_each] for i in range(0, len(spans), spans_each)]


def test_sdk_exporters_retry_through_a_full_queue_and_lose_nothing(db_path):
    config = ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, queue_spans=4)
    with Receiver(config) as receiver:
        ports = receiver.addresses
        http_url = f"http://127.0.0.1:{ports.http_port}/v1/traces"
        grpc_endpoint = f"127.0.0.1:{ports.grpc_port}"
        first, queued, via_grpc, via_http = _traces(4, 3)
        results: dict[str, SpanExportResult] = {}

        # Slow the writer: after its first commit it waits in a subscriber until released.
        writer_held, release = threading.Event(), threading.Event()

        def hold(_event) -> None:
            writer_held.set()
            release.wait(60)

        unsubscribe = receiver.subscribe(hold)
        assert HttpExporter(endpoint=http_url).export(first) == SpanExportResult.SUCCESS
        assert writer_held.wait(10)
        unsubscribe()

        def export(name: str, exporter, spans) -> None:
            results[name] = exporter.export(spans)
            exporter.shutdown()

        threads = [threading.Thread(target=export, args=("queued", HttpExporter(endpoint=http_url), queued))]
        threads[0].start()
        assert receiver.wait_for_pending_spans(3, timeout=10)  # the queue now holds 3 of its 4
        threads += [
            threading.Thread(target=export, args=("grpc", GrpcExporter(endpoint=grpc_endpoint, insecure=True),
                                                  via_grpc)),
            threading.Thread(target=export, args=("http", HttpExporter(endpoint=http_url), via_http)),
        ]
        for thread in threads[1:]:
            thread.start()
        # Both exporters have been told "busy" at least once before the writer resumes.
        assert receiver.wait_for_counters(lambda c: c.requests_busy >= 2, timeout=20)
        release.set()
        for thread in threads:
            thread.join(60)

        assert results == {"queued": SpanExportResult.SUCCESS, "grpc": SpanExportResult.SUCCESS,
                           "http": SpanExportResult.SUCCESS}
        store = receiver.store()
        stored = {s.span_id for batch in (first, queued, via_grpc, via_http)
                  for s in store.get_trace(format(batch[0].context.trace_id, "032x")).spans}
        store.close()
        assert stored == {format(s.context.span_id, "016x") for b in (first, queued, via_grpc, via_http) for s in b}
        assert receiver.counters().requests_busy >= 2
