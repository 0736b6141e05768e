"""`StepPairsModel`: the compare view's table, one aligned pair of steps per row (a `RowsModel`),
the first divergence tinted with the palette's alert colour and other differing rows marked
in their steps' cells."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from app.models.rows_model import AnyIndex, RowsModel
from app.trace_compare import Step, StepPair, signed, signed_usd

__all__ = ["StepPairsModel"]

_A, _B = 1, 2  # columns of the steps
_DELTAS = (3, 4, 5, 6)


def _step(step: Step | None) -> str:
    return "—" if step is None else step.label


_COLUMNS = (
    ("#", "The step's place in the aligned agent paths", lambda row: str(row[0] + 1)),
    ("Run A", "Run A's model or tool call (— where only run B made one)", lambda row: _step(row[1].a)),
    ("Run B", "Run B's model or tool call (— where only run A made one)", lambda row: _step(row[1].b)),
    ("Δ in", "Input tokens, B − A", lambda row: signed(row[1].delta("input_tokens"), zero="")),
    ("Δ out", "Output tokens, B − A", lambda row: signed(row[1].delta("output_tokens"), zero="")),
    ("Δ cost", "Cost, B − A", lambda row: signed_usd(row[1].delta("cost_usd"), zero="")),
    ("Δ latency", "Duration, B − A", lambda row: signed(row[1].delta("duration_ms"), " ms", zero="")),
    ("Difference", "How the two steps differ", lambda row: row[1].difference),
)


class StepPairsModel(RowsModel):
    def __init__(self, parent=None) -> None:
        super().__init__(_COLUMNS, parent)
        self.first_divergence: int | None = None

    def set_pairs(self, pairs: list[StepPair], first_divergence: int | None) -> None:
        self.first_divergence = first_divergence
        self.set_rows(list(enumerate(pairs)))

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in _DELTAS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and index.row() == self.first_divergence:
            colour = QColor(QGuiApplication.palette().color(QPalette.ColorRole.BrightText))
            colour.setAlpha(60)
            return colour
        if role == Qt.ItemDataRole.FontRole and index.column() in (_A, _B):
            row = self.record_at(index.row())
            if row is not None and row[1].difference:
                font = QGuiApplication.font()
                font.setBold(True)
                return font
        return super().data(index, role)
