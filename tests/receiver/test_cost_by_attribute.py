"""Cost by attribute, against hand-grouped numbers: a trace counts once under its value of a
key — its root span's, else the first span's, else its resource's — whichever order its spans
arrive in; the configured keys read from the rollups, any other key is computed from the
spans with progress, and both agree; deletion, a newly configured key, the trace-list filter
behind a bar, and spend rates per value."""

from __future__ import annotations

import os
import sqlite3

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from receiver import CostKeyInvalid, TraceFilter
from receiver.storage.cost_by_attribute import SCAN_CHUNK_TRACES, scan_costs
from tests.conftest import post
from tests.otlp_builders import BASE_NS, make_request, make_span, new_trace_id

MS = 1_000_000
MINUTE = 60_000 * MS
T0 = (BASE_NS // MINUTE + 10) * MINUTE


def _send(receiver, *spans, resource: dict | None = None) -> None:
    request = make_request(*spans, service="shop")
    for key, value in (resource or {}).items():
        request.resource_spans[0].resource.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
    answer = post(receiver.addresses.http_port, request.SerializeToString())
    assert answer.status == 200, answer.body
    assert receiver.wait_indexed()  # the values are read in the writer's next pause


def _chat(trace: bytes, parent: bytes, minute: int, tokens_in: int, tokens_out: int, **attributes):
    return make_span(trace_id=trace, parent_span_id=parent, name="chat gpt-4o-mini",
                     start_ns=T0 + minute * MINUTE + 2_000 * MS, duration_ns=500 * MS,
                     attributes={"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                 "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": tokens_in,
                                 "gen_ai.usage.output_tokens": tokens_out, **attributes})


def _root(trace: bytes, span_id: bytes, minute: int, **attributes):
    return make_span(trace_id=trace, span_id=span_id, name="agent run", start_ns=T0 + minute * MINUTE + 1_000 * MS,
                     duration_ns=5_000 * MS, attributes=attributes)


def _cost(tokens_in: int, tokens_out: int) -> float:
    return tokens_in * 0.15e-6 + tokens_out * 0.6e-6  # gpt-4o-mini, dollars per token


@pytest.fixture
def traces(receiver):
    """Four agent runs. a: the root (arriving last, after its calls) names the feature and user;
    b: only a call names the feature, the resource names the environment; c: nothing set but a
    conversation id; d: the root's value wins over a call's."""
    ids = {name: new_trace_id() for name in "abcd"}
    roots = {name: os.urandom(8) for name in "abcd"}
    _send(receiver, _chat(ids["a"], roots["a"], 0, 1000, 100), _chat(ids["a"], roots["a"], 0, 500, 50))
    _send(receiver, _root(ids["a"], roots["a"], 0, **{"feature.name": "chat", "user.id": "alice",
                                                      "tenant.id": "acme"}))
    _send(receiver, _root(ids["b"], roots["b"], 1),
          _chat(ids["b"], roots["b"], 1, 2000, 300, **{"feature.name": "search", "tenant.id": "acme"}),
          resource={"deployment.environment.name": "prod"})
    _send(receiver, _root(ids["c"], roots["c"], 2),
          _chat(ids["c"], roots["c"], 2, 300, 30, **{"gen_ai.conversation.id": "conv-1"}))
    _send(receiver, _root(ids["d"], roots["d"], 3, **{"feature.name": "chat"}),
          _chat(ids["d"], roots["d"], 3, 100, 10, **{"feature.name": "autocomplete"}))
    return {name: trace.hex() for name, trace in ids.items()}


def _by_value(costs) -> dict[str, tuple[int, int, int, int, float]]:
    return {v.value: (v.traces, v.calls, v.input_tokens, v.output_tokens, round(v.cost_usd, 12)) for v in costs.values}


def _expected(*rows: tuple[str, int, list[tuple[int, int]]]) -> dict:
    return {value: (traces, len(calls), sum(i for i, _ in calls), sum(o for _, o in calls),
                    round(sum(_cost(i, o) for i, o in calls), 12)) for value, traces, calls in rows}


def test_a_trace_counts_under_its_root_value_whatever_the_arrival_order(traces, store):
    costs = store.attribute_costs("feature.name")
    assert costs.precomputed
    assert _by_value(costs) == _expected(("chat", 2, [(1000, 100), (500, 50), (100, 10)]),
                                         ("search", 1, [(2000, 300)]), ("", 1, [(300, 30)]))
    assert [v.value for v in costs.values] == ["search", "chat", ""]  # most expensive first
    assert costs.total_cost_usd == pytest.approx(store.usage().cost_usd)


def test_the_default_keys_read_canonical_ids_and_resource_attributes(traces, store):
    assert store.cost_keys() == sorted(["feature.name", "user.id", "deployment.environment", "session.id"])
    assert _by_value(store.attribute_costs("user.id"))["alice"][:2] == (1, 2)
    assert _by_value(store.attribute_costs("deployment.environment"))["prod"][:2] == (1, 1)  # the .name spelling
    assert _by_value(store.attribute_costs("session.id"))["conv-1"][:2] == (1, 1)  # gen_ai.conversation.id


def test_a_time_range_takes_the_traces_that_started_in_its_minutes(traces, store):
    costs = store.attribute_costs("feature.name", T0 + MINUTE, T0 + 3 * MINUTE)
    assert _by_value(costs) == _expected(("search", 1, [(2000, 300)]), ("", 1, [(300, 30)]))


def test_any_other_key_is_computed_from_the_spans_with_progress(traces, receiver, store):
    heard: list[tuple[int, int]] = []
    costs = store.attribute_costs("tenant.id", progress=lambda done, total: heard.append((done, total)))
    assert not costs.precomputed
    assert _by_value(costs) == _expected(("acme", 2, [(1000, 100), (500, 50), (2000, 300)]),
                                         ("", 2, [(300, 30), (100, 10)]))
    assert heard == [(4, 4)]
    # a configured key computed from the spans gives what the rollups hold
    conn = sqlite3.connect(receiver.config.db_path)
    try:
        scanned = scan_costs(conn, "feature.name", None, None)
    finally:
        conn.close()
    assert _by_value(scanned) == _by_value(store.attribute_costs("feature.name"))


def test_the_scan_reports_progress_chunk_by_chunk(receiver, store):
    spans = [_chat(new_trace_id(), b"", n % 50, 10, 1, **{"team": f"t{n % 3}"}) for n in range(SCAN_CHUNK_TRACES + 5)]
    for start in range(0, len(spans), 500):
        _send(receiver, *spans[start:start + 500])
    heard: list[tuple[int, int]] = []
    costs = store.attribute_costs("team", progress=lambda done, total: heard.append((done, total)))
    assert heard == [(SCAN_CHUNK_TRACES, len(spans)), (len(spans), len(spans))]
    assert sum(v.traces for v in costs.values) == len(spans)


def test_deleting_a_trace_takes_its_cost_out(traces, receiver, store):
    receiver.delete_traces([traces["a"]])
    assert _by_value(store.attribute_costs("feature.name")) == _expected(
        ("chat", 1, [(100, 10)]), ("search", 1, [(2000, 300)]), ("", 1, [(300, 30)]))
    assert "alice" not in _by_value(store.attribute_costs("user.id"))


def test_a_newly_configured_key_is_filled_from_what_is_stored(traces, receiver, store):
    scanned = _by_value(store.attribute_costs("tenant.id"))
    receiver.set_cost_keys(["feature.name", "tenant.id"])
    assert store.cost_keys() == ["feature.name", "tenant.id"]
    costs = store.attribute_costs("tenant.id")
    assert costs.precomputed and _by_value(costs) == scanned
    # and kept from then on
    trace, root = new_trace_id(), os.urandom(8)
    _send(receiver, _root(trace, root, 4, **{"tenant.id": "globex"}), _chat(trace, root, 4, 10, 1))
    assert _by_value(store.attribute_costs("tenant.id"))["globex"][:2] == (1, 1)
    with pytest.raises(CostKeyInvalid):
        receiver.set_cost_keys(['bad"key'])


def test_the_trace_list_filters_to_the_traces_behind_a_value(traces, store):
    def listed(key: str, value: str) -> set[str]:
        return {t.trace_id for t in store.list_traces(TraceFilter(attributes=((key, value),))).traces}

    assert listed("feature.name", "chat") == {traces["a"], traces["d"]}
    assert listed("feature.name", "") == {traces["c"]}
    assert listed("tenant.id", "acme") == {traces["a"], traces["b"]}  # not configured: from the spans
    assert listed("tenant.id", "") == {traces["c"], traces["d"]}


def test_a_window_lists_the_traces_running_in_it(traces, store):
    window = TraceFilter(start_before_unix_nano=T0 + 1 * MINUTE + 3_000 * MS, end_after_unix_nano=T0 + MINUTE)
    assert {t.trace_id for t in store.list_traces(window).traces} == {traces["b"]}


def test_spend_rates_per_value_cover_the_last_hour(traces, store):
    rates = dict(store.attribute_spend_rates("feature.name", T0 + 30 * MINUTE))
    assert rates == pytest.approx({"search": _cost(2000, 300), "chat": _cost(1600, 160)})
    assert store.attribute_spend_rates("feature.name", T0 + 90 * MINUTE) == []
