"""Summing GenAI metric points into steps (`metric_series`): which names feed which series, a
point's increase over its stream's previous point, and the series merged at the end.

Row layout (`metric_series._POINTS_SQL`): 0 name, 1 resource_id, 2 scope_id, 3 attributes,
4 start, 5 time, 6 kind, 7 temporality, 8 is_monotonic, 9 unit, 10 value, 11 count, 12 sum,
13 min, 14 max, 15 data (protobuf JSON, only for the quantiled series).
"""

from __future__ import annotations

from collections.abc import Iterable

from receiver.storage.metric_buckets import (
    Buckets,
    add_buckets,
    bucket_intervals,
    load_json,
    point_buckets,
    quantile,
    subtract_buckets,
)

__all__ = ["GENAI_METRICS", "P95", "QUANTILED", "CumulativeStream", "StreamSums", "merged_series"]

# Metric name -> (series, rank). Within one resource (one process) a series (and token type)
# reads only its lowest-ranked name present in the range: OpenLIT reports each call as both
# gen_ai.client.operation.duration and gen_ai.server.request.duration, and adding both would
# count every call twice. Different resources each choose for themselves.
GENAI_METRICS: dict[str, tuple[str, int]] = {
    "gen_ai.client.token.usage": ("tokens", 0),
    "gen_ai.client.inference.usage.input_tokens": ("tokens", 1),
    "gen_ai.client.inference.usage.output_tokens": ("tokens", 1),
    "gen_ai.client.inference.duration": ("duration", 0),
    "gen_ai.client.operation.duration": ("duration", 1),
    "gen_ai.server.request.duration": ("duration", 2),
    # Client chunk timings first: they are measured on streamed calls only, like the spans'
    # TTFT, where OpenLIT's server TTFT also counts a whole non-streamed call.
    "gen_ai.client.inference.time_to_first_chunk": ("ttft", 0),
    "gen_ai.client.operation.time_to_first_chunk": ("ttft", 1),
    "gen_ai.server.time_to_first_token": ("ttft", 2),
    # Per token first, as the spans' TPOT is; the chunk timings are per streamed chunk.
    "gen_ai.server.time_per_output_token": ("tpot", 0),
    "gen_ai.client.inference.time_per_output_chunk": ("tpot", 1),
    "gen_ai.client.operation.time_per_output_chunk": ("tpot", 2),
    "gen_ai.usage.cost": ("cost", 0),  # OpenLIT, USD
    "operation.cost": ("cost", 0),  # pydantic-ai, {USD}
}
TIMINGS = ("duration", "ttft", "tpot")
QUANTILED = ("duration", "ttft")  # the series whose buckets are read, for the p95
P95 = 0.95
_MS_PER_UNIT = {"s": 1000.0, "ms": 1.0, "us": 0.001, "µs": 0.001, "ns": 1e-6, "min": 60_000.0}
_DEFAULT_MS_PER_UNIT = 1000.0  # the GenAI conventions record timings in seconds
_UNREAD = object()  # buckets not parsed yet


class StreamSums:
    """Per step, what the streams of one name, resource and token type added: their value
    (tokens, dollars) or, for timings, calls, the sum in ms and the bucket counts."""

    __slots__ = ("name", "resource_id", "token_type", "series", "present", "counts", "totals", "summed", "buckets")

    def __init__(self, name: str, resource_id: int, token_type: str | None, steps: int) -> None:
        self.name, self.resource_id, self.token_type = name, resource_id, token_type
        self.series = GENAI_METRICS[name][0]
        self.present = [False] * steps  # a point was collected in the step
        self.counts = [0] * steps
        self.totals = [0.0] * steps
        self.summed = [0] * steps  # calls whose sum is known (the mean's denominator)
        # step -> (bucket layout, ms per unit) -> [counts, min, max]: the counts added up, with
        # the lowest min and highest max of the points added (None when one had none)
        self.buckets: dict[int, dict[tuple, list]] = {}

    def add_delta(self, step: int, row: tuple) -> None:
        """Add a delta point: it holds only what happened since the previous one."""
        buckets = None
        if self.series in QUANTILED and row[15] is not None and row[11]:
            buckets = point_buckets(row[6], load_json(row[15]))
        self.add(step, row, row[10], row[11] or 0, row[12], buckets)

    def add(self, step: int, row: tuple, value: float | None, count: int, total: float | None,
            buckets: Buckets | None) -> None:
        """Add an increase found at `row`: a counter's `value`, or a histogram's `count`,
        `total` (its sum) and `buckets`, bounded by the row's min and max."""
        if row[6] == "sum":
            self.totals[step] += value or 0
        elif self.series not in TIMINGS:
            self.totals[step] += total or 0
        else:
            scale = _MS_PER_UNIT.get(row[9], _DEFAULT_MS_PER_UNIT)
            self.counts[step] += count
            if count and total is not None:
                self.totals[step] += total * scale
                self.summed[step] += count
            if count and buckets is not None:
                self._add_buckets(step, buckets, scale, row[13], row[14])

    def _add_buckets(self, step: int, buckets: Buckets, scale: float, low: float | None, high: float | None) -> None:
        layout, counts = buckets
        by_layout = self.buckets.setdefault(step, {})
        held = by_layout.get((layout, scale))
        if held is None:
            by_layout[layout, scale] = [counts, low, high]
            return
        held[0] = add_buckets(held[0], counts)
        held[1] = None if held[1] is None or low is None else min(held[1], low)
        held[2] = None if held[2] is None or high is None else max(held[2], high)

    def intervals(self, step: int, into: dict[tuple[float, float], int]) -> None:
        """Add the step's buckets to `into` as value intervals in ms (`bucket_intervals`)."""
        for (layout, scale), (counts, low, high) in self.buckets.get(step, {}).items():
            bucket_intervals((layout, counts), low, high, scale, into)


class CumulativeStream:
    """One cumulative stream's running totals, turned into increases per step. Within a step
    only the last point matters: its increase over the last point of an earlier step (the
    base) is the step's, so buckets are read once per step, not once per export. A point
    that went down (or changed kind) is a reset: what came before is closed off, and the
    point counts from zero."""

    __slots__ = ("sums", "base", "base_buckets", "latest", "step")

    def __init__(self, sums: StreamSums) -> None:
        self.sums = sums
        self.base: tuple | None = None  # what the pending increase is over; None: zero
        self.base_buckets: Buckets | None | object = _UNREAD
        self.latest: tuple | None = None
        self.step: int | None = None  # of the pending increase, None: nothing pending

    def add(self, step: int, row: tuple) -> None:
        latest = self.latest
        if latest is not None and (row[6] != latest[6] or (row[11] or 0) < (latest[11] or 0)
                                   or (row[6] == "sum" and row[8] and (row[10] or 0) < (latest[10] or 0))):
            self.close_step()
            self.base, self.base_buckets = None, _UNREAD
        elif step != self.step:
            self.close_step()
        self.latest, self.step = row, step

    def close_step(self) -> None:
        """Add the pending increase to its step; the latest point becomes the base."""
        latest, base = self.latest, self.base
        latest_buckets: Buckets | None | object = _UNREAD
        if self.step is not None and latest is not None:
            if latest[6] == "sum":
                self.sums.add(self.step, latest, (latest[10] or 0) - ((base[10] or 0) if base else 0), 0, None, None)
            else:
                latest_buckets = self._add_histogram_increase(latest, base)
        self.base, self.base_buckets, self.step = latest, latest_buckets, None

    def _add_histogram_increase(self, latest: tuple, base: tuple | None) -> Buckets | None | object:
        count, total, before = latest[11] or 0, latest[12], (base[11] or 0) if base else 0
        buckets = latest_buckets = None
        if self.sums.series in QUANTILED and latest[15] is not None and count > before:
            buckets = latest_buckets = point_buckets(latest[6], load_json(latest[15]))
            earlier = self._base_buckets() if before else None
            if buckets is not None and earlier is not None:
                buckets = subtract_buckets(buckets, earlier)
                if buckets is None:  # a bucket went down or the bounds changed: a reset
                    before, buckets = 0, latest_buckets
        if before:
            total = None if total is None or base[12] is None else total - base[12]
        self.sums.add(self.step, latest, None, count - before, total, buckets)
        return latest_buckets if latest_buckets is not None else _UNREAD

    def _base_buckets(self) -> Buckets | None:
        if self.base_buckets is _UNREAD:
            data = self.base[15]
            self.base_buckets = None if data is None else point_buckets(self.base[6], load_json(data))
        return self.base_buckets  # type: ignore[return-value]


def merged_series(all_sums: Iterable[StreamSums], steps: int) -> tuple[list, set[str]]:
    """The `MetricSeries` lists from input tokens to cost, in field order, and the names read:
    the sums of each resource's preferred name per series, added up."""
    present = [sums for sums in all_sums if any(sums.present)]
    best: dict[tuple, int] = {}
    for sums in present:
        rank, key = GENAI_METRICS[sums.name][1], (sums.resource_id, sums.series, sums.token_type)
        best[key] = min(rank, best.get(key, rank))
    used = [sums for sums in present
            if GENAI_METRICS[sums.name][1] == best[sums.resource_id, sums.series, sums.token_type]]

    def chosen(series: str, token_type: str | None = None) -> list[StreamSums]:
        return [sums for sums in used if sums.series == series and sums.token_type == token_type]

    def totals(parts: list[StreamSums]) -> list[float | None]:
        return [sum(p.totals[i] for p in parts) if any(p.present[i] for p in parts) else None for i in range(steps)]

    def tokens(token_type: str) -> list[int | None]:
        return [None if value is None else round(value) for value in totals(chosen("tokens", token_type))]

    def mean(parts: list[StreamSums]) -> list[float | None]:
        calls = [sum(p.summed[i] for p in parts) for i in range(steps)]
        return [sum(p.totals[i] for p in parts) / calls[i] if calls[i] else None for i in range(steps)]

    def p95(parts: list[StreamSums]) -> list[float | None]:
        merged: list[dict[tuple[float, float], int]] = [{} for _ in range(steps)]
        for part in parts:
            for step in part.buckets:
                part.intervals(step, merged[step])
        return [quantile(intervals, P95) for intervals in merged]

    duration, ttft = chosen("duration"), chosen("ttft")
    operations = [sum(p.counts[i] for p in duration) if any(p.present[i] for p in duration) else None
                  for i in range(steps)]
    lists = [tokens("input"), tokens("output"), operations, mean(duration), p95(duration), mean(ttft), p95(ttft),
             mean(chosen("tpot")), totals(chosen("cost"))]
    return lists, {sums.name for sums in used}
