"""GenAI fields through the real receiver: duplicates counted once, prices (bundled, missing,
overridden), bad attribute values that never fail a batch, and the content switch."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from app.cli_output import trace_json
from receiver.config import ReceiverConfig
from receiver.service import Receiver
from tests.conftest import post
from tests.otlp_builders import BASE_NS, make_request, make_span, new_trace_id


def chat_span(trace_id: bytes, *, response_id: str | None = "resp-1", model: str = "gpt-4o-mini",
              input_tokens=100, output_tokens=20, **extra):
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": model,
                  "gen_ai.usage.input_tokens": input_tokens, "gen_ai.usage.output_tokens": output_tokens, **extra}
    if response_id:
        attributes["gen_ai.response.id"] = response_id
    return make_span(trace_id=trace_id, name=f"chat {model}", attributes=attributes)


def send(receiver, *spans, service="svc"):
    answer = post(receiver.addresses.http_port, make_request(*spans, service=service).SerializeToString())
    assert answer.status == 200, answer.body


def shown(receiver, trace_id: bytes) -> dict:
    store = receiver.store()
    try:
        return trace_json(store.get_trace(trace_id.hex()))
    finally:
        store.close()


def summary(receiver, trace_id: bytes):
    store = receiver.store()
    try:
        return store.get_trace_summary(trace_id.hex())
    finally:
        store.close()


def test_the_same_call_reported_twice_counts_once_but_other_services_are_not_merged(receiver):
    first, second, other = new_trace_id(), new_trace_id(), new_trace_id()
    send(receiver, chat_span(first))
    send(receiver, chat_span(second), make_span(trace_id=second, name="agent"))  # e.g. the SDK's own span
    send(receiver, chat_span(other), service="another-service")
    (original,) = shown(receiver, first)["spans"]
    copy = next(s for s in shown(receiver, second)["spans"] if s["response_id"])
    assert original["duplicate_of"] is None and copy["duplicate_of"] == original["span_id"]
    assert copy["cost_usd"] == original["cost_usd"] and copy["input_tokens"] == 100  # fields kept
    assert summary(receiver, first).input_tokens == 100
    duplicate_trace = summary(receiver, second)
    assert (duplicate_trace.input_tokens, duplicate_trace.cost_usd, duplicate_trace.llm_calls) == (None, None, 0)
    assert shown(receiver, other)["spans"][0]["duplicate_of"] is None
    assert summary(receiver, other).input_tokens == 100


def test_a_known_model_is_priced_with_its_breakdown(receiver):
    trace_id = new_trace_id()
    send(receiver, chat_span(trace_id, input_tokens=1000, output_tokens=200,
                             **{"gen_ai.usage.cache_read.input_tokens": 400}))
    (span,) = shown(receiver, trace_id)["spans"]
    # gpt-4o-mini: input 0.15, cached input 0.075, output 0.60 USD per million tokens
    assert span["cost_usd"] == pytest.approx((600 * 0.15 + 400 * 0.075 + 200 * 0.60) / 1e6)
    breakdown = span["cost_breakdown"]
    assert breakdown["tokens"]["uncached_input"] == 600 and breakdown["tokens"]["cache_read"] == 400
    assert "genai-prices" in breakdown["source"]
    assert breakdown["price_date"] == "2026-09-21"  # the day of the call (make_span's BASE_NS)
    assert summary(receiver, trace_id).cost_usd == pytest.approx(span["cost_usd"])


def test_priced_spans_refer_to_one_stored_price_per_model_and_day(receiver):
    trace_id = new_trace_id()
    send(receiver, *(chat_span(trace_id, response_id=f"r{i}", input_tokens=100 + i) for i in range(5)))
    with sqlite3.connect(receiver.config.db_path) as db:
        rows = db.execute("SELECT cost_usd, cost_breakdown, price_id FROM spans WHERE trace_id = ?",
                          [trace_id.hex()]).fetchall()
        (price,) = db.execute("SELECT model_ref, input_mtok, output_mtok, price_date FROM prices").fetchall()
    assert all(cost is not None and breakdown is None for cost, breakdown, _ in rows)
    assert {price_id for *_, price_id in rows} != {None} and len({price_id for *_, price_id in rows}) == 1
    assert price == ("gpt-4o-mini", 0.15, 0.6, "2026-09-21")
    costs = sorted(span["cost_breakdown"]["total_usd"] for span in shown(receiver, trace_id)["spans"])
    assert costs == sorted(cost for cost, _, _ in rows)  # the derived breakdown adds up to the stored cost


def test_a_breakdown_stored_as_text_by_an_older_version_still_reads(receiver):
    trace_id = new_trace_id()
    send(receiver, chat_span(trace_id))
    legacy = {"tokens": {"uncached_input": 100}, "total_usd": 1.5, "source": "genai-prices 0.0.1"}
    with sqlite3.connect(receiver.config.db_path) as db:  # as databases written before migration m005 hold it
        db.execute("UPDATE spans SET cost_breakdown = ?, price_id = NULL", [json.dumps(legacy)])
    assert shown(receiver, trace_id)["spans"][0]["cost_breakdown"] == legacy


def test_a_model_without_a_price_has_no_cost_and_says_so(receiver):
    trace_id = new_trace_id()
    send(receiver, chat_span(trace_id, model="my-private-finetune-7"))
    (span,) = shown(receiver, trace_id)["spans"]
    assert span["cost_usd"] is None and span["cost_breakdown"] == {"no_price": True}
    trace = summary(receiver, trace_id)
    assert (trace.cost_usd, trace.unpriced_calls, trace.llm_calls) == (None, 1, 1)


def test_a_user_price_file_overrides_and_adds_models(db_path, tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('[[model]]\nmatch = "my-private-*"\ninput_mtok = 2.0\noutput_mtok = 8.0\n\n'
                      '[[model]]\nprovider = "openai"\nmatch = "gpt-4o-mini"\ninput_mtok = 1.0\noutput_mtok = 1.0\n')
    config = ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, price_file=prices)
    with Receiver(config) as receiver:
        private, known = new_trace_id(), new_trace_id()
        send(receiver, chat_span(private, model="my-private-finetune-7", input_tokens=1000, output_tokens=100))
        send(receiver, chat_span(known, input_tokens=1000, output_tokens=100))
        assert shown(receiver, private)["spans"][0]["cost_usd"] == pytest.approx((1000 * 2.0 + 100 * 8.0) / 1e6)
        span = shown(receiver, known)["spans"][0]
        assert span["cost_usd"] == pytest.approx(1100 * 1.0 / 1e6)
        assert str(prices) in span["cost_breakdown"]["source"]


@pytest.mark.parametrize("bad", [
    {"gen_ai.usage.input_tokens": "lots", "gen_ai.request.temperature": "warm"},
    {"gen_ai.input.messages": "[{not json", "gen_ai.output.messages": 42},
    {"gen_ai.usage.output_tokens": 1.5, "gen_ai.response.finish_reasons": 7},
    {"gen_ai.input.messages": "[" + '{"role": "user", "parts": []},' * 100_000 + "{}]"},
    {"gen_ai.tool.definitions": "{]", "gen_ai.request.seed": True},
    # beyond 64 bits (no column holds them), not ASCII digits, not a number
    {"gen_ai.usage.input_tokens": "9" * 30, "gen_ai.request.seed": str(-(2**63) - 1)},
    {"gen_ai.usage.input_tokens": "\u00b2", "gen_ai.request.max_tokens": "--5"},
])
def test_malformed_values_leave_the_field_empty_and_the_span_stored(receiver, bad):
    trace_id = new_trace_id()
    good = chat_span(trace_id, response_id="fine")
    odd = make_span(trace_id=trace_id, name="chat odd",
                    attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", **bad})
    send(receiver, good, odd)
    spans = {s["name"]: s for s in shown(receiver, trace_id)["spans"]}
    assert spans["chat gpt-4o-mini"]["input_tokens"] == 100  # the batch survived
    stored = spans["chat odd"]
    assert stored["operation"] == "chat" and stored["request_model"] == "gpt-4o-mini"
    for key, value in bad.items():
        assert stored["attributes"][key] == value  # the raw attribute is kept
    assert stored["input_tokens"] in (None, 100) and stored["temperature"] is None
    assert stored["seed"] is None and stored["max_tokens"] is None


def test_with_the_analysis_off_spans_are_stored_as_received(db_path):
    config = ReceiverConfig.resolve({"TRACEPANE_GENAI_ANALYSIS": "false"}, db_path=db_path, grpc_port=0, http_port=0)
    with Receiver(config) as receiver:
        trace_id = new_trace_id()
        send(receiver, chat_span(trace_id))
        (span,) = shown(receiver, trace_id)["spans"]
        assert span["attributes"]["gen_ai.usage.input_tokens"] == 100
        assert span["operation"] is None and span["input_tokens"] is None and span["cost_usd"] is None


def test_the_content_switch_keeps_numbers_and_drops_prompts(db_path):
    config = ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, store_content=False)
    with Receiver(config) as receiver:
        trace_id = new_trace_id()
        messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "my secret prompt"}]}])
        send(receiver, chat_span(trace_id, **{"gen_ai.input.messages": messages,
                                             "gen_ai.tool.call.arguments": '{"card": "4111"}'}))
        (span,) = shown(receiver, trace_id)["spans"]
        assert span["input_tokens"] == 100 and span["cost_usd"] is not None
        assert span["input_messages"] is None and span["tool_arguments"] is None
        assert "gen_ai.input.messages" not in span["attributes"]
        assert b"my secret prompt" not in db_path.read_bytes() + db_path.with_name(db_path.name + "-wal").read_bytes()


def test_reprice_recomputes_stored_costs_and_trace_totals(db_path, tmp_path):
    from tests.conftest import run_tracepane

    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)) as receiver:
        trace_id = new_trace_id()
        send(receiver, chat_span(trace_id, input_tokens=1_000_000, output_tokens=0))
        assert summary(receiver, trace_id).cost_usd == pytest.approx(0.15)
    prices = tmp_path / "prices.toml"
    prices.write_text('[[model]]\nmatch = "gpt-4o-mini"\ninput_mtok = 0.5\noutput_mtok = 1.0\n')
    done = run_tracepane("reprice", "--db", str(db_path), "--price-file", str(prices), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"spans_priced": 1, "spans_changed": 1, "traces_updated": 1}
    traces = json.loads(run_tracepane("traces", "--db", str(db_path), "--json").stdout)
    assert traces[0]["cost_usd"] == pytest.approx(0.5)


def test_a_trace_takes_the_session_of_its_root_most_span_whichever_arrives_first(receiver):
    trace_id, root_id = new_trace_id(), os.urandom(8)
    start = BASE_NS + 10**12

    def child(offset, session):
        return make_span(trace_id=trace_id, parent_span_id=root_id, name="chat", start_ns=start + offset,
                         attributes={"session.id": session})

    send(receiver, child(2000, "child-late"), child(1000, "child-early"))
    assert summary(receiver, trace_id).session_id == "child-early"  # no root yet: the earliest span's
    send(receiver, make_span(trace_id=trace_id, span_id=root_id, name="agent", start_ns=start,
                             attributes={"session.id": "root"}))
    assert summary(receiver, trace_id).session_id == "root"

    other, other_root = new_trace_id(), os.urandom(8)
    send(receiver, make_span(trace_id=other, span_id=other_root, name="agent", start_ns=start),  # none here
         make_span(trace_id=other, parent_span_id=other_root, name="chat", start_ns=start + 5,
                   attributes={"session.id": "from-child"}))
    assert summary(receiver, other).session_id == "from-child"
