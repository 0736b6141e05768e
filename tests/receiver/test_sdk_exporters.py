"""Spans sent by the real OpenTelemetry Python SDK exporters come back from
`tracepane show --json` field by field, over gRPC and over HTTP/protobuf. No waiting: the
exporter's flush returns only after the receiver acknowledged, and acknowledging means the
spans are committed."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from tests.conftest import show_json


def _exporter(protocol: str, receiver):
    ports = receiver.addresses
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=f"127.0.0.1:{ports.grpc_port}", insecure=True)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"http://127.0.0.1:{ports.http_port}/v1/traces")


def _agent_run(tracer) -> str:
    """An agent-shaped trace with every attribute type the SDK can send."""
    with tracer.start_as_current_span("invoke_agent planner", kind=SpanKind.SERVER) as root:
        root.set_attributes({
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner",
            "flag": True, "count": 7, "ratio": 0.25, "big": 2**62,
            "tags": ["a", "b"], "sizes": [1, 2, 3], "weights": [0.5, 1.5], "bits": [True, False],
            "empty.text": "",
        })
        linked = root.get_span_context()
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT,
                                          links=[Link(linked, {"link.reason": "retry-of"})]) as chat:
            chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            chat.set_attribute("gen_ai.usage.input_tokens", 75)
            chat.add_event("gen_ai.content.prompt", {"gen_ai.prompt": "What's the weather in Paris?"})
            chat.add_event("plain marker")
        with tracer.start_as_current_span("execute_tool get_weather") as tool:
            tool.set_status(Status(StatusCode.ERROR, "weather service timed out"))
            tool.record_exception(TimeoutError("upstream took 30 s"))
        return format(root.get_span_context().trace_id, "032x")


def _expected(span) -> dict:
    def plain(attrs):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in (attrs or {}).items()}

    return {
        "trace_id": format(span.context.trace_id, "032x"),
        "span_id": format(span.context.span_id, "016x"),
        "parent_span_id": format(span.parent.span_id, "016x") if span.parent else None,
        "name": span.name,
        "kind": span.kind.name.lower(),
        "service_name": "sdk-test",
        "scope": {"name": "tests.sdk", "version": "1.2.3", "attributes": {}},
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "duration_ms": round((span.end_time - span.start_time) / 1e6, 6),
        "status_code": span.status.status_code.name.lower(),
        "status_message": span.status.description or "",
        "trace_state": "",
        "attributes": plain(span.attributes),
        "events": [{"name": e.name, "time_unix_nano": e.timestamp, "attributes": plain(e.attributes),
                    "dropped_attributes_count": 0} for e in span.events],
        "links": [{"trace_id": format(link.context.trace_id, "032x"),
                   "span_id": format(link.context.span_id, "016x"), "trace_state": "",
                   "attributes": plain(link.attributes), "dropped_attributes_count": 0}
                  for link in span.links],
        "dropped_attributes_count": 0,
        "dropped_events_count": 0,
        "dropped_links_count": 0,
        "resource": plain(span.resource.attributes),
    }


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_sdk_exporter_spans_come_back_field_by_field(protocol, receiver, db_path):
    sent = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-test", "deployment.environment": "ci"}))
    provider.add_span_processor(SimpleSpanProcessor(sent))
    provider.add_span_processor(BatchSpanProcessor(_exporter(protocol, receiver)))
    trace_id = _agent_run(provider.get_tracer("tests.sdk", "1.2.3"))
    assert provider.force_flush(30_000), "exporter did not get its acknowledgement"
    provider.shutdown()

    shown = show_json(db_path, trace_id)

    assert shown["trace_id"] == trace_id and shown["logs"] == []
    by_id = {s["span_id"]: s for s in shown["spans"]}
    expected = [_expected(s) for s in sent.get_finished_spans()]
    assert sorted(by_id) == sorted(e["span_id"] for e in expected)
    for want in expected:
        got = dict(by_id[want["span_id"]])
        assert got.pop("flags") & 0x100  # the SDK marks "is-remote known"; the rest is its business
        for link in got["links"]:
            link.pop("flags")
        assert {key: got[key] for key in want} == want  # the OTLP fields; GenAI ones are tested apart


def test_gzip_compressed_grpc_export_is_stored(receiver, db_path):
    from grpc import Compression
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    provider = TracerProvider(resource=Resource.create({"service.name": "gzip-test"}))
    recorded = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(recorded))
    with provider.get_tracer("t").start_as_current_span("compressed") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{receiver.addresses.grpc_port}", insecure=True,
                                compression=Compression.Gzip)
    assert exporter.export(recorded.get_finished_spans()) == SpanExportResult.SUCCESS
    exporter.shutdown()
    assert [s["name"] for s in show_json(db_path, trace_id)["spans"]] == ["compressed"]
