"""The demo's GenAI metrics: what an instrumentation's meter would have exported for the demo's
model calls — `gen_ai.client.token.usage` and `gen_ai.client.operation.duration`, one delta
histogram point per call at its end — so the charts page shows them beside the spans."""

from __future__ import annotations

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, HistogramDataPoint, Metric

__all__ = ["demo_metrics_request"]

# the GenAI semantic conventions' advised bucket boundaries
TOKEN_BOUNDS = [4 ** n for n in range(14)]  # 1, 4, 16, ... 67,108,864
SECOND_BOUNDS = [0.01 * 2 ** n for n in range(14)]  # 0.01 s ... 81.92 s
_CALL_KEYS = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model")


def demo_metrics_request(spans: ExportTraceServiceRequest) -> ExportMetricsServiceRequest:
    """Token usage and duration points for the model calls among the spans (delta temporality)."""
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    resource_metrics.resource.CopyFrom(spans.resource_spans[0].resource)
    scope_metrics = resource_metrics.scope_metrics.add()
    scope_metrics.scope.name = "tracepane.demo.metrics"
    tokens = _histogram(scope_metrics.metrics.add(), "gen_ai.client.token.usage", "{token}")
    durations = _histogram(scope_metrics.metrics.add(), "gen_ai.client.operation.duration", "s")
    for span in spans.resource_spans[0].scope_spans[0].spans:
        attributes = {kv.key: kv.value for kv in span.attributes}
        if attributes.get("gen_ai.operation.name", AnyValue()).string_value != "chat":
            continue
        call = [KeyValue(key=key, value=attributes[key]) for key in _CALL_KEYS if key in attributes]
        seconds = (span.end_time_unix_nano - span.start_time_unix_nano) / 1e9
        _point(durations, span, call, seconds, SECOND_BOUNDS)
        for token_type, key in (("input", "gen_ai.usage.input_tokens"), ("output", "gen_ai.usage.output_tokens")):
            if key in attributes:
                typed = [*call, KeyValue(key="gen_ai.token.type", value=AnyValue(string_value=token_type))]
                _point(tokens, span, typed, attributes[key].int_value, TOKEN_BOUNDS)
    return request


def _histogram(metric: Metric, name: str, unit: str) -> Metric:
    metric.name, metric.unit = name, unit
    metric.histogram.aggregation_temporality = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
    return metric


def _point(metric: Metric, span, attributes: list[KeyValue], value: float, bounds: list[float]) -> None:
    point = HistogramDataPoint(start_time_unix_nano=span.start_time_unix_nano, time_unix_nano=span.end_time_unix_nano,
                               count=1, sum=value, min=value, max=value, explicit_bounds=bounds,
                               bucket_counts=[int(i == sum(b < value for b in bounds)) for i in range(len(bounds) + 1)])
    point.attributes.extend(attributes)
    metric.histogram.data_points.append(point)
