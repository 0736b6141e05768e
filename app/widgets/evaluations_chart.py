"""The charts page's Evaluations section (issue 13): each evaluator's results in the page's time
window — how many, pass rate, mean score, how many a person gave — in a table, failing-heavy
evaluators in red; beside it each evaluator's pass rate over time, one line apiece in the
colour of its table row. Hovering the chart reads out its values at that time (`sig_readout`).
Results are not split by model: the model box does not narrow them."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.span_category import ERROR_COLOUR
from receiver.records import EvaluatorSummary

__all__ = ["COLUMNS", "EvaluationsSection", "FAILING_BELOW", "Series"]

# per evaluator: (step start ns, results, pass rate or None, mean score or None), steps with results
Series = dict[str, list[tuple[int, int, float | None, float | None]]]
COLUMNS = ("Evaluator", "Results", "Pass rate", "Mean score", "Human")
FAILING_BELOW = 0.5  # pass rate under which an evaluator is marked: most of its answers failed
_COLOURS = ("#3b82f6", "#f97316", "#10b981", "#a855f7", "#eab308", "#06b6d4", "#ec4899", "#64748b")
_TITLE = "Evaluation pass rate"
_EMPTY = ("No evaluation results in this range. Evaluators send <tt>gen_ai.evaluation.result</tt> events "
          "(log records or span events, with <tt>gen_ai.evaluation.name</tt> and a score or label); "
          "a person marks a span good or bad in the inspector.")
_NOTE = ("Pass rate: of the results with a verdict (from the label, else a 0–1 score). Red: fewer than half "
         "passed. All models.")
HEIGHT = 300  # pixels: the table and the chart side by side


class EvaluationsSection(QWidget):
    sig_readout = Signal(str)  # the chart's values at the hovered time

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Evaluations")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        title.setFont(font)
        self.note = QLabel(_NOTE, enabled=False, wordWrap=True)
        self.empty = QLabel(_EMPTY, wordWrap=True, enabled=False)
        self.table = QTreeWidget(rootIsDecorated=False, uniformRowHeights=True, alternatingRowColors=True,
                                 selectionMode=QAbstractItemView.SelectionMode.NoSelection,
                                 focusPolicy=Qt.FocusPolicy.NoFocus)
        self.table.setHeaderLabels(list(COLUMNS))
        header = self.table.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
            self.table.headerItem().setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
        self.graphics = pg.GraphicsLayoutWidget()
        self.plot: pg.PlotItem = self.graphics.addPlot(row=0, col=0, title=_TITLE,
                                                       axisItems={"bottom": pg.DateAxisItem()})
        self.plot.showGrid(x=False, y=True, alpha=0.25)
        self.plot.setYRange(0, 100, padding=0.04)
        self.plot.setMouseEnabled(y=False)
        self.plot.getAxis("left").setLabel("%")
        self.plot.getAxis("left").setTicks([[(v, str(v)) for v in (0, 25, 50, 75, 100)]])
        # under the plot, not on it: pass rates crowd the top, where a legend inside would sit
        self.legend = pg.LegendItem(colCount=len(_COLOURS), labelTextSize="8pt")
        self.graphics.addItem(self.legend, row=1, col=0)
        self.graphics.scene().sigMouseMoved.connect(self._hovered)
        self.body = QWidget()
        row = QHBoxLayout(self.body)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.table, 2)
        row.addWidget(self.graphics, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 8)
        layout.addWidget(title)
        layout.addWidget(self.note)
        layout.addWidget(self.empty)
        layout.addWidget(self.body)
        self.body.setFixedHeight(HEIGHT)
        # as tall as its content: the page's spare height goes to the charts above
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.summaries: list[EvaluatorSummary] = []
        self.xs: list[float] = []  # step starts, seconds
        self.rates: dict[str, list[float | None]] = {}  # evaluator -> pass rate (%) per step
        self.counts: dict[str, list[int]] = {}  # evaluator -> results per step
        self.show_evaluations([], {}, None, 1)

    def apply_palette(self, palette: QPalette) -> None:
        self.graphics.setBackground(palette.color(QPalette.ColorRole.Base))
        text = palette.color(QPalette.ColorRole.Text)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setTextPen(text)
        self.plot.setTitle(_TITLE, color=text.name())
        self.legend.setLabelTextColor(text)
        for _sample, label in self.legend.items:
            label.setText(label.text, color=text)  # drawn again: setLabelTextColor only notes it

    def show_evaluations(self, summaries: Sequence[EvaluatorSummary], series: Series,
                         window_ns: tuple[int, int] | None, step_ns: int) -> None:
        """The evaluators of the window (most results first) and their pass rate per step."""
        self.summaries = list(summaries)
        has_any = bool(self.summaries)
        self.empty.setVisible(not has_any)
        self.note.setVisible(has_any)
        self.body.setVisible(has_any)
        colours = {s.name.lower(): QColor(_COLOURS[i % len(_COLOURS)]) for i, s in enumerate(self.summaries)}
        self._fill_table(colours)
        self._draw(series, window_ns, max(1, step_ns), colours)

    def _fill_table(self, colours: dict[str, QColor]) -> None:
        self.table.clear()
        for summary in self.summaries:
            rate = summary.pass_rate
            item = QTreeWidgetItem([summary.name, f"{summary.results:,}", "—" if rate is None else f"{rate:.0%}",
                                    "—" if summary.mean_score is None else f"{summary.mean_score:.2f}",
                                    f"{summary.human:,}" if summary.human else ""])
            swatch = QPixmap(10, 10)
            swatch.fill(colours[summary.name.lower()])
            item.setIcon(0, QIcon(swatch))
            unjudged = summary.results - summary.passed - summary.failed
            tip = f"{summary.passed:,} passed, {summary.failed:,} failed" + (
                f", {unjudged:,} without a verdict" if unjudged else "")
            failing = rate is not None and rate < FAILING_BELOW
            if failing:
                tip += "\nMost of its judged results failed"
            for column in range(len(COLUMNS)):
                item.setToolTip(column, tip)
                if column:
                    item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if failing:
                    item.setForeground(column, QBrush(QColor(ERROR_COLOUR)))
            if failing:
                bold = QFont(item.font(2))
                bold.setBold(True)
                item.setFont(2, bold)
            self.table.addTopLevelItem(item)

    def is_failing(self, name: str) -> bool:
        """Whether the table marks this evaluator as failing-heavy."""
        return any(s.name == name and s.pass_rate is not None and s.pass_rate < FAILING_BELOW
                   for s in self.summaries)

    def _draw(self, series: Series, window_ns: tuple[int, int] | None, step_ns: int,
              colours: dict[str, QColor]) -> None:
        self.plot.clear()
        self.legend.clear()
        self.xs, self.rates, self.counts = [], {}, {}
        if window_ns is None:
            return
        start, end = window_ns
        steps = max(1, -(-(end - start) // step_ns))
        self.xs = [(start + k * step_ns) / 1e9 for k in range(steps)]
        order = {name: i for i, name in enumerate(colours)}
        for name in sorted(series, key=lambda n: (order.get(n.lower(), len(order)), n.lower())):
            rates: list[float | None] = [None] * steps
            counts = [0] * steps
            for step_start, results, pass_rate, _mean in series[name]:
                k = (step_start - start) // step_ns
                if 0 <= k < steps:
                    counts[k] = results
                    rates[k] = None if pass_rate is None else 100 * pass_rate
            self.rates[name], self.counts[name] = rates, counts
            points = sum(r is not None for r in rates)
            if not points:
                continue  # no verdicts: nothing to draw (pyqtgraph warns on an all-NaN series)
            colour = colours.get(name.lower(), QColor(_COLOURS[len(order) % len(_COLOURS)]))
            ys = [math.nan if r is None else r for r in rates]
            line = self.plot.plot(self.xs, ys, pen=pg.mkPen(colour, width=2), connect="finite",
                                  symbol="o" if points < 40 else None, symbolSize=6, symbolBrush=colour,
                                  symbolPen=pg.mkPen(colour))
            self.legend.addItem(line, name)
        self.plot.setXRange(self.xs[0], self.xs[-1] + step_ns / 1e9, padding=0.02)

    def readout(self, x: float) -> str:
        """Each evaluator's pass rate (and results) at the step nearest to `x`."""
        if not self.xs:
            return ""
        i = min(range(len(self.xs)), key=lambda k: abs(self.xs[k] - x))
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.xs[i]))
        values = [f"{name} {'—' if rates[i] is None else f'{rates[i]:.0f} %'} ({self.counts[name][i]:,})"
                  for name, rates in self.rates.items() if self.counts[name][i]]
        return f"{_TITLE}  —  {stamp}:  " + (",  ".join(values) or "no results")

    def _hovered(self, position: QPointF) -> None:
        if self.xs and self.plot.sceneBoundingRect().contains(position):
            self.sig_readout.emit(self.readout(self.plot.vb.mapSceneToView(position).x()))
