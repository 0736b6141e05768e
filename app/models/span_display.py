"""What the span tree's rows show: column titles, cell texts, tooltips, the category icon, and
the evaluation badges' contents (the waterfall's delegate paints them; the verdict colours and
the trace list's roll-up text are shared with the inspector and the trace list).

Texts are made per row when the row is first painted (`row_texts` keeps them on the node), so a
10,000-span trace formats only what is seen. QtGui only for the icon, drawn on a QImage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from app.cli_output import evaluation_line
from app.formatting import format_cost_usd, format_duration_ns, format_tokens
from app.mcp_call import call_of, row_marker, tooltip_lines
from app.models.span_tree import SpanNode
from app.span_category import EMBEDDINGS, is_model_call
from receiver.records import StoredEvaluation, StoredSpan

__all__ = ["FAILED_COLOUR", "HEADERS", "NO_VERDICT_COLOUR", "PASSED_COLOUR", "TOOLTIPS", "Badge", "SpanColumn",
           "draw_span_icon", "evaluation_badges", "evaluation_lines", "evaluations_rollup", "row_texts",
           "span_tooltip", "verdict_colour"]

# Dark enough for white text on them (WCAG AA at the badges' bold small size), light and dark themes alike.
PASSED_COLOUR, FAILED_COLOUR, NO_VERDICT_COLOUR = "#15803d", "#dc2626", "#6b7280"


class SpanColumn(IntEnum):
    NAME = 0
    DURATION = 1
    TOKENS = 2
    COST = 3
    TIMELINE = 4


HEADERS = {SpanColumn.NAME: "Span", SpanColumn.DURATION: "Duration", SpanColumn.TOKENS: "Tokens",
           SpanColumn.COST: "Cost", SpanColumn.TIMELINE: "Timeline"}
TOOLTIPS = {SpanColumn.NAME: "The span's name, and its service where it differs from its parent's. "
                             "j / k move, h / l collapse and expand, Enter opens the span, Ctrl+F finds",
            SpanColumn.DURATION: "How long the span took, start to end",
            SpanColumn.TOKENS: "Input / output tokens of model calls",
            SpanColumn.COST: "USD of the model call at the price of its day",
            SpanColumn.TIMELINE: "When each span ran, on the trace's clock. Ctrl+wheel or + / - zoom, drag pans, "
                                 "double-click a bar to zoom to its span, 0 shows the whole trace"}


def row_texts(node: SpanNode, root: SpanNode) -> tuple[str | None, ...]:
    """The row's display texts by column, made once (when the row is first painted) and kept on the node."""
    span = node.span
    name = span.name
    above = _service_above(node, root)
    if span.service_name and above is not None and span.service_name != above:
        name = f"{span.name} · {span.service_name}"
    if (call := call_of(span)) is not None:  # an MCP call's side, and where its other side is
        name = f"{name}   {row_marker(call)}"
    # TIMELINE: no text, the delegate paints the bar
    node.texts = (name, format_duration_ns(span.duration_ns), _tokens(span), _cost(span), None)
    return node.texts


def _service_above(node: SpanNode, root: SpanNode) -> str | None:
    """The service a span's is compared with: its parent's; for an orphan, the first root's
    (another service there is the likeliest place the context was lost)."""
    parent = node.parent
    if parent is not None and parent is not root:
        return parent.span.service_name
    first = root.children[0] if root.children else None
    return first.span.service_name if node.orphan and first is not None and first is not node else None


def _tokens(span: StoredSpan) -> str:
    genai = span.genai
    if not is_model_call(genai):
        return ""
    inputs, outputs = genai.get("input_tokens"), genai.get("output_tokens")
    if inputs is None and outputs is None:
        return ""  # a call that failed before any usage came back
    text = format_tokens(inputs, outputs)
    return text.removesuffix("/?") if genai.get("operation") == EMBEDDINGS else text  # embeddings have no output


def _cost(span: StoredSpan) -> str:
    genai = span.genai
    if genai.get("cost_usd") is not None:
        return format_cost_usd(genai["cost_usd"])
    if is_model_call(genai) and genai.get("input_tokens") is not None:
        return format_cost_usd(None, unpriced=1)  # "no price": tokens but no known rate
    return ""


def verdict_colour(passed: int | None) -> str:
    return {1: PASSED_COLOUR, 0: FAILED_COLOUR}.get(passed, NO_VERDICT_COLOUR)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Badge:
    """One badge of a row: a count of an evaluator verdict, or one person's annotation."""

    passed: int | None  # 1 passed, 0 failed, None: no verdict
    count: int
    human: bool = False


def evaluation_badges(results: Sequence[StoredEvaluation]) -> list[Badge]:
    """Evaluators' results counted by verdict (passed, failed, none), then each annotation."""
    machine = [result.passed for result in results if not result.is_human]
    badges = [Badge(passed, machine.count(passed)) for passed in (1, 0, None) if passed in machine]
    return badges + [Badge(result.passed, 1, human=True) for result in results if result.is_human]


def evaluation_lines(results: Sequence[StoredEvaluation], trace_results: Sequence[StoredEvaluation] = ()) -> list[str]:
    """A tooltip's lines for a span's results (`✗ relevance: fail (0.3) — off topic`), then the whole trace's."""
    lines = ["Evaluations:", *(evaluation_line(result) for result in results)] if results else []
    if trace_results:
        lines += ["On the whole trace:", *(evaluation_line(result) for result in trace_results)]
    return lines


def evaluations_rollup(results: int, passed: int, failed: int) -> tuple[str, str]:
    """A trace's results as the list shows them ("✓3 ✗1", "" for none) and the tooltip that says so."""
    if not results:
        return "", ""
    unjudged = results - passed - failed
    text = " ".join(f"{mark}{count}" for mark, count in (("✓", passed), ("✗", failed), ("•", unjudged)) if count)
    tip = (f"{results} evaluation result{'s' if results != 1 else ''} (annotations included): {passed} passed, "
           f"{failed} failed" + (f", {unjudged} without a verdict" if unjudged else ""))
    return text, tip


def span_tooltip(node: SpanNode, results: Sequence[StoredEvaluation] = (),
                 trace_results: Sequence[StoredEvaluation] = ()) -> str:
    span = node.span
    genai = span.genai
    kind = genai.get("operation") or span.kind_name
    lines = [span.name, f"{kind} · {format_duration_ns(span.duration_ns)}"]
    if span.service_name:
        lines.append(f"service: {span.service_name}")
    if is_model_call(genai) and (model := genai.get("response_model") or genai.get("request_model")):
        lines.append(f"model: {model}")
    if node.is_error:
        lines.append(f"error: {span.status_message or genai.get('error_type') or 'status error'}")
    if genai.get("duplicate_of"):
        lines.append(f"a copy of span {genai['duplicate_of']} (same response id): not counted in the trace's totals")
    if node.orphan:
        lines.append(f"parent span {span.parent_span_id} is missing from this trace: it never arrived "
                     "(often broken context propagation between processes)")
    if (call := call_of(span)) is not None:
        lines += tooltip_lines(call)
    return "\n".join(lines + evaluation_lines(results, trace_results))


def draw_span_icon(colour: str, orphan: bool) -> QImage:
    """A category dot; hollow and dotted for a span whose parent never arrived. A QImage, not a
    QPixmap: the model needs no GUI application (the item delegate turns it into an icon)."""
    scale = 2  # drawn at 2x so it stays crisp on high-density screens
    icon = QImage(16 * scale, 16 * scale, QImage.Format.Format_ARGB32_Premultiplied)
    icon.fill(Qt.GlobalColor.transparent)
    painter = QPainter(icon)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(scale, scale)
    if orphan:
        painter.setPen(QPen(QColor(colour), 1.6, Qt.PenStyle.DotLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QRectF(3.5, 3.5, 9, 9))
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        painter.drawRoundedRect(QRectF(3.5, 3.5, 9, 9), 2.5, 2.5)
    painter.end()
    icon.setDevicePixelRatio(scale)
    return icon
