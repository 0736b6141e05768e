"""One canonical GenAI record per span, whichever conventions the sender used. Pure and
cheap: one pass over the attributes a span has, through the key tables of each convention
family, then each present family's rules for what needs several keys.

Precedence where a span carries several families: the span's *native* family first
(OpenInference's `llm.*` over the `gen_ai.*` copies it writes), then OpenTelemetry's
`gen_ai.*`, then Traceloop's flattened classics, which only fill gaps.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from receiver.genai import openinference, otel, traceloop
from receiver.genai.coerce import canonical_finish_reasons, clean_error_type, operation_from_span_name
from receiver.genai.fields import CONTENT_FIELDS, GenAiFields
from receiver.genai.messages import output_finish_reasons
from receiver.genai.span_view import SpanView

GENAI_PREFIXES = ("gen_ai.", "llm.", "openinference.", "traceloop.", "pydantic_ai.", "logfire.", "embedding.",
                  "tool.", "anthropic.")
CHUNK_EVENTS = ("gen_ai.content.completion.chunk", "llm.content.completion.chunk")
STATUS_ERROR = 2


def _table(*families: dict[str, tuple[str, Any]]) -> dict[str, tuple[str, Any, int]]:
    """attribute key -> (field, reader, rank); a lower rank wins a field. Within a family the
    table's order ranks the keys; families rank in the order given."""
    table: dict[str, tuple[str, Any, int]] = {}
    rank = 0
    for family in families:
        for key, (field, reader) in family.items():
            rank += 1
            table.setdefault(key, (field, reader, rank))
    return table


def _without_content(table: dict[str, tuple[str, Any, int]]) -> dict[str, tuple[str, Any, int]]:
    return {k: v for k, v in table.items() if v[0] not in CONTENT_FIELDS}


# (openinference span?, content wanted?) -> table
TABLES = {
    (False, True): _table(otel.KEYS, openinference.KEYS),
    (True, True): _table(openinference.KEYS, otel.KEYS),
}
TABLES[False, False] = _without_content(TABLES[False, True])
TABLES[True, False] = _without_content(TABLES[True, True])


class Plan(NamedTuple):
    """What the normaliser does with spans of one shape (one list of attribute keys)."""

    readers: tuple[tuple[str, str, Any], ...]  # (attribute key, field, reader), best rank first
    genai_data: bool  # any key in a GenAI namespace
    traceloop_keys: bool  # any of Traceloop's marker keys


MAX_PLANS = 4096
_plans: dict[tuple, Plan] = {}


def _plan(keys: tuple[str, ...], is_openinference: bool, content: bool) -> Plan:
    """Spans from one instrumentation share a handful of shapes, so the table work is done
    once per shape, not once per span (the ingest path's hot loop)."""
    cache_key = (keys, is_openinference, content)
    plan = _plans.get(cache_key)
    if plan is None:
        table = TABLES[is_openinference, content]
        present = set(keys)
        plan = Plan(tuple((key, table[key][0], table[key][1])
                          for key in sorted(present & table.keys(), key=lambda k: table[k][2])),
                    any(key.startswith(GENAI_PREFIXES) for key in present),
                    any(key in present for key in traceloop.MARKERS))
        if len(_plans) >= MAX_PLANS:  # senders with free-form keys: start over rather than grow
            _plans.clear()
        _plans[cache_key] = plan
    return plan


def normalise(span: SpanView, *, content: bool = True) -> GenAiFields:
    """The canonical fields of a span. With `content=False` (the ingest path) the message,
    tool-argument and tool-definition fields are left out: parsing them is most of the cost,
    and readers derive them from the stored attributes when a span is opened."""
    attributes = span.attributes
    is_openinference = openinference.MARKER in attributes
    plan = _plan(tuple(attributes), is_openinference, content)
    chosen: dict[str, Any] = {}
    for key, field, reader in plan.readers:
        if field not in chosen:  # a better-ranked key already gave it
            value = reader(attributes[key])
            if value is not None:  # malformed: the next key for the field may do
                chosen[field] = value
    if not chosen and not is_openinference and not plan.genai_data:
        return GenAiFields()
    fields = GenAiFields(**chosen)
    otel.finish(span, fields, content=content)
    if is_openinference:
        openinference.finish(span, fields, content=content)
    if plan.traceloop_keys or span.scope_name == traceloop.SCOPE:
        traceloop.finish(span, fields, content=content)
    if not content and "finish_reasons" not in chosen:
        # some instrumentations put the finish reason only inside the output messages
        output = attributes.get("gen_ai.output.messages")
        if output is not None and (not isinstance(output, str) or "finish_reason" in output):
            fields.finish_reasons = output_finish_reasons(output)
    if fields.operation is None:
        fields.operation = operation_from_span_name(span.name) or "other"
    _tokens(fields)
    _finish_reasons(fields)
    if not content:
        fields.output_messages = None
    _timing(span, fields)
    _error(span, fields)
    return fields


def _tokens(fields: GenAiFields) -> None:
    """Input counts cache reads and writes (the OTel meaning). A sender that reported them
    apart (Anthropic's raw usage) shows as input smaller than its own cache parts."""
    cached = (fields.cache_read_tokens or 0) + (fields.cache_write_tokens or 0)
    if fields.input_tokens is not None and fields.input_tokens < cached:
        fields.extras["input_tokens_reported"] = fields.input_tokens
        fields.input_tokens += cached


def _finish_reasons(fields: GenAiFields) -> None:
    raw = fields.finish_reasons
    if raw is None and fields.output_messages:
        raw = [m["finish_reason"] for m in fields.output_messages
               if isinstance(m, dict) and isinstance(m.get("finish_reason"), str)] or None
    fields.finish_reasons = canonical_finish_reasons(raw)
    if raw and fields.finish_reasons != raw:
        fields.extras["finish_reasons_raw"] = raw


def _timing(span: SpanView, fields: GenAiFields) -> None:
    if fields.ttft_ms is None and span.start_time_unix_nano and span.events:
        chunk = next((e for e in span.events if e.name in CHUNK_EVENTS), None)
        if chunk is not None:
            fields.ttft_ms = (chunk.time_unix_nano - span.start_time_unix_nano) / 1e6
            fields.is_streaming = True if fields.is_streaming is None else fields.is_streaming
    if fields.is_streaming is False:
        fields.ttft_ms = None  # OpenLIT reports one for unstreamed calls too: it is only the duration
    if fields.ttft_ms is not None and fields.ttft_ms < 0:
        fields.ttft_ms = None


def _error(span: SpanView, fields: GenAiFields) -> None:
    raw = span.attributes.get("error.type")
    error_type = None if raw is None else clean_error_type(raw)
    if error_type is None and span.status_code == STATUS_ERROR:
        exception = next((e for e in span.events if e.name == "exception"), None)
        error_type = clean_error_type(exception.attributes.get("exception.type")) if exception else None
    fields.error_type = error_type
