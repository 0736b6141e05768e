"""Export and import from the window: Ctrl+E writes the selected trace as OTLP/JSON lines
(redacted too), Ctrl+O and files dropped on the window import them through the running
receiver, and skipped lines are listed as FILE:LINE in a dialog while the rest go in. The file
dialogs are the desktop's: the tests answer them."""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog

from receiver import ReceiverConfig

WAIT_MS = 15_000


def _demo(qtbot, window) -> None:
    with qtbot.waitSignal(window.sig_demo_finished, timeout=WAIT_MS):
        window.load_demo()
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 3, timeout=WAIT_MS)


def _drop(window, *paths) -> None:
    """Files dragged onto the window and dropped, as the desktop delivers it: enter, then drop."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    enter = QDragEnterEvent(QPoint(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    assert QApplication.sendEvent(window, enter) and enter.isAccepted()  # the window takes files
    QApplication.sendEvent(window, QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def test_ctrl_e_exports_the_selected_trace_and_a_drop_imports_it_elsewhere(qtbot, window, make_window, tmp_path,
                                                                            monkeypatch):
    _demo(qtbot, window)
    trace_id = window.list_model.trace_at(2).trace_id  # the first turn: 8 spans
    window.trace_list.select_trace(trace_id)
    out = tmp_path / "shared.jsonl"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(out), ""))
    with qtbot.waitSignal(window.exchange.sig_exported, timeout=WAIT_MS) as exported:
        QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert exported.args == [str(out)]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    spans = [s for line in lines if "resourceSpans" in line for r in line["resourceSpans"]
             for ss in r["scopeSpans"] for s in ss["spans"]]
    assert len(spans) == 8 and {s["traceId"] for s in spans} == {trace_id}
    assert "Exported trace" in window.status.currentMessage()

    other = make_window(ReceiverConfig(db_path=tmp_path / "colleague.db", grpc_port=0, http_port=0))
    with qtbot.waitSignal(other.exchange.sig_imported, timeout=WAIT_MS) as imported:
        _drop(other, out)
    assert imported.args[0].imported["traces"] == 8 and not imported.args[0].problems
    qtbot.waitUntil(lambda: other.list_model.rowCount() == 1, timeout=WAIT_MS)
    assert other.list_model.trace_at(0).trace_id == trace_id
    assert other.exchange.problems_box is None


def test_the_redacted_export_has_no_message_text(qtbot, window, tmp_path):
    _demo(qtbot, window)
    trace_id = window.list_model.trace_at(2).trace_id
    out = tmp_path / "redacted.jsonl.gz"
    with qtbot.waitSignal(window.exchange.sig_exported, timeout=WAIT_MS):
        window.exchange.export_to(trace_id, out, redact=True)
    import gzip

    text = gzip.decompress(out.read_bytes()).decode()
    assert "A1042" not in text and "[redacted: " in text  # the order number the user asked about
    assert '"gen_ai.usage.input_tokens"' in text


def test_ctrl_o_imports_and_lists_the_lines_it_skipped(qtbot, window, tmp_path, monkeypatch):
    from google.protobuf import json_format

    from app.demo import demo_request
    from receiver.otlp.encode import spans_to_otlp_json  # noqa: F401 (the demo as a file)

    good = json.dumps(json_format.MessageToDict(demo_request()))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(f"{good}\nnot json at all\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *args, **kwargs: ([str(bad)], ""))
    with qtbot.waitSignal(window.exchange.sig_imported, timeout=WAIT_MS) as imported:
        QTest.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    outcome = imported.args[0]
    assert outcome.imported["traces"] == 13 and outcome.problems == [f"{bad}:2: not JSON: Expecting value: "
                                                                      "line 1 column 1 (char 0)"]
    box = window.exchange.problems_box
    assert box is not None and box.isVisible() and f"{bad}:2: not JSON" in box.detailedText()
    assert "1 line skipped" in box.text()
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 3, timeout=WAIT_MS)
    box.close()


def test_ctrl_e_with_no_trace_selected_says_so(qtbot, window):
    QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert window.status.currentMessage() == "Select a trace to export"


def test_compare_opens_the_two_selected_runs_with_their_first_divergence(qtbot, window):
    from tests.app.test_trace_compare import BASE, _run

    receiver = window.host.receiver
    first = _run(receiver, BASE)
    second = _run(receiver, [BASE[0], ("tool", "get_weather", {"city": "Lyon"}), BASE[2]])
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2, timeout=WAIT_MS)
    window.comparer.compare_selected()  # one or none selected: it says what to do
    assert window.status.currentMessage().startswith("Select two traces to compare")
    window.trace_list.selectAll()
    with qtbot.waitSignal(window.comparer.sig_shown, timeout=WAIT_MS) as shown:
        window.comparer.action.trigger()
    view = shown.args[0]
    assert view.isVisible() and {view.comparison.a.trace_id, view.comparison.b.trace_id} == {first, second}
    assert view.divergence_label.text().startswith("First divergence at step 2: tool get_weather called with "
                                                   "different arguments")
    assert view.model.rowCount() == 3 and view.model.first_divergence == 1
    tint = view.model.data(view.model.index(1, 0), Qt.ItemDataRole.BackgroundRole)
    assert tint is not None and view.model.data(view.model.index(0, 0), Qt.ItemDataRole.BackgroundRole) is None
    view.close()
