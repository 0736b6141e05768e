"""What the app says about a trace broken by lost context propagation: a span whose parent
never arrived, or a missing root, once the grace period has passed (`TraceSummary.is_broken`).
Pure, no Qt."""

from __future__ import annotations

from app.formatting import plural
from receiver import TraceSummary

__all__ = ["PROPAGATION_HINT", "propagation_problem"]

PROPAGATION_HINT = (
    "The context was probably not propagated across a process boundary: over MCP or a custom "
    "RPC, the caller must pass the W3C traceparent header by hand (inject it into the request, "
    "extract it on the other side) so both sides share one trace. Otherwise the other process "
    "did not export its spans (check its exporter and that it flushed before exiting).")


def propagation_problem(trace: TraceSummary, now_ns: int) -> str:
    """One sentence on what is missing, or "" when nothing is (or not for long enough)."""
    if not trace.is_broken(now_ns):
        return ""
    if not trace.has_root:
        return (f"The root span never arrived: {plural(trace.orphan_spans, 'span')} "
                f"{'points' if trace.orphan_spans == 1 else 'point'} at a parent that is not here.")
    return (f"{plural(trace.orphan_spans, 'span')} {'points' if trace.orphan_spans == 1 else 'point'} "
            "at a parent span that never arrived.")
