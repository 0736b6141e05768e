"""One canonical GenAI record per span, whichever conventions the sender used. Pure and
cheap: a span with no GenAI keys costs one scan of its attribute names.

Precedence where a span carries several families: the span's *native* family first
(OpenInference's `llm.*` over the `gen_ai.*` copies it writes), then OpenTelemetry's
`gen_ai.*`, then Traceloop's flattened classics; each later family only fills gaps.
"""

from __future__ import annotations

from receiver.genai.coerce import canonical_finish_reasons, clean_error_type, operation_from_span_name
from receiver.genai.fields import GenAiFields
from receiver.genai.openinference import extract_openinference, is_openinference
from receiver.genai.otel import extract_otel
from receiver.genai.span_view import SpanView
from receiver.genai.traceloop import extract_traceloop, is_traceloop

GENAI_PREFIXES = ("gen_ai.", "llm.", "openinference.", "traceloop.", "pydantic_ai.", "logfire.", "embedding.",
                  "tool.", "anthropic.")
CHUNK_EVENTS = ("gen_ai.content.completion.chunk", "llm.content.completion.chunk")
STATUS_ERROR = 2


def has_genai_data(span: SpanView) -> bool:
    return any(key.startswith(GENAI_PREFIXES) for key in span.attributes)


def normalise(span: SpanView) -> GenAiFields:
    if not has_genai_data(span):
        return GenAiFields()
    families = [extract_otel]
    if is_openinference(span):
        families.insert(0, extract_openinference)
    if is_traceloop(span):
        families.append(extract_traceloop)
    fields = families[0](span)
    for extract in families[1:]:
        fields.merge_missing(extract(span))
    if fields.operation is None:
        fields.operation = operation_from_span_name(span.name) or "other"
    _tokens(fields)
    _finish_reasons(fields)
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
    if fields.ttft_ms is None and span.start_time_unix_nano:
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
