"""Bucket arithmetic for the metric series (`metric_series`): a histogram point's bucket counts,
the difference of two cumulative points of one stream, and a quantile estimated from buckets.

A quantile is estimated the way Prometheus' `histogram_quantile` does it: find the bucket that
holds rank q × count and interpolate linearly inside it, as if its values were spread evenly.
Two refinements: every bucket is first clamped to the min and max of the points its counts
came from, when they have them (so the open-ended last bucket ends at the max instead of at
infinity, and a bucket the max cuts short is interpolated over its true span), and buckets of
different layouts (two instrumentations with different bounds in one step) are merged as
piecewise-uniform densities rather than by index. The true quantile lies in the bucket found,
so the error is at most the width of that bucket after clamping. A cumulative point's min and
max are its stream's since the start, so they clamp a step's increase more loosely than a
delta point's own.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

__all__ = ["Buckets", "add_buckets", "bucket_intervals", "load_json", "point_buckets", "quantile", "subtract_buckets"]

# (("explicit", bounds), [count per bucket]) or (("exponential", scale), {(sign, index): count})
# with sign 1 for the positive buckets, -1 the negative ones, 0 the zero bucket.
Buckets = tuple[tuple[str, Any], Any]


def load_json(text: str) -> Any:
    """Stored JSON text -> Python; orjson for speed (a chart reads thousands of points), the
    standard library for what orjson refuses (lone surrogates the fallback encoder wrote)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def point_buckets(kind: str, data: dict[str, Any]) -> Buckets | None:
    """The bucket counts of a stored point's protobuf JSON (`metric_points.data`); None when
    it has none (a summary, or a histogram sent without buckets)."""
    if kind == "histogram":
        counts = data.get("bucketCounts")
        if not counts:
            return None
        return ("explicit", tuple(data.get("explicitBounds", ()))), list(map(int, counts))  # uint64 as strings
    if kind == "exponential_histogram":
        by_index: dict[tuple[int, int], int] = {}
        for sign, side in ((1, "positive"), (-1, "negative")):
            buckets = data.get(side) or {}
            offset = int(buckets.get("offset", 0))
            for i, n in enumerate(buckets.get("bucketCounts", ())):
                if int(n):
                    by_index[(sign, offset + i)] = int(n)
        if int(data.get("zeroCount", 0)):
            by_index[(0, 0)] = int(data["zeroCount"])
        return ("exponential", int(data.get("scale", 0))), by_index
    return None


def subtract_buckets(later: Buckets, earlier: Buckets) -> Buckets | None:
    """`later` minus `earlier` of one cumulative stream; None when they cannot be subtracted
    (a bucket went down, or the explicit bounds changed): the caller treats that as a reset."""
    (layout, counts), (earlier_layout, earlier_counts) = later, earlier
    if layout[0] == "explicit":
        if layout != earlier_layout or len(counts) != len(earlier_counts):
            return None
        difference = [n - m for n, m in zip(counts, earlier_counts, strict=True)]
        return (layout, difference) if min(difference) >= 0 else None
    if earlier_layout[0] != "exponential":
        return None
    if layout != earlier_layout:
        # The SDK lowers an exponential histogram's scale as its range grows: bring both to the
        # coarser scale, where each bucket is a whole number of finer buckets.
        scale = min(layout[1], earlier_layout[1])
        counts = _rescaled(counts, layout[1], scale)
        earlier_counts = _rescaled(earlier_counts, earlier_layout[1], scale)
        layout = ("exponential", scale)
    by_index = {}
    for key in counts.keys() | earlier_counts.keys():
        n = counts.get(key, 0) - earlier_counts.get(key, 0)
        if n < 0:
            return None
        if n:
            by_index[key] = n
    return layout, by_index


def add_buckets(one: Any, other: Any) -> Any:
    """The sum of two bucket counts of one layout (lists or dicts), as a new object."""
    if isinstance(one, list):
        return [n + m for n, m in zip(one, other, strict=True)]
    return {key: one.get(key, 0) + other.get(key, 0) for key in one.keys() | other.keys()}


def _rescaled(counts: dict[tuple[int, int], int], scale: int, coarser: int) -> dict[tuple[int, int], int]:
    shift = scale - coarser
    merged: dict[tuple[int, int], int] = {}
    for (sign, index), n in counts.items():
        key = (sign, index >> shift if sign else 0)
        merged[key] = merged.get(key, 0) + n
    return merged


def bucket_intervals(buckets: Buckets, low: float | None, high: float | None, scale: float,
                     into: dict[tuple[float, float], int]) -> None:
    """Add each non-empty bucket to `into` as (lower, upper) -> count, in the series' unit
    (`scale` per stored unit), clamped to `low` and `high` (the lowest min and highest max of
    the points the counts came from) when known. An open end with no min or max becomes 0
    below (GenAI values are durations and counts) or the last bound above."""
    layout, counts = buckets
    if layout[0] == "explicit":
        pairs = ((_explicit_bucket(layout[1], i), n) for i, n in enumerate(counts) if n)
    else:
        pairs = ((_exponential_bucket(layout[1], key), n) for key, n in counts.items())
    for (lower, upper), n in pairs:
        if low is not None:
            lower, upper = max(lower, low), max(upper, low)
        if high is not None:
            lower, upper = min(lower, high), min(upper, high)
        if lower == -math.inf:
            lower = min(0.0, upper)
        if upper == math.inf:
            upper = lower
        interval = (lower * scale, upper * scale)
        into[interval] = into.get(interval, 0) + n


def _explicit_bucket(bounds: tuple[float, ...], index: int) -> tuple[float, float]:
    lower = bounds[index - 1] if 0 < index <= len(bounds) else -math.inf
    upper = bounds[index] if index < len(bounds) else math.inf
    return lower, upper


def _exponential_bucket(scale: int, key: tuple[int, int]) -> tuple[float, float]:
    sign, index = key
    if not sign:
        return 0.0, 0.0
    lower, upper = 2.0 ** math.ldexp(index, -scale), 2.0 ** math.ldexp(index + 1, -scale)
    return (lower, upper) if sign > 0 else (-upper, -lower)


def quantile(intervals: dict[tuple[float, float], int], q: float) -> float | None:
    """The value below which a fraction `q` of the counts lies, each interval's count spread
    evenly over it (a zero-width interval is a point mass); None when there are no counts."""
    total = sum(intervals.values())
    if not total:
        return None
    rank = q * total
    density_change: dict[float, float] = {}
    masses: dict[float, int] = {}
    for (lower, upper), n in intervals.items():
        if upper > lower:
            density_change[lower] = density_change.get(lower, 0.0) + n / (upper - lower)
            density_change[upper] = density_change.get(upper, 0.0) - n / (upper - lower)
        else:
            masses[lower] = masses.get(lower, 0) + n
    seen, density, previous = 0.0, 0.0, None
    for x in sorted(density_change.keys() | masses.keys()):
        if previous is not None and density > 0:
            segment = density * (x - previous)
            if seen + segment >= rank:
                return min(x, previous + (rank - seen) / density)
            seen += segment
        seen += masses.get(x, 0)
        if seen >= rank:
            return x
        density += density_change.get(x, 0.0)
        previous = x
    return previous  # rounding left the rank a hair above the total: the largest value
