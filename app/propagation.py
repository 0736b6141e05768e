"""What the app says about a trace broken by lost context propagation: a span whose parent
never arrived, or a missing root, once the grace period has passed (`TraceSummary.is_broken`).
Pure, no Qt."""

from __future__ import annotations

from app.formatting import plural
from receiver import TraceSummary

__all__ = ["FRAGMENT_WINDOW_NS", "PROPAGATION_HINT", "fragments_near", "propagation_problem"]

# Traces of one session this close to a broken one are likely fragments of the same run.
FRAGMENT_WINDOW_NS = 60_000_000_000

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


def fragments_near(trace: TraceSummary, session_traces: list[TraceSummary]) -> list[str]:
    """The other traces of `trace`'s session that ran within `FRAGMENT_WINDOW_NS` of it (the
    pieces a lost context splits one run into), oldest first."""
    low, high = trace.start_time_unix_nano - FRAGMENT_WINDOW_NS, trace.end_time_unix_nano + FRAGMENT_WINDOW_NS
    return [t.trace_id for t in sorted(session_traces, key=lambda t: (t.start_time_unix_nano, t.trace_id))
            if t.trace_id != trace.trace_id and t.start_time_unix_nano <= high and t.end_time_unix_nano >= low]
