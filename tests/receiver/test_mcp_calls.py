"""MCP spans from the real `mcp` SDK (issue 14): a client process calls a server process over
stdio, both exporting the SDK's own spans over OTLP/gRPC to a receiver on loopback. The spans
become tool calls of the canonical record, and the two sides of each call are paired: in one
trace when the client propagated its context, across traces when it did not."""

from __future__ import annotations

from receiver import Receiver, StoredSpan, TraceStore
from receiver.storage.mcp_pairs import CLOCK_SKEW_NS
from tests.conftest import show_json
from tests.mcp_session import CLIENT_SERVICE, SERVER_SERVICE, run_session
from tests.sdk_logs import sdk_tracer


def _spans(store: TraceStore) -> list[StoredSpan]:
    traces = store.list_traces(limit=1000).traces
    return [span for summary in traces for span in store.get_trace(summary.trace_id).spans]


def _one(spans: list[StoredSpan], name: str) -> StoredSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, [span.name for span in spans]
    return found[0]


def _session(receiver: Receiver, store: TraceStore, mode: str) -> tuple[list[str], list[StoredSpan]]:
    trace_ids = run_session(receiver.addresses.grpc_port, mode)
    assert receiver.flush(timeout=10)
    return trace_ids, _spans(store)


def test_mcp_spans_are_tool_calls_with_their_protocol_facts(receiver, store, db_path):
    (weather_trace, forecast_trace), spans = _session(receiver, store, "propagated")
    client = _one(spans, "MCP send tools/call get_weather")
    server = _one(spans, "tools/call get_weather")
    for span in (client, server):
        assert span.genai["operation"] == "execute_tool"
        assert span.genai["tool_name"] == "get_weather"  # the client span names it only in its span name
    client_facts = client.genai["genai_extras"]["mcp"]
    assert client_facts == {"method": "tools/call", "side": "client", "target": "get_weather",
                            "request_id": client_facts["request_id"]}
    assert client_facts["request_id"].isdigit()
    assert client.kind_name == "client" and client.service_name == CLIENT_SERVICE
    server_facts = server.genai["genai_extras"]["mcp"]
    assert server_facts["side"] == "server" and server_facts["protocol_version"]
    assert server_facts["request_id"] == client.genai["genai_extras"]["mcp"]["request_id"]
    listing = _one(spans, "MCP send tools/list")
    assert listing.genai["operation"] == "other" and listing.genai["tool_name"] is None
    assert listing.genai["genai_extras"]["mcp"]["method"] == "tools/list"
    failed = _one(spans, "tools/call get_forecast")  # the tool raised: an error result
    assert failed.status_name == "error" and failed.genai["error_type"] == "tool_error"
    assert failed.genai["tool_name"] == "get_forecast"

    shown = {span["name"]: span for span in show_json(db_path, weather_trace)["spans"]}
    assert shown["MCP send tools/call get_weather"]["tool_name"] == "get_weather"
    assert shown["MCP send tools/call get_weather"]["genai_extras"]["mcp"]["side"] == "client"


def test_a_propagated_call_is_one_trace_with_the_server_under_the_client(receiver, store):
    (weather_trace, _), spans = _session(receiver, store, "propagated")
    client = _one(spans, "MCP send tools/call get_weather")
    server = _one(spans, "tools/call get_weather")
    assert client.trace_id == server.trace_id == weather_trace and server.parent_span_id == client.span_id
    assert server.service_name == SERVER_SERVICE

    calls = store.mcp_calls(weather_trace)
    assert calls[client.span_id]["peer_span_id"] == server.span_id
    assert calls[client.span_id]["peer_service"] == SERVER_SERVICE
    assert calls[server.span_id]["peer_span_id"] == client.span_id
    assert not calls[server.span_id]["across_traces"]
    assert not calls[server.span_id]["unpropagated"]  # its caller's context reached it: no flag


def test_an_unpropagated_call_is_paired_across_traces_both_ways_and_flagged(receiver, store):
    (weather_trace, forecast_trace), spans = _session(receiver, store, "unpropagated")
    for tool, client_trace in (("get_weather", weather_trace), ("get_forecast", forecast_trace)):
        client = _one(spans, f"MCP send tools/call {tool}")
        server = _one(spans, f"tools/call {tool}")
        assert client.trace_id == client_trace
        assert server.trace_id != client_trace and server.parent_span_id is None  # a trace of its own

        from_client = store.mcp_calls(client.trace_id)[client.span_id]
        assert (from_client["peer_trace_id"], from_client["peer_span_id"]) == (server.trace_id, server.span_id)
        assert from_client["across_traces"] and not from_client["unpropagated"]
        from_server = store.mcp_calls(server.trace_id)[server.span_id]
        assert (from_server["peer_trace_id"], from_server["peer_span_id"]) == (client.trace_id, client.span_id)
        assert from_server["unpropagated"] and from_server["peer_service"] == CLIENT_SERVICE


def _send(receiver: Receiver, service: str, name: str, kind, start: int, end: int, attributes: dict) -> str:
    with sdk_tracer(receiver.addresses.grpc_port, {"service.name": service}) as tracer:
        span = tracer.start_span(name, kind=kind, attributes=attributes, start_time=start)
        span.end(end_time=end)
        return format(span.get_span_context().trace_id, "032x")


def test_a_server_span_outside_the_client_span_is_not_its_other_side(receiver, store):
    from opentelemetry.trace import SpanKind

    start = 1_800_000_000 * 10**9
    client_trace = _send(receiver, "agent", "MCP send tools/call get_weather", SpanKind.CLIENT, start,
                         start + 10**9, {"mcp.method.name": "tools/call", "jsonrpc.request.id": "7"})
    late = start + 10**9 + CLOCK_SKEW_NS + 10**9  # after the client's end, past the clock skew allowed
    late_trace = _send(receiver, "server", "tools/call get_weather", SpanKind.SERVER, late, late + 10**8,
                       {"mcp.method.name": "tools/call", "jsonrpc.request.id": "7", "gen_ai.tool.name": "get_weather"})
    other_tool = _send(receiver, "server", "tools/call get_time", SpanKind.SERVER, start + 10**8, start + 2 * 10**8,
                       {"mcp.method.name": "tools/call", "jsonrpc.request.id": "7", "gen_ai.tool.name": "get_time"})
    assert receiver.flush(timeout=10)

    (client_call,) = store.mcp_calls(client_trace).values()
    assert client_call["peer_span_id"] is None
    for trace_id in (late_trace, other_tool):
        (server_call,) = store.mcp_calls(trace_id).values()
        assert server_call["unpropagated"] and server_call["peer_span_id"] is None
