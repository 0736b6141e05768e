"""The annotation dialog (N, or Annotate… in the inspector): the user's own verdict on a span or
on the whole trace — good, bad or none — with an optional label, a score between 0 and 1 and a
note; filled with the annotation there already, which "Remove annotation" takes off. The dialog
only asks: `AnnotationController` writes what it says."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.widgets.inspector.common import muted_label, scaled_font
from receiver.records import StoredEvaluation

__all__ = ["AnnotationDialog", "AnnotationTarget", "AnnotationValues"]

NO_SCORE = -0.05  # the spin box's lowest value, shown as "none"
AUTOMATIC_LABELS = ("good", "bad")  # what the store writes when no label is given


@dataclass(frozen=True)
class AnnotationTarget:
    """What may be annotated: a span of a trace (or none), and the annotations already on each."""

    trace_id: str
    span_id: str | None
    span_name: str | None
    span_annotation: StoredEvaluation | None = None
    trace_annotation: StoredEvaluation | None = None


@dataclass(frozen=True)
class AnnotationValues:
    trace_id: str
    span_id: str | None  # None: the whole trace
    passed: bool | None
    label: str | None
    score: float | None
    note: str | None


class AnnotationDialog(QDialog):
    sig_saved = Signal(object)  # AnnotationValues
    sig_removed = Signal(str, object)  # trace id, span id (None: the whole trace)

    def __init__(self, target: AnnotationTarget, parent: QWidget | None = None, *, whole_trace: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Annotate")
        self.target = target
        heading = QLabel("Your annotation")
        heading.setFont(scaled_font(self.font(), 1.2, bold=True))

        self.target_box = QComboBox()
        if target.span_id is not None:
            self.target_box.addItem(f"This span: {target.span_name or target.span_id}", target.span_id)
        self.target_box.addItem("The whole trace", None)
        if whole_trace:
            self.target_box.setCurrentIndex(self.target_box.count() - 1)

        self.good_button, self.bad_button, self.no_verdict_button = (
            QRadioButton("Good"), QRadioButton("Bad"), QRadioButton("No verdict"))
        self.verdicts = QButtonGroup(self)
        verdict_row = QHBoxLayout()
        verdict_row.setSpacing(14)
        for button in (self.good_button, self.bad_button, self.no_verdict_button):
            self.verdicts.addButton(button)
            verdict_row.addWidget(button)
        verdict_row.addStretch(1)

        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("good or bad when empty; or your own: wrong-tool, too-long…")
        self.score_box = QDoubleSpinBox()
        self.score_box.setRange(NO_SCORE, 1.0)
        self.score_box.setSingleStep(0.05)
        self.score_box.setDecimals(2)
        self.score_box.setSpecialValueText("none")  # shown at the minimum: no score
        self.score_box.setToolTip("A score between 0 and 1; none leaves it out")
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText("What is right or wrong with it (optional)")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 5 + 12)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Annotate", self.target_box)
        form.addRow("Verdict", verdict_row)
        form.addRow("Label", self.label_edit)
        form.addRow("Score", self.score_box)
        form.addRow("Note", self.note_edit)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.remove_button = QPushButton("Remove annotation")
        self.remove_button.setAutoDefault(False)
        buttons.addButton(self.remove_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        self.remove_button.clicked.connect(self._remove)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 14)
        layout.setSpacing(10)
        layout.addWidget(heading)
        about = muted_label("Stored with the trace on this computer, shown like an evaluator's result, and "
                            "exported with the trace.")
        about.setWordWrap(True)
        layout.addWidget(about)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)
        self.target_box.currentIndexChanged.connect(self._fill)
        self._fill()

    # --- what the controller and tests use ---------------------------------------------

    def span_id(self) -> str | None:
        """The span annotated; None: the whole trace."""
        return self.target_box.currentData()

    def values(self) -> AnnotationValues:
        checked = self.verdicts.checkedButton()
        passed = True if checked is self.good_button else False if checked is self.bad_button else None
        score = self.score_box.value()
        return AnnotationValues(self.target.trace_id, self.span_id(), passed, self.label_edit.text().strip() or None,
                                None if score <= NO_SCORE else round(score, 3),
                                self.note_edit.toPlainText().strip() or None)

    def set_score(self, score: float | None) -> None:
        self.score_box.setValue(NO_SCORE if score is None else score)

    # --- internals ----------------------------------------------------------------------

    def _existing(self) -> StoredEvaluation | None:
        target = self.target
        return target.span_annotation if self.span_id() is not None else target.trace_annotation

    def _fill(self) -> None:
        """The form shows the annotation already on what is chosen (none: an empty form)."""
        existing = self._existing()
        passed = existing.passed if existing is not None else None
        {1: self.good_button, 0: self.bad_button}.get(passed, self.no_verdict_button).setChecked(True)  # type: ignore
        label = existing.label if existing is not None else None
        self.label_edit.setText("" if label in AUTOMATIC_LABELS else label or "")
        self.set_score(existing.score if existing is not None else None)
        self.note_edit.setPlainText(existing.explanation or "" if existing is not None else "")
        self.remove_button.setEnabled(existing is not None)

    def _save(self) -> None:
        self.sig_saved.emit(self.values())
        self.accept()

    def _remove(self) -> None:
        self.sig_removed.emit(self.target.trace_id, self.span_id())
        self.accept()
