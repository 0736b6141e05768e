"""Keyword-only builders of OTLP protobuf requests for tests."""

from __future__ import annotations

import itertools
import os

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

_counter = itertools.count(1)
BASE_NS = 1_790_000_000_000_000_000


def new_trace_id() -> bytes:
    return os.urandom(16)


def make_span(*, trace_id: bytes, span_id: bytes | None = None, parent_span_id: bytes = b"",
              name: str = "span", start_ns: int | None = None, duration_ns: int = 1_000_000,
              error: bool = False, attributes: dict | None = None) -> Span:
    n = next(_counter)
    start = BASE_NS + n * 1_000 if start_ns is None else start_ns
    span = Span(trace_id=trace_id, span_id=span_id or os.urandom(8), parent_span_id=parent_span_id,
                name=name, kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=start,
                end_time_unix_nano=start + duration_ns)
    if error:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="boom"))
    for key, value in (attributes or {}).items():
        span.attributes.append(KeyValue(key=key, value=any_value(value)))
    return span


def any_value(value) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    return AnyValue(string_value=str(value))


def make_request(*spans: Span, service: str = "test-service") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests"
    scope_spans.spans.extend(spans)
    return request
