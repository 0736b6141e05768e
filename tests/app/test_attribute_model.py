"""AttributeModel over real stored spans: span, resource and scope rows in that order, values as
text (strings raw, the rest JSON), the whole value in the tooltip; passes Qt's model tester."""

from __future__ import annotations

import dataclasses
import json

from PySide6.QtCore import QModelIndex, Qt

from app.models.attribute_model import AttributeColumn, AttributeModel, AttributeRole
from receiver.records import StoredScope


def _chat(trace):
    return min((s for s in trace.spans if s.genai.get("operation") == "chat"), key=lambda s: s.start_time_unix_nano)


def _rows(model: AttributeModel) -> list[tuple[str, str, str]]:
    return [tuple(model.data(model.index(row, column)) for column in AttributeColumn)
            for row in range(model.rowCount())]


def test_the_model_fills_resets_and_passes_the_tester(qtmodeltester, first_turn):
    model = AttributeModel()
    model.set_span(_chat(first_turn))
    qtmodeltester.check(model)
    rows = _rows(model)
    sections = [section for section, _, _ in rows]
    assert sections == sorted(sections, key=["span", "resource", "scope"].index)  # grouped, span first
    assert ("span", "gen_ai.request.temperature", "0.2") in rows
    assert ("span", "gen_ai.request.model", "gpt-4o-mini") in rows  # strings raw, not quoted
    assert ("resource", "service.name", "support-agent") in rows
    assert ("scope", "name", "tracepane.demo") in rows
    span_keys = [key for section, key, _ in rows if section == "span"]
    assert span_keys == sorted(span_keys)

    # a different span is a reset to its rows; a scope with attributes and a version shows them all
    tool = next(s for s in first_turn.spans if s.genai.get("operation") == "execute_tool")
    scoped = dataclasses.replace(tool, scope=StoredScope("openinference", "1.2.0", {"lib.flag": True}))
    with_signals = []
    model.modelReset.connect(lambda: with_signals.append("reset"))
    model.set_span(scoped)
    qtmodeltester.check(model)
    assert with_signals == ["reset"]
    rows = _rows(model)
    assert ("span", "gen_ai.tool.call.arguments", '{"order_id": "A1042"}') in rows  # structured: JSON
    assert [row for row in rows if row[0] == "scope"] == [("scope", "name", "openinference"),
                                                         ("scope", "version", "1.2.0"),
                                                         ("scope", "lib.flag", "true")]
    model.set_span(None)
    qtmodeltester.check(model)
    assert model.rowCount() == 0


def test_long_values_show_one_line_and_the_tooltip_carries_all(first_turn):
    chat = _chat(first_turn)
    long_text = "line one\n" + "x" * 1000
    attributes = {**chat.attributes, "app.note": long_text}
    model = AttributeModel()
    model.set_span(dataclasses.replace(chat, attributes=attributes))
    row = next(r for r in range(model.rowCount())
               if model.data(model.index(r, AttributeColumn.KEY)) == "app.note")
    value = model.index(row, AttributeColumn.VALUE)
    shown = model.data(value)
    assert "\n" not in shown and shown.startswith("line one ⏎ x") and shown.endswith("…") and len(shown) < 400
    assert model.data(value, AttributeRole.FULL_TEXT) == long_text
    assert model.data(value, Qt.ItemDataRole.ToolTipRole).replace("\n", "") == long_text.replace("\n", "")
    # a JSON value's tooltip is pretty-printed
    messages = next(r for r in range(model.rowCount())
                    if model.data(model.index(r, AttributeColumn.KEY)) == "gen_ai.output.messages")
    tip = model.data(model.index(messages, AttributeColumn.VALUE), Qt.ItemDataRole.ToolTipRole)
    assert json.loads(tip)[0]["role"] == "assistant" and '\n  {\n    "role": "assistant"' in tip
    assert model.data(QModelIndex()) is None and model.data(model.index(999, 0)) is None
