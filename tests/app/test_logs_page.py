"""The logs page: log records linked to no span, sent with the real OpenTelemetry SDK to a
real receiver and listed through the real query worker; the empty state, a debounced search,
the severity filter, the selected record in full, and severity colours both themes can read."""

from __future__ import annotations

import threading
import time

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk.trace import TracerProvider
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtTest import QTest

from app.bridge import ReceiverBridge
from app.demo import APP_LOGS
from app.logs_controller import LogsController
from app.models.log_records_model import LogColumn, severity_colour
from app.theme import dark_palette, light_palette
from app.widgets.logs_page import EMPTY_TEXT, SEVERITY_CHOICES, LogsPage
from app.workers import QueryWorker
from tests.sdk_logs import SECOND, sdk_logger, send_logs

WAIT_MS = 15_000


def app_logs(base: int) -> list[dict]:
    """What an LLM app logs beside its traces, one second apart (keyword arguments of `emit`)."""
    records = [
        dict(severity_number=SeverityNumber.INFO, severity_text="INFO", body="Server listening on 127.0.0.1:8080",
             attributes={"code.function": "serve", "server.port": 8080}),
        dict(severity_number=SeverityNumber.DEBUG, severity_text="DEBUG",
             body="embedding cache hit for key sha256:9f2c41d0", attributes={"cache.name": "embeddings"}),
        dict(severity_number=SeverityNumber.WARN, severity_text="WARNING",
             body="Upstream timeout after 30 s, retrying (attempt 2 of 3)",
             attributes={"url.full": "https://api.openai.com/v1/chat/completions", "retry.attempt": 2}),
        dict(severity_number=SeverityNumber.ERROR, severity_text="ERROR",
             body={"message": "Rate limit exceeded", "status": 429, "retry_after_s": 20},
             attributes={"exception.type": "openai.RateLimitError", "gen_ai.request.model": "gpt-4o"}),
        dict(severity_number=SeverityNumber.INFO, event_name="gen_ai.choice",
             body={"index": 0, "finish_reason": "stop",
                   "message": {"role": "assistant", "content": "Paris is the capital of France."}},
             attributes={"gen_ai.system": "openai", "gen_ai.response.id": "chatcmpl-B9zX"}),
        dict(severity_number=SeverityNumber.INFO, severity_text="INFO",
             body="Indexed 1,204 documents into collection 'handbook' in 8.2 s\nskipped 3 (empty)",
             attributes={"code.function": "reindex", "documents.count": 1204}),
    ]
    return [dict(record, timestamp=base + i * SECOND) for i, record in enumerate(records)]


@pytest.fixture
def logs(qtbot, receiver, db_path):
    """The page and its controller on a real worker, told of commits by the real bridge."""
    bridge = ReceiverBridge(receiver.subscribe, interval_ms=50)
    worker = QueryWorker(db_path)
    worker.store.forbid_queries_on(threading.get_ident())  # the GUI thread must never query
    page = LogsPage()
    qtbot.addWidget(page)
    page.resize(1100, 640)
    page.show()
    controller = LogsController(worker, page)
    bridge.sig_spans_ingested.connect(controller.on_spans_ingested)
    yield page, controller
    bridge.close()
    assert worker.shutdown()


def _bodies(page) -> list[str]:
    model = page.model
    return [model.data(model.index(row, LogColumn.BODY)) for row in range(model.rowCount())]


def _send(receiver, base: int) -> None:
    ports = receiver.addresses
    with sdk_logger(ports.http_port, "support-bot") as logger:
        for record in app_logs(base):
            logger.emit(**record)
        with TracerProvider().get_tracer("tests").start_as_current_span("handle request"):
            logger.emit(timestamp=base + 9 * SECOND, body="linked to its span: not listed")


def test_empty_state_until_records_arrive_then_they_are_listed_live(qtbot, logs, receiver):
    page, controller = logs
    with qtbot.waitSignal(controller.sig_updated, timeout=WAIT_MS):
        controller.set_active(True)
    assert page.stack.currentWidget() is page.empty_label and page.empty_label.isVisible()
    assert page.empty_label.text() == EMPTY_TEXT
    assert page.count_label.text() == "0 records"

    _send(receiver, time.time_ns() - 60 * SECOND)
    qtbot.waitUntil(lambda: page.model.rowCount() == 6, timeout=WAIT_MS)  # the bridge told the controller
    assert page.stack.currentWidget() is not page.empty_label and page.table.isVisible()
    assert _bodies(page)[0].startswith("Indexed 1,204 documents into collection 'handbook' in 8.2 s skipped 3")
    assert _bodies(page)[-1] == "Server listening on 127.0.0.1:8080"
    assert page.count_label.text() == "6 records"
    row = [page.model.data(page.model.index(1, column)) for column in range(page.model.columnCount())]
    assert row[1:4] == ["INFO", "support-bot", "gen_ai.choice"]


def _shown_with_records(qtbot, logs, receiver):
    """The page shown, with `app_logs` stored a minute ago."""
    page, controller = logs
    _send(receiver, time.time_ns() - 60 * SECOND)
    assert receiver.flush(10)
    with qtbot.waitSignal(controller.sig_updated, timeout=WAIT_MS):
        controller.set_active(True)
    return page, controller


def test_typing_narrows_the_list_once_per_pause_and_a_selected_record_shows_in_full(qtbot, logs, receiver):
    page, controller = _shown_with_records(qtbot, logs, receiver)
    assert page.model.rowCount() == 6
    queries = []
    page.sig_query_changed.connect(lambda text, severity: queries.append((text, severity)))

    with qtbot.waitSignal(page.sig_query_changed, timeout=WAIT_MS):
        QTest.keyClicks(page.search_edit, "RATE LIMIT")
    assert queries == [("RATE LIMIT", 0)]  # one query for the pause, not one per key
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=WAIT_MS)
    assert page.count_label.text() == "1 record"

    rect = page.table.visualRect(page.model.index(0, LogColumn.BODY))
    QTest.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    detail = page.detail.toPlainText()
    assert '"message": "Rate limit exceeded",\n  "status": 429' in detail  # pretty JSON
    assert "exception.type" in detail and "openai.RateLimitError" in detail
    assert "Severity: ERROR (17)" in detail and "Service:  support-bot" in detail
    assert page.detail.isReadOnly()

    page.search_edit.clear()  # a refresh with the record still listed keeps it selected
    qtbot.waitUntil(lambda: page.model.rowCount() == 6, timeout=WAIT_MS)
    assert page.selected_record().severity_number == 17 and page.detail.toPlainText() == detail

    QTest.keyClicks(page.search_edit, "handbook")  # the error record is not among the matches
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=WAIT_MS)
    assert page.selected_record() is None and page.detail.toPlainText() == ""


def test_the_severity_choice_filters_and_warnings_and_errors_are_coloured(qtbot, logs, receiver):
    page, controller = _shown_with_records(qtbot, logs, receiver)
    labels = [label for label, _ in SEVERITY_CHOICES]
    assert [page.severity_box.itemText(i) for i in range(page.severity_box.count())] == labels

    def severities() -> list[str]:
        return [page.model.data(page.model.index(r, LogColumn.SEVERITY)) for r in range(page.model.rowCount())]

    for label, want in (("Warnings and above", ["ERROR", "WARNING"]), ("Errors", ["ERROR"]),
                        ("Info and above", ["INFO", "INFO", "ERROR", "WARNING", "INFO"])):
        with qtbot.waitSignal(controller.sig_updated, timeout=WAIT_MS):
            page.severity_box.setCurrentIndex(labels.index(label))
        assert severities() == want, label
        assert page.query() == ("", dict(SEVERITY_CHOICES)[label])

    colours = [page.model.data(page.model.index(r, LogColumn.SEVERITY), Qt.ItemDataRole.ForegroundRole)
               for r in range(page.model.rowCount())]
    palette = QGuiApplication.palette()
    assert colours[2] == palette.color(QPalette.ColorRole.BrightText)
    assert isinstance(colours[3], QColor) and colours[3] != colours[2]
    assert colours[0] is None and colours[4] is None


def _contrast(a: QColor, b: QColor) -> float:
    def luminance(c: QColor) -> float:
        channels = [(v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4)
                    for v in (c.redF(), c.greenF(), c.blueF())]
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("palette", [light_palette(), dark_palette()], ids=["light", "dark"])
def test_severity_colours_are_readable_on_both_themes(palette):
    for number in (13, 17, 21):
        for background in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase):
            assert _contrast(severity_colour(number, palette), palette.color(background)) >= 4.5, (number, background)
    assert severity_colour(9, palette) is None


def test_the_model_passes_the_model_tester(qtbot, qtmodeltester, receiver):
    send_logs(receiver.addresses.http_port, "support-bot", app_logs(time.time_ns() - 60 * SECOND))
    assert receiver.flush(10)
    store = receiver.store()
    try:
        records = store.unlinked_logs()
    finally:
        store.close()
    page = LogsPage()
    qtbot.addWidget(page)
    page.show_logs(records)
    qtmodeltester.check(page.model)
    page.show_logs(records[:2])
    qtmodeltester.check(page.model)
    assert page.model.rowCount() == 2


def test_ctrl_4_shows_the_app_logs_the_demo_sent_without_trace_ids(qtbot, window):
    with qtbot.waitSignal(window.sig_demo_finished, timeout=15_000) as finished:
        window.load_demo()
    assert finished.args == [""]
    demo_window, page = window, window.logs_page
    QTest.keyClick(demo_window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert demo_window.views.current == "logs" and demo_window.views.stack.currentWidget() is page
    qtbot.waitUntil(lambda: page.model.rowCount() == len(APP_LOGS), timeout=15_000)
    newest_first = [text for _ago, _severity, text, _attributes in APP_LOGS][::-1]
    assert _bodies(page) == newest_first  # none of the demo's span-linked records
    QTest.keyClick(demo_window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert demo_window.views.current == "traces"
