"""The charts page (pyqtgraph): latency percentiles over time, latency by input length, TTFT
and time per output token, tokens per second, cost by model, output/input ratio, tool call
success rate, model routing share and cost by attribute, for a time range and a model; below
them the evaluations of the range (`EvaluationsSection`). The time charts are drawn from one
`UsageSeries` (the receiver's per-minute rollups). Hovering a chart shows its values at that
time; clicking it asks for the traces behind that point (`sig_traces_wanted`)."""

from __future__ import annotations

import math
import time

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.list_filter import TraceSelection
from app.widgets.attribute_chart import NOT_SET, AttributeChart
from app.widgets.evaluations_chart import EvaluationsSection
from receiver import UsageSeries
from receiver.storage.metric_series import MetricSeries
from receiver.storage.usage import BUCKET_ERROR

__all__ = ["ALL_MODELS", "CHART_RANGES", "ChartsPage"]

ALL_MODELS = "All models"
# label -> (minutes back from now, minutes per step); None: everything stored
CHART_RANGES: dict[str, tuple[int, int] | None] = {
    "Last hour": (60, 1),
    "Last 24 hours": (24 * 60, 15),
    "Last 7 days": (7 * 24 * 60, 120),
    "All stored": None,
}
BAND_LABELS = ("< 1,000", "1,000–3,999", "4,000–15,999", "≥ 16,000")
_SERIES_COLOURS = ("#3b82f6", "#f97316", "#10b981", "#a855f7", "#ef4444", "#eab308", "#06b6d4", "#64748b")
_QUANTILE_NAMES = {0.5: "p50", 0.95: "p95", 0.99: "p99"}
_METRICS_SUFFIX = " (metrics)"
_HINT = "Hover a chart for its values; click a point or a bar to list the traces behind it."
_NS_PER_MINUTE = 60_000_000_000
_ROW_HEIGHT = 230  # pixels per row of charts; the page scrolls below that
_PER_MODEL = ("cost", "routing")  # stacked by model: a click picks the model under the pointer


class _Chart:
    """One plot: named series against time (seconds), and their values at the hovered time."""

    def __init__(self, plot: pg.PlotItem, unit: str) -> None:
        self.plot, self.unit = plot, unit
        self.xs: list[float] = []
        self.series: dict[str, list[float | None]] = {}

    def show(self, xs: list[float], series: dict[str, list[float | None]], *, stacked: bool = False,
             dashed: tuple[str, ...] = ()) -> None:
        """Draw the series; those named in `dashed` (read from metrics, not spans) as dashed
        lines of the colour of their namesake drawn from the spans."""
        self.plot.clear()
        self.xs, self.series = xs, series
        self.tops: dict[str, list[float]] = {}  # stacked: each series' upper edge
        below: list[float] | None = None
        solid = [name for name in series if name not in dashed]
        for i, (name, values) in enumerate(series.items()):
            # "p95 (metrics)" takes the colour of "p95"; one with no namesake, a colour of its own
            namesake = name.removesuffix(_METRICS_SUFFIX)
            colour = QColor(_SERIES_COLOURS[(solid.index(namesake) if namesake in solid else i) % len(_SERIES_COLOURS)])
            style = Qt.PenStyle.DashLine if name in dashed else Qt.PenStyle.SolidLine
            ys = [math.nan if v is None else v for v in values]
            if stacked:
                base = below or [0.0] * len(ys)
                ys = [b + (0.0 if math.isnan(y) else y) for b, y in zip(base, ys, strict=True)]
                lower = pg.PlotDataItem(xs, base, pen=pg.mkPen(None))
                upper = self.plot.plot(xs, ys, pen=pg.mkPen(colour, width=1.5), name=name)
                fill = QColor(colour)
                fill.setAlpha(110)
                self.plot.addItem(pg.FillBetweenItem(lower, upper, brush=fill))
                below = self.tops[name] = ys
            else:  # sparse points get dots: a line needs two neighbours
                points = sum(not math.isnan(y) for y in ys)
                if not points:
                    continue  # nothing to draw (and pyqtgraph warns on an all-NaN series)
                sparse = points < 40
                self.plot.plot(xs, ys, pen=pg.mkPen(colour, width=2, style=style), name=name, connect="finite",
                               symbol="o" if sparse else None, symbolSize=6, symbolBrush=colour,
                               symbolPen=pg.mkPen(colour))

    def step_at(self, x: float) -> int | None:
        """The step nearest to `x`, or None when there are none."""
        return min(range(len(self.xs)), key=lambda k: abs(self.xs[k] - x)) if self.xs else None

    def has_data(self, step: int) -> bool:
        return any(values[step] not in (None, 0) for values in self.series.values())

    def stacked_name_at(self, step: int, y: float) -> str | None:
        """The stacked series whose band holds `y` at a step."""
        below = 0.0
        for name, tops in self.tops.items():
            if below <= y <= tops[step] and tops[step] > below:
                return name
            below = max(below, tops[step])
        return None

    def readout(self, x: float) -> str:
        """The series' values at the step nearest to `x`."""
        i = self.step_at(x)
        if i is None:
            return ""
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.xs[i]))
        values = [f"{name} {_format(values[i], self.unit)}" for name, values in self.series.items()]
        return f"{self.plot.titleLabel.text}  —  {stamp}:  " + ",  ".join(values)


def _format(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "ms":
        return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"
    if unit == "$":
        return f"${value:.6f}".rstrip("0").rstrip(".") if value < 1 else f"${value:,.2f}"
    if unit == "%":
        return f"{value:.1f} %"
    return f"{value:,.2f}"


def _from_metrics(metrics: MetricSeries | None, per_second: int) -> dict[str, dict[str, list[float | None]]]:
    """The metric series each chart draws beside its span series (dashed), by chart; a series
    with no point in the range is left out."""
    if metrics is None:
        return {"latency": {}, "streaming": {}, "tokens": {}}

    def present(series: dict[str, list]) -> dict[str, list]:
        return {name: values for name, values in series.items() if any(v is not None for v in values)}

    def rate(values: list[int | None]) -> list[float | None]:
        return [None if n is None else n / per_second for n in values]

    return {"latency": present({"p95 (metrics)": metrics.duration_p95_ms, "mean (metrics)": metrics.duration_mean_ms}),
            "streaming": present({"TTFT p95 (metrics)": metrics.ttft_p95_ms,
                                  "TTFT mean (metrics)": metrics.ttft_mean_ms,
                                  "per output token mean (metrics)": metrics.tpot_mean_ms}),
            "tokens": present({"input/s (metrics)": rate(metrics.input_tokens),
                               "output/s (metrics)": rate(metrics.output_tokens)})}


def _metrics_note(metrics: MetricSeries | None) -> str:
    error = f"Latency percentiles come from log-scale histograms: within ±{BUCKET_ERROR:.0%} of the exact value. "
    if metrics is None or not metrics.names:
        return error + "No GenAI metrics received in this range: the charts are drawn from the spans."
    return (error + f"Dashed: from the GenAI metrics received ({', '.join(sorted(metrics.names))}), beside the "
            "same quantities drawn from the spans (solid).")


class ChartsPage(QWidget):
    sig_range_changed = Signal()  # the time range or the model changed: ask again
    sig_attribute_key_changed = Signal(str)  # cost by attribute: another key
    sig_traces_wanted = Signal(object)  # TraceSelection: a point or bar was clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.range_box = QComboBox(toolTip="The time the charts cover")
        self.range_box.addItems(list(CHART_RANGES))
        self.model_box = QComboBox(toolTip="One model's calls, or every model's")
        self.model_box.addItem(ALL_MODELS)
        self.range_box.currentTextChanged.connect(lambda _: self.sig_range_changed.emit())
        self.model_box.currentTextChanged.connect(lambda _: self.sig_range_changed.emit())
        self.readout = QLabel(_HINT)
        self.metrics_note = QLabel(_metrics_note(None), enabled=False, wordWrap=True)  # bucket error, metrics
        self.graphics = pg.GraphicsLayoutWidget()
        self.attributes = AttributeChart(self.graphics.addPlot(row=4, col=0, colspan=2, title="Cost by attribute"))
        self.attributes.sig_key_changed.connect(self.sig_attribute_key_changed)
        self.attributes.sig_value_clicked.connect(self._attribute_clicked)
        controls = QHBoxLayout()
        controls.addWidget(self.range_box)
        controls.addWidget(self.model_box)
        controls.addWidget(self.attributes.controls)
        controls.addStretch(1)
        self.graphics.setMinimumHeight(5 * _ROW_HEIGHT)
        self.evaluations = EvaluationsSection()
        self.evaluations.sig_readout.connect(self.readout.setText)
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.graphics)
        column.addWidget(self.evaluations)
        self.scroller = scroller = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroller.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addLayout(controls)
        layout.addWidget(self.metrics_note)
        layout.addWidget(self.readout)
        layout.addWidget(scroller, 1)
        self.step_minutes = 1
        self.window_ns: tuple[int, int] | None = None  # the time the charts show
        self.charts: dict[str, _Chart] = {}
        for i, (key, title, unit) in enumerate((
                ("latency", "Model-call latency", "ms"), ("bands", "Latency by input tokens (whole range)", "ms"),
                ("streaming", "Streaming: time to first token, time per output token", "ms"),
                ("tokens", "Tokens per second", ""), ("cost", "Cost by model", "$"),
                ("ratio", "Output / input tokens", ""), ("tools", "Tool call success rate", "%"),
                ("routing", "Model routing share", "%"))):
            plot = self.graphics.addPlot(row=i // 2, col=i % 2, title=title)
            if key != "bands":
                plot.setAxisItems({"bottom": pg.DateAxisItem()})
            plot.showGrid(x=False, y=True, alpha=0.25)
            if unit == "%":
                plot.setYRange(0, 100, padding=0.06)
                plot.setMouseEnabled(y=False)
            plot.addLegend(offset=(8, 4), labelTextSize="8pt")
            self.charts[key] = _Chart(plot, unit)
        self.graphics.scene().sigMouseMoved.connect(self._hovered)
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.apply_palette(self.palette())

    @property
    def range_label(self) -> str:
        return self.range_box.currentText()

    @property
    def model(self) -> str | None:
        text = self.model_box.currentText()
        return None if text == ALL_MODELS else text

    def apply_palette(self, palette: QPalette) -> None:
        self.graphics.setBackground(palette.color(QPalette.ColorRole.Base))
        text = palette.color(QPalette.ColorRole.Text)
        self.attributes.title_colour = text.name()
        self.evaluations.apply_palette(palette)
        for plot in [chart.plot for chart in self.charts.values()] + [self.attributes.plot]:
            for side in ("left", "bottom"):
                plot.getAxis(side).setTextPen(text)
            plot.setTitle(plot.titleLabel.text, color=text.name())

    def show_series(self, series: UsageSeries, metrics: MetricSeries | None = None) -> None:
        """The span-derived series, and beside them (dashed) the same quantities from the GenAI
        metrics received, where there are any."""
        xs = [minute * 60.0 for minute in series.minutes]
        self.step_minutes = series.step_minutes
        if series.minutes:
            self.window_ns = (series.minutes[0] * _NS_PER_MINUTE,
                              (series.minutes[-1] + series.step_minutes) * _NS_PER_MINUTE)
        per_second = series.step_minutes * 60
        self._offer_models(series.calls_by_model)
        charts = self.charts
        measured = _from_metrics(metrics, per_second)
        charts["latency"].show(xs, {**{_QUANTILE_NAMES[q]: values for q, values in series.latency.items()},
                                    **measured["latency"]}, dashed=tuple(measured["latency"]))
        charts["streaming"].show(xs, {"TTFT p50": series.ttft[0.5], "TTFT p95": series.ttft[0.95],
                                      "per output token p50": series.tpot[0.5], **measured["streaming"]},
                                 dashed=tuple(measured["streaming"]))
        charts["tokens"].show(xs, {"input/s": [n / per_second for n in series.input_tokens],
                                   "output/s": [n / per_second for n in series.output_tokens],
                                   **measured["tokens"]}, dashed=tuple(measured["tokens"]))
        self.metrics_note.setText(_metrics_note(metrics))
        charts["cost"].show(xs, dict(series.cost_by_model), stacked=True)
        charts["ratio"].show(xs, {"output/input": [o / i if i else None for i, o in
                                                   zip(series.input_tokens, series.output_tokens, strict=True)]})
        charts["tools"].show(xs, {"succeeded": [100 * (n - e) / n if n else None for n, e in
                                                zip(series.tool_calls, series.tool_errors, strict=True)]})
        totals = [sum(step) for step in zip(*series.calls_by_model.values(), strict=True)] or [0] * len(xs)
        charts["routing"].show(xs, {model: [100 * n / t if t else None for n, t in zip(calls, totals, strict=True)]
                                    for model, calls in series.calls_by_model.items()}, stacked=True)
        self._show_bands(series.latency_by_band)

    def _show_bands(self, by_band: dict[int, dict[float, float] | None]) -> None:
        chart = self.charts["bands"]
        chart.plot.clear()
        ticks = [(band, label) for band, label in enumerate(BAND_LABELS)]
        chart.plot.getAxis("bottom").setTicks([ticks])
        chart.xs, chart.series = [float(b) for b in range(4)], {}
        for offset, q, colour in ((-0.2, 0.5, _SERIES_COLOURS[0]), (0.2, 0.95, _SERIES_COLOURS[1])):
            heights = [(by_band.get(band) or {}).get(q, 0.0) for band in range(4)]
            chart.plot.addItem(pg.BarGraphItem(x=[b + offset for b in range(4)], height=heights, width=0.38,
                                               brush=colour, name=_QUANTILE_NAMES[q]))
            chart.series[_QUANTILE_NAMES[q]] = [h or None for h in heights]

    def _offer_models(self, calls_by_model: dict[str, list[int]]) -> None:
        known = {self.model_box.itemText(i) for i in range(self.model_box.count())}
        for model in sorted(m for m in calls_by_model if m and m not in known):
            self.model_box.addItem(model)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        position = event.scenePos()
        self.attributes.click(position)
        for key, chart in self.charts.items():
            if key == "bands" or not chart.plot.sceneBoundingRect().contains(position):
                continue
            point = chart.plot.vb.mapSceneToView(position)
            step = chart.step_at(point.x())
            if step is None or not chart.has_data(step):
                return
            model = (chart.stacked_name_at(step, point.y()) if key in _PER_MODEL else None) or self.model or ""
            start_ns = int(chart.xs[step] * 1e9)
            end_ns = start_ns + self.step_minutes * _NS_PER_MINUTE
            when = f"{time.strftime('%m-%d %H:%M', time.localtime(start_ns / 1e9))}–" \
                   f"{time.strftime('%H:%M', time.localtime(end_ns / 1e9))}"
            label = f"{chart.plot.titleLabel.text}, {when}" + (f", {model}" if model else "")
            self.sig_traces_wanted.emit(TraceSelection(label, start_ns, end_ns, model=model))
            return

    def _attribute_clicked(self, key: str, value: str) -> None:
        start_ns, end_ns = self.window_ns or (None, None)
        # cost by attribute counts traces by their start, so the window is on starts here
        label = f"{key} = {value or NOT_SET}, {self.range_label.lower()}"
        self.sig_traces_wanted.emit(TraceSelection(label, start_ns, end_ns, attribute=(key, value),
                                                   starts_only=True))

    def _hovered(self, position: QPointF) -> None:
        text = self.attributes.readout(position)
        if text:
            self.readout.setText(text)
            return
        for key, chart in self.charts.items():
            if chart.plot.sceneBoundingRect().contains(position):
                x = chart.plot.vb.mapSceneToView(position).x()
                if key == "bands":
                    band = max(0, min(3, round(x)))
                    values = ",  ".join(f"{n} {_format(v[band], 'ms')}" for n, v in chart.series.items())
                    self.readout.setText(f"{chart.plot.titleLabel.text}  —  {BAND_LABELS[band]} tokens:  {values}")
                else:
                    self.readout.setText(chart.readout(x))
                return
