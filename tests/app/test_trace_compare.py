"""Comparing two runs: traces built to diverge at a known step — another tool, other
arguments, another model, a step only one run took — sent over real OTLP and read back; the
steps in agent-path order (a sub-agent's calls inside their parent's); the per-step deltas;
and `tracepane diff` (exit 0 either way, 1 for a missing trace, 2 for bad usage)."""

from __future__ import annotations

import json
import os

import pytest

from app.trace_compare import MODEL, TOOL_CALL, agent_steps, compare_traces, comparison_text
from tests.conftest import post, run_tracepane
from tests.otlp_builders import BASE_NS, make_request, make_span, new_trace_id

MS = 1_000_000


def _run(receiver, steps: list[tuple]) -> str:
    """An agent run: one span per step under the agent span, in order. A step is ("chat", model,
    input tokens, output tokens), ("tool", name, arguments) or ("agent", [steps]) for a sub-agent."""
    trace_id = new_trace_id()
    spans = []
    clock = [BASE_NS]

    def add(parent: bytes, items: list[tuple]) -> None:
        for item in items:
            clock[0] += 100 * MS
            span_id = os.urandom(8)
            if item[0] == "chat":
                _, model, tokens_in, tokens_out = item
                attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                              "gen_ai.request.model": model, "gen_ai.usage.input_tokens": tokens_in,
                              "gen_ai.usage.output_tokens": tokens_out}
                name = f"chat {model}"
            elif item[0] == "tool":
                _, tool, arguments = item
                attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool,
                              "gen_ai.tool.call.arguments": json.dumps(arguments)}
                name = f"execute_tool {tool}"
            else:
                attributes, name = {"gen_ai.operation.name": "invoke_agent"}, "invoke_agent helper"
            spans.append(make_span(trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name,
                                   start_ns=clock[0], duration_ns=50 * MS, attributes=attributes))
            if item[0] == "agent":
                add(span_id, item[1])

    root = os.urandom(8)
    spans.append(make_span(trace_id=trace_id, span_id=root, name="invoke_agent planner", start_ns=BASE_NS,
                           duration_ns=10_000 * MS, attributes={"gen_ai.operation.name": "invoke_agent"}))
    add(root, steps)
    answer = post(receiver.addresses.http_port, make_request(*reversed(spans)).SerializeToString())
    assert answer.status == 200, answer.body
    return trace_id.hex()


BASE = [("chat", "gpt-4o-mini", 100, 10), ("tool", "get_weather", {"city": "Paris"}), ("chat", "gpt-4o-mini", 200, 20)]


def _compared(receiver, store, a_steps, b_steps):
    a, b = _run(receiver, a_steps), _run(receiver, b_steps)
    return compare_traces(store.get_trace(a), store.get_trace(b))


def test_the_same_path_does_not_diverge_and_the_deltas_are_per_step(receiver, store):
    other = [("chat", "gpt-4o-mini", 130, 10), BASE[1], ("chat", "gpt-4o-mini", 200, 5)]
    comparison = _compared(receiver, store, BASE, other)
    assert comparison.first_divergence is None
    assert [pair.delta("input_tokens") for pair in comparison.pairs] == [30, 0, 0]
    assert [pair.delta("output_tokens") for pair in comparison.pairs] == [0, 0, -15]
    assert comparison.pairs[0].delta("cost_usd") == pytest.approx(30 * 0.15e-6)
    assert comparison.total("input_tokens", "b") == 330


@pytest.mark.parametrize(("b_steps", "at", "says"), [
    ([BASE[0], ("tool", "get_weather", {"city": "Lyon"}), BASE[2]], 1,
     'tool get_weather called with different arguments: {"city":"Paris"} vs {"city":"Lyon"}'),
    ([BASE[0], ("tool", "web_search", {"q": "Paris"}), BASE[2]], 1, "different tool: get_weather vs web_search"),
    ([BASE[0], BASE[1], ("chat", "gpt-4o", 200, 20)], 2, "different model: gpt-4o-mini vs gpt-4o"),
    ([BASE[0], ("tool", "get_time", {}), BASE[1], BASE[2]], 1, "only run B made tool get_time {}"),
    ([BASE[0], BASE[2]], 1, 'only run A made tool get_weather {"city":"Paris"}'),
])
def test_the_first_divergence_is_found_where_the_runs_part(receiver, store, b_steps, at, says):
    comparison = _compared(receiver, store, BASE, b_steps)
    assert comparison.first_divergence == at
    assert comparison.diverged.difference == says
    if at < len(comparison.pairs) - 1:  # the steps after the divergence pair up again
        assert comparison.pairs[-1].a.name == comparison.pairs[-1].b.name == "gpt-4o-mini"
        assert not comparison.pairs[-1].difference


def test_arguments_compare_by_value_not_by_spelling(receiver, store):
    a = [("tool", "search", {"q": "x", "n": 3})]
    b = [("tool", "search", {"n": 3, "q": "x"})]
    assert _compared(receiver, store, a, b).first_divergence is None


def test_steps_follow_the_agent_path_depth_first(receiver, store):
    trace_id = _run(receiver, [("chat", "gpt-4o-mini", 1, 1),
                               ("agent", [("tool", "lookup", {"id": 1}), ("chat", "claude-3-5-haiku", 1, 1)]),
                               ("chat", "gpt-4o", 1, 1)])
    steps = agent_steps(store.get_trace(trace_id))
    assert [(s.kind, s.name) for s in steps] == [(MODEL, "gpt-4o-mini"), (TOOL_CALL, "lookup"),
                                                 (MODEL, "claude-3-5-haiku"), (MODEL, "gpt-4o")]


def test_the_text_marks_the_divergence(receiver, store):
    comparison = _compared(receiver, store, BASE, [BASE[0], ("tool", "get_weather", {"city": "Lyon"}), BASE[2]])
    text = comparison_text(comparison)
    row = next(line for line in text.splitlines() if line.lstrip().startswith("2 "))
    assert row.endswith("← first divergence") and "Paris" in row and "Lyon" in row
    assert "First divergence at step 2: tool get_weather called with different arguments" in text


def test_tracepane_diff_exits_0_either_way_1_when_missing_2_on_bad_usage(receiver, db_path):
    a, b = _run(receiver, BASE), _run(receiver, [BASE[0], BASE[2]])
    assert receiver.flush(10)
    done = run_tracepane("diff", a, b[:10], "--db", str(db_path))
    assert done.returncode == 0, done.stderr
    assert "First divergence at step 2: only run A made tool get_weather" in done.stdout
    same = run_tracepane("diff", a, a, "--db", str(db_path))
    assert same.returncode == 0 and "No divergence" in same.stdout
    missing = run_tracepane("diff", a, "f" * 32, "--db", str(db_path))
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert run_tracepane("diff", a, "--db", str(db_path)).returncode == 2
    assert run_tracepane("diff", a, "xyz", "--db", str(db_path)).returncode == 2
