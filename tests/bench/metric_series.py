"""The charts page's GenAI metric series on a busy day: 24 hours of exports, one a minute, from
an app calling six models (token usage, duration, time to first chunk, time per output
token and cost histograms; a fifth of the streams with new calls in each export), sent over
OTLP/HTTP to the real receiver. Then times, median of --repeat runs, reading the series as
the charts page does (24 hours in 15-minute steps, all models and one).

    .venv/bin/python -m tests.bench.metric_series [--repeat 7] [--delta] [--busy]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from receiver import Receiver, ReceiverConfig, TraceStore
from tests.conftest import post

NS_PER_MINUTE = 60_000_000_000
DAY_MINUTES = 24 * 60
BOUNDS = [0.01 * 2 ** n for n in range(14)]
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet", "gemini-1.5-pro", "llama-3.1-70b", "mistral-large")
METRICS = (("gen_ai.client.token.usage", "{token}", ("input", "output")),
           ("gen_ai.client.operation.duration", "s", (None,)),
           ("gen_ai.client.operation.time_to_first_chunk", "s", (None,)),
           ("gen_ai.server.time_per_output_token", "s", (None,)),
           ("gen_ai.usage.cost", "USD", (None,)))


class _Stream:
    """A histogram's running totals, as an SDK keeps them."""

    def __init__(self) -> None:
        self.count, self.sum, self.buckets = 0, 0.0, [0] * (len(BOUNDS) + 1)

    def record(self, value: float) -> None:
        self.count += 1
        self.sum += value
        self.buckets[next((i for i, b in enumerate(BOUNDS) if value <= b), len(BOUNDS))] += 1


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _value(rng: random.Random, name: str) -> float:
    if name == "gen_ai.client.token.usage":
        return rng.uniform(10, 2000)
    return rng.uniform(0.001, 0.01) if name == "gen_ai.usage.cost" else rng.lognormvariate(-1, 1)


def fill(receiver: Receiver, first_minute: int, *, delta: bool, busy: bool) -> int:
    """A day of exports; returns the points sent."""
    rng, streams, points = random.Random(7), {}, 0
    stream_start = (first_minute - 60) * NS_PER_MINUTE
    for export in range(DAY_MINUTES):
        now = (first_minute + export) * NS_PER_MINUTE + 7_000_000_000
        request = ExportMetricsServiceRequest()
        resource_metrics = request.resource_metrics.add()
        resource_metrics.resource.attributes.append(_kv("service.name", "bench"))
        scope_metrics = resource_metrics.scope_metrics.add()
        for name, unit, token_types in METRICS:
            metric = scope_metrics.metrics.add(name=name, unit=unit)
            metric.histogram.aggregation_temporality = 1 if delta else 2
            for model in MODELS:
                for token_type in token_types:
                    key = (name, model, token_type)
                    stream = streams[key] = _Stream() if delta else streams.get(key) or _Stream()
                    calls = rng.randint(1, 4) if busy else (rng.randint(1, 3) if rng.random() < 0.2 else 0)
                    for _ in range(calls):
                        stream.record(_value(rng, name))
                    if delta and not calls:
                        continue
                    point = metric.histogram.data_points.add(
                        start_time_unix_nano=now - NS_PER_MINUTE if delta else stream_start, time_unix_nano=now,
                        count=stream.count, sum=stream.sum, bucket_counts=stream.buckets, explicit_bounds=BOUNDS)
                    point.attributes.extend([_kv("gen_ai.operation.name", "chat"), _kv("gen_ai.request.model", model)]
                                            + ([_kv("gen_ai.token.type", token_type)] if token_type else []))
                    points += 1
        answer = post(receiver.addresses.http_port, request.SerializeToString(), path="/v1/metrics")
        assert answer.status == 200, answer.body
    assert receiver.flush(60)
    return points


def measure(repeat: int, *, delta: bool, busy: bool) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp())
    first_minute = time.time_ns() // NS_PER_MINUTE - DAY_MINUTES + 1
    try:
        with Receiver(ReceiverConfig(db_path=tmp / "metrics.db", grpc_port=0, http_port=0)) as receiver:
            points = fill(receiver, first_minute, delta=delta, busy=busy)
        store = TraceStore(tmp / "metrics.db")
        print(f"metric series: {points:,} GenAI metric points over 24 h "
              f"({'delta' if delta else 'cumulative'}, {'every' if busy else 'a fifth of the'} streams busy)")
        figures = {}
        for label, model in (("all models", None), ("one model", "gpt-4o")):
            runs = []
            for _ in range(repeat):
                started = time.perf_counter()
                store.metric_series(first_minute, first_minute + DAY_MINUTES, 15, model=model)
                runs.append(time.perf_counter() - started)
            figures[f"metric series, 24 h, 15-min steps, {label} (ms)"] = statistics.median(runs) * 1000
        store.close()
        return figures
    finally:
        shutil.rmtree(tmp)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--delta", action="store_true", help="delta temporality (default cumulative)")
    parser.add_argument("--busy", action="store_true", help="new calls in every stream at every export")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for name, value in measure(args.repeat, delta=args.delta, busy=args.busy).items():
        print(f"{name:55} {value:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
