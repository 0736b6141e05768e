"""One canonical GenAI record per span, whichever conventions the sender used. Pure and
cheap: one pass over the attributes a span has, through the key tables of each convention
family, then each present family's rules for what needs several keys.

Precedence where a span carries several families: the span's *native* family first
(OpenInference's `llm.*` over the `gen_ai.*` copies it writes), then OpenTelemetry's
`gen_ai.*`, then Traceloop's flattened classics, which only fill gaps.
"""

from __future__ import annotations

from typing import Any

from receiver.genai import openinference, otel, traceloop
from receiver.genai.coerce import canonical_finish_reasons, clean_error_type, operation_from_span_name
from receiver.genai.fields import CONTENT_FIELDS, GenAiFields
from receiver.genai.messages import otel_messages
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


OTEL_FIRST = _table(otel.KEYS, openinference.KEYS)
OPENINFERENCE_FIRST = _table(openinference.KEYS, otel.KEYS)
OTEL_FIRST_NO_CONTENT = {k: v for k, v in OTEL_FIRST.items() if v[0] not in CONTENT_FIELDS}
OPENINFERENCE_FIRST_NO_CONTENT = {k: v for k, v in OPENINFERENCE_FIRST.items() if v[0] not in CONTENT_FIELDS}


def has_genai_data(span: SpanView) -> bool:
    return any(key.startswith(GENAI_PREFIXES) for key in span.attributes)


def normalise(span: SpanView, *, content: bool = True) -> GenAiFields:
    """The canonical fields of a span. With `content=False` (the ingest path) the message,
    tool-argument and tool-definition fields are left out: parsing them is most of the cost,
    and readers derive them from the stored attributes when a span is opened."""
    attributes = span.attributes
    is_openinference = openinference.MARKER in attributes
    table = (OPENINFERENCE_FIRST if is_openinference else OTEL_FIRST) if content else (
        OPENINFERENCE_FIRST_NO_CONTENT if is_openinference else OTEL_FIRST_NO_CONTENT)
    chosen: dict[str, tuple[int, Any]] = {}
    for key in attributes.keys() & table.keys():  # the set intersection runs in C
        field, reader, rank = table[key]
        held = chosen.get(field)
        if held is not None and held[0] < rank:
            continue
        value = reader(attributes[key])
        if value is not None:
            chosen[field] = (rank, value)
    if not chosen and not is_openinference and not has_genai_data(span):
        return GenAiFields()
    fields = GenAiFields(**{field: value for field, (_, value) in chosen.items()})
    otel.finish(span, fields, content=content)
    if is_openinference:
        openinference.finish(span, fields, content=content)
    if traceloop.is_traceloop(span):
        traceloop.finish(span, fields, content=content)
    if not content and "finish_reasons" not in chosen:
        # some instrumentations put the finish reason only inside the output messages
        output = attributes.get("gen_ai.output.messages")
        if output is not None and (not isinstance(output, str) or "finish_reason" in output):
            fields.output_messages = otel_messages(output)
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
    error_type = clean_error_type(span.attributes.get("error.type"))
    if error_type is None and span.status_code == STATUS_ERROR:
        exception = next((e for e in span.events if e.name == "exception"), None)
        error_type = clean_error_type(exception.attributes.get("exception.type")) if exception else None
    fields.error_type = error_type
