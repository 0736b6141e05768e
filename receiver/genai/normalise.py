"""One canonical GenAI record per span, whichever conventions the sender used. Pure and
cheap: one pass over the attributes a span has, through the key tables of each convention
family, then each present family's rules for what needs several keys.

Precedence where a span carries several families: the span's *native* family first
(OpenInference's `llm.*` over the `gen_ai.*` copies it writes), then OpenTelemetry's
`gen_ai.*`, then Traceloop's flattened classics, which only fill gaps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from receiver.genai import mcp, openinference, otel, traceloop
from receiver.genai.coerce import (
    INT64_MAX,
    INT64_MIN,
    Memo,
    as_float,
    as_int,
    as_str,
    canonical_finish_reasons,
    canonical_operation,
    canonical_provider,
    clean_error_type,
    operation_from_span_name,
)
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

    read: Callable[[dict[str, Any]], GenAiFields | None]  # the table values (None: nothing found)
    genai_data: bool  # any key in a GenAI namespace
    traceloop_keys: bool  # any of Traceloop's marker keys
    output_messages: bool  # a gen_ai.output.messages attribute (finish reasons may be only there)
    error_type: bool  # an error.type attribute to clean
    is_openinference: bool  # OpenInference's span kind marker
    is_mcp: bool  # a Model Context Protocol span (`mcp.method.name`)


MAX_PLANS = 4096
# content wanted? -> attribute keys -> plan (the keys alone are the dict key: the cheapest to look up)
_plans: dict[bool, dict[tuple[str, ...], Plan]] = {True: {}, False: {}}


def _plan(keys: tuple[str, ...], content: bool) -> Plan:
    """Spans from one instrumentation share a handful of shapes, so the table work is done
    once per shape, not once per span (the ingest path's hot loop)."""
    plans = _plans[content]
    plan = plans.get(keys)
    if plan is None:
        present = set(keys)
        is_openinference = openinference.MARKER in present
        table = TABLES[is_openinference, content]
        readers = [(key, *table[key][:2]) for key in sorted(present & table.keys(), key=lambda k: table[k][2])]
        genai_data = any(key.startswith(GENAI_PREFIXES) for key in present)
        is_mcp = mcp.MARKER in present
        plan = Plan(_reader(readers, allow_empty=is_openinference or genai_data or is_mcp), genai_data,
                    any(key in present for key in traceloop.MARKERS),
                    "gen_ai.output.messages" in present,
                    "error.type" in present, is_openinference, is_mcp)
        if len(plans) >= MAX_PLANS:  # senders with free-form keys: start over rather than grow
            plans.clear()
        plans[keys] = plan
    return plan


def _reader(readers: list[tuple[str, str, Any]], *, allow_empty: bool) -> Callable[[dict[str, Any]], Any]:
    """One function per plan that reads its keys in rank order, each field from the first key
    that gives a value, and builds the record: no loop, no intermediate dict per span. Like
    `dataclasses`, it is generated as source, from names that come only from our own tables.
    The commonest readers are inlined for the values they pass as they are (`INLINE_READERS`)."""
    by_field: dict[str, list[tuple[str, Any]]] = {}
    for key, field, reader in readers:
        by_field.setdefault(field, []).append((key, reader))
    namespace: dict[str, Any] = {"GenAiFields": GenAiFields, "new": object.__new__}
    lines = ["def read(a):"]
    values: dict[str, str] = {}
    for i, (field, candidates) in enumerate(by_field.items()):
        values[field] = f"v{i}"
        for j, (key, reader) in enumerate(candidates):
            namespace[f"r{i}_{j}"], namespace[f"k{i}_{j}"] = reader, key
            inline = INLINE_READERS.get(reader)
            if reader in MEMOS:
                namespace[f"m{i}_{j}"] = MEMOS[reader]
                inline = f"m{i}_{j}[{{x}}] if {{x}}.__class__ is str else {{r}}({{x}})"
            read = [f"x = a[k{i}_{j}]",
                    f"v{i} = {inline.format(x='x', r=f'r{i}_{j}')}" if inline else f"v{i} = r{i}_{j}(x)"]
            lines += [f"    {line}" for line in read] if j == 0 else [f"    if v{i} is None:"] + [
                f"        {line}" for line in read]
    if not allow_empty:  # a span with no GenAI data at all gets the empty record
        lines.append(f"    if {' and '.join(f'{v} is None' for v in values.values()) or 'True'}: return None")
    # a bare instance with each slot stored: a third of the time of the dataclass's
    # 31-parameter __init__, called positionally (which is itself faster than by keyword)
    lines.append("    f = new(GenAiFields)")
    lines += [f"    f.{field} = {values.get(field, 'None')}" for field in _FIELD_ORDER]
    lines += ["    f.extras = {}", "    return f"]
    exec("\n".join(lines), namespace)
    return namespace["read"]


_FIELD_ORDER = tuple(f for f in GenAiFields.__slots__ if f != "extras")  # extras: a fresh dict each
# reader -> an expression that gives the reader's answer without a call for the usual value
# (`x` the raw value, `r` the reader for the rest); each must equal the reader for every value.
INLINE_READERS = {
    as_str: "{x} if {x}.__class__ is str and {x}.strip() else {r}({x})",
    as_int: f"{{x}} if {{x}}.__class__ is int and {INT64_MIN} <= {{x}} <= {INT64_MAX} else {{r}}({{x}})",
    as_float: "{x} if {x}.__class__ is float and {x} - {x} == 0.0 else {r}({x})",  # (inf - inf is nan)
}

# readers of a vocabulary, remembered by string value (the generated code reads the memo inline)
MEMOS = {reader: Memo(reader) for reader in (canonical_operation, canonical_provider)}
_blank = _reader([], allow_empty=True)  # the empty record, built the fast way


def normalise(span: SpanView, *, content: bool = True) -> GenAiFields:
    """The canonical fields of a span. With `content=False` (the ingest path) the message,
    tool-argument and tool-definition fields are left out: parsing them is most of the cost,
    and readers derive them from the stored attributes when a span is opened."""
    attributes = span.attributes
    keys = tuple(attributes)
    plan = _plans[content].get(keys) or _plan(keys, content)
    fields = plan.read(attributes)
    if fields is None:
        return _blank(attributes)
    # some instrumentations put the finish reason only inside the output messages
    reasons_from_output = not content and plan.output_messages and fields.finish_reasons is None
    otel.finish(span, fields, content=content)
    if plan.is_openinference:
        openinference.finish(span, fields, content=content)
    if plan.traceloop_keys or span.scope_name == traceloop.SCOPE:
        traceloop.finish(span, fields, content=content)
    if plan.is_mcp:
        mcp.finish(span, fields)
    if reasons_from_output:
        output = attributes["gen_ai.output.messages"]
        if not isinstance(output, str) or "finish_reason" in output:
            fields.finish_reasons = output_finish_reasons(output)
    if fields.operation is None:
        fields.operation = operation_from_span_name(span.name) or "other"
    if fields.cache_read_tokens or fields.cache_write_tokens:
        _tokens(fields)
    if fields.finish_reasons is not None or fields.output_messages:
        _finish_reasons(fields)
    if not content:
        fields.output_messages = None
    if span.events or fields.ttft_ms is not None:
        _timing(span, fields)
    if plan.error_type or span.status_code == STATUS_ERROR:
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
    if not raw:
        fields.finish_reasons = None
        return
    canonical, renamed = _CANONICAL_REASONS[tuple(raw)]
    fields.finish_reasons = list(canonical)
    if renamed:
        fields.extras["finish_reasons_raw"] = raw


def _canonical_reasons(raw: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """A list of raw reasons -> the canonical ones, and whether any was renamed."""
    canonical = canonical_finish_reasons(list(raw)) or []
    return tuple(canonical), canonical != list(raw)


_CANONICAL_REASONS = Memo(_canonical_reasons)  # a handful of distinct lists: each worked out once


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
