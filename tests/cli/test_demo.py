"""`tracepane demo`: the demo runs reach a real receiver over OTLP/gRPC and show every kind of
span the app draws; without a receiver it fails in one line."""

from __future__ import annotations

import json
import socket

from app.cli import main
from app.demo import CONVERSATION

CHAT_PRICES_PER_MTOK = {"gpt-4o-mini-2024-07-18": (0.15, 0.60)}  # input, output: USD per million tokens


def test_demo_sends_a_conversation_with_every_kind_of_span(receiver, store, capsys):
    port = receiver.addresses.grpc_port
    assert main(["demo", "--grpc-port", str(port)]) == 0
    assert f"sent 3 demo traces (13 spans) to 127.0.0.1:{port}" in capsys.readouterr().out

    traces = store.list_traces(limit=10).traces  # acknowledged only after commit: no waiting
    assert len(traces) == 3
    assert {t.session_id for t in traces} == {CONVERSATION}
    assert [t.error_count for t in traces] == [0, 1, 0]  # newest first: the rate-limited turn is the middle one

    spans = [s for t in traces for s in store.get_trace(t.trace_id).spans]
    by_operation: dict[str, list] = {}
    for span in spans:
        by_operation.setdefault(span.genai["operation"], []).append(span)
    assert set(by_operation) == {"invoke_agent", "chat", "execute_tool", "retrieval", "embeddings"}

    sub_agent = next(s for s in by_operation["invoke_agent"] if s.parent_span_id is not None)
    assert sub_agent.genai["agent_name"] == "refund-agent"
    (cached_call,) = [s for s in spans if s.parent_span_id == sub_agent.span_id]
    assert cached_call.genai["provider"] == "anthropic"
    assert cached_call.genai["cache_read_tokens"] == 1536
    assert cached_call.genai["finish_reasons"] == ["stop"]  # Anthropic's end_turn, canonical

    (streamed,) = [s for s in by_operation["chat"] if s.genai["is_streaming"]]
    assert streamed.genai["ttft_ms"] == 412.0

    (failed,) = [s for s in spans if s.status_code == 2]
    assert failed.genai["error_type"] == "RateLimitError"
    assert failed.genai["cost_usd"] is None

    (tool,) = by_operation["execute_tool"]
    assert tool.genai["tool_name"] == "lookup_order"
    assert tool.content["tool_arguments"] == {"order_id": "A1042"}

    # every priced OpenAI chat at gpt-4o-mini's rates, by hand: (input x 0.15 + output x 0.60) / 1e6
    input_rate, output_rate = CHAT_PRICES_PER_MTOK["gpt-4o-mini-2024-07-18"]
    for span in by_operation["chat"]:
        if span.genai["provider"] == "openai" and span.genai["input_tokens"]:
            expected = (span.genai["input_tokens"] * input_rate + span.genai["output_tokens"] * output_rate) / 1e6
            assert abs(span.genai["cost_usd"] - expected) < 1e-12
    assert all(t.cost_usd and t.cost_usd > 0 for t in traces)


def test_traces_command_filters_the_demo_by_model_and_text(receiver, db_path, capsys):
    assert main(["demo", "--grpc-port", str(receiver.addresses.grpc_port)]) == 0
    capsys.readouterr()

    def listed(*options: str) -> list[dict]:
        assert main(["traces", "--db", str(db_path), "--json", *options]) == 0
        return json.loads(capsys.readouterr().out)

    everything = listed()
    assert len(everything) == 3
    first_turn = everything[2]  # newest first
    assert [t["trace_id"] for t in listed("--model", "claude-3-5-sonnet-20241022")] == [first_turn["trace_id"]]
    assert [t["trace_id"] for t in listed("--text", "A1042")] == [first_turn["trace_id"]]  # prompt and tool text
    (rate_limited,) = listed("--text", "RATE LIMIT REACHED")  # the failed call's status message
    assert rate_limited["trace_id"] == everything[1]["trace_id"]
    assert listed("--text", "A1042", "--errors") == []


def test_demo_without_a_receiver_says_so_in_one_line(capsys):
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["demo", "--grpc-port", str(port)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"tracepane: no OTLP/gRPC receiver answered at 127.0.0.1:{port} (UNAVAILABLE")
    assert "\n" not in err and "Traceback" not in err
