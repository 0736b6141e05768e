"""The playground in the window (issue 14): "Open in playground" on a model call of the demo,
edits, Run against a provider on loopback speaking the OpenAI or the Anthropic wire format
(`tests.mock_provider`), the answer beside the recorded one with a diff, and the run recorded
by the real receiver as a trace linked to the original — which the status line opens. Nothing
reaches the provider before Run."""

from __future__ import annotations

import json
import socket
import sqlite3

import pytest
from PySide6.QtCore import Qt

from app.playground.run_record import PLAYGROUND_SERVICE
from app.widgets.main_window import MainWindow
from app.widgets.playground_window import NOT_SENT, PlaygroundWindow
from tests.mock_provider import ANSWER, MockProvider, mock_provider

WAIT_MS = 10_000
KEY = "sk-playground-test-KEY-0123456789"


@pytest.fixture
def provider(monkeypatch):
    with mock_provider() as running:
        monkeypatch.setenv("OPENAI_BASE_URL", running.openai_base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.anthropic_base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        yield running


@pytest.fixture
def demo_window(qtbot, window) -> MainWindow:
    with qtbot.waitSignal(window.sig_demo_finished, timeout=WAIT_MS):
        window.load_demo()
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 3, timeout=WAIT_MS)
    return window


def _open_playground(qtbot, window: MainWindow, provider_name: str) -> tuple[PlaygroundWindow, object]:
    first = window.list_model.trace_at(2).trace_id  # the first turn: both providers, a tool call
    window.trace_list.select_trace(first)
    qtbot.waitUntil(lambda: window.waterfall.model.trace_id == first, timeout=WAIT_MS)
    chats = [s for s in window.open_trace.detail.spans
             if s.genai.get("operation") == "chat" and s.genai.get("provider") == provider_name]
    chat = chats[-1]
    window.waterfall.select_span(chat.span_id)
    qtbot.waitUntil(lambda: (span := window.inspector.span()) is not None and span.span_id == chat.span_id
                    and window.inspector.playground_button.isEnabled(), timeout=WAIT_MS)
    window.inspector.playground_button.click()
    assert window.playground.windows
    return window.playground.windows[-1], window.inspector.span()


def _run(qtbot, window: MainWindow, playground: PlaygroundWindow) -> None:
    with qtbot.waitSignal(playground.sig_run, timeout=WAIT_MS):
        playground.run_button.click()
    qtbot.waitUntil(lambda: playground.run_button.isEnabled() and "recorded as trace" in playground.status.text(),
                    timeout=WAIT_MS)
    assert window.playground.wait_for_runs()


def test_an_edited_openai_call_runs_only_on_run_and_is_recorded(qtbot, demo_window, provider: MockProvider,
                                                                monkeypatch):
    window = demo_window
    connections = []  # every connection Python code opens from here on, to anywhere
    connect = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: connections.append(address) or connect(
        sock, address))
    playground, original = _open_playground(qtbot, window, "openai")
    assert playground.model.text() == "gpt-4o-mini" and playground.parameters["seed"].text() == "42"
    assert json.loads(playground.messages.toPlainText()) == original.content["input_messages"]
    assert playground.recorded.toPlainText()  # the answer recorded then
    assert f"{provider.openai_base_url}/chat/completions" in playground.endpoint_label.text()
    assert "OPENAI_API_KEY" in playground.endpoint_label.text() and KEY not in playground.endpoint_label.text()

    playground.parameters["temperature"].setText("0.9")
    playground.system.setPlainText("You are Ada. Never promise a return you cannot start.")
    playground.api.setCurrentIndex(playground.api.findData("openai"))
    playground.api.setCurrentIndex(playground.api.findData("anthropic"))
    playground.api.setCurrentIndex(playground.api.findData("openai"))
    assert provider.requests == [] and playground.status.text() == NOT_SENT  # opening and editing sent nothing
    assert connections == []

    _run(qtbot, window, playground)
    assert connections == [("127.0.0.1", provider.port)]  # Run: one connection, to the endpoint named
    [request] = provider.requests
    assert request.body["temperature"] == 0.9 and request.body["seed"] == 42
    assert request.body["messages"][0] == {"role": "system",
                                           "content": "You are Ada. Never promise a return you cannot start."}
    assert playground.new_answer.toPlainText() == ANSWER
    assert "chatcmpl-mock-1" in playground.status.text() and "321 → 21 tokens" in playground.status.text()
    assert ANSWER.split()[0] in playground.diff_text()
    # the original call's Overview lists its runs, each a way to it
    qtbot.waitUntil(lambda: window.inspector.overview.value_label("Run 1") is not None, timeout=WAIT_MS)
    assert window.inspector.span().span_id == original.span_id
    assert "chat gpt-4o-mini" in window.inspector.overview.value_text("Run 1")

    playground.status.linkActivated.emit("run")  # "recorded as trace …", clicked
    qtbot.waitUntil(lambda: (span := window.inspector.span()) is not None
                    and span.service_name == PLAYGROUND_SERVICE, timeout=WAIT_MS)
    run = window.inspector.span()
    assert run.genai["request_model"] == "gpt-4o-mini" and run.genai["temperature"] == 0.9
    assert [(link["traceId"], link["spanId"]) for link in run.links] == [(original.trace_id, original.span_id)]
    assert window.inspector.overview.value_label("Linked span") is not None
    with sqlite3.connect(window.host.config.db_path) as conn:
        assert KEY not in "\n".join(conn.iterdump())  # the key is never stored


def test_an_anthropic_call_goes_to_the_messages_api(qtbot, demo_window, provider: MockProvider):
    playground, _ = _open_playground(qtbot, demo_window, "anthropic")
    assert playground.current_api() == "anthropic" and "/v1/messages" in playground.endpoint_label.text()
    playground.model.setText("claude-sonnet-4-5")
    _run(qtbot, demo_window, playground)
    [request] = provider.requests
    assert request.path == "/v1/messages" and request.body["model"] == "claude-sonnet-4-5"
    assert request.headers["x-api-key"] == KEY
    assert playground.new_answer.toPlainText() == ANSWER


def test_a_provider_error_is_shown_and_recorded_as_a_failed_run(qtbot, demo_window, provider: MockProvider):
    provider.fail_with = (401, "Incorrect API key provided")
    playground, _ = _open_playground(qtbot, demo_window, "openai")
    _run(qtbot, demo_window, playground)
    assert "answered 401: Incorrect API key provided" in playground.status.text()
    assert playground.new_answer.toPlainText() == ""


def test_bad_edits_are_refused_with_a_message_and_nothing_is_sent(qtbot, demo_window, provider: MockProvider):
    playground, _ = _open_playground(qtbot, demo_window, "openai")
    playground.messages.setPlainText('[{"role": "user", "parts": [')  # cut short
    playground.run_button.click()
    first = playground.edit_error
    qtbot.waitUntil(lambda: first is not None and first.isVisible(), timeout=WAIT_MS)
    assert first.text().startswith("Messages: not JSON")
    first.accept()
    playground.messages.setPlainText('[{"role": "user", "parts": []}]')
    playground.parameters["max_tokens"].setText("lots")
    playground.run_button.click()
    qtbot.waitUntil(lambda: playground.edit_error is not first and playground.edit_error.isVisible(),
                    timeout=WAIT_MS)
    assert "max_tokens: 'lots' is not a whole number" in playground.edit_error.text()
    assert provider.requests == [] and playground.run_button.isEnabled()


def test_without_a_key_run_says_where_to_put_one(qtbot, demo_window, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr("app.playground.provider_client._keyring_password", lambda service, user: None)
    playground, _ = _open_playground(qtbot, demo_window, "openai")
    assert "No API key" in playground.endpoint_label.text()
    playground.run_button.click()
    assert "OPENAI_API_KEY" in playground.status.text() and "keyring set tracepane openai" in playground.status.text()


def test_p_in_the_waterfall_opens_the_selected_model_call(qtbot, demo_window):
    window = demo_window
    with qtbot.waitActive(window):  # P is a shortcut: it needs the active window
        window.activateWindow()
    _open_playground(qtbot, window, "openai")[0].close()  # selects the call (and opens one by the button)
    window.waterfall.tree.setFocus()
    qtbot.keyClick(window.waterfall.tree, Qt.Key.Key_P)
    assert len(window.playground.windows) == 1 and window.playground.windows[0].model.text() == "gpt-4o-mini"
    tool = window.waterfall.first_span(lambda s: s.genai.get("operation") == "execute_tool")
    window.waterfall.select_span(tool.span_id)
    qtbot.waitUntil(lambda: window.inspector.span().span_id == tool.span_id, timeout=WAIT_MS)
    qtbot.keyClick(window.waterfall.tree, Qt.Key.Key_P)  # not a model call: nothing to re-run
    assert len(window.playground.windows) == 1
