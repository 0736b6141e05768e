"""Read-time assembly of a span's conversation: the message, tool-argument and tool-definition
fields derived from its stored attributes (the ingest path leaves them out), and prompts and
completions that travelled as log records (older OpenTelemetry events,
`gen_ai.client.inference.operation.details`), whichever arrived first. A span's own copy wins
when both carry the content. Pure."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from receiver.attributes import plain_attributes, plain_value
from receiver.genai.coerce import canonical_finish_reasons
from receiver.genai.fields import CONTENT_FIELDS
from receiver.genai.message_events import messages_from_log_events
from receiver.genai.normalise import normalise
from receiver.genai.span_view import SpanEvent, SpanView
from receiver.records import StoredLog, StoredSpan

CONTENT_FROM_EVENTS = ("input_messages", "output_messages", "system_instructions")


def with_content(span: StoredSpan) -> StoredSpan:
    """The span with `content` holding its conversation fields (those it has)."""
    if span.genai.get("operation") is None:
        return span
    attributes = span.attributes if isinstance(span.attributes, dict) else plain_attributes(span.attributes)
    events = tuple(SpanEvent(e.get("name", ""), e.get("timeUnixNano", 0), plain_attributes(e.get("attributes", {})))
                   for e in span.events)
    view = SpanView(span.name, attributes, events, span.start_time_unix_nano, span.status_code,
                    span.status_message, span.scope.name, span.kind)
    fields = normalise(view, content=True)
    content = {name: value for name in CONTENT_FIELDS if (value := getattr(fields, name)) is not None}
    return dataclasses.replace(span, content=content) if content else span


def attach_log_content(spans: list[StoredSpan], logs: list[StoredLog]) -> list[StoredSpan]:
    by_span: dict[str, list[StoredLog]] = defaultdict(list)
    for record in logs:
        if record.span_id:
            by_span[record.span_id].append(record)
    out = []
    for span in spans:
        records = by_span.get(span.span_id)
        if records and any(key not in span.content for key in CONTENT_FROM_EVENTS):
            events = [(r.resolved_event_name, plain_value(r.body), plain_attributes(r.attributes)) for r in records]
            found = dict(zip(CONTENT_FROM_EVENTS, messages_from_log_events(events), strict=True))
            content = {**{k: v for k, v in found.items() if v is not None}, **span.content}
            if content != span.content:
                span = dataclasses.replace(span, content=content, genai=_with_finish_reasons(span.genai, content))
        out.append(span)
    return out


def _with_finish_reasons(genai: dict, content: dict) -> dict:
    """Streamed calls of older instrumentations report finish reasons only in their events."""
    if genai.get("finish_reasons") or not content.get("output_messages"):
        return genai
    reasons = [m.get("finish_reason") for m in content["output_messages"]
               if isinstance(m, dict) and isinstance(m.get("finish_reason"), str)]
    return {**genai, "finish_reasons": canonical_finish_reasons(reasons)} if reasons else genai


def adopt_orphan_logs(spans: list[StoredSpan], orphans: list[StoredLog]) -> list[StoredLog]:
    """Records that lost their span ids (emitted after the span closed) belong to the span
    with their `gen_ai.response.id` in the same service; returns them with those ids."""
    owners = {(s.genai.get("response_id"), s.service_name): s for s in spans
              if s.genai.get("response_id") and not s.genai.get("duplicate_of")}
    adopted = []
    for record in orphans:
        response_id = plain_attributes(record.attributes).get("gen_ai.response.id")
        owner = owners.get((response_id, record.service_name))
        if owner is not None:
            adopted.append(dataclasses.replace(record, trace_id=owner.trace_id, span_id=owner.span_id))
    return adopted
