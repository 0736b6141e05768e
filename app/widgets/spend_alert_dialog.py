"""View ▸ Spend alert…: the dollars-per-hour thresholds, one for all traffic and one per
cost-by-attribute key (each value of the key on its own: one user, one feature)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QWidget

__all__ = ["SpendAlertDialog"]

_MAX_USD_PER_HOUR = 1_000_000.0


def _threshold_box(value: float | None) -> QDoubleSpinBox:
    box = QDoubleSpinBox(prefix="$ ", suffix=" per hour", decimals=4, minimum=0.0, maximum=_MAX_USD_PER_HOUR,
                         specialValueText="off", singleStep=0.5)
    box.setValue(value or 0.0)
    return box


class SpendAlertDialog(QDialog):
    def __init__(self, overall: float | None, per_key: dict[str, float], keys: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, windowTitle="Spend alert")
        self.overall_box = _threshold_box(overall)
        self.key_boxes = {key: _threshold_box(per_key.get(key)) for key in keys}
        form = QFormLayout(self)
        form.addRow(QLabel("Alert when the spend rate (cost of the last 60 minutes) reaches:"))
        form.addRow("All traffic", self.overall_box)
        if keys:
            note = QLabel("Per value of an attribute — any one user, feature or environment on its own:")
            note.setWordWrap(True)
            form.addRow(note)
        for key, box in self.key_boxes.items():
            form.addRow(key, box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def overall(self) -> float | None:
        return self.overall_box.value() or None

    def per_key(self) -> dict[str, float]:
        return {key: box.value() for key, box in self.key_boxes.items() if box.value() > 0}
