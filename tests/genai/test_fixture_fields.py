"""Real captured telemetry of seven instrumentation libraries, sent through the receiver,
gives the same canonical GenAI fields: the facts of the capture (MANIFEST.md) whichever
library reported them, prompts in log records included."""

from __future__ import annotations

import json

import pytest

from app.cli_output import trace_json
from receiver.config import ReceiverConfig
from receiver.service import Receiver
from tests.conftest import FIXTURES, fixture_requests, post

OPENAI_LIBS = ["opentelemetry-instrumentation-openai-v2-2.4b0", "opentelemetry-instrumentation-openai-v2-2.0b0",
               "openinference-instrumentation-openai-0.1.66", "openlit-1.45.0", "pydantic-ai-2.68.0"]
CALL_ID = "call_0002MockFixture15838"
WEATHER = {"city": "Paris", "temperature_c": 18, "conditions": "sunny"}


def load(db_path, *names: str) -> list[dict]:
    """Send every signal of the named captures (logs first: prompts before their spans)."""
    spans = []
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)) as receiver:
        for name in names:
            for signal in ("logs", "traces", "metrics"):
                path = FIXTURES / f"{name}.{signal}.jsonl"
                if not path.exists():
                    continue
                for request in fixture_requests(path):
                    answer = post(receiver.addresses.http_port, json.dumps(request).encode(), "application/json",
                                  path=f"/v1/{signal}")
                    assert answer.status == 200, answer.body
        store = receiver.store()
        traces = store.list_traces(limit=1000).traces
        for trace in traces:
            spans += trace_json(store.get_trace(trace.trace_id))["spans"]
        store.close()
    return spans


def by_response(spans: list[dict], suffix: str) -> dict:
    (span,) = [s for s in spans if (s["response_id"] or "").endswith(suffix)]
    return span


def parts(messages: list[dict], kind: str) -> list[dict]:
    return [p for m in messages or [] for p in m["parts"] if p.get("type") == kind]


@pytest.fixture(scope="module", params=OPENAI_LIBS)
def openai_lib(request, tmp_path_factory):
    name = request.param
    if not (FIXTURES / f"{name}.traces.jsonl").exists():
        pytest.skip(f"fixture {name} missing")
    return name, load(tmp_path_factory.mktemp(name) / "t.db", name)


def test_the_tool_calling_chat_has_the_capture_facts(openai_lib):
    name, spans = openai_lib
    chat = by_response(spans, "0001MockFixture07919")
    assert (chat["operation"], chat["provider"]) == ("chat", "openai")
    assert (chat["request_model"], chat["response_model"]) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert (chat["temperature"], chat["top_p"], chat["seed"], chat["max_tokens"]) == (0.2, 0.9, 42, 256)
    assert chat["finish_reasons"] == ["tool_call"]
    assert (chat["input_tokens"], chat["output_tokens"]) == (75, 15)
    (call,) = parts(chat["output_messages"], "tool_call")
    assert (call["id"], call["name"], call["arguments"]) == (CALL_ID, "get_weather", {"city": "Paris"})
    assert [m["role"] for m in chat["input_messages"]][-1] == "user"
    assert "Paris" in json.dumps(chat["input_messages"])
    assert chat["cost_usd"] == pytest.approx(75 * 0.15 / 1e6 + 15 * 0.60 / 1e6)


def test_the_second_chat_sees_the_tool_result_and_cached_tokens_where_reported(openai_lib):
    name, spans = openai_lib
    chat = by_response(spans, "0003MockFixture23757")
    assert chat["finish_reasons"] == ["stop"] and chat["output_tokens"] == 17
    (response,) = parts(chat["input_messages"], "tool_call_response")
    assert response["id"] == CALL_ID
    result = response["response"]
    assert (json.loads(result) if isinstance(result, str) else result) == WEATHER
    if name.startswith("opentelemetry-instrumentation-openai-v2"):
        assert chat["cache_read_tokens"] is None  # not recorded by these versions: unknown, not 0
        assert chat["input_tokens"] == 155
    elif name.startswith("pydantic-ai"):
        assert chat["cache_read_tokens"] == 79  # pydantic re-serialises messages: its own counts
    else:
        assert (chat["input_tokens"], chat["cache_read_tokens"]) == (155, 77)


def test_the_tool_span_names_its_call(openai_lib):
    name, spans = openai_lib
    (tool,) = [s for s in spans if s["operation"] == "execute_tool" and s["tool_call_id"] == CALL_ID]
    assert tool["tool_name"] == "get_weather"
    if name != "opentelemetry-instrumentation-openai-v2-2.0b0":  # hand-made there, without arguments
        assert tool["tool_arguments"] == {"city": "Paris"} and tool["tool_result"] == WEATHER


def test_the_failed_call_has_an_error_type(openai_lib):
    name, spans = openai_lib
    failed = [s for s in spans if s["status_code"] == "error" and s["operation"] == "chat"]
    assert failed and all(s["error_type"] for s in failed)
    expected = "ModelContextWindowExceededError" if "pydantic" in name else "BadRequestError"
    assert {s["error_type"] for s in failed} == {expected}


def test_streamed_calls_have_their_usage_or_none(openai_lib):
    name, spans = openai_lib
    with_usage = by_response(spans, "0004MockFixture31676" if "pydantic" not in name else "0006MockFixture47514")
    assert with_usage["output_tokens"] is not None
    if "pydantic" not in name:
        assert (with_usage["input_tokens"], with_usage["output_tokens"]) == (19, 21)
        without = by_response(spans, "0005MockFixture39595")
        expected = (30, 41) if name.startswith("openlit") else (None, None)  # openlit estimates its own
        assert (without["input_tokens"], without["output_tokens"]) == expected
        assert "output_messages" in without and parts(without["output_messages"], "text")


def test_the_agent_run_carries_the_conversation(openai_lib):
    name, spans = openai_lib
    agent = next(s for s in spans if s["operation"] == "invoke_agent" and s["session_id"] == "conv-7f3a9c21")
    assert agent["agent_name"] == "weather-agent"


def test_old_conventions_take_their_prompts_from_log_records(tmp_path):
    spans = load(tmp_path / "t.db", "opentelemetry-instrumentation-openai-v2-2.0b0")
    chat = by_response(spans, "0001MockFixture07919")
    assert [m["role"] for m in chat["input_messages"]] == ["system", "user"]
    stream = by_response(spans, "0005MockFixture39595")
    assert stream["finish_reasons"] == ["stop"]  # only the gen_ai.choice event says so


def test_openinference_langchain(tmp_path):
    spans = load(tmp_path / "t.db", "openinference-instrumentation-langchain-0.1.80")
    chats = [s for s in spans if s["operation"] == "chat" and s["output_messages"]]
    tool_chat = next(s for s in chats if parts(s["output_messages"], "tool_call"))
    assert (tool_chat["provider"], tool_chat["response_model"], tool_chat["finish_reasons"]) == (
        "openai", "gpt-4o-mini-2024-07-18", ["tool_call"])
    assert (tool_chat["session_id"], tool_chat["user_id"]) == ("conv-7f3a9c21", "user-1234")
    (tool,) = [s for s in spans if s["operation"] == "execute_tool"]
    assert (tool["tool_name"], tool["tool_arguments"], tool["tool_call_id"]) == ("get_weather", "Paris", CALL_ID)
    assert any(s["operation"] == "invoke_agent" and s["agent_name"] == "weather-agent" for s in spans)


def test_anthropic_sdk_cache_tokens_and_cost(tmp_path):
    spans = load(tmp_path / "t.db", "anthropic-2.14.0")
    first, second = by_response(spans, "0002MockFixture15838"), by_response(spans, "0003MockFixture23757")
    assert (first["input_tokens"], first["cache_write_tokens"], first["cache_read_tokens"]) == (588, 512, 0)
    assert (second["input_tokens"], second["cache_read_tokens"], second["cache_write_tokens"]) == (1201, 1024, 0)
    assert first["finish_reasons"] == ["tool_call"] and second["finish_reasons"] == ["stop"]
    assert first["genai_extras"]["finish_reasons_raw"] == ["tool_use"]
    assert len(first["system_instructions"]) == 1
    # claude-sonnet-4-5: input 3.00, cache write 3.75, cache read 0.30, output 15.00 USD per million
    assert first["cost_usd"] == pytest.approx((76 * 3.00 + 512 * 3.75 + 45 * 15.00) / 1e6)
    assert second["cost_usd"] == pytest.approx((177 * 3.00 + 1024 * 0.30 + 17 * 15.00) / 1e6)
    assert first["cost_breakdown"]["usd"]["cache_write"] == pytest.approx(512 * 3.75 / 1e6)
    streamed = [s for s in spans if s["is_streaming"]]
    assert streamed and all(s["ttft_ms"] and s["ttft_ms"] > 0 for s in streamed)


def test_all_captures_in_one_database_keep_every_trace_total(tmp_path):
    """Ids repeat across captures (the same mock responses): the duplicate rule must not
    merge calls of different services."""
    names = sorted(p.name.split(".traces")[0] for p in FIXTURES.glob("*.traces.jsonl"))
    spans = load(tmp_path / "all.db", *names)
    assert not [s for s in spans if s["duplicate_of"]]
    with Receiver(ReceiverConfig(db_path=tmp_path / "all.db", grpc_port=0, http_port=0)) as receiver:
        store = receiver.store()
        for trace in store.list_traces(limit=1000).traces:
            members = [s for s in trace_json(store.get_trace(trace.trace_id))["spans"]]
            usage = [s for s in members if s["input_tokens"] is not None]
            assert trace.input_tokens == (sum(s["input_tokens"] for s in usage) if usage else None)
            assert trace.llm_calls == sum(s["operation"] in ("chat", "embeddings") for s in members)
        store.close()
