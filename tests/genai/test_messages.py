"""Message-shape converters against the real shared fixtures (facts from fixtures/MANIFEST.md),
plus hand-made cases for the families no fixture has (Traceloop classic, old span events) and
for bad input."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from receiver.genai.message_events import messages_from_log_events, messages_from_span_events
from receiver.genai.messages import (
    message_text,
    openai_style_messages,
    openinference_messages,
    otel_messages,
    otel_parts,
    output_finish_reasons,
    traceloop_messages,
)

# as in tests/conftest.py (the checkout's sibling ../shared/fixtures); not imported from there because
# these pure tests need none of the running receiver that conftest sets up
FIXTURES = Path(os.environ.get("TRACEPANE_FIXTURES", Path(__file__).resolve().parents[3] / "shared" / "fixtures"))

SYSTEM = "You are a concise weather assistant. Use the get_weather tool for live data."
USER = "What's the weather in Paris right now?"
ANSWER = "It is currently 18°C and sunny in Paris, a pleasant day for a walk."
CALL_ID = "call_0002MockFixture15838"
ARGUMENTS = {"city": "Paris"}
RESULT = {"city": "Paris", "temperature_c": 18, "conditions": "sunny"}


# --- fixture reading: OTLP/JSON lines -> plain values ----------------------------------------

def plain(key_values: list[dict[str, Any]] | None) -> dict[str, Any]:
    """An OTLP/JSON KeyValue list -> {key: plain value} (what the receiver hands the analyser)."""
    return {kv["key"]: plain_value(kv.get("value")) for kv in key_values or []}


def plain_value(value: dict[str, Any] | None) -> Any:
    if not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "intValue":
        return int(inner)  # OTLP/JSON writes 64-bit ints as strings
    if kind == "doubleValue":
        return float(inner)
    if kind == "arrayValue":
        return [plain_value(v) for v in inner.get("values", [])]
    if kind == "kvlistValue":
        return plain(inner.get("values", []))
    return inner  # stringValue, boolValue


def _lines(name: str) -> list[dict[str, Any]]:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"fixture {name} not in {FIXTURES}")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@cache
def span_attrs(library: str) -> dict[str, dict[str, Any]]:
    """spanId -> plain span attributes."""
    out = {}
    for request in _lines(f"{library}.traces.jsonl"):
        for resource in request.get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    out[span["spanId"]] = plain(span.get("attributes"))
    return out


@cache
def log_events(library: str) -> dict[str, list[tuple[str, Any, dict[str, Any]]]]:
    """spanId -> [(eventName field, plain body, plain attributes)] in time order. The name is the
    OTLP field only (empty when absent) so that the `event.name` attribute fallback is exercised."""
    records = []
    for request in _lines(f"{library}.logs.jsonl"):
        for resource in request.get("resourceLogs", []):
            for scope in resource.get("scopeLogs", []):
                records.extend(scope.get("logRecords", []))
    records.sort(key=lambda r: int(r.get("timeUnixNano", 0)))
    out: dict[str, list] = {}
    for record in records:
        event = (record.get("eventName", ""), plain_value(record.get("body")), plain(record.get("attributes")))
        out.setdefault(record.get("spanId", ""), []).append(event)
    return out


def roles(messages: list[dict[str, Any]] | None) -> list[str]:
    return [m["role"] for m in messages or []]


def only_part(message: dict[str, Any], kind: str) -> dict[str, Any]:
    parts = [p for p in message["parts"] if p["type"] == kind]
    assert len(parts) == 1, message
    return parts[0]


def text_of(message: dict[str, Any]) -> str:
    return only_part(message, "text")["content"]


def tool_result(response: Any) -> Any:
    """A tool response as an object: JSON text parsed, Anthropic's text blocks unwrapped."""
    if isinstance(response, list):
        response = "".join(block["text"] for block in response)
    return json.loads(response) if isinstance(response, str) else response


def assert_tool_call(message: dict[str, Any], call_id: str = CALL_ID) -> None:
    call = only_part(message, "tool_call")
    assert call["id"] == call_id
    assert call["name"] == "get_weather"
    assert call["arguments"] == ARGUMENTS  # an object, whether it came as an object or as JSON text


def assert_tool_response(message: dict[str, Any], call_id: str = CALL_ID) -> None:
    response = only_part(message, "tool_call_response")
    assert response["id"] == call_id
    assert tool_result(response["response"]) == RESULT
    assert "result" not in response


# --- OTel current: openai-v2 2.4b0 ---------------------------------------------------------

V2 = "opentelemetry-instrumentation-openai-v2-2.4b0"
V2_CHAT1, V2_CHAT2, V2_ERROR = "112bf1a6dae80247", "49054348a6bf72a3", "a3d6ee2f2f662b30"


def test_v2_span_attributes_first_chat_system_inside_input_and_tool_call_out():
    a = span_attrs(V2)[V2_CHAT1]
    inputs = otel_messages(a["gen_ai.input.messages"])
    outputs = otel_messages(a["gen_ai.output.messages"])
    assert roles(inputs) == ["system", "user"]
    assert text_of(inputs[0]) == SYSTEM
    assert text_of(inputs[1]) == USER
    assert roles(outputs) == ["assistant"]
    assert_tool_call(outputs[0])
    assert outputs[0]["finish_reason"] == "tool_calls"  # raw OpenAI value, kept as sent
    assert "gen_ai.system_instructions" not in a


def test_v2_span_attributes_second_chat_tool_role_round_trip():
    a = span_attrs(V2)[V2_CHAT2]
    inputs = otel_messages(a["gen_ai.input.messages"])
    outputs = otel_messages(a["gen_ai.output.messages"])
    assert roles(inputs) == ["system", "user", "assistant", "tool"]
    assert_tool_call(inputs[2])
    assert_tool_response(inputs[3])
    assert isinstance(only_part(inputs[3], "tool_call_response")["response"], str)  # kept as the tool gave it
    assert text_of(outputs[0]) == ANSWER
    assert outputs[0]["finish_reason"] == "stop"


def test_v2_log_event_details_carry_the_same_messages_as_the_span():
    events = log_events(V2)
    for span_id in (V2_CHAT1, V2_CHAT2):
        assert [name for name, _, _ in events[span_id]] == ["gen_ai.client.inference.operation.details"]
        attrs = events[span_id][0][2]
        assert isinstance(attrs["gen_ai.input.messages"], list)  # structured, not a JSON string
        inputs, outputs, system = messages_from_log_events(events[span_id])
        span = span_attrs(V2)[span_id]
        assert inputs == otel_messages(span["gen_ai.input.messages"])
        assert outputs == otel_messages(span["gen_ai.output.messages"])
        assert system is None
    inputs, outputs, _ = messages_from_log_events(events[V2_CHAT2])
    assert roles(inputs) == ["system", "user", "assistant", "tool"]
    assert_tool_call(inputs[2])
    assert_tool_response(inputs[3])


def test_v2_error_call_has_input_only():
    inputs, outputs, system = messages_from_log_events(log_events(V2)[V2_ERROR])
    assert roles(inputs) == ["user"]
    assert text_of(inputs[0]).startswith("TRIGGER_400")
    assert outputs is None and system is None


# --- OTel older: openai-v2 2.0b0, log records only -------------------------------------------

V2OLD = "opentelemetry-instrumentation-openai-v2-2.0b0"
V2OLD_CHAT1, V2OLD_CHAT2, V2OLD_ERROR = "887f88bf0d371c2e", "adb20aca7b8fae19", "5ecd13fb0f6351f5"


def test_v2old_has_no_content_on_spans_and_names_only_in_the_attribute():
    for attrs in span_attrs(V2OLD).values():
        assert not any("messages" in key for key in attrs)
    for events in log_events(V2OLD).values():
        for name, _, attrs in events:
            assert name == "" and attrs["event.name"].startswith("gen_ai.")


def test_v2old_first_chat_from_log_records():
    inputs, outputs, system = messages_from_log_events(log_events(V2OLD)[V2OLD_CHAT1])
    assert roles(inputs) == ["system", "user"]  # the system message stays in the input, as v2 spans do
    assert text_of(inputs[0]) == SYSTEM
    assert text_of(inputs[1]) == USER
    assert system is None
    assert roles(outputs) == ["assistant"]
    assert_tool_call(outputs[0])  # arguments were a JSON string in the choice body
    assert outputs[0]["finish_reason"] == "tool_calls"


def test_v2old_second_chat_assistant_and_tool_records():
    inputs, outputs, _ = messages_from_log_events(log_events(V2OLD)[V2OLD_CHAT2])
    assert roles(inputs) == ["system", "user", "assistant", "tool"]
    assert_tool_call(inputs[2])
    assert_tool_response(inputs[3])
    assert text_of(outputs[0]) == ANSWER
    assert outputs[0]["finish_reason"] == "stop"


def test_v2old_error_call_has_only_the_user_record():
    inputs, outputs, system = messages_from_log_events(log_events(V2OLD)[V2OLD_ERROR])
    assert roles(inputs) == ["user"]
    assert outputs is None and system is None


def test_v2old_streamed_chats_have_their_finish_reason_in_the_choice():
    for span_id, events in log_events(V2OLD).items():
        if span_id in (V2OLD_CHAT1, V2OLD_CHAT2, V2OLD_ERROR):
            continue
        _, outputs, _ = messages_from_log_events(events)
        assert outputs[0]["finish_reason"] == "stop"
        assert text_of(outputs[0]).startswith("Bonjour!")


# --- OpenInference --------------------------------------------------------------------------

@pytest.mark.parametrize("library, chat1, chat2", [
    ("openinference-instrumentation-openai-0.1.66", "b361816a1c4ffe98", "987b5ad4c491ab66"),
    ("openinference-instrumentation-langchain-0.1.80", "10f7873a7f638952", "3ce63e0697f05475"),
])
def test_openinference_flattened_messages(library, chat1, chat2):
    a = span_attrs(library)[chat1]
    inputs = openinference_messages(a, "llm.input_messages")
    outputs = openinference_messages(a, "llm.output_messages")
    assert roles(inputs) == ["system", "user"]
    assert text_of(inputs[0]) == SYSTEM
    assert text_of(inputs[1]) == USER
    assert roles(outputs) == ["assistant"]
    assert_tool_call(outputs[0])
    assert [p["type"] for p in outputs[0]["parts"]] == ["tool_call"]

    a = span_attrs(library)[chat2]
    inputs = openinference_messages(a, "llm.input_messages")
    outputs = openinference_messages(a, "llm.output_messages")
    assert roles(inputs) == ["system", "user", "assistant", "tool"]
    assert_tool_call(inputs[2])
    assert_tool_response(inputs[3])
    assert text_of(outputs[0]) == ANSWER


def test_openinference_langchain_tool_message_name_and_failed_call():
    spans = span_attrs("openinference-instrumentation-langchain-0.1.80")
    inputs = openinference_messages(spans["3ce63e0697f05475"], "llm.input_messages")
    assert inputs[3]["name"] == "get_weather"
    failed = spans["4779bbe2eb950853"]
    assert roles(openinference_messages(failed, "llm.input_messages")) == ["system", "user"]
    assert failed["llm.output_messages.0.message.role"] == "assistant"
    assert openinference_messages(failed, "llm.output_messages") is None  # a role and nothing else


def test_openinference_numeric_order_multipart_and_legacy_shapes():
    a = {f"llm.input_messages.{i}.message.role": "user" for i in range(12)}
    a.update({f"llm.input_messages.{i}.message.content": f"m{i}" for i in range(12)})
    a["llm.input_messages.2.message.content"] = None
    a.update({
        "llm.input_messages.2.message.contents.1.message_content.type": "image",
        "llm.input_messages.2.message.contents.1.message_content.image.image.url": "https://x/cat.png",
        "llm.input_messages.2.message.contents.0.message_content.type": "text",
        "llm.input_messages.2.message.contents.0.message_content.text": "what is this?",
        "llm.input_messages.x.message.role": "user",  # not an index: ignored
        "llm.input_messagesX.0.message.role": "user",  # another prefix: ignored
    })
    messages = openinference_messages(a, "llm.input_messages")
    assert [text_of(m) for i, m in enumerate(messages) if i != 2] == [f"m{i}" for i in range(12) if i != 2]
    assert messages[2]["parts"] == [{"type": "text", "content": "what is this?"},
                                    {"type": "uri", "modality": "image", "uri": "https://x/cat.png"}]
    tool_no_id = {"llm.input_messages.0.message.role": "tool", "llm.input_messages.0.message.content": "42"}
    assert openinference_messages(tool_no_id, "llm.input_messages")[0]["parts"] == [{"type": "text", "content": "42"}]
    bad_args = {"llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "f",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{not json"}
    call = openinference_messages(bad_args, "llm.output_messages")[0]["parts"][0]
    assert call == {"type": "tool_call", "name": "f", "arguments": "{not json"}


# --- pydantic-ai, OpenLIT, Anthropic SDK (OTel current on spans) ------------------------------

PYD = "pydantic-ai-2.68.0"


def test_pydantic_ai_system_only_in_instructions_and_arguments_parsed():
    a = span_attrs(PYD)["4faeba33a24991c5"]
    inputs = otel_messages(a["gen_ai.input.messages"])
    outputs = otel_messages(a["gen_ai.output.messages"])
    assert roles(inputs) == ["user"]
    assert text_of(inputs[0]) == USER
    assert otel_parts(a["gen_ai.system_instructions"]) == [{"type": "text", "content": SYSTEM}]
    assert '"arguments":"{' in a["gen_ai.output.messages"]  # sent as a JSON string…
    assert_tool_call(outputs[0])  # …read as an object
    assert outputs[0]["finish_reason"] == "tool_call"


def test_pydantic_ai_tool_result_in_a_user_message_becomes_response():
    a = span_attrs(PYD)["1e3e3fbcc55679a1"]
    inputs = otel_messages(a["gen_ai.input.messages"])
    assert roles(inputs) == ["user", "assistant", "user"]
    assert_tool_call(inputs[1])
    assert_tool_response(inputs[2])
    assert only_part(inputs[2], "tool_call_response")["name"] == "get_weather"  # extra key kept
    assert text_of(otel_messages(a["gen_ai.output.messages"])[0]) == ANSWER


def test_pydantic_ai_agent_span_all_messages():
    a = span_attrs(PYD)["59eef6cea6f29c22"]
    run = otel_messages(a["pydantic_ai.all_messages"])
    assert roles(run) == ["user", "assistant", "user", "assistant"]
    assert_tool_response(run[2])
    assert run[3]["finish_reason"] == "stop"


OLIT = "openlit-1.45.0"


def test_openlit_system_both_inside_input_and_in_instructions():
    a = span_attrs(OLIT)["542ef70f189a8371"]
    inputs = otel_messages(a["gen_ai.input.messages"])
    assert roles(inputs) == ["system", "user"]
    assert text_of(inputs[0]) == SYSTEM
    assert otel_parts(a["gen_ai.system_instructions"]) == [{"type": "text", "content": SYSTEM}]
    outputs = otel_messages(a["gen_ai.output.messages"])
    assert_tool_call(outputs[0])
    assert outputs[0]["finish_reason"] == "tool_call"


def test_openlit_second_chat_leaves_out_the_assistant_tool_call():
    a = span_attrs(OLIT)["0708c93d7cc2ecf6"]
    inputs = otel_messages(a["gen_ai.input.messages"])
    assert roles(inputs) == ["system", "user", "tool"]  # as sent: OpenLIT drops the assistant turn
    assert_tool_response(inputs[2])


def test_openlit_log_events_match_the_span_and_carry_system_instructions():
    events = log_events(OLIT)
    for span_id in ("542ef70f189a8371", "0708c93d7cc2ecf6"):
        span = span_attrs(OLIT)[span_id]
        inputs, outputs, system = messages_from_log_events(events[span_id])
        assert inputs == otel_messages(span["gen_ai.input.messages"])
        assert outputs == otel_messages(span["gen_ai.output.messages"])
        assert system == [{"type": "text", "content": SYSTEM}]
    # the streamed calls' records have no span id (emitted after the span closed)
    orphans = events[""]
    assert len(orphans) == 2
    _, outputs, _ = messages_from_log_events(orphans[:1])
    assert text_of(outputs[0]).startswith("Bonjour!")


ANTH = "anthropic-2.14.0"
ANTH_CALL_ID = "toolu_0001MockFixture07919"


def test_anthropic_tool_use_round_trip():
    spans = span_attrs(ANTH)
    first = spans["ef1880b2790a4b66"]
    assert roles(otel_messages(first["gen_ai.input.messages"])) == ["user"]
    assert otel_parts(first["gen_ai.system_instructions"]) == [{"type": "text", "content": SYSTEM}]
    out = otel_messages(first["gen_ai.output.messages"])[0]
    assert [p["type"] for p in out["parts"]] == ["text", "tool_call"]
    assert_tool_call(out, ANTH_CALL_ID)
    assert "finish_reason" not in out  # only anthropic.message.stop_reason on the span

    second = spans["c23716ed2c091e5b"]
    inputs = otel_messages(second["gen_ai.input.messages"])
    assert roles(inputs) == ["user", "assistant", "user"]
    assert_tool_response(inputs[2], ANTH_CALL_ID)
    response = only_part(inputs[2], "tool_call_response")["response"]
    assert isinstance(response, list) and response[0]["type"] == "text"  # content blocks kept as sent
    text = message_text(inputs, otel_parts(second["gen_ai.system_instructions"]))
    assert text.splitlines()[0] == SYSTEM
    assert '{"city": "Paris", "temperature_c": 18, "conditions": "sunny"}' in text.splitlines()


def test_anthropic_raw_stream_has_no_output():
    a = span_attrs(ANTH)["a525be6ffa521f85"]
    assert otel_messages(a.get("gen_ai.output.messages")) is None
    assert roles(otel_messages(a["gen_ai.input.messages"])) == ["user"]


# --- hand-made: Traceloop classic, old span events, OpenAI style -----------------------------

def test_traceloop_flattened_prompt_and_completion():
    a = {
        "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": SYSTEM,
        "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": USER,
        "gen_ai.prompt.2.role": "assistant",
        "gen_ai.prompt.2.tool_calls.0.id": CALL_ID, "gen_ai.prompt.2.tool_calls.0.name": "get_weather",
        "gen_ai.prompt.2.tool_calls.0.arguments": json.dumps(ARGUMENTS),
        "gen_ai.prompt.3.role": "tool", "gen_ai.prompt.3.tool_call_id": CALL_ID,
        "gen_ai.prompt.3.content": json.dumps(RESULT),
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": ANSWER,
        "gen_ai.completion.0.finish_reason": "stop",
        "gen_ai.prompt": "not an indexed key",
    }
    inputs = traceloop_messages(a, "gen_ai.prompt")
    assert roles(inputs) == ["system", "user", "assistant", "tool"]
    assert_tool_call(inputs[2])
    assert_tool_response(inputs[3])
    outputs = traceloop_messages(a, "gen_ai.completion")
    assert outputs == [{"role": "assistant", "parts": [{"type": "text", "content": ANSWER}], "finish_reason": "stop"}]


def test_traceloop_embeddings_inputs_without_role_and_multimodal_content():
    a = {"gen_ai.prompt.0.content": "weather in Paris", "gen_ai.prompt.1.content": "Paris travel tips"}
    assert roles(traceloop_messages(a, "gen_ai.prompt")) == ["user", "user"]
    blocks = [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": "data:x"}}]
    a = {"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": json.dumps(blocks)}
    assert traceloop_messages(a, "gen_ai.prompt")[0]["parts"] == [
        {"type": "text", "content": "what is this?"}, {"type": "uri", "modality": "image", "uri": "data:x"}]
    a = {"gen_ai.completion.0.content": "[{not json", "gen_ai.completion.0.finish_reason": "length"}
    assert traceloop_messages(a, "gen_ai.completion") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "[{not json"}], "finish_reason": "length"}]


def test_old_span_events_prompt_and_completion():
    prompt = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
    completion = [{"role": "assistant", "content": None, "tool_calls": [
        {"id": CALL_ID, "type": "function", "function": {"name": "get_weather", "arguments": json.dumps(ARGUMENTS)}}]}]
    events = [("gen_ai.content.prompt", {"gen_ai.prompt": json.dumps(prompt)}),
              ("gen_ai.content.completion.chunk", {}),
              ("gen_ai.content.completion", {"gen_ai.completion": json.dumps(completion)})]
    inputs, outputs = messages_from_span_events(events)
    assert roles(inputs) == ["system", "user"] and text_of(inputs[1]) == USER
    assert roles(outputs) == ["assistant"]
    assert_tool_call(outputs[0])
    assert messages_from_span_events([("exception", {"exception.type": "X"})]) == (None, None)


def test_openai_style_messages():
    messages = openai_style_messages([
        {"role": "user", "content": [{"type": "text", "text": USER}]},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": CALL_ID, "type": "function", "function": {"name": "get_weather", "arguments": ARGUMENTS}}]},
        {"role": "tool", "tool_call_id": CALL_ID, "content": json.dumps(RESULT)},
        {"role": "assistant", "function_call": {"name": "legacy", "arguments": "{}"}},
        {"index": 0, "finish_reason": "stop", "message": {"content": ANSWER}},
    ])
    assert roles(messages) == ["user", "assistant", "tool", "assistant", "assistant"]
    assert text_of(messages[0]) == USER
    assert [p["type"] for p in messages[1]["parts"]] == ["tool_call"]  # empty content is no part
    assert_tool_call(messages[1])
    assert_tool_response(messages[2])
    assert messages[3]["parts"] == [{"type": "tool_call", "name": "legacy", "arguments": {}}]
    assert messages[4]["finish_reason"] == "stop" and text_of(messages[4]) == ANSWER


def test_old_log_events_hand_made_variants():
    events = [
        ("gen_ai.user.message", USER, {}),  # a bare string body
        ("gen_ai.choice", {"index": 1, "finish_reason": "length", "message": {"content": "second"}}, {}),
        ("gen_ai.choice", {"index": 0, "finish_reason": "stop", "message": {}}, {}),  # content not captured
        ("gen_ai.tool.message", {"content": "x"}, {}),  # no id: plain text
        ("gen_ai.unknown", {"content": "ignored"}, {}),
        ("bad",),
        None,
    ]
    inputs, outputs, system = messages_from_log_events(events)
    assert roles(inputs) == ["user", "tool"]
    assert inputs[1]["parts"] == [{"type": "text", "content": "x"}]
    assert [m.get("finish_reason") for m in outputs] == ["stop", "length"]  # ordered by index
    assert outputs[0]["parts"] == [] and text_of(outputs[1]) == "second"
    assert system is None


# --- shapes, bad input, message text ---------------------------------------------------------

def test_otel_messages_accepts_structured_lists_and_does_not_mutate_them():
    value = [{"role": "assistant", "parts": [{"type": "tool_call", "id": "1", "name": "f", "arguments": '{"a": 1}'}]},
             {"role": "user", "parts": [{"type": "tool_call_response", "id": "1", "result": 2}]}]
    before = json.dumps(value)
    messages = otel_messages(value)
    assert messages[0]["parts"][0]["arguments"] == {"a": 1}
    assert messages[1]["parts"][0] == {"type": "tool_call_response", "id": "1", "response": 2}
    assert json.dumps(value) == before
    other = {"type": "reasoning", "content": "hmm"}
    assert otel_messages([{"role": "assistant", "parts": [other]}])[0]["parts"][0] is other  # passed through


def test_otel_parts_variants():
    assert otel_parts("Be brief.") == [{"type": "text", "content": "Be brief."}]
    assert otel_parts("42") == [{"type": "text", "content": "42"}]
    assert otel_parts('"Be brief."') == [{"type": "text", "content": "Be brief."}]
    assert otel_parts([{"type": "text", "content": "a"}, "b"]) == [
        {"type": "text", "content": "a"}, {"type": "text", "content": "b"}]
    assert otel_parts('[{"role": "system", "parts": [{"type": "text", "content": "a"}]}]') == [
        {"type": "text", "content": "a"}]
    assert otel_parts("") is None and otel_parts(None) is None and otel_parts(3.5) is None and otel_parts([]) is None


@pytest.mark.parametrize("value", [
    None, "", "not json", "[{", "42", "null", 42, 3.5, True, {"no": "role"}, [1, 2, "x"], "[]", [],
    '{"role": 5}', "[" * 100_000 + "]" * 100_000, [None, {"parts": "nope"}],
])
def test_bad_input_gives_none(value):
    assert otel_messages(value) is None
    assert openai_style_messages(value) is None


def test_bad_input_is_best_effort_and_never_raises():
    # missing or odd roles: kept with role "unknown"; broken parts dropped
    messages = otel_messages([{"parts": [{"type": "text", "content": "hi"}, 7, None]}, {"role": "", "parts": []}])
    assert messages == [{"role": "unknown", "parts": [{"type": "text", "content": "hi"}]},
                        {"role": "unknown", "parts": []}]
    # OpenAI-style content where OTel parts belong
    assert otel_messages('[{"role": "user", "content": "hi"}]') == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    for attrs in (None, 42, "x", [], {"llm.input_messages.0.message.role": 5}):
        assert openinference_messages(attrs, "llm.input_messages") is None
        assert traceloop_messages(attrs, "gen_ai.prompt") is None
    for events in (None, 42, "x", [1, (None, None, None), ("gen_ai.choice", 5, 5)]):
        assert messages_from_log_events(events) == (None, None, None)
        assert messages_from_span_events(events) == (None, None)
    assert messages_from_span_events([("gen_ai.content.prompt", {"gen_ai.prompt": "{broken"})]) == (None, None)
    assert message_text(None) == "" and message_text(42, system="x") == ""
    assert message_text([{"parts": [None, {"type": "blob", "content": "AAAA"}, {"type": "text"}]}]) == ""


def test_huge_values_are_kept_or_refused_whole():
    huge = "x" * 5_000_000
    assert otel_messages(json.dumps([{"role": "user", "parts": [{"type": "text", "content": huge}]}])) is None
    assert otel_parts(huge) == [{"type": "text", "content": huge}]  # plain text stays text
    messages = otel_messages([{"role": "user", "parts": [{"type": "text", "content": huge}]}])
    assert len(message_text(messages)) == len(huge)
    many = json.dumps([{"role": "user", "parts": [{"type": "text", "content": str(i)}]} for i in range(20_000)])
    assert len(otel_messages(many)) == 20_000


def test_message_text_collects_text_tool_calls_and_responses():
    a = span_attrs(V2)[V2_CHAT2]
    inputs = otel_messages(a["gen_ai.input.messages"])
    outputs = otel_messages(a["gen_ai.output.messages"])
    lines = message_text(inputs + outputs).splitlines()
    assert lines == [SYSTEM, USER, "get_weather", '{"city": "Paris"}', json.dumps(RESULT), ANSWER]
    assert message_text(outputs, system=[{"type": "text", "content": "sys"}]).splitlines() == ["sys", ANSWER]


def test_finish_reasons_are_read_from_output_messages_whatever_their_json():
    two = json.dumps([{"role": "assistant", "parts": [], "finish_reason": "stop"},
                      {"role": "assistant", "parts": [], "finish_reason": "length"}])
    assert output_finish_reasons(two) == ["stop", "length"]
    # the fast reader refuses a NaN literal; the exact one takes it
    assert output_finish_reasons('[{"role": "assistant", "score": NaN, "finish_reason": "stop"}]') == ["stop"]
    assert output_finish_reasons("[{not json") is None
    assert output_finish_reasons([{"role": "assistant", "finish_reason": "tool_calls"}]) == ["tool_calls"]
