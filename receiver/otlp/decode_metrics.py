"""`ExportMetricsServiceRequest` -> `WriteBatch`. Pure functions, no I/O.

Every data point becomes one row: the metric's identity, the point's times and attributes,
the numbers charts need as columns (value, or count/sum/min/max), and the whole point as
protobuf JSON in `data` (buckets, bounds, quantiles, exemplars), so nothing is lost.
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

from receiver.otlp.limits import limited_text
from receiver.otlp.values import (
    JSON,
    MAX_TIME_UNIX_NANO,
    Rejections,
    RequestWalk,
    content_id,
    encode_attributes,
)
from receiver.records import ResourceRecord, WriteBatch

__all__ = ["decode_export_metrics_request"]

MAX_INT64 = 2**63 - 1  # SQLite's integers; a data point's count is unsigned 64-bit

# Metric.data oneof member -> stored kind name
KINDS = {"gauge": "gauge", "sum": "sum", "histogram": "histogram",
         "exponential_histogram": "exponential_histogram", "summary": "summary"}


def decode_export_metrics_request(request: ExportMetricsServiceRequest) -> WriteBatch:
    walk = RequestWalk()
    rows: list[tuple] = []
    rejected = Rejections("data points")
    for resource, scope, metric in walk.items(request.resource_metrics, "scope_metrics", "metrics"):
        _decode_metric(metric, resource, scope.scope_id, rows, rejected)
    return WriteBatch(resources=tuple(walk.resources.values()), scopes=tuple(walk.scopes.values()),
                      metric_rows=tuple(rows), rejected=rejected.count,
                      rejection_message=rejected.message(len(rows)))


def _decode_metric(metric: Metric, resource: ResourceRecord, scope_id: int, rows: list[tuple],
                   rejected: Rejections) -> None:
    member = metric.WhichOneof("data")
    if member is None:  # no data points, so nothing to store or to reject
        return
    data = getattr(metric, member)
    temporality = getattr(data, "aggregation_temporality", None)
    monotonic = getattr(data, "is_monotonic", None)
    metadata = encode_attributes(metric.metadata)
    identity = metric.name.encode() + b"\x00" + member.encode()
    for point in data.data_points:
        if point.time_unix_nano > MAX_TIME_UNIX_NANO or point.start_time_unix_nano > MAX_TIME_UNIX_NANO:
            rejected.add(f"metric {metric.name!r}: timestamp beyond the year 2262")
            continue
        value, count, total, low, high = _numbers(member, point)
        if count is not None and count > MAX_INT64:
            rejected.add(f"metric {metric.name!r}: count {count} does not fit a signed 64-bit integer")
            continue
        rest = json_format.MessageToDict(point)
        rest.pop("attributes", None)
        rows.append((
            content_id(identity, point.SerializeToString(deterministic=True),
                       resource.resource_id.to_bytes(8, "big", signed=True), scope_id.to_bytes(8, "big", signed=True)),
            limited_text(metric.name), limited_text(metric.description), limited_text(metric.unit),
            KINDS[member], temporality,
            None if monotonic is None else int(monotonic),
            point.start_time_unix_nano, point.time_unix_nano,
            value, count, total, low, high,
            JSON.encode(rest), encode_attributes(point.attributes), point.flags, metadata,
            resource.service_name, resource.resource_id, scope_id,
        ))


def _numbers(member: str, point: Any) -> tuple[Any, Any, Any, Any, Any]:
    """(value, count, sum, min, max) for the columns; None where the point has none."""
    if member in ("gauge", "sum"):
        which = point.WhichOneof("value")
        value = None if which is None else getattr(point, which)
        return _finite(value), None, None, None, None
    total = _finite(point.sum) if member == "summary" or point.HasField("sum") else None
    if member == "summary":
        return None, point.count, total, None, None
    low = _finite(point.min) if point.HasField("min") else None
    high = _finite(point.max) if point.HasField("max") else None
    return None, point.count, total, low, high


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value
