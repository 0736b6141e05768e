"""The playground's pure parts: a recorded call sent to a provider on loopback in the OpenAI
and Anthropic wire formats (`tests.mock_provider`), where the key comes from, the errors a
user sees, the word diff, and a run recorded through the real receiver as a trace of its own
linked to the call it re-ran — with the key nowhere in the database."""

from __future__ import annotations

import json
import socket
import sqlite3

import pytest

from app.playground.answer_diff import DELETED, INSERTED, SAME, answer_text, word_diff
from app.playground.provider_client import Endpoint, ProviderError, endpoint_for, send
from app.playground.run_record import PLAYGROUND_SERVICE, run_document
from app.provider_payloads import ANTHROPIC, OPENAI, model_call
from tests.mock_provider import ANSWER, mock_provider

KEY = "sk-test-0123456789abcdefSECRET"


def _chat(trace, provider: str):
    return [s for s in trace.spans if s.genai.get("operation") == "chat" and s.genai.get("provider") == provider][-1]


def test_an_openai_call_is_sent_as_recorded_and_its_answer_read(first_turn):
    call = model_call(_chat(first_turn, "openai"))
    assert call.api == OPENAI and call.model == "gpt-4o-mini"
    with mock_provider() as provider:
        answer = send(call, Endpoint(OPENAI, provider.openai_base_url, KEY, "OPENAI_API_KEY"))
    [request] = provider.requests
    assert request.path == "/v1/chat/completions" and request.headers["authorization"] == f"Bearer {KEY}"
    body = request.body
    assert (body["model"], body["temperature"], body["seed"], body["max_tokens"]) == ("gpt-4o-mini", 0.2, 42, 1024)
    assert body["messages"][0]["role"] == "system" and any(m["role"] == "tool" for m in body["messages"])
    assert body["tools"][0]["function"]["name"] == "lookup_order"
    assert answer.text == ANSWER and answer.response_id == "chatcmpl-mock-1" and answer.finish_reason == "stop"
    assert (answer.input_tokens, answer.output_tokens, answer.response_model) == (321, 21, "gpt-4o-mini-2024")
    assert answer.end_ns >= answer.start_ns > 0


def test_an_anthropic_call_uses_the_messages_api_and_counts_cached_input(first_turn):
    call = model_call(_chat(first_turn, "anthropic"))
    assert call.api == ANTHROPIC
    with mock_provider() as provider:
        answer = send(call, Endpoint(ANTHROPIC, provider.anthropic_base_url, KEY, "ANTHROPIC_API_KEY"))
    [request] = provider.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == KEY and request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.body["system"].startswith("You are Ada") and "seed" not in request.body
    assert answer.text == ANSWER and answer.response_id == "msg_mock_1"
    assert answer.input_tokens == 320  # 300 uncached + 20 read from the cache: the OTel meaning


def test_the_key_comes_from_the_environment_then_the_keyring():
    asked = []

    def keyring(service: str, user: str) -> str | None:
        asked.append((service, user))
        return "from-keyring"

    from_env = endpoint_for(OPENAI, {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}, keyring)
    assert (from_env.api_key, from_env.key_source, from_env.base_url) == (KEY, "OPENAI_API_KEY",
                                                                          "http://127.0.0.1:1/v1")
    assert asked == []
    from_keyring = endpoint_for(ANTHROPIC, {}, keyring)
    assert (from_keyring.api_key, from_keyring.key_source) == ("from-keyring", "the OS keyring")
    assert from_keyring.url == "https://api.anthropic.com/v1/messages" and asked == [("tracepane", "anthropic")]
    assert KEY not in repr(from_env)  # never in a log line or a traceback's locals


def test_no_key_is_an_error_before_anything_is_sent(first_turn):
    call = model_call(_chat(first_turn, "openai"))
    with mock_provider() as provider:
        with pytest.raises(ProviderError, match="OPENAI_API_KEY"):
            send(call, endpoint_for(OPENAI, {"OPENAI_BASE_URL": provider.openai_base_url}, lambda s, u: None))
    assert provider.requests == []


def test_the_providers_error_and_an_unreachable_server_are_said_plainly(first_turn):
    call = model_call(_chat(first_turn, "openai"))
    with mock_provider() as provider:
        provider.fail_with = (404, "The model `gpt-4o-mini` does not exist")
        with pytest.raises(ProviderError, match=r"answered 404: The model `gpt-4o-mini` does not exist"):
            send(call, Endpoint(OPENAI, provider.openai_base_url, KEY, "OPENAI_API_KEY"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # nothing listens here
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
        with pytest.raises(ProviderError, match="Could not reach"):
            send(call, Endpoint(OPENAI, closed, KEY, "OPENAI_API_KEY"), timeout=5)


def test_the_word_diff_keeps_what_stayed_and_marks_what_changed():
    runs = word_diff("Your order shipped on Monday.", "Your order shipped on Tuesday, sorry.")
    assert "".join(text for op, text in runs if op != INSERTED) == "Your order shipped on Monday."
    assert "".join(text for op, text in runs if op != DELETED) == "Your order shipped on Tuesday, sorry."
    assert (DELETED, "Monday") in runs and (SAME, "Your order shipped on ") in runs
    assert word_diff("same", "same") == [(SAME, "same")]
    assert answer_text([{"role": "assistant", "parts": [
        {"type": "text", "content": "Checking."},
        {"type": "tool_call", "name": "lookup_order", "arguments": {"order_id": "A1"}}]}]) == (
        'Checking.\n→ tool call lookup_order({"order_id": "A1"})')


def test_a_run_is_recorded_as_a_playground_trace_linked_to_the_original(first_turn, receiver, store, db_path):
    original = _chat(first_turn, "openai")
    call = model_call(original)
    with mock_provider() as provider:
        endpoint = Endpoint(OPENAI, provider.openai_base_url, KEY, "OPENAI_API_KEY")
        answer = send(call, endpoint)
    document, trace_id, span_id = run_document(call, endpoint, (original.trace_id, original.span_id), answer)
    receiver.import_request("traces", json.dumps(document).encode())
    assert receiver.flush(10)
    [run] = store.get_trace(trace_id).spans
    assert run.span_id == span_id and run.service_name == PLAYGROUND_SERVICE
    assert run.genai["request_model"] == "gpt-4o-mini" and run.genai["response_id"] == "chatcmpl-mock-1"
    assert (run.genai["input_tokens"], run.genai["output_tokens"]) == (321, 21)
    assert run.genai["cost_usd"] > 0  # priced like any call
    assert [(link["traceId"], link["spanId"]) for link in run.links] == [(original.trace_id, original.span_id)]
    full = store.get_span(trace_id, span_id)[0]
    assert answer_text(full.content["output_messages"]) == ANSWER
    assert full.content["input_messages"] == original.content["input_messages"]
    with sqlite3.connect(db_path) as conn:
        assert KEY not in "\n".join(conn.iterdump())


def test_a_failed_run_is_recorded_as_an_error(first_turn, receiver, store):
    original = _chat(first_turn, "openai")
    call = model_call(original)
    endpoint = Endpoint(OPENAI, "http://127.0.0.1:9/v1", KEY, "OPENAI_API_KEY")
    document, trace_id, _ = run_document(call, endpoint, (original.trace_id, original.span_id),
                                         failure="answered 401: bad key", start_ns=10**18, end_ns=10**18 + 5)
    receiver.import_request("traces", json.dumps(document).encode())
    assert receiver.flush(10)
    [run] = store.get_trace(trace_id).spans
    assert run.status_code == 2 and run.status_message == "answered 401: bad key"
