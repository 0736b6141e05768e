"""The charts page: Ctrl+2 / Ctrl+1 switch to it and back; its series come from the rollups
of calls exported with the real SDK and follow new ones while it is shown; hovering a chart
reads out its values at that time."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.app.test_meters import _calls, _export

WAIT_MS = 15_000


def _input_tokens_charted(window) -> float:
    chart = window.charts_page.charts["tokens"]
    per_second = chart.series.get("input/s", [])
    return sum(v or 0 for v in per_second) * 60  # one-minute steps in "Last hour"


def test_ctrl_2_shows_the_charts_which_follow_new_calls_and_ctrl_1_goes_back(qtbot, window):
    _export(window, _calls({"input": 1000, "output": 100}, {"input": 500, "output": 50}))
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2, timeout=WAIT_MS)
    with qtbot.waitSignal(window.charts_controller.sig_updated, timeout=WAIT_MS):
        QTest.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.views.current == "charts" and window.views.stack.currentWidget() is window.charts_page
    assert _input_tokens_charted(window) == 1500
    assert window.charts_page.charts["cost"].series  # one stacked series per model
    assert window.charts_page.model_box.findText("gpt-4o-mini") >= 0  # the models found are offered

    _export(window, _calls({"input": 250, "output": 25}))
    qtbot.waitUntil(lambda: _input_tokens_charted(window) == 1750, timeout=WAIT_MS)

    QTest.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.views.current == "traces"
    _export(window, _calls({"input": 1, "output": 1}))
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 4, timeout=WAIT_MS)
    assert _input_tokens_charted(window) == 1750  # a hidden page does not follow


def test_hovering_a_chart_reads_out_its_values(qtbot, window):
    _export(window, _calls({"input": 600, "output": 60}))
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1, timeout=WAIT_MS)
    with qtbot.waitSignal(window.charts_controller.sig_updated, timeout=WAIT_MS):
        window.show_view("charts")
    chart = window.charts_page.charts["tokens"]
    step = next(i for i, v in enumerate(chart.series["input/s"]) if v)
    chart.plot.vb.setXRange(chart.xs[step] - 60, chart.xs[step] + 60, padding=0)  # that minute in the middle
    window.charts_page.graphics.scene().sigMouseMoved.emit(chart.plot.vb.sceneBoundingRect().center())
    assert window.charts_page.readout.text().startswith("Tokens per second")
    assert "input/s 10.00" in window.charts_page.readout.text()  # 600 tokens in one minute
