"""Plain records shared by the receiver's parts. No protobuf, SQL or Qt in here.

Ids are lowercase hex strings and times are integer nanoseconds since the Unix epoch, from
decode to database to reader. Attribute lists are stored as JSON in one of two lossless
shapes (a plain object, or OTLP/JSON's typed list): `receiver.attributes` describes them
and gives the plain and typed views of either.

Write side: tuples in column order (a span row's attributes, events and links as JSON
values, which the writer encodes with the rest of the request's rows). Read side: frozen
dataclasses with JSON columns already parsed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from receiver.attributes import StoredAttributes, plain_attributes

# --- write side -----------------------------------------------------------------------


def content_id(*parts: bytes) -> int:
    """A stable signed 64-bit id from content, so equal resources, scopes and prices share a row."""
    digest = hashlib.blake2b(b"\x00".join(parts), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class ResourceRecord(NamedTuple):
    """One distinct resource; `resource_id` is a content hash, so equal resources share a row."""

    resource_id: int
    service_name: str | None
    attributes_json: str
    dropped_attributes_count: int
    entity_refs_json: str
    schema_url: str


class ScopeRecord(NamedTuple):
    """One distinct instrumentation scope (with its ScopeSpans schema URL); content-hashed id."""

    scope_id: int
    name: str
    version: str
    attributes_json: str
    dropped_attributes_count: int
    schema_url: str


class PriceRecord(NamedTuple):
    """One model price as applied on one UTC day (`receiver.genai.pricing`); content-hashed id.
    A priced span refers to it: its cost breakdown is its token columns times these rates."""

    price_id: int
    input_mtok: float  # USD per million tokens
    output_mtok: float
    cache_read_mtok: float | None  # None: the input rate applies
    cache_write_mtok: float | None
    source: str
    model_ref: str
    provider: str | None
    price_date: str | None


# Column order of the `spans` table; the decoder makes each span a tuple in this order.
SPAN_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "start_time_unix_nano",
    "end_time_unix_nano", "status_code", "status_message", "trace_state", "flags", "attributes",
    "events", "links", "dropped_attributes_count", "dropped_events_count", "dropped_links_count",
    "service_name", "resource_id", "scope_id",
    # the canonical GenAI fields (receiver.genai), added by migration m003
    "operation", "provider", "request_model", "response_model", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "temperature", "top_p", "seed",
    "max_tokens", "finish_reasons", "response_id", "tool_name", "tool_call_id", "is_streaming",
    "agent_name", "session_id", "user_id", "ttft_ms", "error_type", "display_name", "genai_extras",
    "cost_usd", "cost_breakdown", "duplicate_of",
    # the price a priced span's cost came from (a `prices` row, migration m005)
    "price_id",
)
GENAI_FIELDS = SPAN_COLUMNS[SPAN_COLUMNS.index("operation"):SPAN_COLUMNS.index("duplicate_of") + 1]
GENAI_JSON_FIELDS = frozenset({"finish_reasons", "genai_extras", "cost_breakdown"})
LOG_COLUMNS = (
    "log_id", "trace_id", "span_id", "time_unix_nano", "observed_time_unix_nano", "severity_number",
    "severity_text", "event_name", "body", "attributes", "dropped_attributes_count", "flags",
    "service_name", "resource_id", "scope_id", "response_id",
)
METRIC_POINT_COLUMNS = (
    "point_id", "name", "description", "unit", "kind", "aggregation_temporality", "is_monotonic",
    "start_time_unix_nano", "time_unix_nano", "value", "count", "sum", "min", "max", "data",
    "attributes", "flags", "metadata", "service_name", "resource_id", "scope_id",
)


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """What one export request contributes to the database, after validation.

    Rows are tuples in their table's column order (`SPAN_COLUMNS`, `LOG_COLUMNS`,
    `METRIC_POINT_COLUMNS`). One request carries one signal."""

    resources: tuple[ResourceRecord, ...] = ()
    scopes: tuple[ScopeRecord, ...] = ()
    prices: tuple[PriceRecord, ...] = ()  # the prices the span rows refer to
    span_rows: tuple[tuple, ...] = ()
    log_rows: tuple[tuple, ...] = ()
    metric_rows: tuple[tuple, ...] = ()
    # evaluation results the spans or log records carry (`receiver.genai.evaluations`)
    evaluation_rows: tuple[tuple, ...] = ()
    trace_ids: frozenset[str] = frozenset()  # traces the spans or log records belong to
    # (row index, (response id, service name)) of each span row with a response id: what the
    # writer's duplicate check reads, built by the decoding thread (off the writer's path)
    response_keys: tuple[tuple[int, tuple[str, str | None]], ...] = ()
    rejected: int = 0
    rejection_message: str = ""

    @property
    def size(self) -> int:
        """Items to write (what the writer's queue limit counts)."""
        return len(self.span_rows) + len(self.log_rows) + len(self.metric_rows)


# --- read side ------------------------------------------------------------------------

SPAN_KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_CODE_NAMES = ("unset", "ok", "error")
STATUS_CODE_ERROR = 2


@dataclass(frozen=True, slots=True)
class StoredResource:
    attributes: StoredAttributes
    dropped_attributes_count: int = 0
    entity_refs: list[dict[str, Any]] = field(default_factory=list)
    schema_url: str = ""


@dataclass(frozen=True, slots=True)
class StoredScope:
    name: str
    version: str
    attributes: StoredAttributes = field(default_factory=dict)
    dropped_attributes_count: int = 0
    schema_url: str = ""


@dataclass(frozen=True, slots=True)
class StoredSpan:
    """A span as stored, JSON columns parsed. Attributes (here, in events and links, on the
    resource and scope) are in a stored shape: read them with `receiver.attributes`."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    start_time_unix_nano: int
    end_time_unix_nano: int
    status_code: int
    status_message: str
    trace_state: str
    flags: int
    attributes: StoredAttributes
    events: list[dict[str, Any]]
    links: list[dict[str, Any]]
    dropped_attributes_count: int
    dropped_events_count: int
    dropped_links_count: int
    service_name: str | None
    resource: StoredResource
    scope: StoredScope
    # canonical GenAI fields by name (GENAI_FIELDS), JSON ones parsed; cost_usd, cost_breakdown
    # and duplicate_of among them
    genai: dict[str, Any] = field(default_factory=dict)
    # input_messages, output_messages, system_instructions, tool_definitions, tool_arguments,
    # tool_result: parsed, only those present
    content: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_time_unix_nano - self.start_time_unix_nano)

    @property
    def kind_name(self) -> str:
        return SPAN_KIND_NAMES[self.kind] if 0 <= self.kind < len(SPAN_KIND_NAMES) else str(self.kind)

    @property
    def status_name(self) -> str:
        code = self.status_code
        return STATUS_CODE_NAMES[code] if 0 <= code < len(STATUS_CODE_NAMES) else str(code)


SEVERITY_NAMES = {1: "TRACE", 5: "DEBUG", 9: "INFO", 13: "WARN", 17: "ERROR", 21: "FATAL"}


@dataclass(frozen=True, slots=True)
class StoredLog:
    """A log record as stored. `body` is a typed OTLP/JSON AnyValue (None when absent)."""

    trace_id: str | None
    span_id: str | None
    time_unix_nano: int
    observed_time_unix_nano: int
    severity_number: int
    severity_text: str
    event_name: str
    body: dict[str, Any] | None
    attributes: StoredAttributes
    dropped_attributes_count: int
    flags: int
    service_name: str | None
    resource: StoredResource
    scope: StoredScope

    @property
    def severity(self) -> str:
        """The sender's text, else the OTLP name of the number's range (INFO, INFO2 → "INFO")."""
        if self.severity_text:
            return self.severity_text
        if self.severity_number <= 0:
            return ""
        base = (self.severity_number - 1) // 4 * 4 + 1
        return SEVERITY_NAMES.get(base, str(self.severity_number))

    @property
    def resolved_event_name(self) -> str:
        """The OTLP `event_name` field, else the `event.name` attribute older SDKs used."""
        if self.event_name:
            return self.event_name
        name = plain_attributes(self.attributes).get("event.name")
        return name if isinstance(name, str) else ""

    @property
    def time_or_observed_unix_nano(self) -> int:
        return self.time_unix_nano or self.observed_time_unix_nano


@dataclass(frozen=True, slots=True)
class StoredMetricPoint:
    """One metric data point: the numbers charts use, and the whole point in `data`."""

    name: str
    description: str
    unit: str
    kind: str  # gauge | sum | histogram | exponential_histogram | summary
    aggregation_temporality: int | None
    is_monotonic: bool | None
    start_time_unix_nano: int
    time_unix_nano: int
    value: int | float | None  # gauge and sum points
    count: int | None  # histograms and summaries
    sum: float | None
    min: float | None
    max: float | None
    attributes: StoredAttributes
    data: dict[str, Any]  # the point as protobuf JSON: buckets, bounds, quantiles, exemplars
    service_name: str | None


# How long a trace with a missing parent may stay quiet before it counts as broken.
PROPAGATION_GRACE_NS = 30_000_000_000


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One row of the trace list: the per-trace rollup kept by the writer."""

    trace_id: str
    root_name: str | None
    has_root: bool
    service_name: str | None
    start_time_unix_nano: int
    end_time_unix_nano: int
    span_count: int
    error_count: int
    updated_unix_nano: int
    # usage over the trace's model calls, each counted once (duplicates left out); None = unknown
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost_usd: float | None = None
    llm_calls: int = 0
    unpriced_calls: int = 0  # model calls with usage but no known price
    models: list[str] = field(default_factory=list)
    session_id: str | None = None
    orphan_spans: int = 0  # spans whose parent is not stored (the root's children, if it is missing)
    pinned: bool = False
    evaluations: int = 0  # evaluation results and annotations on the trace and its spans
    evaluations_passed: int = 0
    evaluations_failed: int = 0

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_time_unix_nano - self.start_time_unix_nano)

    @property
    def missing_parent(self) -> bool:
        """The root, or a span's parent, is not stored (yet: see `is_broken`)."""
        return not self.has_root or self.orphan_spans > 0

    def is_broken(self, now_ns: int, grace_ns: int = PROPAGATION_GRACE_NS) -> bool:
        """A span's parent (or the root) is missing and nothing arrived for the grace period:
        the sign of context that was not propagated, or of a span lost on the way."""
        return self.missing_parent and now_ns - self.updated_unix_nano >= grace_ns


@dataclass(frozen=True, slots=True)
class TraceDetail:
    trace_id: str
    spans: list[StoredSpan]
    logs: list[StoredLog] = field(default_factory=list)
    evaluations: list[StoredEvaluation] = field(default_factory=list)  # in time order

    def span_evaluations(self, span_id: str | None) -> list[StoredEvaluation]:
        """The results on one span; None: those on the whole trace."""
        return [e for e in self.evaluations if e.span_id == span_id]


@dataclass(frozen=True, slots=True)
class StoredEvaluation:
    """An evaluation result or a person's annotation (`receiver.genai.evaluations`)."""

    evaluation_id: int
    trace_id: str | None
    span_id: str | None  # None with a trace id: of the whole trace
    response_id: str | None
    name: str
    score: float | None
    label: str | None
    explanation: str | None  # an annotation's note
    passed: int | None  # 1 passed, 0 failed, None: no verdict
    source: str  # log | span_event | span_attribute | human
    time_unix_nano: int
    service_name: str | None = None

    @property
    def is_human(self) -> bool:
        return self.source == "human"


class LinkingSpan(NamedTuple):
    """A span, in another trace, whose OpenTelemetry link points at a span (`storage.span_links`)."""

    trace_id: str
    span_id: str
    name: str
    start_time_unix_nano: int


class EvaluatorSummary(NamedTuple):
    """One evaluator's results over a time window."""

    name: str
    results: int
    passed: int
    failed: int
    mean_score: float | None
    human: int  # of them annotations

    @property
    def pass_rate(self) -> float | None:
        judged = self.passed + self.failed
        return self.passed / judged if judged else None


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """What the trace list may be narrowed to. Empty fields do not filter; all given must hold."""

    service_name: str | None = None
    errors_only: bool = False
    name_contains: str | None = None
    start_after_unix_nano: int | None = None
    start_before_unix_nano: int | None = None
    model: str | None = None  # among the trace's models (response model, else request model)
    end_after_unix_nano: int | None = None  # still running then (with start_before: overlapping a window)
    # (key, value) pairs: the trace's value of an attribute key, as cost by attribute counts it
    # ("" = none)
    attributes: tuple[tuple[str, str], ...] = ()
    # free text, case-insensitive (ASCII): span names and status messages, string attribute
    # values (prompts and completions travel in them), span events, the trace's log records.
    # Every whitespace-separated term must be found; a "quoted phrase" is one term.
    text: str | None = None
    tool: str | None = None  # a span of the trace called this tool
    session_id: str | None = None
    cost_usd: tuple[tuple[str, float], ...] = ()  # (">", 0.01): the trace's cost compared; none = $0
    duration_ns: tuple[tuple[str, int], ...] = ()  # ("<=", 2_000_000_000): end - start compared
    pinned_only: bool = False
    # traces with a span whose parent is not stored, quiet for `broken_grace_ns` (a parent
    # usually arrives after its children: it ends last)
    broken_only: bool = False
    broken_grace_ns: int = PROPAGATION_GRACE_NS
    # (evaluator name or "" for any, operator or "", value): `eval:hallucination=fail`,
    # `eval:relevance<0.5` (`storage.evaluation_query.evaluation_match`); all must hold
    evaluations: tuple[tuple[str, str, str], ...] = ()


class TraceFacets(NamedTuple):
    """What the trace list's filters can choose from."""

    services: list[str]
    models: list[str]


@dataclass(frozen=True, slots=True)
class TracePage:
    """A page of the trace list, newest first, with the cursor for the next page."""

    traces: list[TraceSummary]
    next_cursor: tuple[int, str] | None

