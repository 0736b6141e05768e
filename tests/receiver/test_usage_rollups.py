"""Per-minute usage rollups kept at ingestion, against hand-computed numbers: calls, model and
tool calls, errors by kind, tokens, the cache hit rate over calls whose cache count is known,
cost, spend rate, latency percentiles (within the histogram's stated error) by input-length
band, TTFT and time per output token; and the rollups following re-sent spans, duplicates,
deletion (a duplicate promoted) and clearing."""

from __future__ import annotations

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from receiver.storage.usage import BUCKET_ERROR
from receiver.storage.usage_query import UsageTotals
from tests.genai.test_genai_ingest import send
from tests.otlp_builders import BASE_NS, make_span, new_trace_id

MS = 1_000_000
MINUTE = 60_000 * MS
T0 = (BASE_NS // MINUTE + 10) * MINUTE  # a whole minute


def _call(minute: int, ms: float, *, operation: str = "chat", model: str | None = "gpt-4o-mini", error: str = "",
          trace: bytes | None = None, **attributes):
    attributes = {"gen_ai.operation.name": operation, **attributes}
    if model:
        attributes |= {"gen_ai.provider.name": "openai", "gen_ai.request.model": model}
    span = make_span(trace_id=trace or new_trace_id(), name=f"{operation} {model or ''}".strip(),
                     start_ns=T0 + minute * MINUTE + 1_000 * MS, duration_ns=int(ms * MS), attributes=attributes)
    if error:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=error))
    return span


def _tokens(inp: int, out: int, **more) -> dict:
    return {"gen_ai.usage.input_tokens": inp, "gen_ai.usage.output_tokens": out, **more}


@pytest.fixture
def calls(receiver):
    spans = {
        "a": _call(0, 1200, **_tokens(1000, 100, **{"gen_ai.usage.cache_read.input_tokens": 400}),
                   **{"gen_ai.response.id": "r-a"}),
        "b": _call(0, 300, **_tokens(500, 50), **{"gen_ai.response.id": "r-b"}),  # no cache count: unknown
        "c": _call(1, 2500, model="claude-3-5-haiku",
                   **_tokens(3000, 300, **{"gen_ai.usage.cache_read.input_tokens": 0}),
                   **{"gen_ai.request.stream": True, "gen_ai.response.time_to_first_chunk": 0.5}),
        "d": _call(1, 20, error="rate limited", **{"error.type": "openai.RateLimitError"}),
        "e": _call(2, 40, error="upstream failure", **{"http.response.status_code": 503}),
        "f": _call(2, 30_000, error="Request timed out."),
        "g": _call(2, 5, operation="execute_tool", model=None, error="KeyError: city",
                   **{"gen_ai.tool.name": "get_weather"}),
        "h": _call(3, 2, operation="", model=None, error="boom"),  # not a GenAI span at all
    }
    spans["h"].attributes.pop(0)  # no operation name
    for span in spans.values():
        send(receiver, span)
    copy = _call(0, 300, **_tokens(500, 50), **{"gen_ai.response.id": "r-b"})  # b reported twice
    send(receiver, copy)
    return spans, copy


def _costs(store, *spans) -> float:
    return sum(next(s for s in store.get_trace(span.trace_id.hex()).spans
                    if s.span_id == span.span_id.hex()).genai["cost_usd"] or 0.0 for span in spans)


def test_usage_totals_match_the_calls_sent(calls, store):
    spans, _copy = calls
    usage = store.usage()
    assert (usage.calls, usage.llm_calls, usage.tool_calls, usage.errors) == (8, 6, 1, 5)  # the copy counts once
    assert usage.errors_by_kind == {"provider_5xx": 1, "client_4xx": 1, "timeout": 1, "tool": 1, "other": 1}
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (4500, 450, 400)
    assert usage.cache_known_input_tokens == 4000  # b reported no cache count: left out, not taken as 0
    assert usage.cache_hit_rate == pytest.approx(400 / 4000)
    assert usage.cost_usd == pytest.approx(_costs(store, spans["a"], spans["b"], spans["c"]))
    assert usage.cost_usd > 0

    first_minute = store.usage(T0, T0 + MINUTE)
    assert (first_minute.calls, first_minute.input_tokens, first_minute.cache_hit_rate) == (2, 1500, 0.4)
    assert store.usage(T0 + 2 * MINUTE, T0 + 3 * MINUTE).errors == 3
    assert store.usage(T0 + 10 * MINUTE) == UsageTotals(errors_by_kind=dict.fromkeys(usage.errors_by_kind, 0))


def test_spend_rate_is_the_last_hours_cost_or_the_ranges_cost_per_hour(calls, store):
    spans, _copy = calls
    total = _costs(store, spans["a"], spans["b"], spans["c"])
    assert store.spend_rate(T0 + 30 * MINUTE) == pytest.approx(total)  # all of it within the last 60 minutes
    assert store.spend_rate(T0 + 61 * MINUTE + MINUTE // 2) == pytest.approx(_costs(store, spans["c"]))
    first_two = _costs(store, spans["a"], spans["b"], spans["c"])
    assert store.spend_rate(T0 + 99 * MINUTE, T0, T0 + 2 * MINUTE) == pytest.approx(first_two / (2 / 60))


def _near(measured: float, exact: float) -> bool:
    return abs(measured - exact) <= BUCKET_ERROR * exact


def test_latency_percentiles_come_from_the_histograms_within_their_error(calls, store):
    # model-call durations: 20, 40, 300, 1200, 2500, 30000 ms (nearest rank)
    percentiles = store.latency_percentiles()
    assert _near(percentiles[0.5], 300) and _near(percentiles[0.95], 30_000) and _near(percentiles[0.99], 30_000)
    assert not _near(percentiles[0.5], 1200)
    by_model = store.latency_percentiles(model="claude-3-5-haiku")
    assert _near(by_model[0.5], 2500)
    # input-length bands, lower bound inclusive: a (1,000) and c (3,000) are in 1,000-3,999
    assert _near(store.latency_percentiles(band=1)[0.5], 1200) and _near(store.latency_percentiles(band=1)[0.99], 2500)
    assert _near(store.latency_percentiles(band=0)[0.5], 300)  # b, 500 tokens
    assert store.latency_percentiles(band=3) is None
    assert _near(store.latency_percentiles(metric="ttft")[0.5], 500)
    assert _near(store.latency_percentiles(metric="tpot")[0.5], (2500 - 500) / (300 - 1))
    assert store.latency_percentiles(T0 + 3 * MINUTE) is None  # h is no model call


def test_rollups_follow_resent_spans_deletion_duplicates_and_clearing(calls, receiver, store):
    spans, copy = calls
    before = store.usage()
    send(receiver, spans["a"], spans["c"])  # sent again: stored once, counted once
    assert store.usage() == before

    receiver.delete_traces([spans["b"].trace_id.hex()])  # its copy becomes the first report
    assert store.usage() == before
    receiver.delete_traces([spans["c"].trace_id.hex(), copy.trace_id.hex()])
    after = store.usage()
    assert (after.calls, after.llm_calls, after.input_tokens, after.cache_known_input_tokens) == (6, 4, 1000, 1000)
    assert store.latency_percentiles(model="claude-3-5-haiku") is None
    assert store.latency_percentiles(metric="ttft") is None

    receiver.clear_all()
    assert store.usage().calls == 0 and store.latency_percentiles() is None


def test_chart_series_per_step_match_the_calls(calls, store):
    spans, _copy = calls
    first = T0 // MINUTE
    series = store.usage_series(first, first + 4, 1)  # one step a minute
    assert series.minutes == [first, first + 1, first + 2, first + 3]
    assert series.calls_by_model == {"gpt-4o-mini": [2, 1, 2, 0], "claude-3-5-haiku": [0, 1, 0, 0]}
    assert series.input_tokens == [1500, 3000, 0, 0] and series.output_tokens == [150, 300, 0, 0]
    assert (series.tool_calls, series.tool_errors) == ([0, 0, 1, 0], [0, 0, 1, 0])
    assert series.cost_by_model["claude-3-5-haiku"][1] == pytest.approx(_costs(store, spans["c"]))
    p50 = series.latency[0.5]  # minute 0: 300 and 1200 ms (nearest rank: 300); minute 3: no model call
    assert _near(p50[0], 300) and _near(p50[1], 20) and p50[3] is None
    assert _near(series.ttft[0.5][1], 500) and series.ttft[0.5][0] is None
    assert _near(series.latency_by_band[1][0.5], 1200) and series.latency_by_band[3] is None

    two = store.usage_series(first, first + 4, 2)  # two minutes a step
    assert two.minutes == [first, first + 2] and two.calls_by_model["gpt-4o-mini"] == [3, 2]
    assert store.usage_series(first, first + 4, 1, model="claude-3-5-haiku").input_tokens == [0, 3000, 0, 0]
