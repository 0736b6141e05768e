"""The normaliser's precedence rules on hand-made spans (the fixtures cover real senders)."""

from __future__ import annotations

import json

from receiver.genai.fields import GenAiFields
from receiver.genai.normalise import normalise
from receiver.genai.span_view import SpanView

OUTPUT = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "hi"}], "finish_reason": "length"}])


def fields(name: str = "span", **attributes) -> GenAiFields:
    return normalise(SpanView(name, attributes), content=False)


def test_a_malformed_value_gives_way_to_the_next_key_for_the_field():
    f = fields(**{"gen_ai.usage.input_tokens": "lots", "llm.token_count.prompt": 7, "gen_ai.operation.name": "chat"})
    assert f.input_tokens == 7 and f.operation == "chat"


def test_openinference_native_keys_win_over_the_gen_ai_copies():
    f = fields(**{"openinference.span.kind": "LLM", "gen_ai.request.model": "copy", "llm.model_name": "native",
                  "llm.token_count.prompt": 3, "gen_ai.usage.input_tokens": 99})
    assert (f.operation, f.response_model, f.input_tokens) == ("chat", "native", 3)


def test_an_openinference_tool_or_agent_span_keeps_the_gen_ai_names_it_carries():
    # OpenInference's own keys first; without them, the gen_ai.* ones; the span name last
    tool = {"openinference.span.kind": "TOOL", "gen_ai.tool.name": "lookup_order", "gen_ai.tool.call.id": "call_1"}
    assert (fields("execute_tool lookup_order", **tool).tool_name, fields(**tool).tool_call_id) \
        == ("lookup_order", "call_1")
    native = fields(**tool, **{"tool.name": "native", "tool_call.id": "call_2"})
    assert (native.tool_name, native.tool_call_id) == ("native", "call_2")
    assert fields("run tool", **{"openinference.span.kind": "TOOL"}).tool_name == "run tool"
    agent = {"openinference.span.kind": "AGENT", "gen_ai.agent.name": "support-agent"}
    assert fields("invoke_agent support-agent", **agent).agent_name == "support-agent"
    assert fields("invoke_agent x", **agent, **{"agent.name": "native"}).agent_name == "native"
    assert fields("planner", **{"openinference.span.kind": "AGENT"}).agent_name == "planner"


def test_a_span_without_genai_data_has_an_empty_record():
    assert fields("GET /orders", **{"http.request.method": "GET"}) == GenAiFields()


def test_a_shared_key_alone_still_gives_its_field():
    f = fields("handle request", **{"user.id": "u-1"})
    assert f.user_id == "u-1" and f.operation == "other"


def test_finish_reasons_come_from_the_output_messages_when_the_attribute_is_unusable():
    unusable = fields(**{"gen_ai.response.finish_reasons": 7, "gen_ai.output.messages": OUTPUT})
    assert unusable.finish_reasons == ["length"]
    given = fields(**{"gen_ai.response.finish_reasons": ["stop"], "gen_ai.output.messages": OUTPUT})
    assert given.finish_reasons == ["stop"]


def test_an_error_type_comes_from_the_attribute_or_the_exception_event():
    assert fields(**{"gen_ai.operation.name": "chat", "error.type": "<class 'openai.RateLimitError'>"}).error_type \
        == "RateLimitError"
    assert fields(**{"gen_ai.operation.name": "chat"}).error_type is None


def test_inlined_readers_answer_as_the_readers_do_for_awkward_values():
    # The generated readers inline as_str / as_int for the usual value; every other value
    # must still get the reader's answer (None for what the column cannot hold).
    # Operation and provider names are remembered by string: the same answer, every time.
    from receiver.genai.coerce import as_float, as_int, as_str, canonical_operation, canonical_provider

    awkward = ["gpt-4o", "  ", "", " 12 ", "12", 12, -(2**63), 2**63, -(2**63) - 1, True, False, 3.0, 3.5, -0.0,
               float("nan"), float("inf"), float("-inf"), " 0.7", "1e400", None, [1], {"a": 1}, "Chat", " OpenAI ",
               "completion", "AWS", 1.0]
    for _ in range(2):
        for value in awkward:
            f = fields(**{"gen_ai.operation.name": value, "gen_ai.request.model": value,
                          "gen_ai.usage.input_tokens": value, "gen_ai.request.temperature": value,
                          "gen_ai.provider.name": value})
            expected_operation = canonical_operation(value) or "other"  # (none given: from the span name)
            assert (f.request_model, f.input_tokens, f.temperature, f.provider, f.operation) == (
                as_str(value), as_int(value), as_float(value), canonical_provider(value), expected_operation), value


def test_an_mcp_client_span_is_a_tool_call_named_by_its_span_name():
    f = normalise(SpanView("MCP send tools/call get_weather", {"mcp.method.name": "tools/call",
                                                               "jsonrpc.request.id": "2"}, kind=3), content=False)
    assert (f.operation, f.tool_name) == ("execute_tool", "get_weather")
    assert f.extras["mcp"] == {"method": "tools/call", "side": "client", "target": "get_weather", "request_id": "2"}


def test_an_mcp_server_span_keeps_its_protocol_facts_and_other_methods_stay_mcp_steps():
    f = normalise(SpanView("resources/read", {"mcp.method.name": "resources/read", "mcp.session.id": "s-1",
                                              "mcp.resource.uri": "file:///a.txt", "network.transport": "pipe"},
                           kind=2), content=False)
    assert f.operation == "other" and f.tool_name is None
    assert f.extras["mcp"] == {"method": "resources/read", "side": "server", "target": "file:///a.txt",
                               "session_id": "s-1", "resource_uri": "file:///a.txt", "transport": "pipe"}


def test_a_span_without_mcp_keys_gets_no_mcp_facts():
    f = normalise(SpanView("tools/call x", {"http.method": "POST"}, kind=3), content=False)
    assert f.operation is None and f.extras == {}
