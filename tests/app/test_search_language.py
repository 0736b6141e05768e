"""The filter bar's language end to end: text typed as a user types it, read by
`ListFilter`, answered by the store, over traces sent by the real OpenTelemetry SDK's
OTLP/HTTP exporter to the real receiver. Every operator, quoting, combinations, and
mistakes (a message, never an exception)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

from app.list_filter import ListFilter

T0 = 1_790_000_000_000_000_000
MS = 1_000_000


def _chat(model: str, question: str, input_tokens: int, output_tokens: int) -> dict:
    messages = [{"role": "user", "parts": [{"type": "text", "content": question}]}]
    return {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": model,
            "gen_ai.response.model": model, "gen_ai.usage.input_tokens": input_tokens,
            "gen_ai.usage.output_tokens": output_tokens, "gen_ai.input.messages": json.dumps(messages)}


def _send(port: int, service: str, build) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces")))
    build(provider.get_tracer("tests"))
    provider.shutdown()


def _span(tracer, name: str, start: int, duration: int, attributes: dict, *, parent=None, error: bool = False):
    span = tracer.start_span(name, context=parent, start_time=start, attributes=attributes)
    if error:
        span.set_status(Status(StatusCode.ERROR, "search backend down"))
    return span, start + duration


@pytest.fixture
def searchable(receiver, store) -> dict[str, str]:
    """refund (checkout, 3 s, gpt-4o with $0.03 of tokens, the phrase "refund policy" in its
    prompt, a failing web_search tool, feature.name=chat, session conv-1); weather (assistant,
    500 ms, gpt-4o-mini at a fraction of a cent, "policy on refund" in its prompt,
    feature.name=search, session conv-2); server (checkout, a tools/call span whose client
    span never arrived)."""
    port, ids = receiver.addresses.http_port, {}

    def refund(tracer):
        root, end = _span(tracer, "POST /refund", T0, 3000 * MS, {"feature.name": "chat", "session.id": "conv-1"})
        ctx = trace.set_span_in_context(root)
        chat, chat_end = _span(tracer, "chat gpt-4o", T0 + MS, 900 * MS, _chat(
            "gpt-4o", "What is the refund policy for damaged goods?", 10_000, 500), parent=ctx)
        chat.end(chat_end)
        tool, tool_end = _span(tracer, "execute_tool web_search", T0 + 1000 * MS, 800 * MS, {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "web_search"}, parent=ctx, error=True)
        tool.end(tool_end)
        root.end(end)
        ids["refund"] = format(root.get_span_context().trace_id, "032x")

    def weather(tracer):
        root, end = _span(tracer, "agent run", T0 + 10_000 * MS, 500 * MS,
                          {"feature.name": "search", "session.id": "conv-2"})
        chat, chat_end = _span(tracer, "chat gpt-4o-mini", T0 + 10_001 * MS, 300 * MS, _chat(
            "gpt-4o-mini", "Sunny in Paris? And your policy on refund requests?", 100, 20),
            parent=trace.set_span_in_context(root))
        chat.end(chat_end)
        root.end(end)
        ids["weather"] = format(root.get_span_context().trace_id, "032x")

    def server(tracer):  # the MCP client did not pass traceparent: its span is in no export
        remote = SpanContext(0x5EB5EB5EB5EB5EB5EB5EB5EB5EB5EB5E, 0x1234, is_remote=True,
                             trace_flags=TraceFlags(TraceFlags.SAMPLED))
        span, end = _span(tracer, "tools/call lookup", T0 + 20_000 * MS, 200 * MS, {
            "mcp.method.name": "tools/call", "gen_ai.tool.name": "lookup", "gen_ai.operation.name": "execute_tool"},
            parent=trace.set_span_in_context(NonRecordingSpan(remote)))
        span.end(end)
        ids["server"] = format(remote.trace_id, "032x")

    _send(port, "checkout", refund)
    _send(port, "assistant", weather)
    _send(port, "checkout", server)
    assert receiver.flush(10) and receiver.wait_indexed()
    return ids


def found(store, text: str, **list_filter) -> set[str]:
    chosen = ListFilter(text=text, **list_filter)
    assert chosen.query.is_valid, chosen.query.error
    return {t.trace_id for t in store.list_traces(chosen.to_trace_filter(T0)).traces}


@pytest.mark.parametrize(("text", "expected"), [
    ("model:gpt-4o", {"refund"}),  # a whole model name
    ("model:gpt-4o-mini", {"weather"}),
    ("service:checkout", {"refund", "server"}),
    ("tool:web_search", {"refund"}),
    ("tool:lookup", {"server"}),
    ("tool:web", set()),
    ("session:conv-1", {"refund"}),
    ("attr.feature.name=chat", {"refund"}),  # the root's attribute
    ("attr.feature.name=search", {"weather"}),
    ("attr.mcp.method.name=tools/call", {"server"}),  # a span's, where the root has none
    ("cost>0.01", {"refund"}),
    ("cost>=$0.01", {"refund"}),
    ("cost<0.01", {"weather", "server"}),  # no model call costs $0
    ("cost<=0", {"server"}),
    ("duration>2s", {"refund"}),
    ("duration<1s", {"weather", "server"}),
    ("duration<=500ms", {"weather", "server"}),
    ("duration>=0.5", {"refund", "weather"}),  # a bare number is seconds
    ("duration>0.04m", {"refund"}),  # 2.4 s: refund takes 3 s
    ("error", {"refund"}),
    ("is:error", {"refund"}),
    ('"refund policy"', {"refund"}),  # a phrase: the words together, in order
    ("refund policy", {"refund", "weather"}),  # words: each anywhere in one span
    ("REFUND Damaged", {"refund"}),
    ("sunny paris", {"weather"}),
    ('model:gpt-4o cost>0.01 error tool:web_search "refund policy" service:checkout duration>2s '
     "attr.feature.name=chat session:conv-1", {"refund"}),  # the example, every part holding
    ('model:gpt-4o cost>0.01 error tool:web_search "refund policy" service:checkout duration>2s '
     "attr.feature.name=chat session:conv-2", set()),  # one part not
    ("cost>0.001 cost<0.01", set()),  # both bounds hold: weather costs less than $0.001
    ("duration>100ms duration<1s", {"weather", "server"}),
    ("attr.feature.name=chat attr.session.id=conv-1", {"refund"}),
    ("attr.feature.name=chat attr.session.id=conv-2", set()),
    ("", {"refund", "weather", "server"}),
])
def test_each_operator_finds_its_traces(searchable, store, text, expected):
    assert found(store, text) == {searchable[name] for name in expected}


def test_typed_filters_narrow_the_boxes_choices(searchable, store):
    assert found(store, "tool:lookup", service="checkout") == {searchable["server"]}
    assert found(store, "error", service="assistant") == set()
    assert found(store, "model:gpt-4o-mini", model="gpt-4o") == {searchable["weather"]}  # typed wins


def test_pinned_and_broken_traces_have_their_filters(searchable, receiver, store):
    receiver.set_pinned([searchable["weather"]])
    assert found(store, "is:pinned") == {searchable["weather"]}
    assert found(store, "is:pinned sunny") == {searchable["weather"]}
    broken = ListFilter(text="is:broken").to_trace_filter(T0)
    assert broken.broken_only
    just_now = {t.trace_id for t in store.list_traces(broken).traces}
    assert just_now == set()  # the parent may still come: not within the grace period
    settled = dataclasses.replace(broken, broken_grace_ns=0)
    assert {t.trace_id for t in store.list_traces(settled).traces} == {searchable["server"]}


@pytest.mark.parametrize(("text", "message"), [
    ('"refund policy', "a quote is not closed"),
    ("cost>cheap", "not an amount of dollars"),
    ("duration>2h", "not a duration"),
    ("attr.feature.name", "write attr.NAME=value"),
    ("model:", "needs a value"),
    ("is:lost", "write is:pinned"),
    ("colour:red", "unknown filter colour:"),
])
def test_a_mistake_is_a_message_not_an_exception(searchable, store, text, message):
    chosen = ListFilter(text=f"service:checkout {text}")
    assert message in chosen.query.error
    assert chosen.query.error_at == len("service:checkout ")
    # what came before the mistake still filters; nothing raises on the way to the store
    assert {t.trace_id for t in store.list_traces(chosen.to_trace_filter(T0)).traces} <= set(searchable.values())
