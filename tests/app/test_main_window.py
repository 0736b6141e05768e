"""The main window end to end, offscreen: a real receiver in the process on port 0, real
OpenTelemetry SDK exporters sending to it, the real query worker, and a store that raises if
the GUI thread ever queries it (the `make_window` and `window` fixtures of tests/app/conftest.py)."""

from __future__ import annotations

import socket

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from PySide6.QtCore import Qt

from app.list_filter import ListFilter
from app.models.trace_list_model import Column
from app.widgets.main_window import MainWindow
from app.widgets.ports_dialog import PortsDialog
from receiver import ReceiverConfig

WAIT_MS = 10_000


def _tracer(service: str):
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider.get_tracer("tests"), memory


def _export(window: MainWindow, spans) -> None:
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{window.host.addresses.grpc_port}", insecure=True)
    try:
        assert exporter.export(list(spans)).name == "SUCCESS"
    finally:
        exporter.shutdown()


def _rows(window: MainWindow) -> list[str]:
    model = window.list_model
    return [model.data(model.index(row, Column.ROOT)) for row in range(model.rowCount())]


def _load_demo(qtbot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.sig_demo_finished, timeout=WAIT_MS) as finished:
        window.load_demo()
    assert finished.args == [""]
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 3, timeout=WAIT_MS)


def _open(qtbot, window: MainWindow, trace_id: str) -> None:
    """Select a trace and wait until its waterfall shows (it may be selected already: Qt makes
    the first row current when the focused list gets its first row)."""
    window.trace_list.select_trace(trace_id)
    qtbot.waitUntil(lambda: window.open_trace.detail is not None and window.open_trace.detail.trace_id == trace_id
                    and window.waterfall.model.trace_id == trace_id, timeout=WAIT_MS)


def test_a_span_sent_over_real_otlp_appears_in_the_list(qtbot, window):
    qtbot.waitUntil(lambda: window.list_controller.loaded_once, timeout=WAIT_MS)
    assert window.pages.currentWidget() is window.empty_state  # nothing stored yet
    tracer, memory = _tracer("checkout")
    with tracer.start_as_current_span("POST /checkout"):
        pass
    _export(window, memory.get_finished_spans())
    qtbot.waitUntil(lambda: _rows(window) == ["POST /checkout"], timeout=WAIT_MS)
    assert window.pages.currentWidget() is window.main_splitter
    model = window.list_model
    assert model.data(model.index(0, Column.SERVICE)) == "checkout"
    assert "1 span received" in window.status.counts_label.text()


def test_selecting_a_trace_fills_the_waterfall_and_the_inspector(qtbot, window):
    _load_demo(qtbot, window)
    first_turn = window.list_model.trace_at(2)
    assert first_turn.span_count == 8
    _open(qtbot, window, first_turn.trace_id)
    assert window.trace_header.id_label.text() == first_turn.trace_id
    claude = window.waterfall.first_span(lambda span: span.genai.get("request_model") == "claude-3-5-sonnet-20241022")
    assert claude is not None and window.waterfall.select_span(claude.span_id)
    assert window.waterfall.selected_span().span_id == claude.span_id
    window.inspector.show_tab("Overview")
    overview = window.inspector.overview
    assert overview.value_text("Request model") == "claude-3-5-sonnet-20241022"
    assert overview.value_text("Cache read").startswith("1,536")
    window.inspector.show_tab("Messages")
    assert "A1042" in window.inspector.messages.text()  # the sub-agent was handed the order


@pytest.mark.parametrize(("list_filter", "expected_rows"), [
    (ListFilter(errors_only=True), 1),
    (ListFilter(model="claude-3-5-sonnet-20241022"), 1),
    (ListFilter(text="REFUND-POLICY"), 1),
    (ListFilter(service="support-agent"), 3),
    (ListFilter(service="no-such-service"), 0),
])
def test_filters_narrow_the_list(qtbot, window, list_filter, expected_rows):
    _load_demo(qtbot, window)
    window.filter_bar.set_filter(list_filter)
    with qtbot.waitSignal(window.list_controller.sig_loaded, timeout=WAIT_MS):
        window.filter_bar.sig_filter_changed.emit(window.filter_bar.value())
    assert window.list_model.rowCount() == expected_rows
    if expected_rows == 0:
        assert window.pages.currentWidget() is window.main_splitter  # filtered to nothing is not "no traces"
        assert window.trace_list._placeholder.isVisible() or not window.isVisible()


def test_the_filter_bar_debounces_typing_into_one_query(qtbot, window):
    _load_demo(qtbot, window)
    loads = []
    window.list_controller.sig_loaded.connect(loads.append)
    qtbot.keyClicks(window.filter_bar.text_edit, "rate limit")
    qtbot.waitUntil(lambda: len(loads) > 0, timeout=WAIT_MS)
    assert window.list_model.rowCount() == 1 and len(loads) == 1


def test_a_growing_trace_updates_in_place_keeping_the_selection(qtbot, window):
    tracer, memory = _tracer("agent")
    root = tracer.start_span("invoke_agent planner")
    from opentelemetry import trace as otel_trace

    with otel_trace.use_span(root, end_on_exit=False):
        with tracer.start_as_current_span("execute_tool search"):
            pass
    _export(window, memory.get_finished_spans())
    memory.clear()
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1, timeout=WAIT_MS)
    trace_id = window.list_model.trace_at(0).trace_id
    _open(qtbot, window, trace_id)
    assert window.list_model.trace_at(0).span_count == 1
    with otel_trace.use_span(root, end_on_exit=False):
        with tracer.start_as_current_span("chat gpt-4o") as chat:
            chat.set_status(Status(StatusCode.ERROR, "rate limited"))
    root.end()
    _export(window, memory.get_finished_spans())
    qtbot.waitUntil(lambda: window.list_model.trace_at(0).span_count == 3, timeout=WAIT_MS)
    assert window.list_model.rowCount() == 1  # updated, not added
    assert window.trace_list.current_trace_id() == trace_id
    assert window.list_model.trace_at(0).root_name == "invoke_agent planner"  # the root arrived last
    assert window.list_model.data(window.list_model.index(0, Column.ERRORS)) == "1"
    qtbot.waitUntil(lambda: window.waterfall.first_span(lambda s: s.name == "chat gpt-4o") is not None,
                    timeout=WAIT_MS)


def test_follow_latest_opens_each_new_trace(qtbot, window):
    _load_demo(qtbot, window)
    window.trace_list.select_trace(window.list_model.trace_at(2).trace_id)
    window.follow_action.setChecked(True)  # opens the newest at once
    newest_id = window.list_model.trace_at(0).trace_id
    qtbot.waitUntil(lambda: window.open_trace.detail is not None and window.open_trace.detail.trace_id == newest_id,
                    timeout=WAIT_MS)
    tracer, memory = _tracer("agent")
    with tracer.start_as_current_span("run 2"):
        pass
    with qtbot.waitSignal(window.sig_trace_shown, timeout=WAIT_MS) as shown:
        _export(window, memory.get_finished_spans())
    newest = window.list_model.trace_at(0)
    assert newest.root_name == "run 2"
    assert shown.args == [newest.trace_id]
    assert window.trace_list.current_trace_id() == newest.trace_id


def test_without_follow_latest_a_new_trace_does_not_move_the_selection(qtbot, window):
    _load_demo(qtbot, window)
    picked = window.list_model.trace_at(2).trace_id
    window.trace_list.select_trace(picked)
    tracer, memory = _tracer("agent")
    with tracer.start_as_current_span("run 2"):
        pass
    _export(window, memory.get_finished_spans())
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 4, timeout=WAIT_MS)
    assert window.trace_list.current_trace_id() == picked


def test_the_empty_state_says_how_to_send_traces_and_loads_the_demo(qtbot, window):
    qtbot.waitUntil(lambda: window.list_controller.loaded_once, timeout=WAIT_MS)
    assert window.pages.currentWidget() is window.empty_state
    text = window.empty_state.settings_text.toPlainText()
    assert f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{window.host.addresses.http_port}" in text
    window.empty_state.copy_button.click()
    from PySide6.QtGui import QGuiApplication

    assert "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" in QGuiApplication.clipboard().text()
    window.empty_state.demo_button.click()
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 3, timeout=WAIT_MS)
    assert window.pages.currentWidget() is window.main_splitter


def test_with_a_token_the_empty_state_gives_the_header_an_sdk_exports_with(qtbot, make_window, db_path, monkeypatch):
    """The snippet, pasted into the environment, is all the real SDK exporters need: the
    header value is URL-encoded as the OTLP exporter spec says (the space is %20)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

    from app.widgets.empty_state import exporter_settings

    token = "t0k,en=/+ %"  # characters the variable must encode
    window = make_window(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, auth_token=token))
    qtbot.waitUntil(lambda: window.list_controller.loaded_once, timeout=WAIT_MS)
    assert "token required" in window.status.listen_label.text() and token not in window.status.listen_label.text()
    assert "bearer token" in window.empty_state.status_label.text()
    exporters = {"OTLP/HTTP": HttpSpanExporter, "OTLP/gRPC": OTLPSpanExporter}
    for protocol, exporter_type in exporters.items():
        window.empty_state.protocol_box.setCurrentText(protocol)
        lines = window.empty_state.settings_text.toPlainText().splitlines()
        settings = dict(line.removeprefix("export ").split("=", 1) for line in lines)
        assert settings["OTEL_EXPORTER_OTLP_HEADERS"] == "Authorization=Bearer%20t0k%2Cen%3D%2F%2B%20%25"
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        tracer, memory = _tracer(f"via {protocol}")
        with tracer.start_as_current_span(f"sent over {protocol}"):
            pass
        exporter = exporter_type()  # configured by the environment alone
        try:
            assert exporter.export(memory.get_finished_spans()).name == "SUCCESS"
        finally:
            exporter.shutdown()
    qtbot.waitUntil(lambda: sorted(_rows(window)) == ["sent over OTLP/HTTP", "sent over OTLP/gRPC"], timeout=WAIT_MS)
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in exporter_settings(window.host.addresses)  # no token, no header


def test_a_taken_port_still_opens_the_window_and_other_ports_can_be_picked(qtbot, make_window, db_path,
                                                                           monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        window = make_window(ReceiverConfig(db_path=db_path, grpc_port=port, http_port=0))
        assert window.host.receiver is None
        assert str(port) in window.status.listen_label.text() and "Change ports" in window.status.listen_label.text()
        assert not window.demo_action.isEnabled()
        monkeypatch.setattr(PortsDialog, "exec", lambda self: PortsDialog.DialogCode.Accepted)
        monkeypatch.setattr(PortsDialog, "ports", lambda self: (0, 0))
        window.status.sig_ports_wanted.emit()
    assert window.host.receiver is not None
    assert window.status.listen_label.text().startswith("gRPC 127.0.0.1:")
    assert window.settings.ports() == (0, 0)
    _load_demo(qtbot, window)


def test_splitters_and_the_filter_are_remembered_between_runs(qtbot, make_window):
    first = make_window()
    first.main_splitter.setSizes([300, 900])
    first.right_splitter.setSizes([200, 600])
    first.filter_bar.set_filter(ListFilter(errors_only=True, time_range="Last hour"))
    first.save_layout()
    # not shown: the offscreen screen is smaller than the window, and showing would squeeze it
    second = make_window(show=False)
    assert second.main_splitter.saveState() == first.main_splitter.saveState()
    assert second.right_splitter.saveState() == first.right_splitter.saveState()
    assert second.filter_bar.value() == ListFilter(errors_only=True, time_range="Last hour")


def test_delete_removes_the_selected_trace_after_confirmation(qtbot, window, monkeypatch):
    _load_demo(qtbot, window)
    doomed = window.list_model.trace_at(1).trace_id
    _open(qtbot, window, doomed)
    monkeypatch.setattr(window, "confirm", lambda title, text: False)
    window.delete_action.trigger()  # declined: nothing happens
    monkeypatch.setattr(window, "confirm", lambda title, text: True)
    window.trace_list.setFocus()
    qtbot.keyClick(window.trace_list, Qt.Key.Key_Delete)  # the Del key, as a user presses it
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2, timeout=WAIT_MS)
    assert doomed not in window.list_model.trace_ids()
    # like a mail client: the neighbour is selected and opened, never the deleted trace
    neighbour = window.trace_list.current_trace_id()
    assert neighbour in window.list_model.trace_ids()
    qtbot.waitUntil(lambda: window.open_trace.detail is not None and window.open_trace.detail.trace_id == neighbour,
                    timeout=WAIT_MS)
    assert window.waterfall.selected_span().trace_id == neighbour


def test_clear_all_empties_the_database_and_shows_the_empty_state(qtbot, window, monkeypatch):
    _load_demo(qtbot, window)
    monkeypatch.setattr(window, "confirm", lambda title, text: True)
    window.clear_action.trigger()
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.empty_state, timeout=WAIT_MS)
    _load_demo(qtbot, window)  # ingest goes on after a clear
