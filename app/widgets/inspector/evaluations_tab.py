"""The Evaluations tab: what evaluators (and the user) said of the selected span. One card per
result: a verdict chip, the evaluator, score and label, where it came from and when, and the
explanation (an annotation's note) below; on the first top-level span, the whole trace's results
after its own. Above them, the user's own marks: Good, Bad, Annotate…, Remove annotation (the
annotation controller writes them; the tab only asks)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.formatting import format_time_ns
from app.models.span_display import verdict_colour
from app.widgets.inspector.common import InspectorPage, TextLabel, borderless_scroll_area, muted_label, scaled_font
from receiver.records import StoredEvaluation, StoredLog, StoredSpan

__all__ = ["EvaluationsTab", "result_texts"]

SOURCES = {"log": "log record", "span_event": "span event", "span_attribute": "span attribute", "human": "annotation"}
VERDICTS = {1: "pass", 0: "fail", None: "no verdict"}
HUMAN_VERDICTS = {1: "good", 0: "bad", None: "no verdict"}
EMPTY = "No evaluation results on this span. Mark it good or bad (G / B), or annotate it (N)."


def result_texts(result: StoredEvaluation) -> tuple[str, str, str, str, str, str]:
    """(verdict, evaluator, score, label, explanation, source) as the card shows them."""
    human = result.is_human
    verdict = (HUMAN_VERDICTS if human else VERDICTS)[result.passed]  # type: ignore[index]
    name = ("you" if result.name == "human" else f"you ({result.name})") if human else result.name
    score = "" if result.score is None else f"{result.score:g}"
    return (verdict, name, score, result.label or "", result.explanation or "", SOURCES.get(result.source,
                                                                                              result.source))


class EvaluationsTab(InspectorPage):
    sig_marked = Signal(bool)  # Good (True) or Bad (False) pressed: the selected span's annotation
    sig_annotate_wanted = Signal()  # Annotate…: the dialog, for the selected span
    sig_remove_wanted = Signal()  # Remove annotation: the selected span's

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.good_button = QPushButton("Good")
        self.good_button.setToolTip("Mark this span good: your annotation, stored with the trace (G)")
        self.bad_button = QPushButton("Bad")
        self.bad_button.setToolTip("Mark this span bad (B)")
        self.annotate_button = QPushButton("Annotate…")
        self.annotate_button.setToolTip("Give this span (or the whole trace) a verdict, a label, a score and a "
                                        "note (N)")
        self.remove_button = QPushButton("Remove annotation")
        self.remove_button.setToolTip("Take your annotation off this span")
        for button in (self.good_button, self.bad_button, self.annotate_button, self.remove_button):
            button.setAutoDefault(False)
        self.good_button.clicked.connect(lambda: self.sig_marked.emit(True))
        self.bad_button.clicked.connect(lambda: self.sig_marked.emit(False))
        self.annotate_button.clicked.connect(self.sig_annotate_wanted.emit)
        self.remove_button.clicked.connect(self.sig_remove_wanted.emit)
        bar = QHBoxLayout()
        bar.setContentsMargins(12, 8, 12, 4)
        bar.setSpacing(6)
        for button in (self.good_button, self.bad_button, self.annotate_button):
            bar.addWidget(button)
        bar.addStretch(1)
        bar.addWidget(self.remove_button)
        self._scroll = borderless_scroll_area()
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(bar)
        column.addWidget(self._scroll, 1)
        self.set_content(content)
        self._span: StoredSpan | None = None
        self._own: tuple[StoredEvaluation, ...] = ()
        self._trace: tuple[StoredEvaluation, ...] = ()
        self.show_placeholder("Select a span")

    # --- what the panel and tests use ---------------------------------------------------

    def show_span(self, span: StoredSpan | None, logs: Sequence[StoredLog] = ()) -> None:
        """The panel hands the results in with `show_results`; a span alone keeps them."""
        self.show_results(span, self._own if span == self._span else (), self._trace if span == self._span else ())

    def show_results(self, span: StoredSpan | None, own: Sequence[StoredEvaluation],
                     trace_results: Sequence[StoredEvaluation] = ()) -> None:
        """The span's results, and the whole trace's when the span's row shows them."""
        own, trace_results = tuple(own), tuple(trace_results)
        if span is not None and (span, own, trace_results) == (self._span, self._own, self._trace) \
                and self._scroll.widget() is not None:
            return  # a refresh that changed nothing keeps the scroll position
        self._span, self._own, self._trace = span, own, trace_results
        if span is None:
            self._scroll.setWidget(QWidget())
            self.show_placeholder("Select a span")
            return
        self.remove_button.setEnabled(any(result.is_human for result in own))
        self._scroll.setWidget(self._build())  # the old page is deleted with it
        self.show_content()

    def rows(self) -> list[tuple[str, str, str, str, str, str]]:
        """The cards as shown, the span's then the trace's: `result_texts` of each."""
        return [result_texts(result) for result in self._own + self._trace]

    def annotation(self) -> StoredEvaluation | None:
        """The user's annotation on the span, if any."""
        return next((result for result in self._own if result.is_human), None)

    # --- building -----------------------------------------------------------------------

    def _build(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(12, 4, 12, 12)
        layout.setSpacing(6)
        if not self._own:
            empty = muted_label(EMPTY)
            empty.setWordWrap(True)
            layout.addWidget(empty)
        for result in self._own:
            layout.addWidget(self._card(result))
        if self._trace:
            title = QLabel("On the whole trace")
            title.setFont(scaled_font(self.font(), bold=True))
            title.setContentsMargins(0, 8, 0, 0)
            layout.addWidget(title)
            for result in self._trace:
                layout.addWidget(self._card(result))
        layout.addStretch(1)
        return page

    def _card(self, result: StoredEvaluation) -> QFrame:
        verdict, name, score, label, explanation, source = result_texts(result)
        card = QFrame(objectName="evaluation_card")
        card.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(card)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        grid.addWidget(_chip(verdict, verdict_colour(result.passed)), 0, 0, Qt.AlignmentFlag.AlignVCenter)
        title = QLabel(name)
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setFont(scaled_font(self.font(), bold=True))
        grid.addWidget(title, 0, 1)
        said = "  ·  ".join(part for part in (f"score {score}" if score else "", label) if part)
        grid.addWidget(TextLabel(said, wrap=False), 0, 2)
        when = muted_label(f"{'you · ' if result.is_human else ''}{source} · {format_time_ns(result.time_unix_nano)}")
        when.setToolTip("Where the result came from, and when it was recorded")
        grid.addWidget(when, 0, 3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid.setColumnStretch(2, 1)
        if explanation:
            grid.addWidget(TextLabel(explanation), 1, 1, 1, 3)
        return card


def _chip(text: str, colour: str) -> QLabel:
    """The verdict as a small coloured pill (white on the verdict's colour: readable light and dark)."""
    chip = QLabel(text)
    chip.setAlignment(Qt.AlignmentFlag.AlignCenter)
    chip.setStyleSheet(f"QLabel {{ background: {colour}; color: white; border-radius: 4px; padding: 1px 6px; "
                       "font-weight: bold; }")
    return chip
