"""`ExportLogsServiceRequest` -> `WriteBatch`. Pure functions, no I/O.

Log records are kept whole and joined to spans when read (by trace and span id), so a
record may arrive before or after its span. GenAI instrumentations put prompts and
completions in log records (events), so they matter as much as spans.
"""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from receiver.attributes import plain_attributes
from receiver.genai.evaluations import EVALUATION_EVENT, evaluation_row
from receiver.otlp.limits import limited_text
from receiver.otlp.values import (
    JSON,
    MAX_TIME_UNIX_NANO,
    Rejections,
    RequestWalk,
    content_id,
    dropped_attributes,
    stored_attributes,
    typed_any_value,
)
from receiver.records import ResourceRecord, WriteBatch

__all__ = ["decode_export_logs_request"]


def decode_export_logs_request(request: ExportLogsServiceRequest) -> WriteBatch:
    walk = RequestWalk()
    rows: list[tuple] = []
    evaluation_rows: list[tuple] = []
    trace_ids: set[str] = set()
    rejected = Rejections("log records")
    for resource, scope, record in walk.items(request.resource_logs, "scope_logs", "log_records"):
        problem = _invalid_record(record)
        if problem:
            rejected.add(problem)
            continue
        row = _log_row(record, resource, scope.scope_id)
        if row[1]:
            trace_ids.add(row[1])
        rows.append(row)
        evaluation = _evaluation(record, row)
        if evaluation is not None:
            evaluation_rows.append(evaluation)
    return WriteBatch(resources=tuple(walk.resources.values()), scopes=tuple(walk.scopes.values()),
                      log_rows=tuple(rows), evaluation_rows=tuple(evaluation_rows),
                      trace_ids=frozenset(trace_ids), rejected=rejected.count,
                      rejection_message=rejected.message(len(rows)))


def _evaluation(record: LogRecord, row: tuple) -> tuple | None:
    """A `gen_ai.evaluation.result` event as an evaluation row (its id the record's)."""
    if record.event_name != EVALUATION_EVENT:
        if not record.attributes or not any(kv.key == "event.name" for kv in record.attributes):
            return None
    attributes = plain_attributes(stored_attributes(record.attributes))
    if (record.event_name or attributes.get("event.name")) != EVALUATION_EVENT:
        return None
    return evaluation_row(attributes, evaluation_id=row[0], trace_id=row[1], span_id=row[2],
                          time_unix_nano=record.time_unix_nano or record.observed_time_unix_nano,
                          service_name=row[12], source="log")


def _invalid_record(record: LogRecord) -> str | None:
    if len(record.trace_id) not in (0, 16):
        return f"trace_id is {len(record.trace_id)} bytes, expected 0 or 16"
    if len(record.span_id) not in (0, 8):
        return f"span_id is {len(record.span_id)} bytes, expected 0 or 8"
    if record.time_unix_nano > MAX_TIME_UNIX_NANO or record.observed_time_unix_nano > MAX_TIME_UNIX_NANO:
        return "timestamp beyond the year 2262 (does not fit a signed 64-bit nanosecond count)"
    return None


def _log_row(record: LogRecord, resource: ResourceRecord, scope_id: int) -> tuple:
    """One record in `records.LOG_COLUMNS` order. The id is a content hash, so a record an
    exporter sends twice is stored once."""
    trace_id, span_id = record.trace_id, record.span_id
    attributes = stored_attributes(record.attributes)
    response_id = attributes.get("gen_ai.response.id") if isinstance(attributes, dict) else None
    return (
        content_id(record.SerializeToString(deterministic=True), resource.resource_id.to_bytes(8, "big", signed=True),
                   scope_id.to_bytes(8, "big", signed=True)),
        trace_id.hex() if any(trace_id) else None,
        span_id.hex() if any(span_id) else None,
        record.time_unix_nano,
        record.observed_time_unix_nano,
        record.severity_number,
        limited_text(record.severity_text),
        limited_text(record.event_name),
        JSON.encode(typed_any_value(record.body)) if record.HasField("body") else "null",
        JSON.encode(attributes) if record.attributes else "{}",
        dropped_attributes(record),
        record.flags,
        resource.service_name,
        resource.resource_id,
        scope_id,
        response_id if isinstance(response_id, str) else None,  # joins records that lost their span ids
    )
