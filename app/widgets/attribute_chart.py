"""The charts page's cost-by-attribute chart: the most expensive values of one attribute key as
horizontal bars, a key chooser (the keys kept at ingestion, or any key typed, computed on
demand with a progress bar), a switch to keep the shown key up to date at ingestion, hover
read-out and clicking a bar to list its traces."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QProgressBar, QWidget

from receiver import AttributeCosts

__all__ = ["AttributeChart", "NOT_SET", "default_key"]

NOT_SET = "(not set)"
_BAR_COLOUR, _OTHERS_COLOUR = "#0ea5e9", "#94a3b8"


class AttributeChart(QWidget):
    """The controls row (`controls`, placed by the page) and the plot (`plot`, in its grid)."""

    sig_key_changed = Signal(str)  # a key chosen or typed: ask again
    sig_value_clicked = Signal(str, str)  # key, value ("" = the traces without the key)
    sig_keep_changed = Signal(str, bool)  # key, whether to keep it up to date at ingestion

    def __init__(self, plot: pg.PlotItem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plot
        self.key_box = QComboBox(editable=True, toolTip="The attribute whose values the cost is split by. The "
                                 "listed keys are kept up to date as spans arrive; type any other key to compute "
                                 "it from the stored spans.")
        self.key_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.key_box.setMinimumContentsLength(16)
        self.key_box.lineEdit().setPlaceholderText("attribute key")
        self.progress = QProgressBar(maximumWidth=160, textVisible=True, format="computing %p %")
        self.progress.hide()
        self.keep_box = QCheckBox("Keep up to date", toolTip="Keep this key's cost as spans arrive, so it shows at "
                                  "once and can have its own spend alert (filling it from the stored spans "
                                  "takes a moment on a large database)")
        self.keep_box.clicked.connect(lambda on: self.sig_keep_changed.emit(self.key, on))
        self.controls = QWidget()
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Cost by"))
        row.addWidget(self.key_box)
        row.addWidget(self.progress)
        row.addWidget(self.keep_box)
        self.costs: AttributeCosts | None = None
        self.title_colour: str | None = None  # the palette's text colour (the page sets it)
        self._rows: list[tuple[str, float, str]] = []  # bar order: value, cost, read-out
        self.key_box.activated.connect(lambda _: self._key_chosen())
        self.key_box.lineEdit().returnPressed.connect(self._key_chosen)
        self.plot.getAxis("left").setStyle(tickTextWidth=110, autoExpandTextSpace=False)
        self.plot.setMouseEnabled(x=False, y=False)

    @property
    def key(self) -> str:
        return self.key_box.currentText().strip()

    def set_keys(self, keys: list[str]) -> None:
        """Offer the keys kept at ingestion, keeping the chosen one."""
        current = self.key or default_key(keys)
        if [self.key_box.itemText(i) for i in range(self.key_box.count())] != keys:
            self.key_box.blockSignals(True)
            self.key_box.clear()
            self.key_box.addItems(keys)
            self.key_box.blockSignals(False)
        self.key_box.setEditText(current)

    def show_busy(self, message: str) -> None:
        """A long step under way (filling a newly kept key): the switch waits for it."""
        self.keep_box.setEnabled(False)
        self.progress.setRange(0, 0)  # busy, no known end
        self.progress.setFormat(message)
        self.progress.show()

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setFormat("computing %p %")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    def show_costs(self, costs: AttributeCosts) -> None:
        self.costs = costs
        self.progress.hide()
        self.keep_box.setEnabled(True)
        self.keep_box.setChecked(costs.precomputed)
        self.plot.clear()
        rows = [(v.value, v.cost_usd, _readout(costs.key, v.value or NOT_SET, v)) for v in costs.values]
        if costs.others:
            rows.append(("", costs.others.cost_usd, _readout(costs.key, costs.others.value, costs.others)))
        rows.reverse()  # the most expensive at the top
        self._rows = rows
        others_at = 0 if costs.others else -1
        brushes = [QColor(_OTHERS_COLOUR if i == others_at else _BAR_COLOUR) for i in range(len(rows))]
        if rows:
            self.plot.addItem(pg.BarGraphItem(x0=0, y=list(range(len(rows))), height=0.7,
                                              width=[cost for _, cost, _ in rows], brushes=brushes))
        for row, (_, cost, _) in enumerate(rows):  # the amount at the end of each bar
            amount = pg.TextItem(_money(cost), color=self.title_colour, anchor=(0, 0.5))
            amount.setPos(cost, row)
            self.plot.addItem(amount)
        self.plot.setXRange(0, max((cost for _, cost, _ in rows), default=0) * 1.15 or 1, padding=0)
        labels = [costs.others.value if i == others_at else _short(value or NOT_SET)
                  for i, (value, _, _) in enumerate(rows)]
        self.plot.getAxis("left").setTicks([list(enumerate(labels))])
        self.plot.setYRange(-0.6, max(len(rows), 1) - 0.4, padding=0)
        self.plot.setTitle(f"Cost by {costs.key}" + ("" if costs.precomputed else " (computed from the spans)"),
                           color=self.title_colour)

    def readout(self, position: QPointF) -> str:
        row = self._row_at(position)
        return self._rows[row][2] if row is not None else ""

    def click(self, position: QPointF) -> None:
        row = self._row_at(position)
        if row is None or self.costs is None:
            return
        if self.costs.others and row == 0:
            return  # many values summed: nothing to list by one value
        self.sig_value_clicked.emit(self.costs.key, self._rows[row][0])

    def _row_at(self, position: QPointF) -> int | None:
        if not self._rows or not self.plot.sceneBoundingRect().contains(position):
            return None
        row = round(self.plot.vb.mapSceneToView(position).y())
        return row if 0 <= row < len(self._rows) else None

    def _key_chosen(self) -> None:
        if self.key:
            self.sig_key_changed.emit(self.key)


def default_key(keys: list[str]) -> str:
    """The key shown first: the feature, where it is kept."""
    return "feature.name" if "feature.name" in keys else keys[0] if keys else ""


def _money(usd: float) -> str:
    return f"${usd:,.4f}" if usd < 100 else f"${usd:,.2f}"


def _readout(key: str, value: str, cost) -> str:
    return (f"Cost by {key}  —  {value}:  {_money(cost.cost_usd)},  {cost.traces:,} traces,  "
            f"{cost.calls:,} model calls,  "
            f"{cost.input_tokens:,} in / {cost.output_tokens:,} out tokens,  {cost.error_traces:,} with errors")


def _short(text: str, width: int = 18) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"

