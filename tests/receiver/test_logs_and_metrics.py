"""Log records and metric data points on both transports: stored, shown with their trace
(whether they arrive before or after its spans), counted, and refused item by item."""

from __future__ import annotations

import json

import grpc
import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.conftest import FIXTURES, fixture_requests, gz, post, show_json
from tests.receiver.test_fixture_json import _attrs, _plain
from tests.test_docs import LOG_KEYS


def _post_lines(port: int, path: str, requests: list[dict]) -> None:
    for i, request in enumerate(requests):
        body = json.dumps(request).encode()
        answer = (post(port, gz(body), "application/json", path=path, encoding="gzip") if i % 2
                  else post(port, body, "application/json", path=path, chunked=True))
        assert answer.status == 200 and answer.json() == {}, answer.body


def _fixture_logs(requests: list[dict]) -> list[dict]:
    return [record for r in requests for rl in r.get("resourceLogs", []) for sl in rl.get("scopeLogs", [])
            for record in sl.get("logRecords", [])]


@pytest.mark.parametrize("name", ["opentelemetry-instrumentation-openai-v2-2.4b0",
                                  "opentelemetry-instrumentation-openai-v2-2.0b0", "openlit-1.45.0"])
def test_fixture_log_records_sent_before_their_spans_are_shown_with_them(name, receiver, db_path, store):
    logs_file, traces_file = FIXTURES / f"{name}.logs.jsonl", FIXTURES / f"{name}.traces.jsonl"
    if not logs_file.exists():
        pytest.skip(f"fixture {logs_file} missing")
    port = receiver.addresses.http_port
    log_requests = fixture_requests(logs_file)
    _post_lines(port, "/v1/logs", log_requests)  # logs first: their spans are not there yet
    _post_lines(port, "/v1/traces", fixture_requests(traces_file))

    records = _fixture_logs(log_requests)
    assert store.stats().logs == len(records)
    linked = [r for r in records if r.get("traceId")]
    assert linked, "fixture has log records tied to spans"
    for trace_id in {r["traceId"] for r in linked}:
        shown = show_json(db_path, trace_id)
        span_ids = {s["span_id"] for s in shown["spans"]}
        want = sorted((r["spanId"], r.get("eventName") or _attrs(r.get("attributes")).get("event.name"),
                       json.dumps(_plain(r.get("body")), sort_keys=True),
                       json.dumps(_attrs(r.get("attributes")), sort_keys=True))
                      for r in linked if r["traceId"] == trace_id)
        got = sorted((lg["span_id"], lg["event_name"], json.dumps(lg["body"], sort_keys=True),
                      json.dumps(lg["attributes"], sort_keys=True)) for lg in shown["logs"])
        assert got == want
        assert {lg["span_id"] for lg in shown["logs"]} <= span_ids  # each joins a stored span


def test_python_sdk_logs_over_grpc_and_http_arrive_before_the_span_and_join_it(receiver, db_path):
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter

    resource = Resource.create({"service.name": "sdk-logs"})
    ports = receiver.addresses
    loggers = LoggerProvider(resource=resource)
    loggers.add_log_record_processor(SimpleLogRecordProcessor(
        GrpcLogExporter(endpoint=f"127.0.0.1:{ports.grpc_port}", insecure=True)))
    loggers.add_log_record_processor(SimpleLogRecordProcessor(
        HttpLogExporter(endpoint=f"http://127.0.0.1:{ports.http_port}/v1/logs")))
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"127.0.0.1:{ports.grpc_port}", insecure=True)))
    logger = loggers.get_logger("tests.logs")
    with tracer_provider.get_tracer("tests").start_as_current_span("chat gpt-4o-mini") as span:
        # SimpleLogRecordProcessor exports now, while the span is still open: the records
        # reach the receiver before their span does.
        logger.emit(severity_number=SeverityNumber.INFO, body={"content": "What's the weather?"},
                    event_name="gen_ai.user.message", attributes={"gen_ai.system": "openai"})
        context = span.get_span_context()
    trace_id, span_id = format(context.trace_id, "032x"), format(context.span_id, "016x")
    loggers.shutdown()
    tracer_provider.shutdown()

    shown = show_json(db_path, trace_id)
    assert [s["span_id"] for s in shown["spans"]] == [span_id]
    assert len(shown["logs"]) == 1  # sent twice (gRPC and HTTP), identical: stored once
    (record,) = shown["logs"]
    assert set(record) == LOG_KEYS
    assert record["span_id"] == span_id and record["event_name"] == "gen_ai.user.message"
    assert record["severity"] == "INFO" and record["severity_number"] == 9
    assert record["body"] == {"content": "What's the weather?"}
    assert record["attributes"] == {"gen_ai.system": "openai"}
    assert record["resource"]["service.name"] == "sdk-logs"


@pytest.mark.parametrize("name", ["opentelemetry-instrumentation-openai-v2-2.4b0", "openlit-1.45.0",
                                  "pydantic-ai-2.68.0"])
def test_fixture_metrics_are_stored_point_by_point(name, receiver, store):
    path = FIXTURES / f"{name}.metrics.jsonl"
    if not path.exists():
        pytest.skip(f"fixture {path} missing")
    requests = fixture_requests(path)
    _post_lines(receiver.addresses.http_port, "/v1/metrics", requests)
    want: dict[str, int] = {}
    for r in requests:
        for rm in r.get("resourceMetrics", []):
            for sm in rm.get("scopeMetrics", []):
                for metric in sm.get("metrics", []):
                    kind = next(k for k in ("gauge", "sum", "histogram", "exponentialHistogram", "summary")
                                if k in metric)
                    want[metric["name"]] = want.get(metric["name"], 0) + len(metric[kind].get("dataPoints", []))
    assert store.stats().metric_points == sum(want.values())
    usage = store.metric_points("gen_ai.client.token.usage")
    assert len(usage) == want["gen_ai.client.token.usage"]
    assert all(p.kind == "histogram" and p.count and p.sum is not None for p in usage)
    assert {p.attributes.get("gen_ai.token.type") for p in usage} >= {"input", "output"}
    assert all("bucketCounts" in p.data for p in usage)


def test_python_sdk_metrics_over_grpc_keep_their_numbers(receiver, store):
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"127.0.0.1:{receiver.addresses.grpc_port}", insecure=True),
        export_interval_millis=3_600_000)  # exported by force_flush only
    meters = MeterProvider(resource=Resource.create({"service.name": "sdk-metrics"}), metric_readers=[reader])
    meter = meters.get_meter("tests.metrics")
    usage = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    calls = meter.create_counter("llm.calls")
    for tokens in (75, 155):
        usage.record(tokens, {"gen_ai.token.type": "input", "gen_ai.request.model": "gpt-4o-mini"})
    calls.add(2, {"gen_ai.request.model": "gpt-4o-mini"})
    assert meters.force_flush(30_000)
    meters.shutdown()  # exports once more: cumulative temporality, so the same numbers again

    histogram, again = store.metric_points("gen_ai.client.token.usage")
    assert (again.count, again.sum) == (histogram.count, histogram.sum)
    assert (histogram.kind, histogram.unit, histogram.count, histogram.sum) == ("histogram", "{token}", 2, 230.0)
    assert (histogram.min, histogram.max) == (75.0, 155.0)
    assert histogram.service_name == "sdk-metrics"
    counter = store.metric_points("llm.calls")[0]
    assert (counter.kind, counter.value, counter.is_monotonic) == ("sum", 2, True)
    assert isinstance(counter.value, int)


def test_log_records_with_bad_ids_are_rejected_one_by_one_on_both_transports(receiver, store):
    request = logs_service_pb2.ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    records.append(LogRecord(time_unix_nano=1, trace_id=b"\x01" * 16, span_id=b"\x02" * 8, severity_text="good"))
    records.append(LogRecord(time_unix_nano=2, trace_id=b"\x01" * 16, span_id=b"\x02" * 3, severity_text="bad"))
    records.append(LogRecord(time_unix_nano=3, severity_text="no trace is fine"))
    with grpc.insecure_channel(f"127.0.0.1:{receiver.addresses.grpc_port}") as channel:
        response = logs_service_pb2_grpc.LogsServiceStub(channel).Export(request, timeout=10)
    assert response.partial_success.rejected_log_records == 1
    assert "span_id is 3 bytes" in response.partial_success.error_message
    answer = post(receiver.addresses.http_port, request.SerializeToString(), path="/v1/logs")
    parsed = logs_service_pb2.ExportLogsServiceResponse.FromString(answer.body)
    assert answer.status == 200 and parsed.partial_success.rejected_log_records == 1
    assert store.stats().logs == 2  # the good two, once each although sent twice


def test_data_points_out_of_range_are_rejected_and_the_rest_stored(receiver, store):
    request = metrics_service_pb2.ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name="queue.depth")
    metric.gauge.data_points.add(time_unix_nano=10, as_int=3)
    metric.gauge.data_points.add(time_unix_nano=2**64 - 1, as_double=1.5)
    with grpc.insecure_channel(f"127.0.0.1:{receiver.addresses.grpc_port}") as channel:
        response = metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(request, timeout=10)
    assert response.partial_success.rejected_data_points == 1
    document = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "queue.depth", "gauge": {
        "dataPoints": [{"timeUnixNano": "20", "asDouble": 2.5}, {"timeUnixNano": "18446744073709551615"}]}}]}]}]}
    answer = post(receiver.addresses.http_port, json.dumps(document).encode(), "application/json", path="/v1/metrics")
    assert answer.status == 200 and answer.json()["partialSuccess"]["rejectedDataPoints"] == "1"
    assert [(p.time_unix_nano, p.value) for p in store.metric_points("queue.depth")] == [(10, 3), (20, 2.5)]


@pytest.mark.parametrize("path", ["/v1/logs", "/v1/metrics"])
def test_logs_and_metrics_follow_the_same_status_contract(receiver, path):
    port = receiver.addresses.http_port
    assert post(port, b"", path=path).status == 200
    assert post(port, b"{}", "application/json", path=path).json() == {}
    assert post(port, b"\x0a\xff\xff", path=path).status == 400
    assert post(port, b"{", "application/json", path=path).status == 400
    assert post(port, b"x", "text/plain", path=path).status == 415
    assert post(port, b"x", path=path, encoding="br").status == 415
