"""Finished spans made with the real OpenTelemetry SDK, for tests that export them by hand."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def finished_spans(service: str, traces: int, spans_per_trace: int) -> list[ReadableSpan]:
    """`traces` traces of a root and `spans_per_trace - 1` children each, in finishing order
    (children before their root)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer(service)
    for t in range(traces):
        with tracer.start_as_current_span(f"request {t}"):
            for i in range(spans_per_trace - 1):
                with tracer.start_as_current_span(f"step {i}"):
                    pass
    return list(memory.get_finished_spans())
