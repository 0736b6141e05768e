"""Copying a run out as text: a model call as a Python snippet that parses, runs against the
provider's SDK (stood in for here: the only mock, the provider) and sends the recorded model,
messages and parameters; the trace as a Markdown outline of its agent path; both from the
window (the inspector's Copy as code, the list's Copy trace as Markdown)."""

from __future__ import annotations

import ast
import dataclasses
import sys
import types

import pytest
from PySide6.QtGui import QGuiApplication

from app.call_as_code import call_as_code, can_be_code
from app.trace_markdown import MAX_SPANS, trace_markdown
from receiver.records import StoredEvaluation

WAIT_MS = 15_000


def _run_snippet(code: str, module: str, monkeypatch) -> dict:
    """Run the snippet with a stand-in for the provider's SDK; return what it was asked to send."""
    sent: dict = {}

    class _Create:
        def create(self, **request):
            sent.update(request)
            return types.SimpleNamespace(choices=[types.SimpleNamespace(message="ok")], content=["ok"])

    class _Client:
        def __init__(self, *args, **kwargs) -> None:
            self.chat = types.SimpleNamespace(completions=_Create())
            self.messages = _Create()

    sdk = types.ModuleType(module)
    sdk.OpenAI = sdk.Anthropic = _Client
    monkeypatch.setitem(sys.modules, module, sdk)
    exec(compile(code, "<snippet>", "exec"), {})  # noqa: S102 - the test runs the snippet it made
    return sent


def test_an_openai_call_as_code_sends_what_was_recorded(first_turn, monkeypatch):
    chats = [s for s in first_turn.spans if can_be_code(s) and s.genai["provider"] == "openai"]
    last = chats[-1]  # after a tool call: assistant tool_calls, then the tool's result
    code = call_as_code(last)
    ast.parse(code)
    sent = _run_snippet(code, "openai", monkeypatch)
    assert sent["model"] == "gpt-4o-mini"
    assert (sent["temperature"], sent["top_p"], sent["seed"], sent["max_tokens"]) == (0.2, 1.0, 42, 1024)
    roles = [m["role"] for m in sent["messages"]]
    assert roles[0] == "system" and "tool" in roles
    assistant = next(m for m in sent["messages"] if m.get("tool_calls"))
    tool = next(m for m in sent["messages"] if m["role"] == "tool")
    assert tool["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert assistant["tool_calls"][0]["function"]["name"] == "lookup_order"
    assert sent["tools"][0]["function"]["name"] == "lookup_order"
    assert last.genai["response_id"] in code  # the record it repeats


def test_an_anthropic_call_as_code_uses_the_messages_api(first_turn, monkeypatch):
    claude = next(s for s in first_turn.spans if can_be_code(s) and s.genai["provider"] == "anthropic")
    code = call_as_code(claude)
    sent = _run_snippet(code, "anthropic", monkeypatch)
    assert sent["model"] == "claude-3-5-sonnet-20241022" and "seed" not in sent
    assert sent["system"].startswith("You are Ada")
    assert sent["messages"][0]["role"] == "user" and sent["messages"][0]["content"][0]["type"] == "text"
    assert sent["tools"][0]["input_schema"]["properties"] == {"order_id": {"type": "string"}}


def test_only_model_calls_become_code(first_turn):
    kinds = {s.genai.get("operation"): can_be_code(s) for s in first_turn.spans}
    assert kinds["chat"] and not kinds["embeddings"] and not kinds["execute_tool"] and not kinds["invoke_agent"]


def test_the_markdown_outline_follows_the_agent_path(first_turn):
    text = trace_markdown(first_turn)
    assert text.startswith(f"## Trace `{first_turn.trace_id}` — invoke_agent support-agent")
    assert "2,800 in / 96 out tokens" in text and "session conv-demo-0001" in text
    order = [text.index(marker) for marker in ("user: Where is my order A1042?",
                                               'assistant calls `lookup_order({"order_id":"A1042"})`',
                                               '- arguments: `{"order_id":"A1042"}`', "- result: `{",
                                               "**invoke_agent refund-agent**", "→ assistant: Your order A1042")]
    assert order == sorted(order)
    assert text.count("system: You are Ada") == 1  # the conversation once, then what each call added


def test_the_markdown_outline_says_what_evaluators_and_people_found(first_turn):
    chat = next(s for s in first_turn.spans if s.genai.get("operation") == "chat")
    judged = dataclasses.replace(first_turn, evaluations=[
        StoredEvaluation(1, first_turn.trace_id, chat.span_id, None, "groundedness", 0.2, "ungrounded",
                         "cites no order", 0, "log", 0),
        StoredEvaluation(2, first_turn.trace_id, None, None, "human", None, "good", "fine overall", 1, "human", 0)])
    text = trace_markdown(judged)
    assert "- evaluation ✓ you: good — fine overall" in text.split("**")[0]  # of the whole trace, at the top
    under_chat = text[text.index(f"**{chat.name}**"):]
    assert under_chat.index("- evaluation ✗ groundedness: ungrounded (0.2) — cites no order") < \
        under_chat.index("**", len(chat.name) + 4)  # under its span, before the next one


def test_a_huge_trace_outline_stays_pasteable(big_window):
    window, big = big_window
    store = window.worker.store
    store.forbid_queries_on(None)
    text = trace_markdown(store.get_trace(big.trace_id))
    assert text.count("\n- ") + text.count("\n  ") >= MAX_SPANS
    assert f"… and {big.span_count - MAX_SPANS:,}".replace(",", "") in text.replace(",", "")
    assert len(text) < 400_000


@pytest.fixture
def demo_window(qtbot, window):
    with qtbot.waitSignal(window.sig_demo_finished, timeout=WAIT_MS):
        window.load_demo()
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 3, timeout=WAIT_MS)
    return window


def test_the_window_copies_a_call_as_code_and_a_trace_as_markdown(qtbot, demo_window):
    window = demo_window
    first = window.list_model.trace_at(2).trace_id
    window.trace_list.select_trace(first)
    qtbot.waitUntil(lambda: window.open_trace.detail is not None and window.open_trace.detail.trace_id == first
                    and window.waterfall.model.trace_id == first, timeout=WAIT_MS)
    chat = window.waterfall.first_span(lambda s: s.genai.get("operation") == "chat")
    window.waterfall.select_span(chat.span_id)
    qtbot.waitUntil(lambda: window.inspector.span() is not None and window.inspector.span().span_id == chat.span_id
                    and window.inspector.copy_code_button.isEnabled(), timeout=WAIT_MS)
    with qtbot.waitSignal(window.inspector.sig_code_copied, timeout=WAIT_MS):
        window.inspector.copy_code_button.click()
    ast.parse(QGuiApplication.clipboard().text())
    assert "client.chat.completions.create(" in QGuiApplication.clipboard().text()
    assert "Copied the model call" in window.status.currentMessage()

    tool = window.waterfall.first_span(lambda s: s.genai.get("operation") == "execute_tool")
    window.waterfall.select_span(tool.span_id)
    qtbot.waitUntil(lambda: window.inspector.span().span_id == tool.span_id, timeout=WAIT_MS)
    assert not window.inspector.copy_code_button.isEnabled()

    with qtbot.waitSignal(window.exchange.sig_markdown_copied, timeout=WAIT_MS) as copied:
        window.exchange.markdown_action.trigger()
    assert QGuiApplication.clipboard().text() == copied.args[0]
    assert copied.args[0].startswith(f"## Trace `{first}`")
