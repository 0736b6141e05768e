"""The sessions page (Ctrl+3): traces grouped by session id, whichever attribute carried it
(`gen_ai.conversation.id`, `session.id`, OpenLLMetry's association properties), with turns,
tokens, cost and errors; a session's turns in order; a turn opening its trace."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.app.test_meters import _export

WAIT_MS = 15_000


def _turns(*plans: tuple[str, str | None, int, bool]) -> list:
    """One trace per (root name, session attribute=value or None, input tokens, failed)."""
    provider = TracerProvider(resource=Resource.create({"service.name": "sessions"}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests")
    for name, session, tokens, failed in plans:
        with tracer.start_as_current_span(name) as root:
            if session:
                key, value = session.split("=")
                root.set_attribute(key, value)
            with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
                chat.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                     "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": tokens,
                                     "gen_ai.usage.output_tokens": tokens // 10})
                if failed:
                    chat.set_status(Status(StatusCode.ERROR, "boom"))
    return list(memory.get_finished_spans())


def _cells(model, row: int) -> list[str]:
    return [model.data(model.index(row, column)) for column in range(model.columnCount())]


def test_sessions_group_turns_and_a_turn_opens_its_trace(qtbot, window):
    _export(window, _turns(("turn one", "gen_ai.conversation.id=conv-a", 100, False),
                           ("turn two", "gen_ai.conversation.id=conv-a", 200, True),
                           ("other", "session.id=conv-b", 400, False),
                           ("alone", None, 800, False)))
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 4, timeout=WAIT_MS)
    page = window.sessions_page
    QTest.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.views.current == "sessions"
    qtbot.waitUntil(lambda: page.sessions_model.rowCount() == 2, timeout=WAIT_MS)  # "alone" is in none
    rows = {_cells(page.sessions_model, r)[0]: _cells(page.sessions_model, r) for r in range(2)}
    session, turns, _last, _length, tokens, _cost, errors = rows["conv-a"]
    assert (turns, tokens, errors) == ("2", "300/30", "1 in 1")
    assert rows["conv-b"][1] == "1" and rows["conv-b"][4] == "400/40" and rows["conv-b"][6] == ""

    conv_a = next(r for r in range(2) if _cells(page.sessions_model, r)[0] == "conv-a")
    page.sessions_view.setCurrentIndex(page.sessions_model.index(conv_a, 0))
    qtbot.waitUntil(lambda: page.turns_model.rowCount() == 2, timeout=WAIT_MS)
    assert [_cells(page.turns_model, r)[0:3:2] for r in range(2)] == [["1", "turn one"], ["2", "turn two"]]

    second = page.turns_model.record_at(1)
    page.turns_view.activated.emit(page.turns_model.index(1, 0))
    assert window.views.current == "traces"
    qtbot.waitUntil(lambda: window.waterfall.model.trace_id == second.trace_id, timeout=WAIT_MS)


def test_new_turns_join_their_session_while_the_page_is_shown(qtbot, window):
    _export(window, _turns(("first", "session.id=s-1", 10, False)))
    window.show_view("sessions")
    page = window.sessions_page
    qtbot.waitUntil(lambda: page.turns_model.rowCount() == 1, timeout=WAIT_MS)
    assert not page.placeholder.isVisible()
    _export(window, _turns(("second", "session.id=s-1", 20, False)))
    qtbot.waitUntil(lambda: page.turns_model.rowCount() == 2
                    and _cells(page.sessions_model, 0)[1] == "2", timeout=WAIT_MS)


def test_with_no_session_the_page_says_how_traces_join_one(qtbot, window):
    _export(window, _turns(("alone", None, 5, False)))
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1, timeout=WAIT_MS)
    with qtbot.waitSignal(window.sessions_controller.sig_updated, timeout=WAIT_MS):
        window.show_view("sessions")
    assert window.sessions_page.sessions_model.rowCount() == 0
    assert window.sessions_page.placeholder.isVisible() and "gen_ai.conversation.id" in \
        window.sessions_page.placeholder.text()


def test_the_rows_model_passes_qtmodeltester(qtmodeltester):
    from app.models.rows_model import RowsModel
    from app.widgets.sessions_page import SESSION_COLUMNS
    from receiver import SessionSummary

    model = RowsModel(SESSION_COLUMNS)
    model.set_rows([SessionSummary("conv-1", 2, 1, 2_000_000_000, 10, 1, 0.01, 0, 2, 1, 1),
                    SessionSummary("conv-2", 1, 5, 6, 0, 0, 0.0, 0, 0, 0, 0)])
    qtmodeltester.check(model)
    assert model.data(model.index(0, 6)) == "1 in 1" and model.data(model.index(1, 5)) == "—"
