"""Compare (the trace list's context menu, File ▸ Compare two traces): the two selected traces
read on the worker, the earlier run as A, shown in a `CompareView` of their own."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QStatusBar, QWidget

from app.trace_compare import Comparison, compare_traces
from app.widgets.compare_view import CompareView
from app.widgets.trace_list_view import TraceListView
from app.workers import QueryWorker
from receiver import TraceStore

__all__ = ["CompareController"]


class CompareController(QObject):
    sig_shown = Signal(object)  # the CompareView opened

    def __init__(self, worker: QueryWorker, trace_list: TraceListView, status: QStatusBar, window: QWidget) -> None:
        super().__init__(window)
        self.worker, self.trace_list, self.status, self.window = worker, trace_list, status, window
        self.action = QAction("Compare two traces", self)
        self.action.setToolTip("Select two runs (Ctrl+click or Shift+click) to see where they went different ways")
        self.action.triggered.connect(self.compare_selected)
        self.views: list[CompareView] = []

    def compare_selected(self) -> None:
        trace_ids = self.trace_list.selected_trace_ids()
        if len(trace_ids) != 2:
            self.status.showMessage("Select two traces to compare (Ctrl+click or Shift+click in the list)", 8000)
            return
        self.compare(*trace_ids)

    def compare(self, first: str, second: str) -> None:
        def read(store: TraceStore) -> Comparison:
            a, b = sorted((store.get_trace(first), store.get_trace(second)),
                          key=lambda d: min((s.start_time_unix_nano for s in d.spans), default=0))
            return compare_traces(a, b)

        self.worker.ask(read, self._show, key="compare",
                        on_failed=lambda message: self.status.showMessage(f"Could not compare: {message}", 10_000))

    def _show(self, comparison: Comparison) -> None:
        view = CompareView(comparison, self.window)
        view.destroyed.connect(lambda: self.views.remove(view) if view in self.views else None)
        self.views.append(view)
        view.show()
        self.sig_shown.emit(view)
