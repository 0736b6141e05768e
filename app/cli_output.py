"""What the command line prints: the stable JSON shapes (documented in the README) and the
text views. Pure functions over receiver records; no Qt."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from app.formatting import format_cost_usd, format_duration_ns, format_time_ns, format_tokens, ns_to_ms, plural
from receiver.attributes import plain_attributes, plain_value

if TYPE_CHECKING:  # annotations only: `tracepane stats` should not load the data model
    from receiver.records import StoredEvaluation, StoredLog, StoredSpan, TraceDetail, TraceSummary
    from receiver.storage.stats import StoreStats


def trace_summary_json(trace: TraceSummary) -> dict[str, Any]:
    return {
        "trace_id": trace.trace_id,
        "root_name": trace.root_name,
        "service_name": trace.service_name,
        "start_time_unix_nano": trace.start_time_unix_nano,
        "duration_ms": ns_to_ms(trace.duration_ns),
        "span_count": trace.span_count,
        "error_count": trace.error_count,
        "input_tokens": trace.input_tokens,
        "output_tokens": trace.output_tokens,
        "cache_read_tokens": trace.cache_read_tokens,
        "cache_write_tokens": trace.cache_write_tokens,
        "cost_usd": trace.cost_usd,
        "llm_calls": trace.llm_calls,
        "unpriced_calls": trace.unpriced_calls,
        "models": trace.models,
        "session_id": trace.session_id,
        "pinned": trace.pinned,
        "orphan_spans": trace.orphan_spans,  # spans whose parent is not stored
        "broken": trace.is_broken(time.time_ns()),  # ... and nothing arrived for the grace period
        "evaluations": {"results": trace.evaluations, "passed": trace.evaluations_passed,
                        "failed": trace.evaluations_failed},
    }


def span_json(span: StoredSpan, evaluations: list[StoredEvaluation] | None = None) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": span.kind_name,
        "service_name": span.service_name,
        "scope": {
            "name": span.scope.name,
            "version": span.scope.version,
            "attributes": plain_attributes(span.scope.attributes),
        },
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "duration_ms": ns_to_ms(span.duration_ns),
        "status_code": span.status_name,
        "status_message": span.status_message,
        "trace_state": span.trace_state,
        "flags": span.flags,
        "attributes": plain_attributes(span.attributes),
        "events": [
            {"name": event.get("name", ""), "time_unix_nano": event.get("timeUnixNano", 0),
             "attributes": plain_attributes(event.get("attributes", {})),
             "dropped_attributes_count": event.get("droppedAttributesCount", 0)}
            for event in span.events
        ],
        "links": [
            {"trace_id": link.get("traceId", ""), "span_id": link.get("spanId", ""),
             "trace_state": link.get("traceState", ""), "flags": link.get("flags", 0),
             "attributes": plain_attributes(link.get("attributes", {})),
             "dropped_attributes_count": link.get("droppedAttributesCount", 0)}
            for link in span.links
        ],
        "dropped_attributes_count": span.dropped_attributes_count,
        "dropped_events_count": span.dropped_events_count,
        "dropped_links_count": span.dropped_links_count,
        "resource": plain_attributes(span.resource.attributes),
        **{key: value for key, value in span.genai.items() if key != "genai_extras"},
        "genai_extras": span.genai.get("genai_extras") or {},
        **{key: span.content.get(key) for key in CONTENT_KEYS},
        "evaluations": [evaluation_json(e) for e in evaluations or []],
    }


def evaluation_json(evaluation: StoredEvaluation) -> dict[str, Any]:
    """`source`: human for an annotation, else how the result came (log, span_event, span_attribute)."""
    return {"name": evaluation.name, "score": evaluation.score, "label": evaluation.label,
            "explanation": evaluation.explanation, "source": evaluation.source,
            "passed": None if evaluation.passed is None else bool(evaluation.passed),
            "time_unix_nano": evaluation.time_unix_nano, "response_id": evaluation.response_id}


CONTENT_KEYS = ("input_messages", "output_messages", "system_instructions", "tool_definitions", "tool_arguments",
                "tool_result")


def log_json(record: StoredLog) -> dict[str, Any]:
    return {
        "trace_id": record.trace_id,
        "span_id": record.span_id,
        "time_unix_nano": record.time_unix_nano,
        "observed_time_unix_nano": record.observed_time_unix_nano,
        "severity": record.severity,
        "severity_number": record.severity_number,
        "event_name": record.resolved_event_name,
        "body": plain_value(record.body),
        "attributes": plain_attributes(record.attributes),
        "scope": {"name": record.scope.name, "version": record.scope.version},
        "service_name": record.service_name,
        "resource": plain_attributes(record.resource.attributes),
    }


def trace_json(detail: TraceDetail) -> dict[str, Any]:
    return {"trace_id": detail.trace_id,
            "spans": [span_json(s, detail.span_evaluations(s.span_id)) for s in detail.spans],
            "logs": [log_json(record) for record in detail.logs],
            "evaluations": [evaluation_json(e) for e in detail.span_evaluations(None)]}  # of the whole trace


def stats_json(stats: StoreStats, db_path: str) -> dict[str, Any]:
    return {"spans": stats.spans, "traces": stats.traces, "logs": stats.logs,
            "metric_points": stats.metric_points, "db_bytes": stats.db_bytes, "db_path": db_path}


# --- text ---------------------------------------------------------------------------------


def traces_table(traces: list[TraceSummary]) -> str:
    if not traces:
        return "no traces yet: point an OTLP exporter at this receiver and run your app"
    header = (f"{'START':<23}  {'DURATION':>9}  {'SPANS':>5}  {'ERR':>3}  {'TOKENS IN/OUT':>13}  {'COST':>10}  "
              f"{'SERVICE':<24}  {'ROOT':<32}  TRACE ID")
    lines = [header]
    for t in traces:
        root = t.root_name if t.has_root else f"({t.root_name or '?'}; root missing)"
        if t.orphan_spans and t.has_root:
            root = f"{root} (parent missing)"
        if t.pinned:
            root = f"[pinned] {root}"
        lines.append(
            f"{format_time_ns(t.start_time_unix_nano):<23}  {format_duration_ns(t.duration_ns):>9}  "
            f"{t.span_count:>5}  {t.error_count or '':>3}  {format_tokens(t.input_tokens, t.output_tokens):>13}  "
            f"{format_cost_usd(t.cost_usd, unpriced=t.unpriced_calls):>10}  {_cut(t.service_name or '—', 24):<24}  "
            f"{_cut(root or '', 32):<32}  {t.trace_id}")
    return "\n".join(lines)


def trace_tree(detail: TraceDetail) -> str:
    """The trace as an indented tree; a span whose parent never arrived hangs at the top."""
    spans = detail.spans
    if not spans:
        return "\n".join([f"trace {detail.trace_id}", "  no spans yet; log records:"]
                         + [f"    {_log_line(record)}" for record in detail.logs])
    ids = {s.span_id for s in spans}
    logs_by_span: dict[str | None, list[StoredLog]] = defaultdict(list)
    for record in detail.logs:
        logs_by_span[record.span_id if record.span_id in ids else None].append(record)
    children: dict[str | None, list[StoredSpan]] = defaultdict(list)
    for s in spans:
        parent = s.parent_span_id if s.parent_span_id in ids else None
        children[parent].append(s)
    start = min(s.start_time_unix_nano for s in spans)
    end = max(s.end_time_unix_nano for s in spans)
    errors = sum(s.status_code == 2 for s in spans)
    services = sorted({s.service_name or "—" for s in spans})
    lines = [f"trace {detail.trace_id}",
             f"  {format_time_ns(start)} · {format_duration_ns(max(0, end - start))} · "
             f"{plural(len(spans), 'span')} · {plural(errors, 'error')} · {', '.join(services)}"]
    lines += [f"  {evaluation_line(e)}" for e in detail.span_evaluations(None)] + [""]

    seen: set[str] = set()

    def walk(top_span: StoredSpan) -> None:
        # Iterative, so a 10,000-deep chain of spans cannot exhaust Python's stack.
        stack: list[tuple[StoredSpan, str, str]] = [(top_span, "  ", "")]
        while stack:
            span, prefix, branch = stack.pop()
            if span.span_id in seen:
                continue
            seen.add(span.span_id)
            status = "  ✗ " + (span.status_message or "error") if span.status_code == 2 else ""
            orphan = f"  (parent {span.parent_span_id} missing)" if not branch and span.parent_span_id else ""
            lines.append(f"{prefix}{branch}{span.name}  [{span.kind_name}]  "
                         f"{format_duration_ns(span.duration_ns)} @+"
                         f"{format_duration_ns(span.start_time_unix_nano - start)}{_genai_summary(span)}"
                         f"{status}{orphan}")
            child_prefix = prefix + {"": "", "└─ ": "   ", "├─ ": "│  "}[branch]
            kids = children.get(span.span_id, [])
            for evaluation in detail.span_evaluations(span.span_id):
                lines.append(f"{child_prefix}{'│  ' if kids else '   '}{evaluation_line(evaluation)}")
            for record in logs_by_span.get(span.span_id, []):
                lines.append(f"{child_prefix}{'│  ' if kids else '   '}⋅ {_log_line(record)}")
            for i, kid in reversed(list(enumerate(kids))):
                stack.append((kid, child_prefix, "└─ " if i == len(kids) - 1 else "├─ "))

    for top in children[None]:
        walk(top)
    for span in spans:  # parent links that form a cycle reach no top: show them anyway
        if span.span_id not in seen:
            walk(span)
    if logs_by_span.get(None):
        lines.append("")
        lines.append("  log records not tied to a stored span:")
        lines.extend(f"    {_log_line(record)}" for record in logs_by_span[None])
    return "\n".join(lines)


def evaluation_line(evaluation: StoredEvaluation) -> str:
    """`✗ relevance: fail (0.3) — off topic`; an annotation `✓ you: good — a note`."""
    mark = {1: "✓", 0: "✗"}.get(evaluation.passed, "•")  # type: ignore[arg-type]
    said = " ".join(part for part in (evaluation.label, None if evaluation.score is None
                                      else f"({evaluation.score:g})") if part) or "no score"
    why = f" — {_cut(evaluation.explanation, 80)}" if evaluation.explanation else ""
    if evaluation.is_human:
        return f"{mark} you{'' if evaluation.name == 'human' else f' ({evaluation.name})'}: {said}{why}"
    return f"{mark} {evaluation.name}: {said}{why}"


def _genai_summary(span: StoredSpan) -> str:
    """` · gpt-4o-mini · 75/15 tokens · $0.0000203` for a model call; the tool for a tool call."""
    g = span.genai
    if g.get("operation") == "execute_tool" and g.get("tool_name"):
        return f" · tool {g['tool_name']}"
    if g.get("input_tokens") is None and g.get("output_tokens") is None:
        return ""
    model = g.get("response_model") or g.get("request_model") or "?"
    cost = format_cost_usd(g.get("cost_usd"), unpriced=int(g.get("cost_usd") is None))
    duplicate = " (duplicate: counted once)" if g.get("duplicate_of") else ""
    return f" · {model} · {format_tokens(g.get('input_tokens'), g.get('output_tokens'))} tokens · {cost}{duplicate}"


def _log_line(record: StoredLog) -> str:
    what = record.resolved_event_name or _cut(str(plain_value(record.body) or ""), 60) or "log record"
    severity = f" [{record.severity}]" if record.severity else ""
    return f"{what}{severity}"


def stats_text(stats: StoreStats, db_path: str) -> str:
    return (f"database       {db_path}\n"
            f"size           {stats.db_bytes / 1_048_576:.1f} MiB\n"
            f"traces         {stats.traces}\n"
            f"spans          {stats.spans}\n"
            f"log records    {stats.logs}\n"
            f"metric points  {stats.metric_points}")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
