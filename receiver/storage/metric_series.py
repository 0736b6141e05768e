"""The GenAI metrics received (token usage, durations, TTFT, cost) as per-step series for the
charts, on the same steps as the span-derived `usage_query.UsageSeries`.

Metrics have no trace link: they are aggregates, charted beside the spans, never merged with
them. A point's increase is charted in the step of its `time_unix_nano` (when it was
collected), so it lags the spans by up to one export interval.

Temporality: the Python SDK exports histograms and counters cumulatively by default, each
export repeating the running total since the stream's start. A cumulative point therefore
counts as its increase over the previous point of its stream (same name, resource, scope,
attributes and start time), looked up before the range when the stream began before it. A
stream's first point counts whole (all it holds happened by then, as far as we know); so
does a point whose count or monotonic value went down, or whose buckets cannot be
subtracted (a reset). Delta points count as they are. Gauges are ignored.

Scope: only model calls. Points of agent, tool and workflow operations
(`gen_ai.operation.name`, which some instrumentations record in the same duration metric) are
left out, as the span series leave them out; points with no operation name are kept.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from receiver.attributes import plain_attributes
from receiver.storage.metric_buckets import load_json
from receiver.storage.metric_steps import GENAI_METRICS, QUANTILED, CumulativeStream, StreamSums, merged_series

__all__ = ["GENAI_METRICS", "MetricSeries", "genai_metric_series", "metric_models"]

_NS_PER_MINUTE = 60_000_000_000
_DELTA = 1  # OTLP AggregationTemporality; anything else (cumulative, or a summary's none) is a running total
# Points this long before the range come with it, as the baselines of its first points: the
# SDK exports every 60 s by default. A stream exported more rarely gets its own lookup.
_BASELINE_NS = 5 * _NS_PER_MINUTE
_NOT_MODEL_CALLS = ("execute_tool", "invoke_agent", "create_agent", "invoke_workflow")
_TOKEN_TYPES = {"input": "input", "prompt": "input", "output": "output", "completion": "output"}
_COUNTER_TOKEN_TYPES = {"gen_ai.client.inference.usage.input_tokens": "input",
                        "gen_ai.client.inference.usage.output_tokens": "output"}

_NAMES_SQL = ", ".join(f"'{name}'" for name in GENAI_METRICS)
_QUANTILED_SQL = ", ".join(f"'{name}'" for name, (series, _) in GENAI_METRICS.items() if series in QUANTILED)
_COLUMNS = """name, resource_id, scope_id, attributes, start_time_unix_nano, time_unix_nano, kind,
       aggregation_temporality, is_monotonic, unit, value, count, sum, min, max"""
# In (name, time) order: the index's, and each stream's points in time order. `data` (the
# buckets) only where the p95 needs it. The model test is a cheap pre-filter (`instr`), made
# exact per stream in Python, where the attributes are read once per stream, not per point.
_POINTS_SQL = f"""
SELECT {_COLUMNS}, CASE WHEN name IN ({_QUANTILED_SQL}) THEN data END
FROM metric_points
WHERE name IN ({_NAMES_SQL}) AND time_unix_nano >= :since AND time_unix_nano < :past AND kind != 'gauge'
  AND (:needle IS NULL OR instr(attributes, :needle) OR substr(attributes, 1, 1) = '[')
ORDER BY name, time_unix_nano, point_id"""
_PREVIOUS_SQL = f"""
SELECT {_COLUMNS}, CASE WHEN name IN ({_QUANTILED_SQL}) THEN data END
FROM metric_points
WHERE name = ? AND resource_id = ? AND scope_id = ? AND attributes = ? AND start_time_unix_nano = ?
  AND time_unix_nano < ? AND time_unix_nano > ?
ORDER BY time_unix_nano DESC LIMIT 1"""
_UNSEEN = object()


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """Per-step series of the GenAI metrics over a time range: `minutes[i]` starts step i
    (minutes since the epoch, `step_minutes` long), as in `UsageSeries`; every list has one
    value per step, None where no point of that series was collected in the step (a step
    with points but no new call has 0 tokens and a None mean)."""

    step_minutes: int
    minutes: list[int]
    input_tokens: list[int | None]
    output_tokens: list[int | None]
    operations: list[int | None]  # model calls counted by the duration metric
    duration_mean_ms: list[float | None]
    duration_p95_ms: list[float | None]  # estimated from the buckets (`metric_buckets`)
    ttft_mean_ms: list[float | None]
    ttft_p95_ms: list[float | None]
    tpot_mean_ms: list[float | None]  # time per output token (or chunk, lacking the token metric)
    cost_usd: list[float | None]  # as reported by the instrumentation (OpenLIT, pydantic-ai)
    names: set[str]  # the GenAI metric names these series were read from, in the range


def genai_metric_series(conn: sqlite3.Connection, first_minute: int, past_minute: int, step_minutes: int,
                        model: str | None = None) -> MetricSeries:
    """The GenAI metric series for minutes [first_minute, past_minute), `step_minutes` a step;
    with `model`, only points whose response or request model is that model."""
    if step_minutes < 1:
        raise ValueError(f"step_minutes must be at least 1, not {step_minutes}")
    steps = max(1, -(-(past_minute - first_minute) // step_minutes))
    first_ns, step_ns = first_minute * _NS_PER_MINUTE, step_minutes * _NS_PER_MINUTE
    params = {"since": first_ns - _BASELINE_NS, "past": past_minute * _NS_PER_MINUTE, "needle": _needle(model)}
    sums_of: dict[tuple, StreamSums | None] = {}  # (name, resource, scope, attributes) -> its sums, None: left out
    all_sums: dict[tuple, StreamSums] = {}
    streams: dict[tuple, CumulativeStream] = {}  # the same + start time
    for row in conn.execute(_POINTS_SQL, params):
        key = row[:5]
        stream = streams.get(key)
        if stream is None:  # a new stream, a delta point, or one left out
            sums = sums_of.get(row[:4], _UNSEEN)
            if sums is _UNSEEN:
                sums = sums_of[row[:4]] = _stream_sums(row, model, all_sums, steps)
            if sums is None:
                continue
            if row[7] == _DELTA:
                if row[5] >= first_ns:
                    step = (row[5] - first_ns) // step_ns
                    sums.present[step] = True
                    sums.add_delta(step, row)
                continue
            stream = streams[key] = CumulativeStream(sums)
            if row[4] < first_ns <= row[5]:  # began before the range, with no point in the baseline window
                stream.latest = conn.execute(_PREVIOUS_SQL, (*key, params["since"], row[4])).fetchone()
        if row[5] < first_ns:
            stream.latest = row  # a baseline only
            continue
        step = (row[5] - first_ns) // step_ns
        stream.sums.present[step] = True
        latest = stream.latest
        if latest is None or row[11] != latest[11] or row[10] != latest[10] or row[6] != latest[6]:
            stream.add(step, row)
        # else nothing new since the previous export: the usual case, kept cheap
    for stream in streams.values():
        stream.close_step()
    series, names = merged_series(all_sums.values(), steps)
    return MetricSeries(step_minutes, [first_minute + i * step_minutes for i in range(steps)], *series, names)


def metric_models(conn: sqlite3.Connection) -> list[str]:
    """The models named by GenAI metric points (response model, else request model), sorted:
    the choices of the `model` filter. Reads every GenAI point's attributes: ask once per
    page, not per chart refresh."""
    models = set()
    for (attributes,) in conn.execute(f"SELECT DISTINCT attributes FROM metric_points WHERE name IN ({_NAMES_SQL})"):
        plain = plain_attributes(load_json(attributes))
        model = plain.get("gen_ai.response.model") or plain.get("gen_ai.request.model")
        if isinstance(model, str) and model:
            models.add(model)
    return sorted(models)


def _needle(model: str | None) -> str | None:
    """Text every stored attribute object naming `model` contains; None when JSON would escape it."""
    if model is None or not model.isprintable() or '"' in model or "\\" in model:
        return None
    return model


def _stream_sums(row: tuple, model: str | None, all_sums: dict[tuple, StreamSums], steps: int) -> StreamSums | None:
    """Where the points of the stream of `row` are summed, or None when they are left out (not
    a model call, another model, a token type that is neither input nor output)."""
    name, resource_id, attributes = row[0], row[1], plain_attributes(load_json(row[3]))
    if attributes.get("gen_ai.operation.name") in _NOT_MODEL_CALLS:
        return None
    if model is not None and model not in (attributes.get("gen_ai.response.model"),
                                           attributes.get("gen_ai.request.model")):
        return None
    series = GENAI_METRICS[name][0]
    token_type = None
    if series == "tokens":
        token_type = _COUNTER_TOKEN_TYPES.get(name) or _TOKEN_TYPES.get(str(attributes.get("gen_ai.token.type")))
        if token_type is None:
            return None
    key = (name, resource_id, token_type)
    if key not in all_sums:
        all_sums[key] = StreamSums(name, resource_id, token_type, steps)
    return all_sums[key]
