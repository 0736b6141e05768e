"""Which trace and span the traces page shows, and the keyboard's way into them: a trace
selected in the list is opened (`OpenTrace`), its waterfall filled and its first span — or
the span a link asked for — selected; the selected span goes to the inspector in full; Enter
on a trace moves the keyboard into its waterfall once it is shown, Enter on a span into the
inspector. The main window composes the panes; this keeps them in step."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from app.meters_controller import MetersController
from app.models.trace_list_model import TraceListModel
from app.open_trace import OpenTrace
from app.widgets.find_bar import TraceFinder
from app.widgets.inspector import InspectorPanel
from app.widgets.trace_header import TraceHeader
from app.widgets.trace_list_view import TraceListView
from app.widgets.waterfall import WaterfallView
from receiver import StoredSpan, TraceDetail
from receiver.records import StoredLog

__all__ = ["TraceNavigation"]


class TraceNavigation(QObject):
    sig_trace_shown = Signal(str)  # a trace's waterfall and inspector were filled (its id)

    def __init__(self, list_model: TraceListModel, trace_list: TraceListView, header: TraceHeader,
                 meters: MetersController, open_trace: OpenTrace, waterfall: WaterfallView,
                 inspector: InspectorPanel, finder: TraceFinder, parent: QObject) -> None:
        super().__init__(parent)
        self.list_model, self.trace_list, self.header, self.meters = list_model, trace_list, header, meters
        self.open_trace, self.waterfall, self.inspector, self.finder = open_trace, waterfall, inspector, finder
        self._shown_trace_id: str | None = None
        self._enter_pending: str | None = None  # Enter on a trace still loading: focus its waterfall when shown
        self._span_pending: tuple[str, str] | None = None  # a linked span to select once its trace is shown
        trace_list.sig_trace_selected.connect(self.trace_selected)
        trace_list.sig_open_requested.connect(self._go_into_trace)
        self.sig_trace_shown.connect(self._trace_shown_for_enter)
        list_model.dataChanged.connect(self._list_rows_changed)
        open_trace.sig_loaded.connect(self._trace_loaded)
        open_trace.sig_closed.connect(self._trace_closed)
        waterfall.sig_span_selected.connect(self._span_selected)
        open_trace.sig_span_loaded.connect(self._span_loaded)
        waterfall.sig_span_opened.connect(self._inspect_span)

    def trace_selected(self, trace_id: str | None) -> None:
        row = self.list_model.row_of(trace_id) if trace_id else None
        summary = self.list_model.trace_at(row) if row is not None else None
        self.header.show_trace(summary)
        self.meters.set_open_trace(summary)
        self.open_trace.open(trace_id)

    def select_span_when_shown(self, trace_id: str, span_id: str) -> bool:
        """Select the span now if its trace is shown (True), else once the trace has been."""
        if self.waterfall.model.trace_id == trace_id and self.waterfall.select_span(span_id):
            return True
        self._span_pending = (trace_id, span_id)
        return False

    def _list_rows_changed(self, top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        current = self.trace_list.currentIndex()
        if current.isValid() and top_left.row() <= current.row() <= bottom_right.row():
            self.header.show_trace(self.list_model.trace_at(current.row()))

    def _trace_loaded(self, detail: TraceDetail) -> None:
        first_time = detail.trace_id != self._shown_trace_id
        self._shown_trace_id = detail.trace_id
        self.waterfall.set_trace(detail)
        pending, self._span_pending = self._span_pending, None
        linked = pending is not None and pending[0] == detail.trace_id and self.waterfall.select_span(pending[1])
        if linked:
            self._span_selected(self.waterfall.selected_span())
        elif first_time or self.waterfall.selected_span() is None:
            root = self.waterfall.first_span(lambda span: True)
            if root is not None:
                self.waterfall.select_span(root.span_id)
        else:
            self._span_selected(self.waterfall.selected_span())  # its logs may have arrived
        self.finder.set_trace(detail.trace_id)  # an open find bar searches this trace (again)
        self.sig_trace_shown.emit(detail.trace_id)

    def _trace_closed(self) -> None:
        self._shown_trace_id = None
        self.waterfall.set_trace(None)
        self.finder.set_trace(None)
        self.inspector.show_span(None, [])
        self.header.show_trace(None)
        self.meters.set_open_trace(None)

    def _span_selected(self, span: StoredSpan | None) -> None:
        """The waterfall holds outlines: the inspector shows the span in full, at once if it is
        here already, else when the worker has read it (`_span_loaded`)."""
        full = self.open_trace.open_span(span.span_id) if span is not None else None
        if span is None or full is not None:
            self.inspector.show_span(*(full or (None, [])))

    def _span_loaded(self, span: StoredSpan, logs: list[StoredLog]) -> None:
        selected = self.waterfall.selected_span()
        if selected is not None and selected.span_id == span.span_id:
            self.inspector.show_span(span, logs)

    def _inspect_span(self, _span: StoredSpan) -> None:
        """Enter on a span: the keyboard goes into the inspector's current tab."""
        page = self.inspector.currentWidget()
        target = next((w for w in page.findChildren(QWidget)
                       if w.isVisible() and w.focusPolicy() & Qt.FocusPolicy.TabFocus), None)
        (target or self.inspector.tabBar()).setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _go_into_trace(self, trace_id: str) -> None:
        """Enter on a trace: selecting opened it already, so the keyboard moves into its waterfall."""
        if self.waterfall.model.trace_id == trace_id and self.waterfall.tree.isVisible():
            self._enter_pending = None
            self.waterfall.tree.setFocus(Qt.FocusReason.ShortcutFocusReason)
        else:
            self._enter_pending = trace_id

    def _trace_shown_for_enter(self, trace_id: str) -> None:
        pending, self._enter_pending = self._enter_pending, None  # once: a later refresh must not take the focus
        if trace_id == pending:
            self._go_into_trace(trace_id)
