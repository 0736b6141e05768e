"""The trace list's model and free-text filters, over traces sent through the real receiver:
text is found in span names, attribute values (message text included), span events and
the trace's log records, ignoring case; attribute keys do not match."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from receiver.records import TraceFilter
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


def _chat(model: str, question: str, **attributes) -> dict:
    messages = [{"role": "user", "parts": [{"type": "text", "content": question}]}]
    return {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": model,
            "gen_ai.response.model": model, "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5,
            "gen_ai.input.messages": json.dumps(messages), **attributes}


@pytest.fixture
def three_traces(receiver):
    """refund: gpt-4o-mini, the words only in its prompt; checkout: claude, an order id in an
    attribute and an event; zebra: gpt-4o-mini, its word only in a log record's body."""
    ids = {name: new_trace_id() for name in ("refund", "checkout", "zebra")}
    spans = [
        make_span(trace_id=ids["refund"], name="chat gpt-4o-mini",
                  attributes=_chat("gpt-4o-mini", "What is your Refund Policy?")),
        make_span(trace_id=ids["checkout"], name="chat claude-3-5-haiku",
                  attributes=_chat("claude-3-5-haiku", "hello", **{"order.id": "checkout-42"})),
        make_span(trace_id=ids["zebra"], name="chat gpt-4o-mini", attributes=_chat("gpt-4o-mini", "hello")),
    ]
    spans[1].events.add(name="cache miss", time_unix_nano=spans[1].start_time_unix_nano).attributes.add(
        key="detail", value=AnyValue(string_value="warehouse EU-7 was cold"))
    assert post(receiver.addresses.http_port, make_request(*spans).SerializeToString()).status == 200
    logs = logs_service_pb2.ExportLogsServiceRequest()
    logs.resource_logs.add().scope_logs.add().log_records.append(LogRecord(
        time_unix_nano=spans[2].start_time_unix_nano, trace_id=ids["zebra"], span_id=spans[2].span_id,
        body=AnyValue(string_value="the user asked about a Zebra")))
    assert post(receiver.addresses.http_port, logs.SerializeToString(), path="/v1/logs").status == 200
    return {name: trace_id.hex() for name, trace_id in ids.items()}


def _found(store, **filters) -> set[str]:
    return {t.trace_id for t in store.list_traces(TraceFilter(**filters), limit=10).traces}


def test_model_filter_keeps_the_traces_that_called_the_model(three_traces, store):
    assert _found(store, model="gpt-4o-mini") == {three_traces["refund"], three_traces["zebra"]}
    assert _found(store, model="claude-3-5-haiku") == {three_traces["checkout"]}
    assert _found(store, model="gpt-4") == set()  # a whole model name, not a prefix


@pytest.mark.parametrize(("text", "expected"), [
    ("refund policy", {"refund"}),  # prompt text inside gen_ai.input.messages, other case
    ("CHECKOUT-42", {"checkout"}),  # an attribute value
    ("eu-7 was cold", {"checkout"}),  # a span event's attribute
    ("zebra", {"zebra"}),  # a log record's body
    ("claude-3-5-haiku", {"checkout"}),  # the span name (and the model attributes)
    ("gen_ai.request.model", set()),  # attribute keys do not match
    ("no such words", set()),
])
def test_free_text_finds_names_values_messages_events_and_logs(three_traces, store, text, expected):
    assert _found(store, text=text) == {three_traces[name] for name in expected}


def test_filters_combine(three_traces, store):
    assert _found(store, text="hello", model="gpt-4o-mini") == {three_traces["zebra"]}
    assert _found(store, text="hello", model="gpt-4o-mini", errors_only=True) == set()


def test_facets_offer_the_stored_services_and_models(three_traces, store):
    facets = store.facets()
    assert facets.models == ["claude-3-5-haiku", "gpt-4o-mini"]
    assert facets.services and all(isinstance(name, str) for name in facets.services)


def test_summaries_by_id_return_the_existing_traces_newest_first(three_traces, store):
    wanted = [three_traces["refund"], three_traces["zebra"], "f" * 32]
    summaries = store.get_trace_summaries(wanted)
    assert {s.trace_id for s in summaries} == {three_traces["refund"], three_traces["zebra"]}
    starts = [s.start_time_unix_nano for s in summaries]
    assert starts == sorted(starts, reverse=True)
