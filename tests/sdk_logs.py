"""Log records and model-call spans sent with the real OpenTelemetry SDK: a `LoggerProvider`
with the OTLP/HTTP log exporter, a `TracerProvider` with the OTLP/gRPC span exporter."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import Logger, LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import Tracer

SECOND = 1_000_000_000


class _CheckedLogExporter(OTLPLogExporter):
    """The SDK's processors only log a failed export; the tests must see it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.results: list[LogRecordExportResult] = []

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        result = super().export(batch)
        self.results.append(result)
        return result


class _CheckedSpanExporter(OTLPSpanExporter):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.results: list[SpanExportResult] = []

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        result = super().export(spans)
        self.results.append(result)
        return result


@contextmanager
def sdk_logger(http_port: int, service: str) -> Iterator[Logger]:
    """A logger whose every `emit` is exported at once over OTLP/HTTP; asserts they all succeeded."""
    provider = LoggerProvider(resource=Resource.create({"service.name": service}))
    exporter = _CheckedLogExporter(endpoint=f"http://127.0.0.1:{http_port}/v1/logs")
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    try:
        yield provider.get_logger("tests.logs")
    finally:
        provider.shutdown()
    assert exporter.results and all(r == LogRecordExportResult.SUCCESS for r in exporter.results), exporter.results


def send_logs(http_port: int, service: str, records: Iterable[dict[str, Any]]) -> None:
    """Each record is `Logger.emit`'s keyword arguments (no span is current: no trace id)."""
    with sdk_logger(http_port, service) as logger:
        for record in records:
            logger.emit(**record)


@contextmanager
def sdk_tracer(grpc_port: int, resource: dict[str, Any]) -> Iterator[Tracer]:
    """A tracer whose every ended span is exported at once over OTLP/gRPC; asserts they all succeeded."""
    provider = TracerProvider(resource=Resource.create(resource))
    exporter = _CheckedSpanExporter(endpoint=f"127.0.0.1:{grpc_port}", insecure=True)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider.get_tracer("tests")
    finally:
        provider.shutdown()
    assert exporter.results and all(r == SpanExportResult.SUCCESS for r in exporter.results), exporter.results


def send_model_call(grpc_port: int, service: str, response_id: str) -> tuple[str, str]:
    """One chat span carrying `gen_ai.response.id`; returns its (trace id, span id)."""
    with sdk_tracer(grpc_port, {"service.name": service}) as tracer:
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                 "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.id": response_id})
            context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
