"""The compare view (select two traces, Compare): the two runs' model and tool calls aligned
side by side, the first divergence said in words and tinted in the table, the per-step
differences in tokens, cost and latency, and the totals. A window of its own, so several can
stay open beside the main one."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from app.formatting import format_cost_usd, plural
from app.models.step_pairs_model import StepPairsModel
from app.trace_compare import Comparison, agent_steps, root_span

__all__ = ["CompareView"]


class CompareView(QDialog):
    def __init__(self, comparison: Comparison, parent: QWidget | None = None) -> None:
        super().__init__(parent, windowTitle="Compare runs")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.comparison = comparison
        self.runs_label = QLabel(textFormat=Qt.TextFormat.PlainText)
        self.runs_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.divergence_label = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.divergence_label.setObjectName("divergence")
        self.totals_label = QLabel(textFormat=Qt.TextFormat.PlainText)
        self.model = StepPairsModel(self)
        self.table = QTableView(selectionBehavior=QTableView.SelectionBehavior.SelectRows, wordWrap=False)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        for widget in (self.runs_label, self.divergence_label, self.table, self.totals_label):
            layout.addWidget(widget, 1 if widget is self.table else 0)
        self._show(comparison)
        self.resize(1200, 560)

    def _show(self, comparison: Comparison) -> None:
        a, b = comparison.a, comparison.b
        self.runs_label.setText(f"A  {a.trace_id}  {_root(a)}  ({plural(len(agent_steps(a)), 'call')})\n"
                                f"B  {b.trace_id}  {_root(b)}  ({plural(len(agent_steps(b)), 'call')})")
        diverged = comparison.diverged
        if diverged is None:
            self.divergence_label.setText("No divergence: the same model and tool calls, with the same arguments, "
                                          "in the same order.")
        else:
            self.divergence_label.setText(f"First divergence at step {comparison.first_divergence + 1}: "
                                          f"{diverged.difference}.")
            self.divergence_label.setStyleSheet("font-weight: bold;")
        self.model.set_pairs(comparison.pairs, comparison.first_divergence)
        for column, width in ((0, 40), (1, 330), (2, 330), (3, 70), (4, 70), (5, 100), (6, 90)):
            self.table.setColumnWidth(column, width)
        if comparison.first_divergence is not None:
            self.table.scrollTo(self.model.index(comparison.first_divergence, 0))
        totals = []
        for measure, label in (("input_tokens", "input tokens"), ("output_tokens", "output tokens")):
            totals.append(f"{label} A {comparison.total(measure, 'a'):,.0f} · B {comparison.total(measure, 'b'):,.0f}")
        totals.append(f"cost A {format_cost_usd(comparison.total('cost_usd', 'a'))} · "
                      f"B {format_cost_usd(comparison.total('cost_usd', 'b'))}")
        self.totals_label.setText("Totals:  " + "   |   ".join(totals))


def _root(detail) -> str:
    root = root_span(detail)
    return root.name if root else "(no spans)"
