"""The trace list's filter bar: free text, service, model, errors only, time range, and the
traces picked on a chart (a removable chip). Emits one frozen `ListFilter` per change; typing
is debounced so each pause makes one query, not each key."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.list_filter import TIME_RANGES, ListFilter, TraceSelection
from receiver import TraceFacets

__all__ = ["FilterBar"]

TYPING_PAUSE_MS = 300
SEARCH_HELP = """<b>Search</b> (Ctrl+L): every word must be found in one span or log record —
span names, attribute values, prompt and completion text, events; any case.
<br><tt>"refund policy"</tt> a phrase &nbsp; <tt>gpt-4o</tt> is one too
<br><tt>model:gpt-4o</tt> <tt>service:checkout</tt> <tt>tool:web_search</tt> <tt>session:conv-1</tt>
<br><tt>attr.feature.name=chat</tt> the trace's value of any attribute
<br><tt>cost&gt;0.01</tt> dollars, <tt>duration&gt;2s</tt> (ms, s, m); also <tt>&gt;=</tt> <tt>&lt;</tt> <tt>&lt;=</tt>
<br><tt>error</tt> traces with an error &nbsp; <tt>is:pinned</tt>
&nbsp; <tt>is:broken</tt> a parent span never arrived
<br><tt>eval:hallucination=fail</tt> <tt>eval:relevance&lt;0.5</tt> <tt>eval:human=bad</tt> <tt>eval:fail</tt>
evaluation results and annotations"""
ALL_SERVICES, ALL_MODELS = "All services", "All models"


class FilterBar(QWidget):
    sig_filter_changed = Signal(object)  # ListFilter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text_edit = QLineEdit(placeholderText='Search: words, "a phrase", model:gpt-4o cost>0.01 error …',
                                   clearButtonEnabled=True)
        self.text_edit.setToolTip(SEARCH_HELP)
        # what is wrong with the typed filter, in place of an answer (the list keeps the last one)
        self.problem_label = QLabel(objectName="filter_problem", wordWrap=True)
        self.problem_label.setStyleSheet("color: #d64545;")
        self.problem_label.hide()
        self.service_box = _combo(ALL_SERVICES, "Only traces whose root span is of this service")
        self.model_box = _combo(ALL_MODELS, "Only traces that called this model")
        self.errors_box = QCheckBox("Errors only", toolTip="Only traces with at least one error span")
        self.pinned_box = QCheckBox("Pinned", toolTip="Only pinned traces (Ctrl+P pins the selected ones; "
                                                      "retention never deletes them)")
        self.range_box = QComboBox(toolTip="Only traces that started within this time")
        self.range_box.addItems(list(TIME_RANGES))
        self._typing = QTimer(self, singleShot=True, interval=TYPING_PAUSE_MS)
        self._typing.timeout.connect(self._emit)
        self._quiet = False  # while set_filter / set_facets fill the widgets
        self._selection: TraceSelection | None = None
        self.selection_chip = QFrame(objectName="selection_chip", frameShape=QFrame.Shape.StyledPanel)
        self.selection_label = QLabel()
        self.selection_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        clear_selection = QToolButton(text="✕", toolTip="Show all traces again (keep the other filters)",
                                      autoRaise=True)
        clear_selection.clicked.connect(self.clear_selection)
        chip = QHBoxLayout(self.selection_chip)
        chip.setContentsMargins(6, 0, 0, 0)
        chip.addWidget(self.selection_label, 1)
        chip.addWidget(clear_selection)
        self.selection_chip.hide()

        # two rows: the search field gets the whole width, the choices share the second
        choices = QHBoxLayout()
        choices.setSpacing(6)
        choices.addWidget(self.service_box, 1)
        choices.addWidget(self.model_box, 1)
        choices.addWidget(self.range_box)
        choices.addWidget(self.errors_box)
        choices.addWidget(self.pinned_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.text_edit)
        layout.addWidget(self.problem_label)
        layout.addLayout(choices)
        layout.addWidget(self.selection_chip)

        self.text_edit.textChanged.connect(self._typed)
        self.text_edit.returnPressed.connect(self._emit)
        for box in (self.service_box, self.model_box, self.range_box):
            box.currentIndexChanged.connect(self._emit)
        self.errors_box.toggled.connect(self._emit)
        self.pinned_box.toggled.connect(self._emit)

    def value(self) -> ListFilter:
        return ListFilter(text=self.text_edit.text(), service=_chosen(self.service_box),
                          model=_chosen(self.model_box), errors_only=self.errors_box.isChecked(),
                          pinned_only=self.pinned_box.isChecked(),
                          time_range=self.range_box.currentText(), selection=self._selection)

    def set_filter(self, value: ListFilter) -> None:
        """Show `value` without emitting (restoring the last session's filter)."""
        self._quiet = True
        try:
            self.text_edit.setText(value.text)
            _choose(self.service_box, value.service)
            _choose(self.model_box, value.model)
            self.errors_box.setChecked(value.errors_only)
            self.pinned_box.setChecked(value.pinned_only)
            self.range_box.setCurrentText(value.time_range if value.time_range in TIME_RANGES else "All time")
            self._show_selection(value.selection)
        finally:
            self._quiet = False

    def clear_selection(self) -> None:
        """Drop the traces picked on a chart, keeping the other filters."""
        if self._selection is not None:
            self._show_selection(None)
            self._emit()

    def _show_selection(self, selection: TraceSelection | None) -> None:
        self._selection = selection
        self.selection_chip.setVisible(selection is not None)
        self.range_box.setEnabled(selection is None)  # the selection's window replaces the range
        if selection is not None:
            self.selection_label.setText(f"From the charts: {selection.label}")
            self.selection_label.setToolTip("Traces running during the chart's window"
                                            + (f" that called {selection.model}" if selection.model else "")
                                            + (" with errors" if selection.errors_only else ""))

    def set_facets(self, facets: TraceFacets) -> None:
        """Offer the stored services and models, keeping the current choices."""
        self._quiet = True
        try:
            _fill(self.service_box, facets.services)
            _fill(self.model_box, facets.models)
        finally:
            self._quiet = False

    def offers(self, service: str | None, models: list[str]) -> bool:
        """Whether the choices already hold this service and these models."""
        known = {self.service_box.itemData(i) for i in range(self.service_box.count())}
        known |= {self.model_box.itemData(i) for i in range(self.model_box.count())}
        return (not service or service in known) and all(model in known for model in models)

    def focus_text(self) -> None:
        self.text_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.text_edit.selectAll()

    def _typed(self) -> None:
        if not self._quiet:
            self._typing.start()

    def _emit(self) -> None:
        if self._quiet:
            return
        self._typing.stop()
        value = self.value()
        query = value.query
        self.problem_label.setVisible(not query.is_valid)
        self.text_edit.setProperty("invalid", not query.is_valid)
        if not query.is_valid:
            self.problem_label.setText(f"{query.error} (at character {query.error_at + 1})")
            return
        self.sig_filter_changed.emit(value)


def _combo(all_label: str, tooltip: str) -> QComboBox:
    box = QComboBox(toolTip=tooltip)
    box.addItem(all_label, "")
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(8)
    return box


def _chosen(box: QComboBox) -> str:
    return box.currentData() or ""


def _choose(box: QComboBox, value: str) -> None:
    if value and box.findData(value) < 0:
        box.addItem(value, value)  # remembered from last time, not seen yet in this database
    box.setCurrentIndex(max(0, box.findData(value)))


def _fill(box: QComboBox, values: list[str]) -> None:
    current = _chosen(box)
    wanted = list(values) + ([current] if current and current not in values else [])
    if [box.itemData(i) for i in range(1, box.count())] == wanted:
        return
    while box.count() > 1:
        box.removeItem(1)
    for value in wanted:
        box.addItem(value, value)
    box.setCurrentIndex(max(0, box.findData(current)))
