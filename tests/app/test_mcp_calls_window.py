"""The two sides of an MCP call in the window (issue 14): spans from the real `mcp` SDK, sent
by a client and a server process over OTLP/gRPC to the window's receiver. The waterfall marks
each side with the other's service, the Overview's "Other side" opens the other span (in
another trace when the context was not propagated), and a server span no caller's context
reached is flagged with the propagation hint; a propagated one is not."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.models.span_display import SpanColumn
from app.propagation import PROPAGATION_HINT
from app.widgets.main_window import MainWindow
from tests.mcp_session import CLIENT_SERVICE, SERVER_SERVICE, run_session

WAIT_MS = 20_000
CLIENT_NAME, SERVER_NAME = "MCP send tools/call get_weather", "tools/call get_weather"


def _row_text(window: MainWindow, span_id: str) -> str:
    model = window.waterfall.model
    return model.data(model.index_of(span_id, SpanColumn.NAME)) or ""


def _open_span(qtbot, window: MainWindow, trace_id: str, span_name: str) -> str:
    window.open_trace_from_elsewhere(trace_id)
    qtbot.waitUntil(lambda: window.waterfall.model.trace_id == trace_id
                    and window.waterfall.first_span(lambda s: s.name == span_name) is not None, timeout=WAIT_MS)
    span_id = window.waterfall.first_span(lambda s: s.name == span_name).span_id
    window.waterfall.select_span(span_id)
    qtbot.waitUntil(lambda: (span := window.inspector.span()) is not None and span.span_id == span_id,
                    timeout=WAIT_MS)
    return span_id


def _session(qtbot, window: MainWindow, mode: str, traces: int) -> list[str]:
    qtbot.waitUntil(lambda: window.host.addresses is not None, timeout=WAIT_MS)
    trace_ids = run_session(window.host.addresses.grpc_port, mode)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == traces, timeout=WAIT_MS)
    return trace_ids


def test_an_unpropagated_call_is_linked_across_traces_and_its_server_span_flagged(qtbot, window):
    weather_trace, _ = _session(qtbot, window, "unpropagated", traces=7)
    client_id = _open_span(qtbot, window, weather_trace, CLIENT_NAME)
    assert f"⇄ MCP client → {SERVER_SERVICE}" in _row_text(window, client_id)
    assert window.trace_header.problem_text() == ""  # the client's trace is whole
    overview = window.inspector.overview
    assert overview.value_text("Method") == "tools/call" and overview.value_text("Side") == "client"
    other_side = overview.value_label("Other side")
    assert other_side is not None and SERVER_SERVICE in other_side.text() and "in trace" in other_side.text()

    other_side.linkActivated.emit(other_side.text())  # the link, clicked: the server span, in its own trace
    qtbot.waitUntil(lambda: (span := window.inspector.span()) is not None and span.name == SERVER_NAME,
                    timeout=WAIT_MS)
    server = window.inspector.span()
    assert server.trace_id != weather_trace and window.waterfall.model.trace_id == server.trace_id
    qtbot.waitUntil(lambda: "⚠" in _row_text(window, server.span_id), timeout=WAIT_MS)
    assert f"⇄ MCP server ← {CLIENT_SERVICE}" in _row_text(window, server.span_id)
    model = window.waterfall.model
    assert "did not reach" in model.data(model.index_of(server.span_id), Qt.ItemDataRole.ToolTipRole)
    assert PROPAGATION_HINT in (window.inspector.overview.value_text("Propagation") or "")
    qtbot.waitUntil(lambda: "no caller in this trace" in window.trace_header.problem_text(), timeout=WAIT_MS)

    back = window.inspector.overview.value_label("Other side")
    assert back is not None and CLIENT_SERVICE in back.text()
    back.linkActivated.emit(back.text())  # and back to the client span
    qtbot.waitUntil(lambda: (span := window.inspector.span()) is not None and span.span_id == client_id,
                    timeout=WAIT_MS)


def test_a_propagated_call_is_marked_in_one_trace_and_not_flagged(qtbot, window):
    weather_trace, _ = _session(qtbot, window, "propagated", traces=3)
    server_id = _open_span(qtbot, window, weather_trace, SERVER_NAME)
    client = window.waterfall.first_span(lambda s: s.name == CLIENT_NAME)
    assert f"⇄ MCP server ← {CLIENT_SERVICE}" in _row_text(window, server_id)
    assert "⚠" not in _row_text(window, server_id)
    assert f"⇄ MCP client → {SERVER_SERVICE}" in _row_text(window, client.span_id)
    overview = window.inspector.overview
    assert overview.value_text("Propagation") is None and window.trace_header.problem_text() == ""
    other_side = overview.value_label("Other side")
    assert other_side is not None and "in this trace" in other_side.text()
    other_side.linkActivated.emit(other_side.text())
    qtbot.waitUntil(lambda: (span := window.waterfall.selected_span()) is not None
                    and span.span_id == client.span_id, timeout=WAIT_MS)
