"""Limits on what one item of a request may make us store, so that no sender (buggy or
hostile) can bloat the database or freeze the inspector with one span:

* `max_value_bytes` — a string or bytes value longer than this (UTF-8) is truncated, and a
  string says so at its end;
* `max_value_depth` — arrays and key-value lists nested deeper are replaced by a string
  saying so (the parsers refuse ~50 levels anyway: protobuf's recursion limit);
* `max_attributes` — a span, event, link, log record, data point, resource or scope keeps
  its first N attributes; the rest are dropped and added to its `dropped_attributes_count`.

What was cut is counted per request and reported to the exporter as a partial-success
warning (rejected 0, a message), as OTLP allows. Whole requests are bounded before this, by
`max_request_bytes` after decompression (receiver.otlp.http_body, grpcio).

The decoders read the limits of the request being decoded from a context variable that the
`Ingestor` sets (`applying`), so the common case costs one comparison with a constant floor:
the configured limits cannot go below the floors, and a value within a floor is never looked
at again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["ValueLimits", "LimitsApplied", "applying", "excess_entries", "count_dropped", "text_over_limit",
           "limited_text", "limited_bytes", "too_deep", "deep_value_marker", "SHORT_TEXT_CHARS",
           "MIN_VALUE_BYTES", "MIN_ATTRIBUTES", "MIN_VALUE_DEPTH"]

MIN_VALUE_BYTES = 4096  # floors: below them no check is made (and no instrumentation needs less)
MIN_ATTRIBUTES = 128
MIN_VALUE_DEPTH = 2
SHORT_TEXT_CHARS = MIN_VALUE_BYTES // 4  # at most 4 UTF-8 bytes per character: never over any limit


@dataclass(frozen=True, slots=True)
class ValueLimits:
    max_value_bytes: int = 4 * 1024 * 1024
    max_value_depth: int = 32
    max_attributes: int = 10_000

    def __post_init__(self) -> None:
        for name, floor in (("max_value_bytes", MIN_VALUE_BYTES), ("max_value_depth", MIN_VALUE_DEPTH),
                            ("max_attributes", MIN_ATTRIBUTES)):
            if getattr(self, name) < floor:
                raise ValueError(f"{name} must be at least {floor}")


@dataclass(slots=True)
class LimitsApplied:
    """What the limits cut from one request."""

    truncated_values: int = 0
    dropped_attributes: int = 0
    cut_nested_values: int = 0

    def message(self, limits: ValueLimits) -> str:
        parts = []
        if self.truncated_values:
            parts.append(f"{self.truncated_values} value(s) truncated to {limits.max_value_bytes} bytes")
        if self.dropped_attributes:
            parts.append(f"{self.dropped_attributes} attribute(s) or list entries dropped beyond "
                         f"{limits.max_attributes} per item")
        if self.cut_nested_values:
            parts.append(f"{self.cut_nested_values} value(s) nested deeper than {limits.max_value_depth} levels cut")
        return "stored with Tracepane's limits: " + "; ".join(parts) if parts else ""


_current: ContextVar[tuple[ValueLimits, LimitsApplied] | None] = ContextVar("tracepane_value_limits", default=None)
_DEFAULT = ValueLimits()


@contextlib.contextmanager
def applying(limits: ValueLimits) -> Iterator[LimitsApplied]:
    """Decode within these limits; yields the count of what they cut."""
    applied = LimitsApplied()
    token = _current.set((limits, applied))
    try:
        yield applied
    finally:
        _current.reset(token)


def _state() -> tuple[ValueLimits, LimitsApplied]:
    # Outside `applying` (a decoder called directly): the defaults, counted nowhere.
    return _current.get() or (_DEFAULT, LimitsApplied())


def excess_entries(count: int) -> int:
    """How many of a list's `count` attributes (or entries) are over the limit."""
    if count <= MIN_ATTRIBUTES:
        return 0
    return max(0, count - _state()[0].max_attributes)


def count_dropped(entries: int) -> None:
    _state()[1].dropped_attributes += entries


def text_over_limit(text: str) -> bool:
    if len(text) <= SHORT_TEXT_CHARS:
        return False
    limit = _state()[0].max_value_bytes
    return len(text) > limit // 4 and len(text.encode("utf-8", "surrogatepass")) > limit


def limited_text(text: str) -> str:
    """`text`, or its first `max_value_bytes` (whole characters) and a note saying so."""
    if not text_over_limit(text):
        return text
    limits, applied = _state()
    applied.truncated_values += 1
    encoded = text.encode("utf-8", "surrogatepass")
    kept = encoded[:limits.max_value_bytes].decode("utf-8", "ignore")  # never half a character
    return f"{kept}…[truncated by Tracepane: {len(encoded)} bytes received, {limits.max_value_bytes} kept]"


def limited_bytes(data: bytes) -> bytes:
    if len(data) <= MIN_VALUE_BYTES:
        return data
    limits, applied = _state()
    if len(data) <= limits.max_value_bytes:
        return data
    applied.truncated_values += 1
    return data[:limits.max_value_bytes]


def too_deep(depth: int) -> bool:
    """Whether a nested value `depth` levels down is past the limit (not counted: see
    `deep_value_marker`)."""
    return depth >= MIN_VALUE_DEPTH and depth >= _state()[0].max_value_depth


def deep_value_marker() -> str:
    limits, applied = _state()
    applied.cut_nested_values += 1
    return f"[nested deeper than {limits.max_value_depth} levels: cut by Tracepane]"
