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

SECOND = 1_000_000_000


class _CheckedLogExporter(OTLPLogExporter):
    """The SDK's processor only logs a failed export; the tests must see it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.results: list[LogRecordExportResult] = []

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        result = super().export(batch)
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


def send_model_call(grpc_port: int, service: str, response_id: str) -> tuple[str, str]:
    """One chat span carrying `gen_ai.response.id`; returns its (trace id, span id)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{grpc_port}", insecure=True)
    results: list[SpanExportResult] = []
    export = exporter.export
    exporter.export = lambda spans: results.append(export(spans)) or results[-1]  # type: ignore[method-assign]
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("tests").start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                             "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.id": response_id})
        context = span.get_span_context()
    provider.shutdown()
    assert results == [SpanExportResult.SUCCESS]
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
