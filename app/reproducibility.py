"""The reproducibility record of one span, as plain data: the Overview tab's labelled rows in
sections, and the cost arithmetic (tokens × rate per bucket). No Qt, so it is easy to test and
the widget only lays it out.

Choices: a row appears only when the span has a value for it (no fake defaults), except two
reproducibility keys of a model call — the seed and the response id — which show "—" with a
reason, so a missing one is seen rather than overlooked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.formatting import format_duration_ns, format_time_ns
from app.mcp_call import UNPROPAGATED, call_of, facts_of
from app.playground.run_record import PLAYGROUND_RUNS
from app.propagation import PROPAGATION_HINT
from app.span_category import category_of, is_model_call
from receiver.attributes import plain_attributes
from receiver.records import STATUS_CODE_ERROR, StoredSpan

__all__ = ["CostLine", "OverviewRow", "OverviewSection", "cost_lines", "format_rate", "format_usd_exact",
           "overview_sections", "pretty_json", "price_source", "subtitle", "tpot_ms"]

ERROR, MUTED = "error", "muted"  # OverviewRow tones
NOT_SET = "—"
REPRICE_HINT = "add the model to your price file (price_overrides.toml), then run `tracepane reprice`"

# (breakdown bucket, rate key, label); `uncached_input` reads "input" unless cache buckets are shown too
_BUCKETS = (("uncached_input", "input", "input"), ("cache_read", "cache_read", "cache read"),
            ("cache_write", "cache_write", "cache write"), ("output", "output", "output"))


@dataclass(frozen=True, slots=True)
class CostLine:
    """One term of a priced call's cost: `tokens` of a bucket at `rate_mtok` USD per million."""

    tokens: int
    bucket: str
    rate_mtok: float
    usd: float
    note: str = ""  # e.g. "input rate" when a cache bucket has no rate of its own

    @property
    def text(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.tokens:,} {self.bucket} × {format_rate(self.rate_mtok)}{note} = {format_usd_exact(self.usd)}"


@dataclass(frozen=True, slots=True)
class OverviewRow:
    label: str
    value: str  # as shown
    copy_text: str | None = None  # what Copy puts on the clipboard, when it differs from `value`
    tone: str = ""  # "" | "error" | "muted"
    monospace: bool = False  # ids and the like
    arithmetic: tuple[CostLine, ...] = ()  # the cost row: shown as aligned terms, `value` is the total line
    target: tuple[str, str] | None = None  # (trace id, span id) the value links to: another span, opened on a click

    @property
    def clipboard_text(self) -> str:
        return self.value if self.copy_text is None else self.copy_text


@dataclass(frozen=True, slots=True)
class OverviewSection:
    title: str
    rows: list[OverviewRow] = field(default_factory=list)


# --- number formats ------------------------------------------------------------------------


def _trim(value: float, max_decimals: int, min_decimals: int) -> str:
    text = f"{value:.{max_decimals}f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(min_decimals, '0')}" if min_decimals or decimals else whole


def format_usd_exact(usd: float) -> str:
    """Every digit that matters (float noise rounded off), so the terms visibly add up: $0.0000618."""
    if usd == 0:
        return "$0"
    return "$" + _trim(usd, 6 if abs(usd) >= 1 else 12, 2 if abs(usd) >= 1 else 0)


def format_rate(rate_mtok: float) -> str:
    """$0.15/M, $3.00/M, $0.075/M: USD per million tokens, cents always shown."""
    return f"${_trim(rate_mtok, 6, 2)}/M"


def _number(value: Any) -> str:
    return str(value) if not isinstance(value, bool) else ("yes" if value else "no")


# --- cost ----------------------------------------------------------------------------------


def cost_lines(breakdown: Mapping[str, Any] | None) -> tuple[CostLine, ...]:
    """The terms of a priced call's cost (buckets with tokens; input and output always), or ()."""
    if not breakdown or not isinstance(breakdown.get("rates_per_mtok"), Mapping):
        return ()
    tokens, rates, usd = breakdown.get("tokens") or {}, breakdown["rates_per_mtok"], breakdown.get("usd") or {}
    cached = any(tokens.get(bucket) for bucket in ("cache_read", "cache_write"))
    lines = []
    for bucket, rate_key, label in _BUCKETS:
        count = tokens.get(bucket) or 0
        if not count and bucket.startswith("cache"):
            continue
        if not count and bucket == "output" and not rates.get("output"):
            continue  # embeddings: no output, no output rate
        rate, note = rates.get(rate_key), ""
        if rate is None:  # a cache bucket without its own rate is billed at the input rate
            rate, note = rates.get("input") or 0.0, "input rate"
        if bucket == "uncached_input" and cached:
            label = "uncached input"
        lines.append(CostLine(count, label, rate, usd.get(bucket) or 0.0, note))
    return tuple(lines)


def price_source(breakdown: Mapping[str, Any]) -> str:
    """genai-prices 0.2.3 · gpt-4o-mini (openai) · 2026-11-27"""
    model = breakdown.get("model_ref") or "?"
    if breakdown.get("provider"):
        model += f" ({breakdown['provider']})"
    return " · ".join(part for part in (breakdown.get("source"), model, breakdown.get("price_date")) if part)


def _cost_section(span: StoredSpan) -> OverviewSection | None:
    g = span.genai
    rows: list[OverviewRow] = []
    has_usage = g.get("input_tokens") is not None or g.get("output_tokens") is not None
    breakdown = g.get("cost_breakdown") if isinstance(g.get("cost_breakdown"), Mapping) else None
    terms = cost_lines(breakdown)
    if g.get("cost_usd") is not None:
        total = float(g["cost_usd"])
        rows.append(OverviewRow("Cost", format_usd_exact(total)))
        if terms:
            text = "\n".join([*(line.text for line in terms), f"= {format_usd_exact(total)}"])
            rows.append(OverviewRow("Arithmetic", f"= {format_usd_exact(total)}", copy_text=text, arithmetic=terms))
        if breakdown:
            rows.append(OverviewRow("Price", price_source(breakdown)))
    elif is_model_call(g) and has_usage:
        model = g.get("response_model") or g.get("request_model") or "this model"
        rows.append(OverviewRow("Cost", f"no price known for {model}", tone=MUTED))
        rows.append(OverviewRow("To price it", REPRICE_HINT, tone=MUTED))
    elif is_model_call(g):
        rows.append(OverviewRow("Cost", f"{NOT_SET} no token usage reported", copy_text="", tone=MUTED))
    if g.get("duplicate_of"):
        rows.append(OverviewRow("Duplicate", f"duplicate of span {g['duplicate_of']} (left out of totals)",
                                copy_text=str(g["duplicate_of"]), tone=MUTED))
    return OverviewSection("Cost", rows) if rows else None


# --- the sections ------------------------------------------------------------------------


def _model_section(span: StoredSpan) -> OverviewSection | None:
    g = span.genai
    model_call = is_model_call(g)
    rows = []

    def add(label: str, key: str, *, monospace: bool = False) -> None:
        value = g.get(key)
        if value is not None and value != "":
            rows.append(OverviewRow(label, _number(value), monospace=monospace))

    add("Operation", "operation")
    add("Provider", "provider")
    add("Agent", "agent_name")
    add("Tool", "tool_name")
    add("Tool call id", "tool_call_id", monospace=True)
    add("Request model", "request_model")
    add("Response model", "response_model")
    add("Temperature", "temperature")
    add("Top p", "top_p")
    if g.get("seed") is not None or not model_call:
        add("Seed", "seed")
    else:
        rows.append(OverviewRow("Seed", f"{NOT_SET} not set", copy_text="", tone=MUTED))
    add("Max tokens", "max_tokens")
    add("Streaming", "is_streaming")
    if g.get("response_id") or not model_call:
        add("Response id", "response_id", monospace=True)
    else:
        rows.append(OverviewRow("Response id", f"{NOT_SET} not reported", copy_text="", tone=MUTED))
    reasons = g.get("finish_reasons")
    if reasons:
        rows.append(OverviewRow("Finish reasons", ", ".join(map(str, reasons))))
    add("Session", "session_id", monospace=True)
    add("User", "user_id", monospace=True)
    if not rows:
        return None
    return OverviewSection("Model call" if model_call else "Operation", rows)


def _tokens_section(span: StoredSpan) -> OverviewSection | None:
    g = span.genai
    rows = []
    for label, key in (("Input", "input_tokens"), ("Output", "output_tokens"), ("Cache read", "cache_read_tokens"),
                       ("Cache write", "cache_write_tokens"), ("Reasoning", "reasoning_tokens")):
        count = g.get(key)
        if count is None:
            continue
        note = {"cache_read_tokens": " of the input", "cache_write_tokens": " of the input",
                "reasoning_tokens": " of the output"}.get(key, "") if count else ""
        rows.append(OverviewRow(label, f"{count:,}{note}", copy_text=str(count)))
    return OverviewSection("Tokens", rows) if rows else None


def tpot_ms(span: StoredSpan) -> float | None:
    """Time per output token after the first: (duration − TTFT) / (output tokens − 1)."""
    ttft, out = span.genai.get("ttft_ms"), span.genai.get("output_tokens")
    if ttft is None or not out or out < 2:
        return None
    return max(0.0, span.duration_ns / 1e6 - float(ttft)) / (out - 1)


def _ms(ms: float) -> str:
    return format_duration_ns(int(round(ms * 1_000_000)))


def _timing_section(span: StoredSpan) -> OverviewSection:
    rows = [OverviewRow("Start", format_time_ns(span.start_time_unix_nano)),
            OverviewRow("Duration", format_duration_ns(span.duration_ns))]
    ttft = span.genai.get("ttft_ms")
    if ttft is not None:
        rows.append(OverviewRow("Time to first token", _ms(float(ttft))))
    tpot = tpot_ms(span)
    if tpot is not None:
        rows.append(OverviewRow("Time per output token", f"{_ms(tpot)} (after the first token)",
                                copy_text=_ms(tpot)))
    return OverviewSection("Timing", rows)


def _status_section(span: StoredSpan) -> OverviewSection:
    failed = span.status_code == STATUS_CODE_ERROR
    rows = [OverviewRow("Status", span.status_name, tone=ERROR if failed else "")]
    if span.status_message:
        rows.append(OverviewRow("Message", span.status_message, tone=ERROR if failed else ""))
    if span.genai.get("error_type"):
        rows.append(OverviewRow("Error type", str(span.genai["error_type"]), tone=ERROR, monospace=True))
    return OverviewSection("Status", rows)


def _identity_section(span: StoredSpan) -> OverviewSection:
    scope = " ".join(part for part in (span.scope.name, span.scope.version) if part)
    rows = [OverviewRow("Name", span.name),
            OverviewRow("Kind", span.kind_name),
            OverviewRow("Trace id", span.trace_id, monospace=True),
            OverviewRow("Span id", span.span_id, monospace=True),
            OverviewRow("Parent span id", span.parent_span_id, monospace=True) if span.parent_span_id
            else OverviewRow("Parent span id", f"{NOT_SET} root span", copy_text="", tone=MUTED)]
    if span.service_name:
        rows.append(OverviewRow("Service", span.service_name))
    if scope:
        rows.append(OverviewRow("Scope", scope))
    return OverviewSection("Identity", rows)


def _links_section(span: StoredSpan) -> OverviewSection | None:
    """The span's OpenTelemetry links (a batch's inputs, a playground run's original call), each
    a way to the linked span; what a link's attributes say of it, where they say something."""
    rows = []
    for link in span.links:
        trace_id, span_id = link.get("traceId") or "", link.get("spanId") or ""
        if not (trace_id and span_id):
            continue
        attributes = plain_attributes(link.get("attributes") or {})
        note = ", ".join(f"{key}={value}" for key, value in sorted(attributes.items()))
        where = "in this trace" if trace_id == span.trace_id else f"in trace {trace_id[:8]}…"
        rows.append(OverviewRow("Linked span", f"{span_id} {where}" + (f" ({note})" if note else ""),
                                copy_text=f"{trace_id} {span_id}", monospace=True, target=(trace_id, span_id)))
    return OverviewSection("Links", rows) if rows else None


def _mcp_section(span: StoredSpan) -> OverviewSection | None:
    """An MCP span's protocol facts, the other side of its call (a link, across traces too) and,
    on a server span no caller's context reached, the propagation hint."""
    facts, call = facts_of(span), call_of(span) or {}
    if not facts and not call:
        return None
    rows = []
    for label, key, monospace in (("Method", "method", False), ("Target", "target", False), ("Side", "side", False),
                                  ("Session", "session_id", True), ("Request id", "request_id", True),
                                  ("Protocol", "protocol_version", False), ("Resource", "resource_uri", True),
                                  ("Transport", "transport", False)):
        value = facts.get(key) or call.get(key)
        if value:
            rows.append(OverviewRow(label, str(value), monospace=monospace))
    if call.get("peer_span_id"):
        trace_id, span_id = call["peer_trace_id"], call["peer_span_id"]
        other = "server" if call.get("side") == "client" else "client"
        where = "in this trace" if not call.get("across_traces") else f"in trace {trace_id[:8]}…"
        service = f" · {call['peer_service']}" if call.get("peer_service") else ""
        rows.append(OverviewRow("Other side", f"{other}: {call.get('peer_name')}{service} ({where})",
                                copy_text=f"{trace_id} {span_id}", target=(trace_id, span_id)))
    elif call.get("side") == "client":
        rows.append(OverviewRow("Other side", f"{NOT_SET} no server span found", copy_text="", tone=MUTED))
    if call.get("unpropagated"):
        rows.append(OverviewRow("Propagation", f"⚠ {UNPROPAGATED}: {PROPAGATION_HINT}", tone=ERROR))
    return OverviewSection("MCP", rows) if rows else None


def _playground_section(span: StoredSpan) -> OverviewSection | None:
    """The playground's runs of this call (their span links point here), each a way to it."""
    runs = span.genai.get(PLAYGROUND_RUNS) or []
    rows = [OverviewRow(f"Run {number}", f"{run.name} · {format_time_ns(run.start_time_unix_nano)}",
                        copy_text=f"{run.trace_id} {run.span_id}", target=(run.trace_id, run.span_id))
            for number, run in enumerate(runs, 1)]
    return OverviewSection("Playground runs", rows) if rows else None


def overview_sections(span: StoredSpan) -> list[OverviewSection]:
    """The Overview's sections in reading order; a failed span's status comes first."""
    status = _status_section(span)
    parts = [_model_section(span), _mcp_section(span), _tokens_section(span), _cost_section(span),
             _timing_section(span), status,
             _identity_section(span), _links_section(span), _playground_section(span)]
    sections = [section for section in parts if section is not None]
    if span.status_code == STATUS_CODE_ERROR:
        sections.remove(status)
        sections.insert(0, status)
    return sections


def subtitle(span: StoredSpan) -> str:
    """chat · client · support-agent · 1.15 s · 412 → 24 tokens · $0.0000762: the line under the
    span's name, so the numbers people look for first are in view before any scrolling."""
    g = span.genai
    parts = [category_of(g), span.kind_name, span.service_name or "", format_duration_ns(span.duration_ns)]
    if g.get("input_tokens") is not None or g.get("output_tokens") is not None:
        parts.append(f"{g.get('input_tokens') or 0:,} → {g.get('output_tokens') or 0:,} tokens")
    if g.get("cost_usd") is not None:
        parts.append(format_usd_exact(float(g["cost_usd"])))
    return " · ".join(part for part in parts if part)


def pretty_json(value: Any) -> str:
    """Tool arguments, results and unknown message parts as people read them (strings as sent)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)
