"""What the user asked the trace list to show: the filter bar's value. Pure, no Qt.

The time range is relative ("the last hour"), so it becomes absolute only when a query
runs: a list refreshed an hour later drops what has aged out.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.filter_language import FilterQuery, parse_filter
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
    pinned_only: bool = False
    time_range: str = "All time"  # a key of TIME_RANGES; a selection's window replaces it
    selection: TraceSelection | None = None

    @property
    def is_empty(self) -> bool:
        return self == ListFilter()

    @property
    def query(self) -> FilterQuery:
        """The search text read in the filter language (`app.filter_language`)."""
        return parse_filter(self.text)

    def to_trace_filter(self, now_ns: int) -> TraceFilter:
        """The store's filter. The search text's own filters narrow the choices further (a
        `model:` typed wins over the model box); a text with a mistake (`query.error`) filters
        by what came before the mistake — the filter bar says what is wrong."""
        query = self.query
        typed = dict(text=free_text(query.text) or None, tool=query.tool or None, session_id=query.session or None,
                     cost_usd=tuple(query.cost_usd.items()), duration_ns=tuple(query.duration_ns.items()),
                     pinned_only=self.pinned_only or query.pinned_only, broken_only=query.broken_only,
                     service_name=query.service or self.service or None,
                     evaluations=tuple(query.evaluations))
        picked = self.selection
        if picked is not None:
            attributes = tuple(query.attributes.items()) + ((picked.attribute,) if picked.attribute else ())
            return TraceFilter(**typed, errors_only=self.errors_only or picked.errors_only or query.errors_only,
                               model=query.model or picked.model or self.model or None,
                               start_before_unix_nano=picked.end_ns, attributes=attributes,
                               **({"start_after_unix_nano": picked.start_ns} if picked.starts_only
                                  else {"end_after_unix_nano": picked.start_ns}))
        seconds = TIME_RANGES.get(self.time_range)
        return TraceFilter(**typed, errors_only=self.errors_only or query.errors_only,
                           model=query.model or self.model or None, attributes=tuple(query.attributes.items()),
                           start_after_unix_nano=None if seconds is None else now_ns - seconds * 1_000_000_000)


def free_text(terms: list[str]) -> str:
    """The query's words and phrases as the store's free text: a phrase with spaces quoted."""
    return " ".join(f'"{term}"' if any(ch.isspace() for ch in term) else term for term in terms)
