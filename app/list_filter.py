"""What the user asked the trace list to show: the filter bar's value. Pure, no Qt.

The time range is relative ("the last hour"), so it becomes absolute only when a query
runs: a list refreshed an hour later drops what has aged out.
"""

from __future__ import annotations

from dataclasses import dataclass

from receiver import TraceFilter

__all__ = ["TIME_RANGES", "ListFilter", "TraceSelection"]

# label -> seconds back from now (None = everything)
TIME_RANGES: dict[str, int | None] = {
    "All time": None,
    "Last 15 minutes": 15 * 60,
    "Last hour": 60 * 60,
    "Last day": 24 * 60 * 60,
}


@dataclass(frozen=True, slots=True)
class TraceSelection:
    """The traces behind a point of a chart: those running during its window (absolute, so
    it does not move with the clock), of its model, with its attribute value. Not remembered
    between runs."""

    label: str  # what the filter bar shows, e.g. "Model-call latency, 14:05–14:20"
    start_ns: int | None = None
    end_ns: int | None = None
    model: str = ""
    attribute: tuple[str, str] | None = None  # (key, value); "" = traces without the key
    errors_only: bool = False
    starts_only: bool = False  # traces that started in the window, not all those running in it


@dataclass(frozen=True, slots=True)
class ListFilter:
    text: str = ""
    service: str = ""
    model: str = ""
    errors_only: bool = False
    time_range: str = "All time"  # a key of TIME_RANGES; a selection's window replaces it
    selection: TraceSelection | None = None

    @property
    def is_empty(self) -> bool:
        return self == ListFilter()

    def to_trace_filter(self, now_ns: int) -> TraceFilter:
        picked = self.selection
        if picked is not None:
            return TraceFilter(service_name=self.service or None, errors_only=self.errors_only or picked.errors_only,
                               model=picked.model or self.model or None, text=self.text.strip() or None,
                               start_before_unix_nano=picked.end_ns, attribute=picked.attribute,
                               **({"start_after_unix_nano": picked.start_ns} if picked.starts_only
                                  else {"end_after_unix_nano": picked.start_ns}))
        seconds = TIME_RANGES.get(self.time_range)
        return TraceFilter(service_name=self.service or None, errors_only=self.errors_only,
                           model=self.model or None, text=self.text.strip() or None,
                           start_after_unix_nano=None if seconds is None else now_ns - seconds * 1_000_000_000)
