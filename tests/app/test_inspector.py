"""The span inspector over the demo's real stored spans: the Overview's reproducibility record
with its cost arithmetic, copy to the clipboard, the conversation as bubbles with tool calls and
folding, the attribute filter, events and linked logs in time order, the raw JSON."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from importlib.metadata import version

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from app.cli_output import span_json
from app.widgets.inspector import TAB_NAMES, InspectorPanel
from app.widgets.inspector.message_bubble import FOLD_CHARS, FoldableText
from app.widgets.inspector.messages_tab import EARLIER_PAGE, SHOWN_HISTORY
from receiver import TraceDetail
from receiver.records import StoredLog, StoredResource, StoredScope, StoredSpan


def _chats(trace: TraceDetail) -> list[StoredSpan]:
    return sorted((s for s in trace.spans if s.genai.get("operation") == "chat"), key=lambda s: s.start_time_unix_nano)


def _span(trace: TraceDetail, operation: str) -> StoredSpan:
    return next(s for s in trace.spans if s.genai.get("operation") == operation)


def _claude(trace: TraceDetail) -> StoredSpan:
    return next(s for s in _chats(trace) if s.genai["provider"] == "anthropic")


@pytest.fixture
def panel(qtbot) -> InspectorPanel:
    widget = InspectorPanel()
    qtbot.addWidget(widget)
    widget.resize(700, 520)
    widget.show()
    return widget


def test_overview_is_the_model_calls_reproducibility_record(panel, first_turn):
    chat = _chats(first_turn)[0]
    panel.show_span(chat, first_turn.logs)
    overview = panel.overview
    assert panel.current_tab_name() == "Overview"
    expected = {"Operation": "chat", "Provider": "openai", "Request model": "gpt-4o-mini",
                "Response model": "gpt-4o-mini-2024-07-18", "Temperature": "0.2", "Top p": "1.0", "Seed": "42",
                "Max tokens": "1024", "Response id": chat.genai["response_id"], "Finish reasons": "tool_call",
                "Input": "412", "Output": "24", "Cost": "$0.0000762", "Span id": chat.span_id,
                "Parent span id": chat.parent_span_id, "Trace id": chat.trace_id, "Service": "support-agent"}
    assert {label: overview.value_text(label) for label in expected} == expected
    assert chat.genai["response_id"].startswith("resp_")
    # the arithmetic, term by term, adds up to the total; then where the price came from
    assert overview.copy_button("Arithmetic").copy_text == ("412 input × $0.15/M = $0.0000618\n"
                                                            "24 output × $0.60/M = $0.0000144\n"
                                                            "= $0.0000762")
    shown = overview.text().splitlines()
    for cell in ("412", "input", "×", "$0.15/M", "$0.0000618", "24", "output", "$0.60/M", "$0.0000144", "$0.0000762"):
        assert cell in shown
    day = datetime.fromtimestamp(chat.start_time_unix_nano / 1e9, UTC).date().isoformat()
    assert overview.value_text("Price") == f"genai-prices {version('genai-prices')} · gpt-4o-mini (openai) · {day}"
    assert overview.value_text("Cache read") is None  # no cached tokens: no row, and no cache-read term
    assert "cache read" not in shown


def test_overview_of_the_cached_call_shows_cache_reads_and_their_term(panel, first_turn):
    panel.show_span(_claude(first_turn))
    overview = panel.overview
    assert overview.value_text("Input") == "1,836"
    assert overview.value_text("Cache read") == "1,536 of the input"
    assert overview.copy_button("Cache read").copy_text == "1536"
    assert overview.copy_button("Arithmetic").copy_text.splitlines() == [
        "300 uncached input × $3.00/M = $0.0009",
        "1,536 cache read × $0.30/M = $0.0004608",
        "31 output × $15.00/M = $0.000465",
        "= $0.0018258"]
    assert overview.value_text("Cost") == "$0.0018258"
    assert "claude-3-5-sonnet (anthropic)" in overview.value_text("Price")


def test_streamed_call_shows_time_to_first_token_and_per_token_time(panel, first_turn):
    streamed = _chats(first_turn)[-1]
    panel.show_span(streamed)
    assert panel.overview.value_text("Time to first token") == "412 ms"
    # (3.6 s − 412 ms) / (41 − 1) output tokens
    assert panel.overview.value_text("Time per output token") == "79.7 ms (after the first token)"


def test_copy_buttons_put_the_value_on_the_clipboard(panel, qtbot, first_turn):
    chat = _chats(first_turn)[0]
    panel.show_span(chat)
    QApplication.clipboard().clear()
    qtbot.mouseClick(panel.overview.copy_button("Response id"), Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == chat.genai["response_id"]
    qtbot.mouseClick(panel.overview.copy_button("Span id"), Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == chat.span_id
    assert panel.overview.copy_button("Seed").copy_text == "42"
    shown = next(label for label in panel.overview.findChildren(QLabel) if label.text() == chat.genai["response_id"])
    assert shown.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse  # selectable by hand too


def test_a_failed_call_leads_with_its_error(panel, demo_traces):
    failed = next(s for s in demo_traces[1].spans if s.status_code == 2)
    panel.show_span(failed)
    overview = panel.overview
    assert overview.value_text("Status") == "error"
    assert overview.value_text("Message") == "Error code: 429 - Rate limit reached for gpt-4o-mini"
    assert overview.value_text("Error type") == failed.genai["error_type"]
    assert overview.labels()[:3] == ["Status", "Message", "Error type"]  # first thing the user reads
    assert overview.value_text("Response id") == "— not reported"  # seen missing, not silently absent
    assert overview.value_text("Cost") == "— no token usage reported"
    panel.show_tab("Messages")
    assert "No output: the call failed (Error code: 429 - Rate limit reached for gpt-4o-mini)" in panel.messages.text()


def test_an_unpriced_call_says_so_and_how_to_price_it(panel, first_turn):
    chat = _chats(first_turn)[0]
    genai = {**chat.genai, "response_model": "my-finetune-7", "cost_usd": None, "cost_breakdown": None}
    panel.show_span(dataclasses.replace(chat, genai=genai))
    assert panel.overview.value_text("Cost") == "no price known for my-finetune-7"
    assert "tracepane reprice" in panel.overview.value_text("To price it")


def test_a_duplicate_says_it_is_left_out_of_totals(panel, first_turn):
    chat = _chats(first_turn)[0]
    panel.show_span(dataclasses.replace(chat, genai={**chat.genai, "duplicate_of": "00f067aa0ba902b7"}))
    assert panel.overview.value_text("Duplicate") == "duplicate of span 00f067aa0ba902b7 (left out of totals)"


def test_messages_show_the_conversation_with_the_tool_call(panel, first_turn):
    panel.show_span(_chats(first_turn)[0])
    panel.show_tab("Messages")
    assert panel.current_tab_name() == "Messages"
    assert panel.tabText(panel.currentIndex()) == "Messages (2)"
    bubbles = panel.messages.bubbles()
    assert [b.role for b in bubbles] == ["system", "user", "assistant"]
    assert any(t.startswith("You are Ada, the support agent") for t in bubbles[0].texts())
    assert "Where is my order A1042? And can I still return it?" in bubbles[1].texts()
    call = bubbles[2].texts()
    assert "→ lookup_order" in call and "call_7Qm2" in call and "finish: tool_call" in call
    assert '{\n  "order_id": "A1042"\n}' in call  # pretty-printed arguments
    text = panel.messages.text()
    assert "Tools available: lookup_order" in text
    assert text.index("Where is my order") < text.index("Output") < text.index("→ lookup_order")


def test_a_tool_execution_shows_its_arguments_and_result(panel, first_turn):
    panel.show_span(_span(first_turn, "execute_tool"))
    panel.show_tab("Messages")
    call, result = panel.messages.bubbles()
    assert "→ lookup_order" in call.texts() and '{\n  "order_id": "A1042"\n}' in call.texts()
    assert any('"status": "delivered"' in t for t in result.texts())


def test_a_span_without_messages_says_so(panel, first_turn):
    panel.show_span(_span(first_turn, "retrieval"))
    panel.show_tab("Messages")
    assert panel.messages.placeholder_text() == "No messages on this span"
    panel.show_tab("Overview")  # a plain span still has its identity, timing and status
    assert panel.overview.value_text("Name") == "retrieval refund-policy"
    assert panel.overview.value_text("Duration") == "420 ms"
    assert panel.overview.value_text("Status") == "unset"


def test_long_text_is_folded_until_show_more(panel, qtbot, first_turn):
    chat = _chats(first_turn)[0]
    long_text = "The refund policy, in full. " * 80
    content = {**chat.content, "input_messages": [{"role": "user", "parts": [{"type": "text", "content": long_text}]}]}
    panel.show_span(dataclasses.replace(chat, content=content))
    panel.show_tab("Messages")
    folded = next(f for f in panel.messages.findChildren(FoldableText) if f.full_text() == long_text)
    assert folded.is_folded() and len(folded.shown_text()) <= FOLD_CHARS + 2
    assert folded.toggle.text() == "Show more"
    qtbot.mouseClick(folded.toggle, Qt.MouseButton.LeftButton)
    assert folded.shown_text() == long_text and folded.toggle.text() == "Show less"
    panel.show_span(dataclasses.replace(chat, content=content))  # the same span again: nothing rebuilt
    assert folded.shown_text() == long_text


def test_a_long_history_builds_its_latest_messages_first(panel, qtbot, first_turn):
    chat = _chats(first_turn)[0]
    history = [{"role": "user" if i % 2 else "assistant", "parts": [{"type": "text", "content": f"message {i}"}]}
               for i in range(200)]
    panel.show_span(dataclasses.replace(chat, content={**chat.content, "input_messages": history}))
    panel.show_tab("Messages")
    assert panel.tabText(panel.currentIndex()) == "Messages (201)"
    assert len(panel.messages.bubbles()) == 1 + SHOWN_HISTORY + 1  # system, the latest 30, the output
    assert panel.messages.text().index("message 170\n") < panel.messages.text().index("message 199\n")
    earlier = panel.messages.earlier_button
    assert earlier.text() == f"Show {EARLIER_PAGE} of {200 - SHOWN_HISTORY} earlier messages"
    qtbot.mouseClick(earlier, Qt.MouseButton.LeftButton)  # a page more: the ones just above
    assert len(panel.messages.bubbles()) == 2 + SHOWN_HISTORY + EARLIER_PAGE
    assert panel.messages.text().index("message 140\n") < panel.messages.text().index("message 170\n")
    assert "message 139\n" not in panel.messages.text()
    while panel.messages.earlier_button is not None:
        qtbot.mouseClick(panel.messages.earlier_button, Qt.MouseButton.LeftButton)
    text = panel.messages.text()
    assert len(panel.messages.bubbles()) == 202
    order = [text.index(f"message {i}\n") for i in range(200)]
    assert order == sorted(order)


def test_attributes_filter_narrows_the_rows_and_copies_values(panel, qtbot, first_turn):
    panel.show_span(_chats(first_turn)[0])
    panel.show_tab("Attributes")
    tab = panel.attributes
    everything = tab.visible_keys()
    assert "gen_ai.request.temperature" in everything and "service.name" in everything
    qtbot.keyClicks(tab.filter, "TEMPERATURE")
    assert tab.visible_keys() == ["gen_ai.request.temperature"]
    assert tab.count.text() == f"1 of {len(everything)}"
    tab.table.setFocus()
    tab.table.selectRow(0)
    QApplication.clipboard().clear()
    qtbot.keyClick(tab.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "0.2"
    tab.filter.clear()
    qtbot.keyClicks(tab.filter, "a1042")  # values are searched too (the messages' JSON)
    assert set(tab.visible_keys()) == {"gen_ai.input.messages", "gen_ai.output.messages"}


def test_events_and_linked_logs_in_time_order(panel, first_turn):
    chat = _chats(first_turn)[0]
    start = chat.start_time_unix_nano
    events = [{"timeUnixNano": start + 900_000_000, "name": "exception",
               "attributes": {"exception.type": "TimeoutError", "exception.message": "read timed out"}},
              {"timeUnixNano": start + 10_000_000, "name": "gen_ai.content.prompt", "attributes": {"n": 1}}]

    def log(span_id: str, at_ns: int, body: str) -> StoredLog:
        return StoredLog(chat.trace_id, span_id, at_ns, at_ns, 17, "", "", {"stringValue": body}, {"retry": 1}, 0, 0,
                         "support-agent", StoredResource({}), StoredScope("demo", ""))

    logs = [log(chat.span_id, start + 500_000_000, "retrying the request"),
            log("0000000000000001", start + 600_000_000, "another span's record")]
    panel.show_span(dataclasses.replace(chat, events=events), logs)
    panel.show_tab("Events & logs")
    assert panel.current_tab_name() == "Events & logs"
    assert panel.tabText(panel.currentIndex()) == "Events && logs (3)"  # && shows as one &
    rows = panel.events.row_texts()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("+10 ms", "event", "gen_ai.content.prompt", ""),
        ("+500 ms", "log", "(log record)", "ERROR"),
        ("+900 ms", "event", "exception", "")]
    assert rows[1][4] == "retrying the request  retry=1"
    assert "exception.message=read timed out" in rows[2][4]


def test_no_events_and_no_span_show_quiet_placeholders(panel, first_turn):
    panel.show_span(_chats(first_turn)[0], first_turn.logs)
    panel.show_tab("Events")  # a title's prefix is enough
    assert panel.events.placeholder_text() == "No events or log records on this span"
    panel.show_span(None)
    for name in TAB_NAMES:
        panel.show_tab(name)
        page = panel.currentWidget()
        assert page.placeholder_text() == "Select a span", name
    with pytest.raises(ValueError):
        panel.show_tab("Flame graph")


def test_raw_is_the_span_as_json_and_copies(panel, qtbot, first_turn):
    chat = _chats(first_turn)[0]
    panel.show_span(chat)
    panel.show_tab("Raw")
    text = panel.raw.editor.toPlainText()
    assert f'"span_id": "{chat.span_id}"' in text
    assert json.loads(text) == json.loads(json.dumps(span_json(chat)))
    assert panel.raw.editor.isReadOnly()
    QApplication.clipboard().clear()
    qtbot.mouseClick(panel.raw.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == text


def test_only_the_tab_in_view_is_filled(panel, first_turn):
    chats = _chats(first_turn)
    panel.show_span(chats[0])
    assert panel.messages.bubbles() == []  # not looked at yet: not built
    panel.show_tab("Messages")
    assert len(panel.messages.bubbles()) == 3
    panel.show_span(chats[1])  # the Messages tab stays in view and shows the new span
    assert panel.current_tab_name() == "Messages"
    assert any("Policy: Returns are accepted" in t for b in panel.messages.bubbles() for t in b.texts())


def _dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#1f2124"), (QPalette.ColorRole.WindowText, "#e6e6e6"),
                         (QPalette.ColorRole.Base, "#16181b"), (QPalette.ColorRole.Text, "#e6e6e6"),
                         (QPalette.ColorRole.Button, "#2a2d31"), (QPalette.ColorRole.ButtonText, "#e6e6e6"),
                         (QPalette.ColorRole.PlaceholderText, "#8b9096"), (QPalette.ColorRole.Link, "#6aa7ff")):
        palette.setColor(role, QColor(colour))
    return palette


def test_bubbles_follow_the_palette_into_dark_mode(panel, first_turn):
    panel.show_span(_chats(first_turn)[0])
    panel.show_tab("Messages")
    user = panel.messages.bubbles()[1]

    def tint() -> QColor:
        return user.grab().toImage().pixelColor(6, user.height() // 2)

    light = tint()
    assert light.lightness() > 200 and light.blue() > light.red()  # a pale blue on the light base
    panel.setPalette(_dark_palette())  # no rebuild: painted from the palette in force
    dark = tint()
    assert dark.lightness() < 80 and dark.blue() > dark.red()  # a deep blue on the dark base
