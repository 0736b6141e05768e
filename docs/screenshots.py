"""Make the screenshots in docs/ (and the README): the real window, offscreen, with the demo
traces sent over OTLP to an in-process receiver on free ports and a temporary database.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots.py [--out DIR]
        [--only evaluations|evaluations-chart|playground|mcp]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from evaluations_picture import evaluations_chart  # noqa: E402 - beside this script
from mcp_picture import mcp_call  # noqa: E402 - beside this script
from playground_picture import playground  # noqa: E402 - beside this script
from PySide6.QtCore import QEventLoop, QPoint, QRect, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from app.models.trace_list_model import Column  # noqa: E402
from app.receiver_host import ReceiverHost  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.span_category import CHAT, category_of  # noqa: E402
from app.theme import apply_theme, dark_palette, light_palette  # noqa: E402
from app.widgets.main_window import MainWindow  # noqa: E402
from app.workers import QueryWorker  # noqa: E402
from receiver import ReceiverConfig  # noqa: E402

WINDOW_SIZE = (1440, 900)
TIMEOUT_MS = 30_000


def wait_until(condition, timeout_ms: int = TIMEOUT_MS) -> None:
    loop, timer = QEventLoop(), QTimer(interval=20)
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    timer.start()
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    timer.stop()
    if not condition():
        raise SystemExit("timed out waiting for the window")


def settle(ms: int = 300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def save(widget: QWidget, path: Path) -> None:
    settle()
    if not widget.grab().save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(path)


def open_span(window: MainWindow, trace_index: int, predicate) -> None:
    trace_id = window.list_model.trace_at(trace_index).trace_id
    window.trace_list.select_trace(trace_id)
    wait_until(lambda: window.open_trace.detail is not None and window.open_trace.detail.trace_id == trace_id)
    settle(100)
    span = window.waterfall.first_span(predicate)
    window.waterfall.select_span(span.span_id)


def send_variant_of_first_turn(window: MainWindow, trace_id: str) -> str:
    """The demo's first turn again, as a second run of the same question in which the model
    looked up another order: the same path, other tool arguments. Returns its trace id."""
    import json

    from receiver import TraceStore
    from receiver.otlp.otlp_file import SIGNAL_KEYS, trace_lines

    store = TraceStore(window.host.config.db_path)
    try:
        detail = store.get_trace(trace_id)
    finally:
        store.close()
    variant = os.urandom(16).hex()
    for line in trace_lines(detail):
        document = json.loads(line.replace(trace_id, variant).replace("A1042", "A1024"))
        spans = [span for resource in document.get("resourceSpans", []) for scope in resource["scopeSpans"]
                 for span in scope["spans"]]
        looked_up = min((int(s["startTimeUnixNano"]) for s in spans if s["name"].startswith("execute_tool")),
                        default=None)
        for span in spans:
            if looked_up is not None and int(span["startTimeUnixNano"]) > looked_up:
                _slower_with_more_tokens(span)
        (key,) = document
        window.host.receiver.import_request(SIGNAL_KEYS[key], json.dumps(document).encode())
    return variant


def send_unpropagated_server_call(window: MainWindow) -> str:
    """An MCP server's span for a tools/call whose client did not pass `traceparent`: a trace
    of its own whose parent span never arrives, in the demo's session. Returns its trace id."""
    import json
    import time

    trace_id, now = os.urandom(16).hex(), time.time_ns()
    attributes = {"mcp.method.name": "tools/call", "gen_ai.tool.name": "lookup_order",
                  "gen_ai.operation.name": "execute_tool", "session.id": "conv-demo-0001"}
    span = {"traceId": trace_id, "spanId": os.urandom(8).hex(), "parentSpanId": os.urandom(8).hex(),
            "name": "tools/call lookup_order", "kind": 2, "startTimeUnixNano": str(now - 200_000_000),
            "endTimeUnixNano": str(now - 60_000_000),
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()]}
    document = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "orders-mcp-server"}}]},
        "scopeSpans": [{"scope": {"name": "mcp"}, "spans": [span]}]}]}
    window.host.receiver.import_request("traces", json.dumps(document).encode())
    return trace_id


def _slower_with_more_tokens(span: dict) -> None:
    """The other order's lookup made the later calls longer: more input, more time."""
    if span["name"].startswith("chat "):
        span["endTimeUnixNano"] = str(int(span["endTimeUnixNano"]) + 180_000_000)
        for attribute in span["attributes"]:
            if attribute["key"] == "gen_ai.usage.input_tokens":
                attribute["value"]["intValue"] = str(int(attribute["value"]["intValue"]) + 64)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "screenshots")
    parser.add_argument("--only", choices=("evaluations", "evaluations-chart", "playground", "mcp"),
                        help="make only these pictures")
    arguments = parser.parse_args()
    out = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    from app.gc_policy import GuiThreadCollector

    GuiThreadCollector(app).start()  # as the app does
    apply_theme(app, "light")
    if arguments.only == "evaluations":
        evaluations(out)
        return 0
    if arguments.only == "mcp":
        with running_window() as window:
            mcp_call(window, out, wait_until, settle, save)
        return 0
    if arguments.only == "playground":
        demo_playground(out)
        return 0
    if arguments.only == "evaluations-chart":
        evaluations_chart(out, wait_until, settle)
        return 0
    with running_window() as window:
        window.show()
        wait_until(lambda: window.list_controller.loaded_once)
        save(window, out / "empty-state.png")
        window.load_demo()
        wait_until(lambda: window.list_model.rowCount() == 3)
        broken = send_unpropagated_server_call(window)  # flagged once the grace period is over, below
        wait_until(lambda: window.list_model.rowCount() == 4)
        first_turn = 3  # newest first: the conversation's first turn is the richest run
        open_span(window, first_turn, lambda s: category_of(s.genai) == CHAT)
        window.inspector.show_tab("Messages")
        save(window, out / "main-window-light.png")
        app.setPalette(dark_palette())
        save(window, out / "main-window-dark.png")
        app.setPalette(light_palette())
        save(window.inspector, out / "messages-tab.png")
        # the sub-agent's claude call: cached input tokens
        open_span(window, first_turn, lambda s: (s.genai.get("request_model") or "").startswith("claude"))
        window.inspector.show_tab("Overview")
        settle(100)
        window.inspector.overview.scroll_to_section("Tokens")
        save(window.inspector, out / "overview-tab.png")
        window.show_view("charts")  # the demo's calls, charted from the rollups
        wait_until(lambda: bool(window.charts_page.charts["tokens"].series))
        settle(300)
        save(window, out / "charts-page.png")
        bar = window.charts_page.scroller.verticalScrollBar()
        # down to the last chart, cost by attribute (the evaluations section below has a picture of its own)
        bar.setValue(window.charts_page.graphics.geometry().bottom() - window.charts_page.scroller.viewport().height())
        wait_until(lambda: window.charts_page.attributes.costs is not None)
        settle(200)
        save(window.charts_page, out / "charts-cost-by-attribute.png")
        bar.setValue(0)
        window.show_view("sessions")
        wait_until(lambda: window.sessions_page.turns_model.rowCount() == 4)  # with the MCP fragment
        settle(200)
        save(window, out / "sessions-page.png")
        window.show_view("logs")
        wait_until(lambda: window.logs_page.model.rowCount() > 0)
        window.logs_page.table.selectRow(1)  # the warning, in full below
        settle(200)
        save(window, out / "logs-page.png")
        window.show_view("traces")
        first = window.list_model.trace_at(first_turn).trace_id
        variant = send_variant_of_first_turn(window, first)
        wait_until(lambda: window.list_model.rowCount() == 5)
        shown = []
        window.comparer.sig_shown.connect(shown.append)
        window.comparer.compare(first, variant)
        wait_until(lambda: bool(shown))
        settle(200)
        save(shown[0], out / "compare-view.png")
        shown[0].close()
        # search: the variant pinned, a typed filter narrowing the four runs to the two that
        # looked up an order and said "return", one of them open
        window.trace_list.select_trace(variant)
        window.pins.action.trigger()
        wait_until(lambda: window.list_model.trace_at(window.list_model.row_of(variant)).pinned)
        window.filter_bar.text_edit.setText('tool:lookup_order "still return" cost>0.001 duration>5s')
        window.filter_bar.text_edit.returnPressed.emit()
        wait_until(lambda: window.list_model.rowCount() == 2)
        open_span(window, 1, lambda s: s.genai.get("tool_name") == "lookup_order")
        settle(300)
        save(window, out / "search.png")
        # a broken trace: the server side of a call whose context was not propagated
        window.filter_bar.text_edit.setText("")
        window.filter_bar.text_edit.returnPressed.emit()
        wait_until(lambda: window.list_model.rowCount() == 5)
        summary = window.list_model.trace_at(window.list_model.row_of(broken))
        wait_until(lambda: summary.is_broken(time.time_ns()), timeout_ms=60_000)  # the grace period
        window.list_model.refresh_flags()
        window.trace_list.select_trace(broken)
        wait_until(lambda: window.open_trace.detail is not None and window.open_trace.detail.trace_id == broken)
        wait_until(lambda: window.trace_header.problem_label.isVisible())
        settle(300)
        save(window, out / "broken-trace.png")
        window.trace_header.problem_label.linkActivated.emit("together:conv-demo-0001")  # its link, clicked
        wait_until(lambda: bool(window.open_trace.together) and window.waterfall.model.span_count() > 1)
        settle(300)
        save(window, out / "broken-trace-together.png")
    guarded_and_full(out)
    budgets_and_forwarding(out)
    evaluations(out)
    evaluations_chart(out, wait_until, settle)
    demo_playground(out)
    with running_window() as window:
        mcp_call(window, out, wait_until, settle, save)
    return 0


def demo_playground(out: Path) -> None:
    with running_window() as window:
        window.show()
        window.load_demo()
        wait_until(lambda: window.list_model.rowCount() == 3)
        playground(window, out, wait_until, settle)


@contextmanager
def running_window(**config) -> Iterator[MainWindow]:
    """A window over a receiver on free ports and a new database, closed and stopped after."""
    with tempfile.TemporaryDirectory() as tmp:
        host = ReceiverHost(ReceiverConfig(db_path=Path(tmp) / "tracepane.db", grpc_port=0, http_port=0, **config))
        host.start()
        worker = QueryWorker(host.config.db_path)
        window = MainWindow(host, worker, AppSettings(Path(tmp) / "settings.ini"), remember_layout=False)
        window.resize(*WINDOW_SIZE)
        try:
            yield window
        finally:
            window.close()
            worker.shutdown()
            host.stop()


def guarded_and_full(out: Path) -> None:
    """A receiver that asks for a bearer token (the snippet carries it), then its disk full."""
    with running_window(auth_token="s3cret-token") as window:
        host = window.host
        window.show()
        wait_until(lambda: window.list_controller.loaded_once)
        save(window, out / "empty-state-token.png")
        window.load_demo()
        wait_until(lambda: window.list_model.rowCount() == 3)
        host.receiver.run_job(lambda conn: conn.execute("PRAGMA max_page_count = 1"), 10)  # no room to grow
        window.load_demo()  # refused: exporters are told to retry
        wait_until(lambda: window.status.storage_label.isVisible())
        settle(300)
        save(window, out / "disk-full.png")


def budgets_and_forwarding(out: Path) -> None:
    """Receiver ▸ Storage budgets…, and the status bar while the --forward-to endpoint is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # a port nothing listens on: the upstream is down
        upstream = f"grpc://127.0.0.1:{probe.getsockname()[1]}"
        with running_window(forward_to=(upstream,)) as window:
            window.show()
            window.load_demo()
            wait_until(lambda: window.list_model.rowCount() == 3)
            wait_until(lambda: (window.status.refresh(), window.status.forward_label.isVisible())[1])
            settle(300)
            save(window, out / "forwarding-failing.png")
            window.retention.choose()
            wait_until(lambda: window.retention.dialog is not None and window.retention.dialog.isVisible())
            settle(300)
            save(window.retention.dialog, out / "storage-budgets.png")
            window.retention.dialog.reject()


def evaluations(out: Path) -> None:
    """The demo's rate-limited turn, whose answer an LLM judge found made up: its badges, the
    inspector's Evaluations tab with the user's annotation among the results, and the dialog."""
    with running_window() as window:
        host = window.host
        window.show()
        window.load_demo()
        wait_until(lambda: window.list_model.rowCount() == 3)
        # one service throughout: its column makes room for the Evals column (the meters take the width)
        window.trace_list.horizontalHeader().hideSection(Column.SERVICE)
        second_turn = window.list_model.trace_at(1).trace_id  # newest first
        open_span(window, 1, lambda s: category_of(s.genai) == CHAT and s.status_code != 2)
        answer = window.waterfall.selected_span()
        send_helpfulness(window, second_turn, answer.span_id)
        host.receiver.set_annotation(second_turn, answer.span_id, passed=False, label="made-up return", note=(
            "No return was started: the agent has no tool for it yet, so it should hand over to a person."))
        wait_until(lambda: len(window.inspector.evaluations.rows()) == 4)
        window.inspector.show_tab("Evaluations")
        save(window, out / "evaluation-badges.png")
        dialog = window.annotations.annotate()
        settle(200)
        save_with_dialog(window, dialog, out / "annotation-dialog.png")
        dialog.reject()


def send_helpfulness(window: MainWindow, trace_id: str, span_id: str) -> None:
    """A judge's 1-to-5 helpfulness score, as a log record: a score off the 0–1 scale has no verdict."""
    import json

    attributes = {"gen_ai.evaluation.name": "helpfulness", "gen_ai.evaluation.score.value": 4.0,
                  "gen_ai.evaluation.explanation": "Clear next step for the customer, if it were true."}
    record = {"timeUnixNano": str(time.time_ns()), "traceId": trace_id, "spanId": span_id,
              "eventName": "gen_ai.evaluation.result",
              "attributes": [{"key": k, "value": {"doubleValue": v} if isinstance(v, float) else {"stringValue": v}}
                             for k, v in attributes.items()]}
    document = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "support-evals"}}]},
        "scopeLogs": [{"scope": {"name": "judge"}, "logRecords": [record]}]}]}
    window.host.receiver.import_request("logs", json.dumps(document).encode())


def save_with_dialog(window: MainWindow, dialog: QWidget, path: Path) -> None:
    """The window with a dialog over its middle, as the screen shows them (grab() takes one window)."""
    settle()
    picture = window.grab()
    painter = QPainter(picture)
    shot = dialog.grab()
    at = QPoint((picture.width() - shot.width()) // 2, (picture.height() - shot.height()) // 3)
    for spread in range(6, 0, -1):  # a soft shadow, then a hairline: the dialog stands off the window
        painter.fillRect(QRect(at, shot.size()).adjusted(-spread, -spread + 2, spread, spread + 2),
                         QColor(0, 0, 0, 10))
    painter.drawPixmap(at, shot)
    painter.setPen(QColor(0, 0, 0, 90))
    painter.drawRect(QRect(at, shot.size()).adjusted(-1, -1, 0, 0))
    painter.end()
    if not picture.save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(path)


if __name__ == "__main__":
    sys.exit(main())
