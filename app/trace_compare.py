"""Two runs of the same input, side by side: each trace's agent path as the sequence of its
model calls and tool calls (depth first, children in start order), the two sequences aligned
(steps of the same kind and model or tool pair up; a step one run took and the other did not
faces a gap), the first divergence — a different tool, different arguments, a different
model, or a step only one run took — and per-step differences in tokens, cost and latency.
Pure: the window's compare view and `tracepane diff` both show it."""

from __future__ import annotations

import difflib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.span_category import CHAT, EMBEDDINGS, TOOL, category_of
from receiver.records import StoredSpan, TraceDetail

__all__ = ["Comparison", "Step", "StepPair", "agent_steps", "compare_traces", "comparison_text", "depth_first",
           "root_span", "signed", "signed_usd"]

MODEL, TOOL_CALL = "model", "tool"


@dataclass(frozen=True, slots=True)
class Step:
    """One model call or tool call of a run."""

    kind: str  # MODEL | TOOL_CALL
    name: str  # the model (request model, else response model), or the tool's name
    arguments: str  # a tool call's arguments as compact JSON ("" for a model call)
    span: StoredSpan

    @property
    def label(self) -> str:
        if self.kind == TOOL_CALL:
            return f"tool {self.name}" + (f" {self.arguments}" if self.arguments else "")
        return f"{self.span.genai.get('operation') or 'call'} {self.name}"

    @property
    def input_tokens(self) -> int:
        return self.span.genai.get("input_tokens") or 0

    @property
    def output_tokens(self) -> int:
        return self.span.genai.get("output_tokens") or 0

    @property
    def cost_usd(self) -> float:
        return self.span.genai.get("cost_usd") or 0.0

    @property
    def duration_ms(self) -> float:
        return max(0, self.span.end_time_unix_nano - self.span.start_time_unix_nano) / 1e6


@dataclass(frozen=True, slots=True)
class StepPair:
    """Aligned steps (one may be missing) and how they differ ("" when they do not)."""

    a: Step | None
    b: Step | None
    difference: str = ""

    def delta(self, measure: str) -> float:
        """b − a of a step measure (a missing step counts as 0)."""
        def value(step: Step | None) -> float:
            return getattr(step, measure) if step is not None else 0
        return value(self.b) - value(self.a)


@dataclass(frozen=True, slots=True)
class Comparison:
    a: TraceDetail
    b: TraceDetail
    pairs: list[StepPair] = field(default_factory=list)
    first_divergence: int | None = None  # index into `pairs`

    @property
    def diverged(self) -> StepPair | None:
        return None if self.first_divergence is None else self.pairs[self.first_divergence]

    def total(self, measure: str, side: str) -> float:
        return sum(getattr(step, measure) for pair in self.pairs if (step := getattr(pair, side)) is not None)


def agent_steps(detail: TraceDetail) -> list[Step]:
    """The trace's model calls and tool calls in agent-path order."""
    return [step for span in depth_first(detail.spans) if (step := _step(span)) is not None]


def compare_traces(a: TraceDetail, b: TraceDetail) -> Comparison:
    steps_a, steps_b = agent_steps(a), agent_steps(b)
    matcher = difflib.SequenceMatcher(a=[_alignment_key(s) for s in steps_a], b=[_alignment_key(s) for s in steps_b],
                                      autojunk=False)
    pairs: list[StepPair] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            pairs += [_pair(steps_a[i], steps_b[j]) for i, j in zip(range(a0, a1), range(b0, b1), strict=True)]
            continue
        # replaced runs pair up in order while both have steps; the rest face gaps
        common = min(a1 - a0, b1 - b0) if tag == "replace" else 0
        pairs += [_pair(steps_a[a0 + k], steps_b[b0 + k]) for k in range(common)]
        pairs += [_pair(step, None) for step in steps_a[a0 + common:a1]]
        pairs += [_pair(None, step) for step in steps_b[b0 + common:b1]]
    first = next((i for i, pair in enumerate(pairs) if pair.difference), None)
    return Comparison(a, b, pairs, first)


def _pair(a: Step | None, b: Step | None) -> StepPair:
    if a is None or b is None:
        only, side = (b, "B") if a is None else (a, "A")
        return StepPair(a, b, f"only run {side} made {only.label}")
    if a.kind != b.kind:
        return StepPair(a, b, f"a {a.kind} call in A, a {b.kind} call in B")
    if a.kind == TOOL_CALL and a.name != b.name:
        return StepPair(a, b, f"different tool: {a.name} vs {b.name}")
    if a.kind == TOOL_CALL and a.arguments != b.arguments:
        return StepPair(a, b, f"tool {a.name} called with different arguments: {a.arguments} vs {b.arguments}")
    if a.kind == MODEL and a.name != b.name:
        return StepPair(a, b, f"different model: {a.name} vs {b.name}")
    return StepPair(a, b)


def _alignment_key(step: Step) -> tuple[str, str]:
    return step.kind, step.name


def _step(span: StoredSpan) -> Step | None:
    category = category_of(span.genai)
    if category in (CHAT, EMBEDDINGS):
        model = span.genai.get("request_model") or span.genai.get("response_model") or ""
        return Step(MODEL, model, "", span)
    if category == TOOL:
        return Step(TOOL_CALL, span.genai.get("tool_name") or span.name, _compact(span.content.get("tool_arguments")),
                    span)
    return None


def _compact(arguments: Any) -> str:
    """Arguments as compact JSON with sorted keys, so equal arguments compare equal whatever
    their spacing or key order."""
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return arguments
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def depth_first(spans: list[StoredSpan]) -> Iterator[StoredSpan]:
    """Parents before children, siblings in start order; spans whose parent is missing start
    trees of their own, in start order with the roots."""
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[StoredSpan]] = defaultdict(list)
    for span in sorted(spans, key=lambda s: (s.start_time_unix_nano, s.span_id)):
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children[parent].append(span)
    stack = list(reversed(children[None]))
    while stack:
        span = stack.pop()
        yield span
        stack.extend(reversed(children.get(span.span_id, [])))


# --- as text (`tracepane diff`) -------------------------------------------------------------

def comparison_text(comparison: Comparison, *, width: int = 44) -> str:
    """The aligned steps as a table, the first divergence marked, then the totals."""
    lines = [f"A  {_trace_line(comparison.a)}", f"B  {_trace_line(comparison.b)}", ""]
    lines.append(f"{'#':>3}  {'A':<{width}}  {'B':<{width}}  {'tokens in/out':>13}  {'cost':>11}  {'latency':>9}")
    for number, pair in enumerate(comparison.pairs, start=1):
        marker = "  ← first divergence" if number - 1 == comparison.first_divergence else ""
        tokens = f"{signed(pair.delta('input_tokens')):>6}/{signed(pair.delta('output_tokens')):<6}"
        latency = signed(pair.delta("duration_ms"), " ms")
        lines.append(f"{number:>3}  {_cell(pair.a, width)}  {_cell(pair.b, width)}  {tokens}  "
                     f"{signed_usd(pair.delta('cost_usd')):>11}  {latency:>9}{marker}")
    lines.append("")
    diverged = comparison.diverged
    if diverged is None:
        lines.append("No divergence: the same model and tool calls, with the same arguments, in the same order.")
    else:
        lines.append(f"First divergence at step {comparison.first_divergence + 1}: {diverged.difference}.")
    for measure, label, show in (("input_tokens", "input tokens", _count), ("output_tokens", "output tokens", _count),
                                 ("cost_usd", "cost", _usd), ("duration_ms", "time in calls", _ms)):
        a, b = comparison.total(measure, "a"), comparison.total(measure, "b")
        lines.append(f"{label:>14}: A {show(a)}, B {show(b)}")
    return "\n".join(lines)


def root_span(detail: TraceDetail) -> StoredSpan | None:
    """The span without a parent, else (the root never arrived) the first."""
    return next((s for s in detail.spans if not s.parent_span_id), detail.spans[0] if detail.spans else None)


def signed(value: float, unit: str = "", *, zero: str = "0") -> str:
    """A difference with its sign ("+12 ms"); `zero` (with the unit) when there is none."""
    return f"{value:+,.0f}{unit}" if value else (f"{zero}{unit}" if zero else "")


def signed_usd(value: float, *, zero: str = "$0") -> str:
    return f"{'+' if value > 0 else '-'}${abs(value):.6f}".rstrip("0").rstrip(".") if value else zero


def _trace_line(detail: TraceDetail) -> str:
    root = root_span(detail)
    steps = agent_steps(detail)
    return (f"{detail.trace_id}  {root.name if root else '(no spans)'}  "
            f"({len(steps)} model and tool calls)")


def _cell(step: Step | None, width: int) -> str:
    text = "—" if step is None else step.label
    return text if len(text) <= width else text[:width - 1] + "…"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _usd(value: float) -> str:
    return f"${value:.6f}"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms"
