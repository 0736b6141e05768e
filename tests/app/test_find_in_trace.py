"""Find in trace on the 10,000-span agent trace (`big_window`), driven with real keys: Ctrl+F
opens the bar, typing searches once per pause on the query worker, matches are highlighted and
walked in tree order (Enter / F3, Shift+Enter / Shift+F3, the buttons), the current one
selected and scrolled to, Esc closes; a trace that grows, or another trace, is searched again."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.models.span_tree_model import SpanColumn
from tests.bench.workload import SERVICE_NAME
from tests.big_trace import ATTRIBUTE_WORD, ATTRIBUTE_WORD_SPANS, MESSAGE_WORD
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id

WAIT_MS = 30_000
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def finding(qtbot, big_window):
    """The big trace's window, active (shortcuts need it), with the keyboard in the waterfall."""
    window, big = big_window
    with qtbot.waitActive(window):
        window.activateWindow()
    window.waterfall.tree.setFocus()
    return window, big


def _find(qtbot, window, text: str, count: str) -> None:
    """Ctrl+F, type `text`, wait for the count the bar should show."""
    QTest.keyClick(window.focusWidget(), Qt.Key.Key_F, CTRL)
    bar = window.find_bar
    assert bar.isVisible() and window.focusWidget() is bar.text_edit
    QTest.keyClicks(bar.text_edit, text)
    qtbot.waitUntil(lambda: bar.count_label.text() == count, timeout=WAIT_MS)


def _current(window) -> str:
    return window.waterfall.selected_span().span_id


def _send(window, *spans) -> None:
    answer = post(window.host.addresses.http_port, make_request(*spans, service=SERVICE_NAME).SerializeToString())
    assert answer.status == 200, answer.body


def test_ctrl_f_finds_a_word_only_one_deep_span_has_in_its_messages(qtbot, finding):
    window, big = finding
    searches = []
    window.finder.sig_matches_changed.connect(searches.append)
    _find(qtbot, window, MESSAGE_WORD, "1 of 1")

    assert searches == [[big.deep_span_id]]  # typing made one search, not one per key
    assert _current(window) == big.deep_span_id  # the match is selected...
    model, tree = window.waterfall.model, window.waterfall.tree
    assert all(tree.isExpanded(model.index_of(span_id)) for span_id in big.deep_path[:-1])  # ...opened into view...
    deep = tree.visualRect(model.index_of(big.deep_span_id, SpanColumn.DURATION))
    assert tree.viewport().rect().contains(deep.center())  # ...and scrolled to
    assert window.waterfall.match_ids() == {big.deep_span_id}  # highlighted (test_waterfall checks the paint)
    qtbot.waitUntil(lambda: window.inspector.span().span_id == big.deep_span_id, timeout=WAIT_MS)
    assert window.focusWidget() is window.find_bar.text_edit  # the keyboard stays in the bar


def test_next_and_previous_walk_attribute_matches_in_tree_order_and_wrap(qtbot, finding):
    window, big = finding
    _find(qtbot, window, ATTRIBUTE_WORD, f"1 of {ATTRIBUTE_WORD_SPANS}")
    matches = window.finder.matches
    tree_order = [span.span_id for span in window.waterfall.model.spans_in_tree_order()]
    assert sorted(matches) == sorted(big.attribute_span_ids)
    assert matches == sorted(matches, key=tree_order.index)
    assert _current(window) == matches[0]
    edit = window.find_bar.text_edit

    for n in range(2, ATTRIBUTE_WORD_SPANS + 1):
        QTest.keyClick(edit, Qt.Key.Key_Return)
        assert window.find_bar.count_label.text() == f"{n} of {ATTRIBUTE_WORD_SPANS}"
        assert _current(window) == matches[n - 1]
    QTest.keyClick(edit, Qt.Key.Key_Return)  # past the last: back to the first
    assert _current(window) == matches[0]
    QTest.keyClick(edit, Qt.Key.Key_Return, SHIFT)  # before the first: the last
    assert _current(window) == matches[-1]
    assert window.find_bar.count_label.text() == f"{ATTRIBUTE_WORD_SPANS} of {ATTRIBUTE_WORD_SPANS}"
    QTest.keyClick(edit, Qt.Key.Key_F3)
    assert _current(window) == matches[0]
    window.waterfall.tree.setFocus()  # F3 works from the tree too, while the bar shows
    QTest.keyClick(window.waterfall.tree, Qt.Key.Key_F3, SHIFT)
    assert _current(window) == matches[-1]
    window.find_bar.next_button.click()
    window.find_bar.next_button.click()
    assert _current(window) == matches[1]
    window.find_bar.previous_button.click()
    assert _current(window) == matches[0]


def test_a_word_in_thousands_of_spans_is_counted_and_highlighted(qtbot, finding):
    window, _big = finding
    chats = sum(span.name == "chat gpt-4o-mini" for span in window.waterfall.model.spans_in_tree_order())
    assert chats > 3000
    _find(qtbot, window, "GPT-4O-MINI", f"1 of {chats:,}")  # their names (agents and tools carry no model)
    assert len(window.waterfall.match_ids()) == chats


def test_escape_closes_the_bar_and_clears_the_highlight(qtbot, finding):
    window, _big = finding
    _find(qtbot, window, ATTRIBUTE_WORD, f"1 of {ATTRIBUTE_WORD_SPANS}")
    found = _current(window)
    QTest.keyClick(window.find_bar.text_edit, Qt.Key.Key_Escape)
    assert not window.find_bar.isVisible()
    assert window.waterfall.match_ids() == set()
    assert _current(window) == found  # the match stays selected...
    assert window.focusWidget() is window.waterfall.tree  # ...with the keyboard on it
    assert window.find_bar.text_edit.text() == ATTRIBUTE_WORD  # Ctrl+F again offers the same search
    QTest.keyClick(window.focusWidget(), Qt.Key.Key_F, CTRL)
    qtbot.waitUntil(lambda: window.find_bar.count_label.text() == f"1 of {ATTRIBUTE_WORD_SPANS}", timeout=WAIT_MS)
    assert window.find_bar.text_edit.selectedText() == ATTRIBUTE_WORD  # typing replaces it


def test_a_growing_trace_is_searched_again_keeping_the_current_match(qtbot, finding):
    window, big = finding
    _find(qtbot, window, ATTRIBUTE_WORD, f"1 of {ATTRIBUTE_WORD_SPANS}")
    QTest.keyClick(window.find_bar.text_edit, Qt.Key.Key_Return)
    QTest.keyClick(window.find_bar.text_edit, Qt.Key.Key_Return)
    third = _current(window)
    last_worker = window.waterfall.model.index(window.waterfall.model.rowCount(window.waterfall.model.index(0, 0)) - 1,
                                               0, window.waterfall.model.index(0, 0))
    parent = window.waterfall.model.span_at(last_worker)
    late = make_span(trace_id=bytes.fromhex(big.trace_id), parent_span_id=bytes.fromhex(parent.span_id),
                     name="execute_tool late", start_ns=parent.end_time_unix_nano,
                     attributes={"note": f"another {ATTRIBUTE_WORD} in the parcel"})
    _send(window, late)
    total = ATTRIBUTE_WORD_SPANS + 1
    qtbot.waitUntil(lambda: window.find_bar.count_label.text().endswith(f"of {total}"), timeout=WAIT_MS)
    assert _current(window) == third and window.finder.matches.index(third) == 2
    assert window.find_bar.count_label.text() == f"3 of {total}"
    assert window.finder.matches[-1] == late.span_id.hex()  # last in tree order


def test_another_trace_is_searched_too_but_nothing_jumps_until_asked(qtbot, finding):
    window, big = finding
    _find(qtbot, window, ATTRIBUTE_WORD, f"1 of {ATTRIBUTE_WORD_SPANS}")
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="invoke_agent other", attributes={"gen_ai.operation.name": "invoke_agent"})
    hits = [make_span(trace_id=trace_id, parent_span_id=root.span_id, name=f"execute_tool {i}",
                      attributes={"note": f"a {ATTRIBUTE_WORD.upper()} {i}"}) for i in range(2)]
    _send(window, *hits, root)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2, timeout=WAIT_MS)
    window.trace_list.select_trace(trace_id.hex())
    qtbot.waitUntil(lambda: window.find_bar.count_label.text() == "2 matches", timeout=WAIT_MS)
    assert _current(window) == root.span_id.hex()  # the new trace opened on its root, as always
    assert window.waterfall.match_ids() == {span.span_id.hex() for span in hits}
    QTest.keyClick(window.find_bar.text_edit, Qt.Key.Key_F3)
    assert _current(window) == hits[0].span_id.hex() and window.find_bar.count_label.text() == "1 of 2"
