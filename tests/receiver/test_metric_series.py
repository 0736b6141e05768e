"""The GenAI metrics received, as per-step series for the charts (`TraceStore.metric_series`),
against hand-computed numbers: metrics recorded with the real OpenTelemetry SDK and sent by
its real OTLP exporters (cumulative over gRPC, delta over HTTP) to a real receiver, hand-made
points for resets, and the captured fixture files.

The SDK stamps points with the wall clock, so exports a few milliseconds apart would share a
minute. `_ExportClock` sits between the SDK's reader and the real exporter and moves each
export's times to a minute the test picks; the aggregation (running totals, deltas, buckets,
min and max) is still the SDK's own. No waiting: an exporter returns only after the
receiver acknowledged, and acknowledging means committed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation
from opentelemetry.sdk.resources import Resource

from receiver.config import ReceiverConfig
from receiver.service import Receiver
from receiver.storage.metric_series import metric_models
from receiver.storage.read_db import open_read_db
from tests.conftest import FIXTURES, fixture_requests, post

NS_PER_MINUTE = 60_000_000_000
BASE = 29_000_000  # a whole minute (since the epoch) of 2025
STEP = 5  # minutes: steps 0-3 are [BASE, BASE+5), [BASE+5, BASE+10), ...
DURATION_BOUNDS = [0.1, 0.2, 0.5, 1.0]  # seconds
A = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
     "gen_ai.response.model": "gpt-4o-mini-2024-07-18"}
B = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-3-5-haiku",
     "gen_ai.response.model": "claude-3-5-haiku"}


class _ExportClock(MetricExporter):
    """Moves every point's time to `now_ns`, and its start to the moved time of the export it
    names (a delta's previous collection) or, for a start first seen, 30 s before `now_ns`."""

    def __init__(self, exporter: MetricExporter) -> None:
        super().__init__(preferred_temporality=exporter._preferred_temporality,
                         preferred_aggregation=exporter._preferred_aggregation)
        self.exporter, self.now_ns, self._moved = exporter, 0, {}

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        moved = replace(metrics_data, resource_metrics=[
            replace(rm, scope_metrics=[replace(sm, metrics=[self._metric(m) for m in sm.metrics])
                                       for sm in rm.scope_metrics])
            for rm in metrics_data.resource_metrics])
        return self.exporter.export(moved, timeout_millis=timeout_millis, **kwargs)

    def _metric(self, metric):
        return replace(metric, data=replace(metric.data, data_points=[self._point(p) for p in metric.data.data_points]))

    def _point(self, point):
        start = self._moved.setdefault(point.start_time_unix_nano, self.now_ns - 30_000_000_000)
        self._moved[point.time_unix_nano] = self.now_ns
        return replace(point, start_time_unix_nano=start, time_unix_nano=self.now_ns)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.exporter.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self.exporter.shutdown(timeout_millis=timeout_millis, **kwargs)


@dataclass
class _Meter:
    provider: MeterProvider
    clock: _ExportClock

    def export_at(self, minute: int) -> None:
        """Collect and export now, stamped 10 s into `minute`."""
        self.clock.now_ns = minute * NS_PER_MINUTE + 10_000_000_000
        assert self.provider.force_flush(30_000)


def _meter(receiver: Receiver, transport: str, temporality: AggregationTemporality, **exporter_options) -> _Meter:
    preferred = {Histogram: temporality, Counter: temporality}
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter(endpoint=f"127.0.0.1:{receiver.addresses.grpc_port}", insecure=True,
                                      preferred_temporality=preferred, **exporter_options)
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter(endpoint=f"http://127.0.0.1:{receiver.addresses.http_port}/v1/metrics",
                                      preferred_temporality=preferred, **exporter_options)
    clock = _ExportClock(exporter)
    reader = PeriodicExportingMetricReader(clock, export_interval_millis=3_600_000)  # exported by force_flush only
    provider = MeterProvider(resource=Resource.create({"service.name": "metric-series-test"}), metric_readers=[reader])
    return _Meter(provider, clock)


def _record_the_calls(meter: _Meter) -> None:
    """Model A and B calls in step 0, A calls in step 2, nothing new in step 3 (an export
    all the same), no export in step 1."""
    genai = meter.provider.get_meter("tests.genai", "1.0")
    tokens = genai.create_histogram("gen_ai.client.token.usage", unit="{token}")
    duration = genai.create_histogram("gen_ai.client.operation.duration", unit="s",
                                      explicit_bucket_boundaries_advisory=DURATION_BOUNDS)
    ttft = genai.create_histogram("gen_ai.client.operation.time_to_first_chunk", unit="s",
                                  explicit_bucket_boundaries_advisory=DURATION_BOUNDS)
    tpot = genai.create_histogram("gen_ai.server.time_per_output_token", unit="s")
    cost = genai.create_histogram("gen_ai.usage.cost", unit="USD")
    for value, token_type, model in ((100, "input", A), (300, "input", A), (20, "output", A), (60, "output", A),
                                     (50, "input", B), (10, "output", B)):
        tokens.record(value, {**model, "gen_ai.token.type": token_type})
    for seconds in [0.05] * 10 + [0.15] * 5 + [0.3] * 3 + [0.8] * 2:
        duration.record(seconds, A)
    duration.record(0.6, B)
    duration.record(5.0, {"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "gpt-4o-mini"})
    for seconds in (0.08, 0.12, 0.3, 0.45):
        ttft.record(seconds, A)
    for seconds in (0.01, 0.02):
        tpot.record(seconds, A)
    for dollars, model in ((0.002, A), (0.003, A), (0.001, B)):
        cost.record(dollars, model)
    meter.export_at(BASE + 1)

    tokens.record(200, {**A, "gen_ai.token.type": "input"})
    tokens.record(40, {**A, "gen_ai.token.type": "output"})
    for seconds in (0.15, 0.15, 0.6, 0.6):
        duration.record(seconds, A)
    ttft.record(0.25, A)
    tpot.record(0.03, A)
    cost.record(0.004, A)
    meter.export_at(BASE + 12)
    meter.export_at(BASE + 17)


@pytest.fixture(scope="module", params=["cumulative-grpc", "delta-http"])
def sent(request, tmp_path_factory) -> Iterator[tuple[str, Receiver]]:
    temporality, transport = request.param.split("-")
    config = ReceiverConfig(db_path=tmp_path_factory.mktemp("metrics") / "tracepane.db", grpc_port=0, http_port=0)
    with Receiver(config) as receiver:
        meter = _meter(receiver, transport, AggregationTemporality.CUMULATIVE if temporality == "cumulative"
                       else AggregationTemporality.DELTA)
        _record_the_calls(meter)
        meter.provider.shutdown()  # a last export at BASE+17: the same totals again, or no new delta
        yield temporality, receiver


def _series(receiver: Receiver, first: int = BASE, past: int = BASE + 4 * STEP, step: int = STEP, model=None):
    store = receiver.store()
    try:
        return store.metric_series(first, past, step, model)
    finally:
        store.close()


def test_sdk_histograms_become_the_increase_of_each_step(sent):
    temporality, receiver = sent
    series = _series(receiver)
    cumulative = temporality == "cumulative"
    # Step 3 has an export but no new call: a cumulative export repeats the totals (so 0 new),
    # a delta exporter sends nothing (so no data).
    nothing_new = 0 if cumulative else None
    assert series.minutes == [BASE, BASE + 5, BASE + 10, BASE + 15]
    assert series.input_tokens == [100 + 300 + 50, None, 200, nothing_new]
    assert series.output_tokens == [20 + 60 + 10, None, 40, nothing_new]
    # The invoke_agent call (5 s) is not a model call: left out.
    assert series.operations == [21, None, 4, nothing_new]
    assert series.duration_mean_ms == pytest.approx(
        [(0.5 + 0.75 + 0.9 + 1.6 + 0.6) / 21 * 1000, None, (0.3 + 1.2) / 4 * 1000, None])
    # Step 0, buckets (.., 0.1] 10, (0.1, 0.2] 5, (0.2, 0.5] 3, (0.5, 1] 3; rank 0.95 * 21 =
    # 19.95 lies 1.95 into the last three, spread over (0.5, 0.8] (0.8 = the max).
    # Step 2 adds (0.1, 0.2] 2, (0.5, 1] 2; rank 3.8 lies 1.8 into the last two. A cumulative
    # point's max is the stream's (0.8), a delta point's its own (0.6).
    step2_p95 = 0.5 + 0.3 * 1.8 / 2 if cumulative else 0.5 + 0.1 * 1.8 / 2
    assert series.duration_p95_ms == pytest.approx([(0.5 + 0.3 * 1.95 / 3) * 1000, None, step2_p95 * 1000, None])
    assert series.ttft_mean_ms == pytest.approx([(0.08 + 0.12 + 0.3 + 0.45) / 4 * 1000, None, 250.0, None])
    # Step 0: (0.08, 0.1] 1, (0.1, 0.2] 1, (0.2, 0.45] 2 (0.08 the min, 0.45 the max); rank 3.8
    # lies 1.8 into the last two. Step 2: one call in (0.2, 0.5], clamped to the stream's
    # (0.2, 0.45] when cumulative, to its own 0.25 when delta.
    step2_ttft = 0.2 + 0.25 * 0.95 if cumulative else 0.25
    assert series.ttft_p95_ms == pytest.approx([(0.2 + 0.25 * 1.8 / 2) * 1000, None, step2_ttft * 1000, None])
    assert series.tpot_mean_ms == pytest.approx([15.0, None, 30.0, None])
    assert series.cost_usd == pytest.approx([0.006, None, 0.004, nothing_new])
    assert series.names == {"gen_ai.client.token.usage", "gen_ai.client.operation.duration",
                            "gen_ai.client.operation.time_to_first_chunk", "gen_ai.server.time_per_output_token",
                            "gen_ai.usage.cost"}


def test_model_filter_matches_the_response_or_the_request_model(sent):
    temporality, receiver = sent
    by_response = _series(receiver, model="gpt-4o-mini-2024-07-18")
    by_request = _series(receiver, model="gpt-4o-mini")
    assert by_response == by_request
    assert by_response.input_tokens[:3] == [400, None, 200]
    assert by_response.operations[:3] == [20, None, 4]
    assert by_response.duration_mean_ms[0] == pytest.approx((0.5 + 0.75 + 0.9 + 1.6) / 20 * 1000)
    # 20 calls: rank 19 lies 1 into (0.5, 0.8], which holds 2.
    assert by_response.duration_p95_ms[0] == pytest.approx((0.5 + 0.3 * 1 / 2) * 1000)
    assert by_response.cost_usd[:3] == pytest.approx([0.005, None, 0.004])

    haiku = _series(receiver, model="claude-3-5-haiku")
    nothing_new = 0 if temporality == "cumulative" else None  # B's totals are exported again, unchanged
    assert haiku.input_tokens == [50, None, nothing_new, nothing_new]
    assert haiku.duration_mean_ms[0] == pytest.approx(600.0)
    assert haiku.duration_p95_ms[0] == pytest.approx(600.0)  # one call: min = max = 0.6 s
    assert haiku.ttft_mean_ms == [None] * 4
    assert haiku.names == {"gen_ai.client.token.usage", "gen_ai.client.operation.duration", "gen_ai.usage.cost"}
    nobody = _series(receiver, model="gpt-5")
    assert nobody.input_tokens == [None] * 4 and nobody.names == set()


def test_a_range_that_starts_after_a_stream_began_subtracts_the_point_before_it(sent):
    _, receiver = sent
    # The previous export (BASE+1) lies 9 minutes before this range: looked up, not counted.
    later = _series(receiver, first=BASE + 10, past=BASE + 15)
    assert (later.input_tokens, later.output_tokens, later.operations) == ([200], [40], [4])
    assert later.cost_usd == pytest.approx([0.004])
    # One step over everything equals the sum of the steps.
    whole = _series(receiver, first=BASE, past=BASE + 20, step=20)
    assert (whole.input_tokens, whole.output_tokens, whole.operations) == ([650], [130], [25])
    assert whole.duration_mean_ms == pytest.approx([(0.5 + 0.75 + 0.9 + 1.6 + 0.6 + 1.5) / 25 * 1000])


def test_a_restarted_process_counts_from_zero(receiver, store):
    def usage_counters(meter: _Meter):
        genai = meter.provider.get_meter("tests.genai", "1.0")
        return (genai.create_counter("gen_ai.client.inference.usage.input_tokens", unit="{token}"),
                genai.create_counter("gen_ai.client.inference.usage.output_tokens", unit="{token}"))

    first = _meter(receiver, "grpc", AggregationTemporality.CUMULATIVE)
    inputs, outputs = usage_counters(first)
    inputs.add(100, A)
    outputs.add(10, A)
    first.export_at(BASE + 1)
    inputs.add(50, A)
    first.export_at(BASE + 6)  # totals 150 and 10
    # The same service, scope and attributes start again: a new start time, totals 30 and 3.
    second = _meter(receiver, "grpc", AggregationTemporality.CUMULATIVE)
    inputs, outputs = usage_counters(second)
    inputs.add(30, A)
    outputs.add(3, A)
    second.export_at(BASE + 7)
    for meter in (first, second):
        meter.provider.shutdown()

    series = store.metric_series(BASE, BASE + 10, STEP)
    assert series.input_tokens == [100, 50 + 30]
    assert series.output_tokens == [10, 0 + 3]
    assert series.names == {"gen_ai.client.inference.usage.input_tokens", "gen_ai.client.inference.usage.output_tokens"}


def _otlp_json_point(minute: int, start_minute: int, **numbers) -> dict:
    attributes = [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                  {"key": "gen_ai.token.type", "value": {"stringValue": "input"}},
                  # bytes cannot be stored as a plain JSON object: the attributes are kept typed
                  {"key": "tenant.key", "value": {"bytesValue": "AQI="}}]
    return {"attributes": attributes, "startTimeUnixNano": str(start_minute * NS_PER_MINUTE),
            "timeUnixNano": str(minute * NS_PER_MINUTE + 10_000_000_000), **numbers}


def test_a_running_total_that_goes_down_is_a_reset_counted_whole(receiver, store):
    start = BASE - 60
    usage = [_otlp_json_point(BASE + 1, start, count="2", sum=300.0),
             _otlp_json_point(BASE + 6, start, count="3", sum=450.0),
             _otlp_json_point(BASE + 11, start, count="1", sum=90.0)]  # same start, fewer calls
    output_counter = [dict(_otlp_json_point(minute, start, asInt=value), attributes=[
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}}])
        for minute, value in ((BASE + 1, "500"), (BASE + 6, "700"), (BASE + 11, "40"))]
    ignored_gauge = [dict(_otlp_json_point(BASE + 6, start, asInt="9999"), attributes=[])]
    document = {"resourceMetrics": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "hand-made"}}]}, "scopeMetrics": [{"metrics": [
            {"name": "gen_ai.client.token.usage", "unit": "{token}",
             "histogram": {"aggregationTemporality": 2, "dataPoints": usage}},
            {"name": "gen_ai.client.inference.usage.output_tokens", "unit": "{token}",
             "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": output_counter}},
            {"name": "gen_ai.client.inference.usage.input_tokens", "gauge": {"dataPoints": ignored_gauge}},
        ]}]}]}
    answer = post(receiver.addresses.http_port, json.dumps(document).encode(), "application/json", path="/v1/metrics")
    assert answer.status == 200 and answer.json() == {}, answer.body

    series = store.metric_series(BASE, BASE + 15, STEP)
    assert series.input_tokens == [300, 150, 90]
    assert series.output_tokens == [500, 200, 40]
    assert store.metric_series(BASE, BASE + 15, STEP, model="gpt-4o-mini").input_tokens == [300, 150, 90]
    assert store.metric_series(BASE, BASE + 15, STEP, model="gpt-4o").input_tokens == [None, None, None]


def test_exponential_histograms_give_a_p95_within_one_bucket(receiver, store):
    """The SDK lowers the scale as the range grows, so the two exports differ in scale."""
    meter = _meter(receiver, "http", AggregationTemporality.CUMULATIVE,
                   preferred_aggregation={Histogram: ExponentialBucketHistogramAggregation()})
    duration = meter.provider.get_meter("tests.genai").create_histogram("gen_ai.client.operation.duration", unit="s")
    for ms in range(1, 11):
        duration.record(ms / 1000, A)
    meter.export_at(BASE + 1)
    for ms in range(11, 101):
        duration.record(ms / 1000, A)
    meter.export_at(BASE + 6)
    meter.provider.shutdown()

    points = store.metric_points("gen_ai.client.operation.duration")
    scales = [point.data["scale"] for point in points]
    assert points[0].kind == "exponential_histogram" and scales[1] < scales[0]
    series = store.metric_series(BASE, BASE + 10, STEP)
    assert series.operations == [10, 90]
    assert series.duration_mean_ms == pytest.approx([5.5, 55.5])
    # The exact p95s: 10 values 1..10 ms -> rank 9.5; 90 values 11..100 ms -> rank 85.5. The
    # estimate lies in the bucket holding that rank: within one bucket's width (base - 1).
    for estimate, exact, scale in zip(series.duration_p95_ms, (9.5, 95.5), scales, strict=True):
        assert abs(estimate - exact) <= exact * (2 ** (2.0 ** -scale) - 1) + 1  # + the ranks' ±1 value


# By hand from the files: the token-usage points' sums (input / output, each point twice: the
# second export repeats the running totals), the cost points' sums, and the timings below.
FIXTURE_FACTS = {
    "openlit-1.45.0": dict(
        input=8 + 279, output=94, cost=1.6e-07 + 9.825e-05 + 0.0,
        # gen_ai.client.operation.duration: embeddings, chat x4, chat x1 (the error); OpenLIT's
        # gen_ai.server.request.duration repeats the chats and is not read.
        duration_ms=(0.015032768249511719 + 0.1583857536315918 + 0.012659311294555664) / 6 * 1000,
        ttft_ms=0.04851484298706055 / 2 * 1000,  # time_to_first_chunk, not server TTFT (0.1547.../4)
        names={"gen_ai.client.token.usage", "gen_ai.client.operation.duration", "gen_ai.usage.cost",
               "gen_ai.client.operation.time_to_first_chunk", "gen_ai.server.time_per_output_token"}),
    "opentelemetry-instrumentation-openai-v2-2.4b0": dict(
        input=8 + 230 + 19, output=32 + 21, cost=None,
        # embeddings x1, chat x2, chat x2, chat x1; invoke_agent and execute_tool left out
        duration_ms=(0.03262682100012171 + 0.09887258800017662 + 0.07455334599990238
                     + 0.007434882999859838) / 6 * 1000,
        ttft_ms=None, names={"gen_ai.client.token.usage", "gen_ai.client.operation.duration"}),
    "pydantic-ai-2.68.0": dict(
        input=471 + 8, output=64, cost=9.712499999999999e-05 + 1.6e-07, duration_ms=None,
        ttft_ms=0.11035374499988393 / 2 * 1000,
        names={"gen_ai.client.token.usage", "operation.cost", "gen_ai.client.operation.time_to_first_chunk"}),
}


def _post_fixture(receiver: Receiver, name: str) -> tuple[int, int]:
    """Send a metrics fixture file; the first and past minute of its points."""
    path = FIXTURES / f"{name}.metrics.jsonl"
    if not path.exists():
        pytest.skip(f"fixture {path} missing")
    times = []
    for request in fixture_requests(path):
        answer = post(receiver.addresses.http_port, json.dumps(request).encode(), "application/json",
                      path="/v1/metrics")
        assert answer.status == 200 and answer.json() == {}, answer.body
        times += [int(point["timeUnixNano"]) for rm in request["resourceMetrics"] for sm in rm["scopeMetrics"]
                  for metric in sm["metrics"] for point in metric["histogram"]["dataPoints"]]
    return min(times) // NS_PER_MINUTE, max(times) // NS_PER_MINUTE + 1


@pytest.mark.parametrize("name", sorted(FIXTURE_FACTS))
def test_fixture_metrics_give_their_totals_once(name, receiver, store):
    first, past = _post_fixture(receiver, name)
    facts = FIXTURE_FACTS[name]
    series = store.metric_series(first, past, past - first)
    assert (series.input_tokens, series.output_tokens) == ([facts["input"]], [facts["output"]])
    assert series.cost_usd == ([None] if facts["cost"] is None else pytest.approx([facts["cost"]]))
    assert series.duration_mean_ms == pytest.approx([facts["duration_ms"]])
    assert series.ttft_mean_ms == pytest.approx([facts["ttft_ms"]])
    assert series.names == facts["names"]


def test_fixture_files_from_three_services_add_up(receiver, store, db_path):
    spans = [_post_fixture(receiver, name) for name in sorted(FIXTURE_FACTS)]
    conn = open_read_db(db_path)
    try:  # response model, else request model: OpenLIT's failed call has response model gpt-4o-mini
        assert metric_models(conn) == ["gpt-4o-mini", "gpt-4o-mini-2024-07-18", "text-embedding-3-small"]
    finally:
        conn.close()
    first, past = min(s[0] for s in spans), max(s[1] for s in spans)
    series = store.metric_series(first, past, past - first)
    assert series.input_tokens == [sum(facts["input"] for facts in FIXTURE_FACTS.values())]  # 1023
    assert series.output_tokens == [94 + 53 + 64]
    assert series.cost_usd == pytest.approx([sum(f["cost"] or 0 for f in FIXTURE_FACTS.values())])
    embeddings = store.metric_series(first, past, past - first, model="text-embedding-3-small")
    assert embeddings.input_tokens == [8 * 3] and embeddings.output_tokens == [None]
    assert math.isclose(embeddings.cost_usd[0], 2 * 1.6e-07)
