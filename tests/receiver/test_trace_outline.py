"""The open trace at any size, as the store reads it: the outline a waterfall draws (every span,
no JSON parsed), one span in full exactly as `get_trace` gives it (content from attributes and
from log records, orphaned records adopted), and find-in-trace in one SQL query. Agent traces
built like the benchmark's (`tests.big_trace`) and log records, all sent over OTLP/HTTP."""

from __future__ import annotations

import dataclasses
import time

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from receiver import TraceNotFound
from receiver.storage.row_records import OUTLINE_GENAI_FIELDS
from tests.bench.workload import SERVICE_NAME
from tests.big_trace import ATTRIBUTE_WORD, ATTRIBUTE_WORD_SPANS, MESSAGE_WORD, BigTrace, build_big_trace
from tests.conftest import post
from tests.otlp_builders import make_request, make_span

SMALL_SPANS = 400
LOG_WORD, ORPHAN_WORD, EVENT_WORD = "wollongong", "ulaanbaatar", "kraken"


def _send(receiver, big: BigTrace) -> None:
    for body in big.bodies:
        answer = post(receiver.addresses.http_port, body)
        assert answer.status == 200, answer.body


def _log(body: dict, *, event_name: str, trace_id: str = "", span_id: str = "", attributes: dict | None = None,
         time_ns: int) -> LogRecord:
    record = LogRecord(time_unix_nano=time_ns, observed_time_unix_nano=time_ns, event_name=event_name,
                       trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex(span_id))
    record.body.kvlist_value.CopyFrom(KeyValueList(values=[KeyValue(key=k, value=AnyValue(string_value=v))
                                                           for k, v in body.items()]))
    for key, value in (attributes or {}).items():
        record.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
    return record


def _send_logs(receiver, *records: LogRecord) -> None:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=SERVICE_NAME)))
    resource_logs.scope_logs.add().log_records.extend(records)
    answer = post(receiver.addresses.http_port, request.SerializeToString(), path="/v1/logs")
    assert answer.status == 200, answer.body


@pytest.fixture
def agent_trace(receiver, store) -> BigTrace:
    """A 400-span agent trace; a log record carrying the orchestrator's user message, a record
    that lost its ids but names a chat's response id, and a span whose event holds EVENT_WORD."""
    big = build_big_trace(SMALL_SPANS)
    _send(receiver, big)
    assert receiver.flush(10)
    root = store.get_span(big.trace_id, big.root_span_id)[0]
    chat = next(s for s in store.get_trace(big.trace_id).spans if s.genai.get("response_id"))
    _send_logs(receiver,
               _log({"content": f"Which depot is nearest to {LOG_WORD.title()}?"}, event_name="gen_ai.user.message",
                    trace_id=big.trace_id, span_id=big.root_span_id, time_ns=root.start_time_unix_nano + 1),
               _log({"finish_reason": "stop"}, event_name="gen_ai.choice", time_ns=chat.end_time_unix_nano,
                    attributes={"gen_ai.response.id": chat.genai["response_id"], "note": f"via {ORPHAN_WORD}"}))
    failing = make_span(trace_id=bytes.fromhex(big.trace_id), parent_span_id=bytes.fromhex(big.root_span_id),
                        name="execute_tool sonar", start_ns=root.start_time_unix_nano + 5, error=True)
    failing.events.append(Span.Event(name="exception", time_unix_nano=root.start_time_unix_nano + 6,
                                     attributes=[KeyValue(key="exception.message",
                                                          value=AnyValue(string_value=f"{EVENT_WORD} ate the cable"))]))
    answer = post(receiver.addresses.http_port, make_request(failing, service=SERVICE_NAME).SerializeToString())
    assert answer.status == 200
    assert receiver.flush(10)
    return dataclasses.replace(big, span_count=big.span_count + 1)


def test_the_outline_holds_every_span_with_what_a_waterfall_shows_and_nothing_else(store, agent_trace):
    full = store.get_trace(agent_trace.trace_id)
    outline = store.get_trace_outline(agent_trace.trace_id.upper())

    assert outline.trace_id == agent_trace.trace_id and outline.logs == []
    assert [s.span_id for s in outline.spans] == [s.span_id for s in full.spans]  # start order, all of them
    assert len(outline.spans) == agent_trace.span_count
    for light, span in zip(outline.spans, full.spans, strict=True):
        shown = ("trace_id", "span_id", "parent_span_id", "name", "kind", "start_time_unix_nano",
                 "end_time_unix_nano", "status_code", "status_message", "service_name")
        assert [getattr(light, f) for f in shown] == [getattr(span, f) for f in shown]
        assert light.genai == {name: span.genai[name] for name in OUTLINE_GENAI_FIELDS}
        assert (light.attributes, light.events, light.links, light.content) == ({}, [], [], {})
        assert (light.resource.attributes, light.scope.name) == ({}, "")
    chats = [s for s in outline.spans if s.genai["operation"] == "chat"]
    assert chats and all(s.genai["input_tokens"] and s.genai["cost_usd"] for s in chats)  # what the columns show
    assert any(s.status_message == "upstream timed out" for s in outline.spans)


def test_get_span_is_the_span_get_trace_gives_with_its_own_log_records(store, agent_trace):
    full = store.get_trace(agent_trace.trace_id)
    by_id = {s.span_id: s for s in full.spans}
    for span_id in (agent_trace.root_span_id, agent_trace.deep_span_id, *agent_trace.attribute_span_ids):
        span, logs = store.get_span(agent_trace.trace_id, span_id.upper())
        assert span == by_id[span_id]
        assert logs == [record for record in full.logs if record.span_id == span_id]

    root, root_logs = store.get_span(agent_trace.trace_id, agent_trace.root_span_id)
    assert [m["parts"][0]["content"] for m in root.content["input_messages"]] == [
        f"Which depot is nearest to {LOG_WORD.title()}?"]  # the message came as a log record
    assert [r.resolved_event_name for r in root_logs] == ["gen_ai.user.message"]
    deep, _ = store.get_span(agent_trace.trace_id, agent_trace.deep_span_id)
    assert MESSAGE_WORD.title() in deep.content["output_messages"][0]["parts"][0]["content"]
    adopted = [r for r in full.logs if r.resolved_event_name == "gen_ai.choice"]
    assert len(adopted) == 1 and store.get_span(agent_trace.trace_id, adopted[0].span_id)[1] == adopted


def test_get_span_and_the_outline_say_when_there_is_no_such_span_or_trace(store, agent_trace):
    with pytest.raises(TraceNotFound):
        store.get_span(agent_trace.trace_id, "00000000deadbeef")
    with pytest.raises(TraceNotFound):
        store.get_span("0" * 32, agent_trace.root_span_id)
    with pytest.raises(TraceNotFound):
        store.get_trace_outline("0" * 32)
    assert store.find_in_trace("0" * 32, "chat") == []


def test_find_in_trace_matches_names_values_messages_events_and_log_records(store, agent_trace):
    trace_id = agent_trace.trace_id
    outline = store.get_trace_outline(trace_id)
    start_order = [s.span_id for s in outline.spans]

    def find(text: str) -> list[str]:
        found = store.find_in_trace(trace_id, text)
        assert found == sorted(found, key=start_order.index)  # in start order
        return found

    assert find(MESSAGE_WORD.upper()) == [agent_trace.deep_span_id]  # message text, any case
    assert find("depot yesterday.\"") == [agent_trace.deep_span_id]  # a quote: the exact (slower) path
    assert sorted(find(ATTRIBUTE_WORD)) == sorted(agent_trace.attribute_span_ids)
    assert len(agent_trace.attribute_span_ids) == ATTRIBUTE_WORD_SPANS
    assert find(LOG_WORD) == [agent_trace.root_span_id]  # a log record's body
    chat_with_orphan = find(ORPHAN_WORD)  # a record without ids, joined by response id
    assert len(chat_with_orphan) == 1 and outline.spans[start_order.index(chat_with_orphan[0])].name.startswith("chat")
    sonar = [s.span_id for s in outline.spans if s.name == "execute_tool sonar"]
    assert find(EVENT_WORD) == sonar  # a span event's attribute
    assert find("boom") == sonar  # a status message
    assert find("execute_tool sonar") == sonar  # a name
    assert len(find("execute_tool")) == sum(s.name.startswith("execute_tool") for s in outline.spans)
    assert find("openinference.span.kind") == []  # attribute keys are not text
    assert find("") == []


def test_a_10000_span_trace_reads_its_outline_and_finds_in_well_under_a_second(receiver, store):
    big = build_big_trace()
    _send(receiver, big)
    assert receiver.flush(60)
    started = time.perf_counter()
    outline = store.get_trace_outline(big.trace_id)
    outline_s = time.perf_counter() - started
    assert len(outline.spans) == 10_000
    started = time.perf_counter()
    found = store.find_in_trace(big.trace_id, MESSAGE_WORD)
    find_s = time.perf_counter() - started
    assert found == [big.deep_span_id]
    assert len(store.find_in_trace(big.trace_id, ATTRIBUTE_WORD)) == ATTRIBUTE_WORD_SPANS
    # typically 0.1 s and 0.05 s on a laptop core; the bounds leave room for a busy CI machine
    assert outline_s < 1.5 and find_s < 1.5, (outline_s, find_s)
