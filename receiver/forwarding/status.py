"""What forwarding is doing, per upstream, and the one line the status bar and `tracepane
serve` show. Pure; no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FAILING_PERMANENTLY", "OK", "RETRYING", "UpstreamStatus", "items", "summary_text"]

OK = "ok"  # the last request was sent (or none was due yet)
RETRYING = "retrying"  # the last attempt failed in a way that may pass: the same request is retried
FAILING_PERMANENTLY = "failing-permanently"  # the upstream refused the last request: it was dropped


@dataclass(frozen=True, slots=True)
class UpstreamStatus:
    url: str  # scheme, host, port and prefix: never a header
    state: str  # OK, RETRYING or FAILING_PERMANENTLY
    queued_items: int = 0  # spans, log records and metric points waiting to be sent
    sent_items: int = 0
    dropped_items: int = 0  # refused because the queue was full (or still queued at shutdown)
    rejected_items: int = 0  # in requests the upstream refused for good
    last_error: str = ""  # what the last failure said; kept after recovery
    next_retry_in_s: float | None = None  # while RETRYING: when the next attempt starts
    overflowing: bool = False  # the queue refused data and has not emptied since

    @property
    def healthy(self) -> bool:
        return self.state == OK and not self.overflowing


def summary_text(statuses: Iterable[UpstreamStatus]) -> str:
    """One line about the upstreams with a problem now, "" when every one is healthy, e.g.
    "forwarding to grpc://collector:4317 failing: connection refused; retrying in 4 s;
    1,234 items queued, 0 dropped". Counts are items: spans, log records and metric points."""
    return " | ".join(_problem(status) for status in statuses if not status.healthy)


def items(count: int) -> str:
    """"1 item", "1,234 items": spans, log records and metric points together."""
    return f"{count:,} item" if count == 1 else f"{count:,} items"


def _problem(s: UpstreamStatus) -> str:
    counts = f"{items(s.queued_items)} queued, {s.dropped_items:,} dropped"
    if s.state == RETRYING:
        wait = s.next_retry_in_s
        when = "now" if wait is None or wait < 0.5 else f"in {math.ceil(wait):,} s"
        return f"forwarding to {s.url} failing: {s.last_error}; retrying {when}; {counts}"
    if s.state == FAILING_PERMANENTLY:
        return (f"forwarding to {s.url} refused: {s.last_error}; {items(s.rejected_items)} rejected; "
                f"{counts}")
    return f"forwarding to {s.url} falling behind: queue full; {counts}"
