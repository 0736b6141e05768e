"""`InspectorPanel`: the selected span in six tabs — Overview (the reproducibility record),
Messages (the conversation), Attributes, Events & logs, Evaluations, Raw JSON — and, beside
the tabs, "Open in playground" (`app.playground_controller`) and "Copy as code"
(`app.call_as_code`) for a model call.

A new span marks every tab stale and fills only the one showing; another tab is filled when
the user turns to it, so clicking through spans never builds a long conversation unseen. The
Evaluations tab is the exception: it is a few cards, and its results come separately (the open
trace's, `set_trace_evaluations`, again whenever the trace is read again), so it is always filled."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QTabWidget, QToolButton, QWidget

from app.call_as_code import call_as_code, can_be_code
from app.models.attribute_model import AttributeModel, attribute_rows
from app.widgets.inspector.attributes_tab import AttributesTab
from app.widgets.inspector.evaluations_tab import EvaluationsTab
from app.widgets.inspector.events_tab import EventsTab, timeline
from app.widgets.inspector.messages_tab import MessagesTab, message_count
from app.widgets.inspector.overview_tab import OverviewTab
from app.widgets.inspector.raw_tab import RawTab
from receiver.records import StoredEvaluation, StoredLog, StoredSpan

__all__ = ["InspectorPanel", "TAB_NAMES"]

OVERVIEW, MESSAGES, ATTRIBUTES, EVENTS, EVALUATIONS, RAW = ("Overview", "Messages", "Attributes", "Events & logs",
                                                            "Evaluations", "Raw")
TAB_NAMES = (OVERVIEW, MESSAGES, ATTRIBUTES, EVENTS, EVALUATIONS, RAW)
_EVALUATIONS_TAB = TAB_NAMES.index(EVALUATIONS)


def _title(name: str, count: int) -> str:
    """The tab's title with its count; `&` doubled, or Qt would take it for a shortcut marker."""
    return (f"{name} ({count})" if count else name).replace("&", "&&")


class InspectorPanel(QTabWidget):
    sig_code_copied = Signal(str)  # a model call, as a Python snippet, went to the clipboard (the span id)
    sig_open_span = Signal(str, str)  # a link to another span was followed: (trace id, span id)
    sig_playground_wanted = Signal(object)  # "Open in playground" on this model call (its StoredSpan)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.copy_code_button = QToolButton(text="Copy as code", autoRaise=True, enabled=False)
        self.copy_code_button.setToolTip("Copy a runnable Python snippet that repeats this model call with the "
                                         "provider's SDK: model, messages, temperature, top_p, seed, tools")
        self.copy_code_button.clicked.connect(self.copy_as_code)
        self.playground_button = QToolButton(text="Open in playground", autoRaise=True, enabled=False)
        self.playground_button.setToolTip("Edit this model call and run it again against the provider, the answer "
                                          "beside this one (nothing is sent until you press Run)")
        self.playground_button.clicked.connect(lambda: self._span and self.sig_playground_wanted.emit(self._span))
        corner = QWidget()
        buttons = QHBoxLayout(corner)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        buttons.addWidget(self.playground_button)
        buttons.addWidget(self.copy_code_button)
        self.setCornerWidget(corner, Qt.Corner.TopRightCorner)
        self.overview = OverviewTab()
        self.messages = MessagesTab()
        self.attributes = AttributesTab()
        self.events = EventsTab()
        self.evaluations = EvaluationsTab()
        self.raw = RawTab()
        self.overview.sig_open_span.connect(self.sig_open_span)
        self._tabs = (self.overview, self.messages, self.attributes, self.events, self.evaluations, self.raw)
        for name, tab in zip(TAB_NAMES, self._tabs, strict=True):
            self.addTab(tab, _title(name, 0))
        self._span: StoredSpan | None = None
        self._logs: tuple[StoredLog, ...] = ()
        self._stale: set[int] = set()
        self._trace_results: tuple[StoredEvaluation, ...] = ()  # the open trace's, every span's
        self._trace_results_on: str | None = None  # the span that shows those on the whole trace
        self.currentChanged.connect(self._fill_current)

    @property
    def attribute_model(self) -> AttributeModel:
        return self.attributes.model

    def span(self) -> StoredSpan | None:
        return self._span

    def show_span(self, span: StoredSpan | None, logs: Sequence[StoredLog] = ()) -> None:
        """Inspect `span` (None: nothing selected). `logs` are the trace's log records; the Events
        tab shows those whose span id is the span's. The same span and logs again change nothing
        (a refreshed trace keeps the user's scroll position and folds)."""
        logs = tuple(logs)
        if span == self._span and logs == self._logs and span is not None:
            return
        self._span, self._logs = span, logs
        self.copy_code_button.setEnabled(can_be_code(span))
        self.playground_button.setEnabled(can_be_code(span))
        counts = (0, message_count(span), 0, 0, 0, 0) if span is None else (
            0, message_count(span), len(attribute_rows(span)), len(timeline(span, logs)), 0, 0)
        for index, (name, count) in enumerate(zip(TAB_NAMES, counts, strict=True)):
            self.setTabText(index, _title(name, count))
        self._stale = set(range(len(self._tabs))) - {_EVALUATIONS_TAB}
        self._show_evaluations()
        self._fill_current()

    def set_trace_evaluations(self, results: Sequence[StoredEvaluation], trace_results_on: str | None) -> None:
        """The open trace's evaluation results (of every span, and of the whole trace, which
        `trace_results_on`'s card list shows too); again when the trace is read again."""
        self._trace_results, self._trace_results_on = tuple(results), trace_results_on
        self._show_evaluations()

    def _show_evaluations(self) -> None:
        span = self._span
        own = [r for r in self._trace_results if span is not None and r.span_id == span.span_id]
        on_trace = [r for r in self._trace_results if r.span_id is None] \
            if span is not None and span.span_id == self._trace_results_on else []
        self.evaluations.show_results(span, own, on_trace)
        self.setTabText(_EVALUATIONS_TAB, _title(EVALUATIONS, len(own) + len(on_trace)))

    def copy_as_code(self) -> None:
        if can_be_code(self._span):
            QGuiApplication.clipboard().setText(call_as_code(self._span))
            self.sig_code_copied.emit(self._span.span_id)

    def show_tab(self, name: str) -> None:
        """Turn to the tab called `name` ("Messages"; a title's count is not part of its name)."""
        for index, tab_name in enumerate(TAB_NAMES):
            if tab_name.casefold() == name.casefold() or self.tabText(index).replace("&&", "&").startswith(name):
                self.setCurrentIndex(index)
                return
        raise ValueError(f"no inspector tab called {name!r}; the tabs are {', '.join(TAB_NAMES)}")

    def current_tab_name(self) -> str:
        """The current tab's name, without its count ("Events & logs")."""
        return TAB_NAMES[self.currentIndex()]

    def _fill_current(self) -> None:
        index = self.currentIndex()
        if index in self._stale:
            self._stale.discard(index)
            self._tabs[index].show_span(self._span, self._logs)
