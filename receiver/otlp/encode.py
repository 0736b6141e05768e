"""Stored records back to OTLP: the inverse of `decode`, so an export reproduces exactly
what was received (every attribute type, event, link, resource and scope)."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from receiver.attributes import typed_attributes
from receiver.otlp.otlp_json import parse_otlp_dict
from receiver.records import StoredLog, StoredResource, StoredScope, StoredSpan

__all__ = ["encode_logs", "encode_spans", "logs_to_otlp_json", "spans_to_otlp_json"]


def encode_spans(spans: list[StoredSpan]) -> ExportTraceServiceRequest:
    return parse_otlp_dict(spans_to_otlp_json(spans), ExportTraceServiceRequest)


def spans_to_otlp_json(spans: list[StoredSpan]) -> dict[str, Any]:
    """An `ExportTraceServiceRequest` in OTLP/JSON (hex ids), spans grouped by resource and scope."""
    return {"resourceSpans": _grouped([(span.resource, span.scope, _span_json(span)) for span in spans],
                                      "scopeSpans", "spans")}


def logs_to_otlp_json(logs: list[StoredLog]) -> dict[str, Any]:
    """An `ExportLogsServiceRequest` in OTLP/JSON (hex ids), records grouped by resource and scope."""
    return {"resourceLogs": _grouped([(record.resource, record.scope, _log_json(record)) for record in logs],
                                     "scopeLogs", "logRecords")}


def encode_logs(logs: list[StoredLog]) -> ExportLogsServiceRequest:
    return parse_otlp_dict(logs_to_otlp_json(logs), ExportLogsServiceRequest)


def _grouped(items: list[tuple[StoredResource, StoredScope, dict[str, Any]]], scopes_key: str,
             records_key: str) -> list[dict[str, Any]]:
    """Records under their resource and scope, each group once, in first-seen order."""
    groups: dict[str, dict[str, Any]] = {}
    scope_groups: dict[tuple[str, str], dict[str, Any]] = {}
    for resource, scope, record in items:
        resource_json: dict[str, Any] = {"attributes": typed_attributes(resource.attributes)}
        if resource.dropped_attributes_count:
            resource_json["droppedAttributesCount"] = resource.dropped_attributes_count
        if resource.entity_refs:
            resource_json["entityRefs"] = resource.entity_refs
        resource_key = json.dumps([resource_json, resource.schema_url], sort_keys=True)
        group = groups.get(resource_key)
        if group is None:
            group = groups[resource_key] = {"resource": resource_json, scopes_key: [],
                                            "schemaUrl": resource.schema_url}
        scope_json: dict[str, Any] = {"name": scope.name, "version": scope.version,
                                      "attributes": typed_attributes(scope.attributes)}
        if scope.dropped_attributes_count:
            scope_json["droppedAttributesCount"] = scope.dropped_attributes_count
        scope_key = (resource_key, json.dumps([scope_json, scope.schema_url], sort_keys=True))
        scope_group = scope_groups.get(scope_key)
        if scope_group is None:
            scope_group = scope_groups[scope_key] = {"scope": scope_json, records_key: [],
                                                     "schemaUrl": scope.schema_url}
            group[scopes_key].append(scope_group)
        scope_group[records_key].append(record)
    return list(groups.values())


def _log_json(record: StoredLog) -> dict[str, Any]:
    log: dict[str, Any] = {
        "timeUnixNano": record.time_unix_nano,
        "observedTimeUnixNano": record.observed_time_unix_nano,
        "severityNumber": record.severity_number,
        "severityText": record.severity_text,
        "attributes": typed_attributes(record.attributes),
        "droppedAttributesCount": record.dropped_attributes_count,
        "flags": record.flags,
        "eventName": record.event_name,
        "traceId": record.trace_id or "",
        "spanId": record.span_id or "",
    }
    if record.body is not None:
        log["body"] = dict(record.body)
    return log


def _span_json(span: StoredSpan) -> dict[str, Any]:
    return {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "parentSpanId": span.parent_span_id or "",
        "traceState": span.trace_state,
        "flags": span.flags,
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": span.start_time_unix_nano,
        "endTimeUnixNano": span.end_time_unix_nano,
        "attributes": typed_attributes(span.attributes),
        "droppedAttributesCount": span.dropped_attributes_count,
        "events": [{**event, "attributes": typed_attributes(event.get("attributes", {}))} for event in span.events],
        "droppedEventsCount": span.dropped_events_count,
        # copies: parsing rewrites ids in place
        "links": [{**link, "attributes": typed_attributes(link.get("attributes", {}))} for link in span.links],
        "droppedLinksCount": span.dropped_links_count,
        "status": {"code": span.status_code, "message": span.status_message},
    }
