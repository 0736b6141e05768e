"""Rows of the store's queries turned into records (`receiver.records`): trace summaries, spans
(in full, or as the outline a waterfall needs) and log records."""

from __future__ import annotations

import json
from typing import Any

from receiver.records import (
    GENAI_FIELDS,
    GENAI_JSON_FIELDS,
    PriceRecord,
    StoredLog,
    StoredResource,
    StoredScope,
    StoredSpan,
    TraceSummary,
)

# What a waterfall shows of a span's canonical GenAI fields; an outline's `genai` holds these only.
OUTLINE_GENAI_FIELDS = ("operation", "request_model", "response_model", "input_tokens", "output_tokens", "cost_usd",
                        "duplicate_of", "error_type")
_NO_RESOURCE = StoredResource({})  # shared by every outline span: frozen, and never filled
_NO_SCOPE = StoredScope("", "")


def trace_summary(row: tuple) -> TraceSummary:
    (trace_id, root_name, has_root, service_name, start, end, spans, errors, updated, input_tokens, output_tokens,
     cache_read, cache_write, cost, llm_calls, unpriced, models, session_id, orphan_spans, pinned, evaluations) = row
    results, passed, failed = map(int, evaluations.split()) if evaluations else (0, 0, 0)
    return TraceSummary(trace_id, root_name, bool(has_root), service_name, start, end, spans, int(errors), updated,
                        input_tokens, output_tokens, cache_read, cache_write, cost, llm_calls or 0, unpriced or 0,
                        json.loads(models) if models else [], session_id, orphan_spans or 0, bool(pinned),
                        results, passed, failed)


def _resource_and_scope(row: tuple) -> tuple[StoredResource, StoredScope]:
    """The last nine columns of a span or log query: the joined resource (4) and scope (5)."""
    r_attrs, r_dropped, r_refs, r_schema, s_name, s_version, s_attrs, s_dropped, s_schema = row[-9:]
    return (StoredResource(json.loads(r_attrs or "{}"), r_dropped or 0, json.loads(r_refs or "[]"), r_schema or ""),
            StoredScope(s_name or "", s_version or "", json.loads(s_attrs or "{}"), s_dropped or 0, s_schema or ""))


def stored_log(row: tuple) -> StoredLog:
    (trace_id, span_id, time_ns, observed_ns, severity_number, severity_text, event_name, body,
     attributes, dropped_attrs, flags, service) = row[:12]
    resource, scope = _resource_and_scope(row)
    return StoredLog(trace_id=trace_id, span_id=span_id, time_unix_nano=time_ns,
                     observed_time_unix_nano=observed_ns, severity_number=severity_number,
                     severity_text=severity_text, event_name=event_name, body=json.loads(body),
                     attributes=json.loads(attributes), dropped_attributes_count=dropped_attrs, flags=flags,
                     service_name=service, resource=resource, scope=scope)


def _cost_breakdown(genai: dict[str, Any], record: PriceRecord) -> dict[str, Any]:
    """A priced span's breakdown: its stored tokens times its stored price (the ingest arithmetic)."""
    from receiver.genai.pricing import price_tokens, stored_price  # imports genai-prices: only when needed

    price, price_date = stored_price(record)
    return price_tokens(price, price_date, input_tokens=genai["input_tokens"], output_tokens=genai["output_tokens"],
                        cache_read_tokens=genai["cache_read_tokens"], cache_write_tokens=genai["cache_write_tokens"],
                        reasoning_tokens=genai["reasoning_tokens"]).to_json()


def stored_span(row: tuple) -> StoredSpan:
    (trace_id, span_id, parent, name, kind, start, end, status_code, status_message, trace_state,
     flags, attributes, events, links, dropped_attrs, dropped_events, dropped_links, service) = row[:18]
    resource, scope = _resource_and_scope(row)
    genai_end = 18 + len(GENAI_FIELDS)
    genai = {name: (json.loads(value) if name in GENAI_JSON_FIELDS and value is not None else value)
             for name, value in zip(GENAI_FIELDS, row[18:genai_end], strict=True)}
    if genai["is_streaming"] is not None:
        genai["is_streaming"] = bool(genai["is_streaming"])
    price = row[genai_end:genai_end + len(PriceRecord._fields)]
    if price[0] is not None and genai["cost_breakdown"] is None:
        genai["cost_breakdown"] = _cost_breakdown(genai, PriceRecord(*price))

    return StoredSpan(
        trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name, kind=kind,
        start_time_unix_nano=start, end_time_unix_nano=end, status_code=status_code,
        status_message=status_message, trace_state=trace_state, flags=flags,
        attributes=json.loads(attributes), events=json.loads(events), links=json.loads(links),
        dropped_attributes_count=dropped_attrs, dropped_events_count=dropped_events,
        dropped_links_count=dropped_links, service_name=service, resource=resource, scope=scope,
        genai=genai,
    )


def outline_span(row: tuple) -> StoredSpan:
    # positional, and only the columns a waterfall shows: 10,000 of these are built per load
    return StoredSpan(*row[:9], "", 0, {}, [], [], 0, 0, 0, row[9], _NO_RESOURCE, _NO_SCOPE,
                      dict(zip(OUTLINE_GENAI_FIELDS, row[10:], strict=True)))
