"""Every acknowledged span survives a SIGKILL of the receiver: acknowledgement means commit."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from receiver.storage.store import TraceStore
from tests.sdk_spans import finished_spans
from tests.serve_process import ServeProcess


def test_acknowledged_spans_survive_sigkill_and_restart(db_path):
    server = ServeProcess(db_path)
    server.wait_listening()
    spans = finished_spans("durability", traces=10, spans_per_trace=20)
    grpc_exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True)
    http_exporter = HttpExporter(endpoint=f"http://127.0.0.1:{server.http_port}/v1/traces")
    acknowledged = []
    for i in range(0, len(spans), 25):  # eight batches, alternating transports
        batch = spans[i:i + 25]
        exporter = grpc_exporter if (i // 25) % 2 else http_exporter
        assert exporter.export(batch) == SpanExportResult.SUCCESS
        acknowledged.extend(batch)
    server.kill9()  # no shutdown, no final flush
    grpc_exporter.shutdown()
    http_exporter.shutdown()

    restarted = ServeProcess(db_path)
    restarted.wait_listening()
    store = TraceStore(db_path)
    try:
        stored = {(s.trace_id, s.span_id) for t in {format(s.context.trace_id, "032x") for s in acknowledged}
                  for s in store.get_trace(t).spans}
        assert stored == {(format(s.context.trace_id, "032x"), format(s.context.span_id, "016x"))
                          for s in acknowledged}
        assert len(stored) == 200
        assert {t.span_count for t in store.list_traces(limit=100).traces} == {20}
    finally:
        store.close()
        assert restarted.stop() == 0
