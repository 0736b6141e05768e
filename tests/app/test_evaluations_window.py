"""The window's side of issue 13: evaluation results as badges in the waterfall, cards in the
inspector's Evaluations tab and counts in the trace list, including results that arrive before
or after their span; the user's annotations from the keyboard, the inspector and the dialog,
stored by the real receiver and read back from its database. Spans and results are sent with
the real OpenTelemetry SDK (spans over OTLP/gRPC, `gen_ai.evaluation.result` log records over
OTLP/HTTP), to a receiver in the process on a temporary database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from opentelemetry import trace
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from app.models.span_display import FAILED_COLOUR, PASSED_COLOUR, Badge, evaluation_badges
from app.models.span_tree_model import EVALUATIONS_ROLE, SpanColumn
from app.models.trace_list_model import Column
from app.widgets.main_window import MainWindow
from receiver import TraceStore
from tests.sdk_logs import SECOND, sdk_logger, sdk_tracer

WAIT_MS = 10_000
SERVICE = "judged-app"


@pytest.fixture
def window(qtbot, make_window) -> MainWindow:
    made = make_window()
    with qtbot.waitActive(made):  # the annotation keys are shortcuts: they need the active window
        made.activateWindow()
    qtbot.waitUntil(lambda: made.host.addresses is not None, timeout=WAIT_MS)
    return made


@contextmanager
def _sdk(window: MainWindow) -> Iterator[tuple[trace.Tracer, object]]:
    """A tracer exporting each ended span at once over OTLP/gRPC, and a logger over OTLP/HTTP."""
    addresses = window.host.addresses
    with sdk_tracer(addresses.grpc_port, {"service.name": SERVICE}) as tracer, \
            sdk_logger(addresses.http_port, SERVICE) as logger:
        yield tracer, logger

def _result(logger, span, name: str, score: float | None, label: str | None, explanation: str | None = None) -> None:
    attributes: dict = {"gen_ai.evaluation.name": name}
    if score is not None:
        attributes["gen_ai.evaluation.score.value"] = score
    if label is not None:
        attributes["gen_ai.evaluation.score.label"] = label
    if explanation is not None:
        attributes["gen_ai.evaluation.explanation"] = explanation
    logger.emit(timestamp=time.time_ns(), context=trace.set_span_in_context(span),
                event_name="gen_ai.evaluation.result", attributes=attributes)


def _send_judged_run(window: MainWindow) -> tuple[str, str, str]:
    """An agent span with a chat span under it. Groundedness fails on the chat before the chat
    is sent (its result waits for the span); relevance passes after. Returns (trace id, root
    span id, chat span id)."""
    now = time.time_ns()
    with _sdk(window) as (tracer, logger):
        root = tracer.start_span("invoke_agent support", start_time=now - 3 * SECOND,
                                 attributes={"gen_ai.operation.name": "invoke_agent"})
        chat = tracer.start_span("chat gpt-4o-mini", context=trace.set_span_in_context(root),
                                 start_time=now - 2 * SECOND, attributes={
                                     "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"})
        _result(logger, chat, "groundedness", 0.2, "ungrounded", "cites an order that does not exist")
        chat.end(now - SECOND)
        root.end(now)
        _result(logger, chat, "relevance", 0.9, None)
    context = chat.get_span_context()
    return (format(context.trace_id, "032x"), format(root.get_span_context().span_id, "016x"),
            format(context.span_id, "016x"))


def _open(qtbot, window: MainWindow, trace_id: str, span_id: str) -> None:
    qtbot.waitUntil(lambda: window.list_model.row_of(trace_id) is not None, timeout=WAIT_MS)
    window.trace_list.select_trace(trace_id)
    qtbot.waitUntil(lambda: window.waterfall.model.trace_id == trace_id
                    and window.waterfall.model.index_of(span_id).isValid(), timeout=WAIT_MS)
    assert window.waterfall.select_span(span_id)
    qtbot.waitUntil(lambda: window.inspector.span() is not None and window.inspector.span().span_id == span_id,
                    timeout=WAIT_MS)


def _badges(window: MainWindow, span_id: str) -> list[Badge]:
    model = window.waterfall.model
    return evaluation_badges(model.data(model.index_of(span_id), EVALUATIONS_ROLE) or ())


def _cards(window: MainWindow) -> list[tuple[str, ...]]:
    """(verdict, evaluator, score, label, explanation, source) of each card on the selected span."""
    return window.inspector.evaluations.rows()


def _evaluations_title(window: MainWindow) -> str:
    inspector = window.inspector
    return next(inspector.tabText(i) for i in range(inspector.count()) if inspector.tabText(i).startswith("Evaluat"))


def _stored(window: MainWindow, trace_id: str):
    store = TraceStore(window.host.config.db_path)
    try:
        return store.evaluations(trace_id)
    finally:
        store.close()


def _human(window: MainWindow, trace_id: str, span_id: str | None):
    return [e for e in _stored(window, trace_id) if e.is_human and e.span_id == span_id]


def _press(qtbot, window: MainWindow, key: str) -> None:
    tree = window.waterfall.tree
    tree.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(tree.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(tree, key)


def _colours_in_row(window: MainWindow, span_id: str) -> set[str]:
    """The colours painted in the span's name cell (the badges are drawn there)."""
    tree = window.waterfall.tree
    index = window.waterfall.model.index_of(span_id, SpanColumn.NAME)
    tree.scrollTo(index)
    cell = tree.visualRect(index)
    image = tree.viewport().grab(cell).toImage()
    return {QColor(image.pixel(x, y)).name() for x in range(image.width()) for y in range(image.height())}


def test_results_sent_before_and_after_their_span_show_as_badges_and_cards(qtbot, window):
    trace_id, root_id, chat_id = _send_judged_run(window)
    _open(qtbot, window, trace_id, chat_id)
    qtbot.waitUntil(lambda: len(_cards(window)) == 2, timeout=WAIT_MS)

    assert _badges(window, chat_id) == [Badge(1, 1), Badge(0, 1)]  # one passed, one failed
    assert _badges(window, root_id) == []
    colours = _colours_in_row(window, chat_id)
    assert PASSED_COLOUR in colours and FAILED_COLOUR in colours
    assert FAILED_COLOUR not in _colours_in_row(window, root_id)
    tooltip = window.waterfall.model.data(window.waterfall.model.index_of(chat_id), Qt.ItemDataRole.ToolTipRole)
    assert "✗ groundedness: ungrounded (0.2) — cites an order that does not exist" in tooltip
    assert "✓ relevance: (0.9)" in tooltip

    assert sorted(_cards(window)) == [
        ("fail", "groundedness", "0.2", "ungrounded", "cites an order that does not exist", "log record"),
        ("pass", "relevance", "0.9", "", "", "log record")]
    assert _evaluations_title(window) == "Evaluations (2)"
    window.inspector.show_tab("Evaluations")
    assert window.inspector.current_tab_name() == "Evaluations"

    # a third result, sent while the trace is open: the badges and the cards follow
    with sdk_logger(window.host.addresses.http_port, SERVICE) as logger:
        chat = trace.NonRecordingSpan(trace.SpanContext(int(trace_id, 16), int(chat_id, 16), is_remote=False,
                                                        trace_flags=trace.TraceFlags(1)))
        _result(logger, chat, "toxicity", 0.02, None)
    qtbot.waitUntil(lambda: len(_cards(window)) == 3, timeout=WAIT_MS)
    assert _badges(window, chat_id) == [Badge(1, 2), Badge(0, 1)]
    assert _evaluations_title(window) == "Evaluations (3)"
    assert ("pass", "toxicity", "0.02", "", "", "log record") in _cards(window)


def test_b_marks_the_selected_span_bad_and_the_badge_and_inspector_show_it(qtbot, window):
    trace_id, _root_id, chat_id = _send_judged_run(window)
    _open(qtbot, window, trace_id, chat_id)
    qtbot.waitUntil(lambda: len(_cards(window)) == 2, timeout=WAIT_MS)

    _press(qtbot, window, "b")
    qtbot.waitUntil(lambda: Badge(0, 1, human=True) in _badges(window, chat_id), timeout=WAIT_MS)
    (stored,) = _human(window, trace_id, chat_id)
    assert (stored.passed, stored.label, stored.source) == (0, "bad", "human")
    qtbot.waitUntil(lambda: len(_cards(window)) == 3, timeout=WAIT_MS)
    assert ("bad", "you", "", "bad", "", "annotation") in _cards(window)
    assert window.inspector.evaluations.remove_button.isEnabled()
    qtbot.waitUntil(lambda: window.list_model.data(window.list_model.index(
        window.list_model.row_of(trace_id), Column.EVALS)) == "✓1 ✗2", timeout=WAIT_MS)  # the list hears of it too

    # the inspector's Good replaces it (one annotation per span)
    qtbot.mouseClick(window.inspector.evaluations.good_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: Badge(1, 1, human=True) in _badges(window, chat_id), timeout=WAIT_MS)
    assert [(e.passed, e.label) for e in _human(window, trace_id, chat_id)] == [(1, "good")]
    assert Badge(0, 1, human=True) not in _badges(window, chat_id)
    assert "Marked the span good" in window.status.currentMessage()


def test_the_dialog_sets_label_score_and_note_and_remove_takes_it_off(qtbot, window):
    trace_id, _root_id, chat_id = _send_judged_run(window)
    _open(qtbot, window, trace_id, chat_id)
    qtbot.waitUntil(lambda: len(_cards(window)) == 2, timeout=WAIT_MS)

    _press(qtbot, window, "n")
    qtbot.waitUntil(lambda: window.annotations.dialog is not None and window.annotations.dialog.isVisible(),
                    timeout=WAIT_MS)
    dialog = window.annotations.dialog
    assert dialog.span_id() == chat_id and not dialog.remove_button.isEnabled()  # nothing to remove yet
    dialog.bad_button.setChecked(True)
    qtbot.keyClicks(dialog.label_edit, "wrong-order")
    dialog.set_score(0.25)
    dialog.note_edit.setPlainText("answered about order A1024, not A1042")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: len(_human(window, trace_id, chat_id)) == 1, timeout=WAIT_MS)
    (stored,) = _human(window, trace_id, chat_id)
    assert (stored.passed, stored.label, stored.score, stored.explanation) == (
        0, "wrong-order", 0.25, "answered about order A1024, not A1042")
    qtbot.waitUntil(lambda: ("bad", "you", "0.25", "wrong-order", "answered about order A1024, not A1042",
                             "annotation") in _cards(window), timeout=WAIT_MS)

    # opened again, it shows what is stored; Remove takes it off the span, the badge goes
    assert window.annotations.dialog is None  # closed by Save
    dialog = window.annotations.annotate()
    assert (dialog.label_edit.text(), dialog.values().score, dialog.values().note, dialog.values().passed) == (
        "wrong-order", 0.25, "answered about order A1024, not A1042", False)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not _human(window, trace_id, chat_id), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not any(b.human for b in _badges(window, chat_id)), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(_cards(window)) == 2, timeout=WAIT_MS)
    assert not window.inspector.evaluations.remove_button.isEnabled()


def test_an_annotation_of_the_whole_trace_shows_on_the_root_row(qtbot, window):
    trace_id, root_id, chat_id = _send_judged_run(window)
    _open(qtbot, window, trace_id, chat_id)
    dialog = window.annotations.annotate(whole_trace=True)
    assert dialog.span_id() is None
    dialog.good_button.setChecked(True)
    dialog.note_edit.setPlainText("the run did what was asked")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: Badge(1, 1, human=True) in _badges(window, root_id), timeout=WAIT_MS)
    (stored,) = _human(window, trace_id, None)
    assert (stored.passed, stored.explanation) == (1, "the run did what was asked")
    assert not any(b.human for b in _badges(window, chat_id))
    window.waterfall.select_span(root_id)
    qtbot.waitUntil(lambda: ("good", "you", "", "good", "the run did what was asked", "annotation")
                    in _cards(window), timeout=WAIT_MS)
    assert _evaluations_title(window) == "Evaluations (1)"


def test_the_trace_list_counts_passed_and_failed_results(qtbot, window):
    trace_id, _root_id, _chat_id = _send_judged_run(window)
    model = window.list_model
    qtbot.waitUntil(lambda: model.row_of(trace_id) is not None
                    and model.trace_at(model.row_of(trace_id)).evaluations == 2, timeout=WAIT_MS)
    cell = model.index(model.row_of(trace_id), Column.EVALS)
    assert model.data(cell) == "✓1 ✗1"
    assert model.data(cell, Qt.ItemDataRole.ForegroundRole) == QColor(FAILED_COLOUR)
    assert model.data(cell, Qt.ItemDataRole.ToolTipRole).startswith("2 evaluation results")
    header = window.trace_list.horizontalHeader()
    assert header.visualIndex(Column.EVALS) == header.visualIndex(Column.ERRORS) + 1  # beside the errors
    _open(qtbot, window, trace_id, _chat_id)
    assert "2 evaluations, 1 failed" in window.trace_header.facts_label.text()


def test_annotating_without_a_receiver_says_so_and_changes_nothing(qtbot, window):
    trace_id, _root_id, chat_id = _send_judged_run(window)
    _open(qtbot, window, trace_id, chat_id)
    window.host.stop()
    _press(qtbot, window, "g")
    assert "the receiver is not running" in window.status.currentMessage()
    assert not any(b.human for b in _badges(window, chat_id))
    for box in [w for w in QApplication.topLevelWidgets() if w.isVisible() and w is not window]:
        box.close()
