"""Receiver ▸ Storage budgets…: how large the database may grow and how long traces are kept
(receiver.storage.retention_budget does the keeping)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QWidget

__all__ = ["RetentionDialog"]

MAX_DB_MB = 1024 * 1024  # a terabyte: beyond any budget a local viewer needs
MAX_AGE_DAYS = 36_500.0

EXPLANATION = ("Past the size budget the oldest ordinary traces are deleted first; traces with a cost or "
               "duration among the top 5 % of the last week, then those with an error or a failed evaluation, "
               "only after all ordinary ones; the newest last of all. Pinned traces are never deleted. Past "
               "the age budget, unpinned traces are deleted whatever they hold.")


class RetentionDialog(QDialog):
    def __init__(self, max_db_mb: int, max_age_days: float, stored: str, set_by_flags: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, windowTitle="Storage budgets")
        self.size_box = QSpinBox(minimum=0, maximum=MAX_DB_MB, suffix=" MiB", specialValueText="no limit",
                                 singleStep=256, value=max_db_mb)
        self.size_box.setToolTip("The database file and its log together; 0: no limit")
        self.age_box = QDoubleSpinBox(minimum=0.0, maximum=MAX_AGE_DAYS, decimals=1, suffix=" days",
                                      specialValueText="forever", singleStep=1.0, value=max_age_days)
        self.age_box.setToolTip("Traces are deleted this long after they were received; 0: kept forever")
        form = QFormLayout(self)
        explanation = QLabel(EXPLANATION, wordWrap=True)
        form.addRow(explanation)
        form.addRow("Keep the database within", self.size_box)
        form.addRow("Keep traces for", self.age_box)
        form.addRow("Stored now", QLabel(stored))
        if set_by_flags:
            note = QLabel("This run's budgets came from --max-db-mb / --max-age-days or their environment "
                          "variables; what is chosen here applies now and to runs without them.", wordWrap=True)
            form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(460)

    def budget(self) -> tuple[int, float]:
        return self.size_box.value(), self.age_box.value()
