"""Model calls and their evaluation results sent with the real OpenTelemetry SDK: a chat span
per call over OTLP/gRPC, and each result as a `gen_ai.evaluation.result` log record linked to
it, over the OTLP/HTTP log exporter (`tests.sdk_logs`)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from tests.sdk_logs import SECOND, sdk_logger

# (evaluator name, score or None, label or None)
Result = tuple[str, float | None, str | None]


def send_evaluated_calls(addresses, calls: Sequence[Sequence[Result]], *, at_ns: Sequence[int] | None = None,
                         service: str = "evals-app") -> list[tuple[str, str]]:
    """One trace per call: a chat span (started at `at_ns[i]`, else just now) and its results,
    recorded a second after it ended. `addresses` has `grpc_port` and `http_port`. Returns
    each call's (trace id, span id)."""
    resource = Resource.create({"service.name": service})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{addresses.grpc_port}", insecure=True)
    exported: list[SpanExportResult] = []
    export = exporter.export
    exporter.export = lambda spans: exported.append(export(spans)) or exported[-1]  # type: ignore[method-assign]
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.evaluated")
    ids = []
    with sdk_logger(addresses.http_port, service) as logger:
        for i, results in enumerate(calls):
            # now: the results (2 s after the start) must not lie in the future, past a chart's last minute
            start = at_ns[i] if at_ns is not None else time.time_ns() - 3 * SECOND
            span = tracer.start_span("chat gpt-4o-mini", start_time=start, attributes={
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 100,
                "gen_ai.usage.output_tokens": 10})
            span.end(start + SECOND)
            context = trace.set_span_in_context(span)
            for name, score, label in results:
                attributes: dict = {"gen_ai.evaluation.name": name}
                if score is not None:
                    attributes["gen_ai.evaluation.score.value"] = score
                if label is not None:
                    attributes["gen_ai.evaluation.score.label"] = label
                logger.emit(timestamp=start + 2 * SECOND, context=context, event_name="gen_ai.evaluation.result",
                            attributes=attributes)
            ids.append((format(span.get_span_context().trace_id, "032x"),
                        format(span.get_span_context().span_id, "016x")))
    provider.shutdown()
    assert exported and all(r == SpanExportResult.SUCCESS for r in exported), exported
    return ids
