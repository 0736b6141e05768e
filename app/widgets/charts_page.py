"""The charts page (pyqtgraph): latency percentiles over time, latency by input length, TTFT
and time per output token, tokens per second, cost by model, output/input ratio, tool call
success rate and model routing share, for a time range and a model. Everything is drawn from
one `UsageSeries` (the receiver's per-minute rollups); hovering a chart shows its values at
that time."""

from __future__ import annotations

import math
import time

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from receiver import UsageSeries
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


class _Chart:
    """One plot: named series against time (seconds), and their values at the hovered time."""

    def __init__(self, plot: pg.PlotItem, unit: str) -> None:
        self.plot, self.unit = plot, unit
        self.xs: list[float] = []
        self.series: dict[str, list[float | None]] = {}

    def show(self, xs: list[float], series: dict[str, list[float | None]], *, stacked: bool = False) -> None:
        self.plot.clear()
        self.xs, self.series = xs, series
        below: list[float] | None = None
        for i, (name, values) in enumerate(series.items()):
            colour = QColor(_SERIES_COLOURS[i % len(_SERIES_COLOURS)])
            ys = [math.nan if v is None else v for v in values]
            if stacked:
                base = below or [0.0] * len(ys)
                ys = [b + (0.0 if math.isnan(y) else y) for b, y in zip(base, ys, strict=True)]
                lower = pg.PlotDataItem(xs, base, pen=pg.mkPen(None))
                upper = self.plot.plot(xs, ys, pen=pg.mkPen(colour, width=1.5), name=name)
                fill = QColor(colour)
                fill.setAlpha(110)
                self.plot.addItem(pg.FillBetweenItem(lower, upper, brush=fill))
                below = ys
            else:  # sparse points get dots: a line needs two neighbours
                points = sum(not math.isnan(y) for y in ys)
                if not points:
                    continue  # nothing to draw (and pyqtgraph warns on an all-NaN series)
                sparse = points < 40
                self.plot.plot(xs, ys, pen=pg.mkPen(colour, width=2), name=name, connect="finite",
                               symbol="o" if sparse else None, symbolSize=6, symbolBrush=colour,
                               symbolPen=pg.mkPen(colour))

    def readout(self, x: float) -> str:
        """The series' values at the step nearest to `x`."""
        if not self.xs:
            return ""
        i = min(range(len(self.xs)), key=lambda k: abs(self.xs[k] - x))
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


class ChartsPage(QWidget):
    sig_range_changed = Signal()  # the time range or the model changed: ask again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.range_box = QComboBox(toolTip="The time the charts cover")
        self.range_box.addItems(list(CHART_RANGES))
        self.model_box = QComboBox(toolTip="One model's calls, or every model's")
        self.model_box.addItem(ALL_MODELS)
        self.range_box.currentTextChanged.connect(lambda _: self.sig_range_changed.emit())
        self.model_box.currentTextChanged.connect(lambda _: self.sig_range_changed.emit())
        note = QLabel(f"Latency percentiles come from log-scale histograms: within ±{BUCKET_ERROR:.0%} of the "
                      "exact value.", enabled=False)
        self.readout = QLabel(" ")
        controls = QHBoxLayout()
        controls.addWidget(self.range_box)
        controls.addWidget(self.model_box)
        controls.addWidget(note, 1)
        self.graphics = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addLayout(controls)
        layout.addWidget(self.readout)
        layout.addWidget(self.graphics, 1)
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
        for chart in self.charts.values():
            for side in ("left", "bottom"):
                chart.plot.getAxis(side).setTextPen(text)
            chart.plot.setTitle(chart.plot.titleLabel.text, color=text.name())

    def show_series(self, series: UsageSeries) -> None:
        xs = [minute * 60.0 for minute in series.minutes]
        per_second = series.step_minutes * 60
        self._offer_models(series.calls_by_model)
        charts = self.charts
        charts["latency"].show(xs, {_QUANTILE_NAMES[q]: values for q, values in series.latency.items()})
        charts["streaming"].show(xs, {"TTFT p50": series.ttft[0.5], "TTFT p95": series.ttft[0.95],
                                      "per output token p50": series.tpot[0.5]})
        charts["tokens"].show(xs, {"input/s": [n / per_second for n in series.input_tokens],
                                   "output/s": [n / per_second for n in series.output_tokens]})
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

    def _hovered(self, position: QPointF) -> None:
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
