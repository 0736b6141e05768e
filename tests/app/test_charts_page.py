"""The charts page: Ctrl+2 / Ctrl+1 switch to it and back; its series come from the rollups
of calls exported with the real SDK and follow new ones while it is shown; hovering a chart
reads out its values at that time."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
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


def _click(qtbot, page, plot, x: float, y: float) -> None:
    """A real left click at view coordinates (x, y) of a plot, once its auto-range (applied on
    a later pass of the event loop) shows them."""
    def shown() -> bool:
        (left, right), (bottom, top) = plot.vb.viewRange()
        return left <= x <= right and bottom <= y <= top

    qtbot.waitUntil(shown, timeout=WAIT_MS)
    at = page.graphics.mapFromScene(plot.vb.mapViewToScene(QPointF(x, y)))
    QTest.mouseClick(page.graphics.viewport(), Qt.MouseButton.LeftButton, pos=at)


def _listed(window) -> set[str]:
    model = window.list_model
    return {model.trace_at(row).trace_id for row in range(model.rowCount())}


def test_cost_by_attribute_shows_each_value_and_a_bar_lists_its_traces(qtbot, window):
    spans = _calls({"input": 1000, "output": 100, "feature": "chat"}, {"input": 500, "output": 50, "feature": "chat"},
                   {"input": 4000, "output": 400, "feature": "search"}, {"input": 10, "output": 1})
    _export(window, spans)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 4, timeout=WAIT_MS)
    with qtbot.waitSignal(window.charts_controller.sig_updated, timeout=WAIT_MS):
        window.show_view("charts")
    attributes = window.charts_page.attributes
    assert attributes.key == "feature.name" and attributes.costs.precomputed
    assert [(v.value, v.traces, v.input_tokens) for v in attributes.costs.values] == [
        ("search", 1, 4000), ("chat", 2, 1500), ("", 1, 10)]
    chat_traces = {s.context.trace_id.to_bytes(16, "big").hex() for s in spans
                   if s.attributes.get("feature.name") == "chat"}

    chat_row = 1  # bars run bottom-up: "(not set)" at 0, "chat" at 1, "search" at 2
    with qtbot.waitSignal(window.list_controller.sig_loaded, timeout=WAIT_MS):
        _click(qtbot, window.charts_page, attributes.plot, attributes.costs.values[1].cost_usd / 2, chat_row)
    assert window.views.current == "traces"
    assert _listed(window) == chat_traces
    assert window.filter_bar.selection_chip.isVisible()
    assert "feature.name = chat" in window.filter_bar.selection_label.text()

    with qtbot.waitSignal(window.list_controller.sig_loaded, timeout=WAIT_MS):
        window.filter_bar.clear_selection()
    assert window.list_model.rowCount() == 4 and not window.filter_bar.selection_chip.isVisible()


def test_any_other_key_is_computed_from_the_spans_with_progress_and_can_be_kept(qtbot, window):
    _export(window, _calls({"input": 1000, "output": 100}, {"input": 500, "output": 50}))
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2, timeout=WAIT_MS)
    with qtbot.waitSignal(window.charts_controller.sig_updated, timeout=WAIT_MS):
        window.show_view("charts")
    attributes = window.charts_page.attributes
    attributes.key_box.setEditText("service.name")  # a resource attribute, not kept at ingestion
    with qtbot.waitSignal(window.charts_controller.sig_attribute_progress, timeout=WAIT_MS) as progress:
        QTest.keyClick(attributes.key_box.lineEdit(), Qt.Key.Key_Return)
    assert progress.args == [2, 2]
    qtbot.waitUntil(lambda: attributes.costs.key == "service.name", timeout=WAIT_MS)
    assert not attributes.costs.precomputed and attributes.progress.isHidden()
    assert [(v.value, v.traces, v.input_tokens) for v in attributes.costs.values] == [("meters", 2, 1500)]
    assert "computed from the spans" in attributes.plot.titleLabel.text

    # kept up to date from now on: filled from the stored spans, then read from the rollups
    assert not attributes.keep_box.isChecked()
    attributes.keep_box.click()
    qtbot.waitUntil(lambda: attributes.costs.precomputed, timeout=WAIT_MS)
    assert [(v.value, v.traces) for v in attributes.costs.values] == [("meters", 2)]
    assert attributes.keep_box.isChecked() and attributes.key_box.findText("service.name") >= 0
    _export(window, _calls({"input": 7, "output": 1}))
    qtbot.waitUntil(lambda: attributes.costs.values[0].traces == 3, timeout=WAIT_MS)  # follows new spans
    attributes.keep_box.click()  # and dropped again
    qtbot.waitUntil(lambda: not attributes.costs.precomputed, timeout=WAIT_MS)
    assert attributes.key_box.findText("service.name") < 0


def test_clicking_a_models_band_lists_the_traces_that_called_it_then(qtbot, window):
    spans = _calls({"input": 1000, "output": 100}, {"input": 100_000, "output": 5000, "model": "gpt-4o"})
    _export(window, spans)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2, timeout=WAIT_MS)
    with qtbot.waitSignal(window.charts_controller.sig_updated, timeout=WAIT_MS):
        window.show_view("charts")
    chart = window.charts_page.charts["cost"]
    step = next(i for i, v in enumerate(chart.tops["gpt-4o"]) if v)
    names = list(chart.tops)  # stacked in this order
    at = names.index("gpt-4o")
    below = chart.tops[names[at - 1]][step] if at else 0.0
    with qtbot.waitSignal(window.list_controller.sig_loaded, timeout=WAIT_MS):
        _click(qtbot, window.charts_page, chart.plot, chart.xs[step], (below + chart.tops["gpt-4o"][step]) / 2)
    gpt_4o = {s.context.trace_id.to_bytes(16, "big").hex() for s in spans if s.name == "chat gpt-4o"}
    assert _listed(window) == gpt_4o
    assert "Cost by model" in window.filter_bar.selection_label.text()
    assert "gpt-4o" in window.filter_bar.selection_label.text()


def _send_genai_metrics(window) -> None:
    """One model call's GenAI metrics, exported with the real SDK over OTLP/gRPC."""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    exporter = OTLPMetricExporter(endpoint=f"127.0.0.1:{window.host.addresses.grpc_port}", insecure=True)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("tests")
    call = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    tokens.record(1200, {**call, "gen_ai.token.type": "input"})
    tokens.record(90, {**call, "gen_ai.token.type": "output"})
    meter.create_histogram("gen_ai.client.operation.duration", unit="s").record(1.5, call)
    try:
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()


def test_the_genai_metrics_received_are_drawn_dashed_beside_the_span_series(qtbot, window):
    _export(window, _calls({"input": 1000, "output": 100}))
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1, timeout=WAIT_MS)
    with qtbot.waitSignal(window.charts_controller.sig_updated, timeout=WAIT_MS):
        window.show_view("charts")
    page = window.charts_page
    assert "No GenAI metrics received" in page.metrics_note.text()
    assert "input/s (metrics)" not in page.charts["tokens"].series

    _send_genai_metrics(window)
    qtbot.waitUntil(lambda: "input/s (metrics)" in page.charts["tokens"].series, timeout=WAIT_MS)
    tokens = page.charts["tokens"].series
    assert sum(v or 0 for v in tokens["input/s (metrics)"]) * 60 == pytest.approx(1200)  # one-minute steps
    assert sum(v or 0 for v in tokens["output/s (metrics)"]) * 60 == pytest.approx(90)
    assert sum(v or 0 for v in tokens["input/s"]) * 60 == pytest.approx(1000)  # the spans' own, beside them
    mean = [v for v in page.charts["latency"].series["mean (metrics)"] if v is not None]
    assert mean == [1500.0]
    assert "gen_ai.client.token.usage" in page.metrics_note.text()
