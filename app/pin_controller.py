"""Pins (the trace list's context menu, File ▸ Pin, Ctrl+P): pin the selected traces so
retention never deletes them, or unpin them if they all are. The receiver's writer does it;
the list hears of it like of new data and redraws the rows (a pin on their time)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QStatusBar, QWidget

from app.formatting import plural
from app.models.trace_list_model import TRACE_ROLE
from app.receiver_host import ReceiverHost
from app.shortcuts import PIN_TRACES, key_sequences
from app.widgets.trace_list_view import TraceListView
from app.workers import QueryWorker

__all__ = ["PinController"]


class PinController(QObject):
    def __init__(self, host: ReceiverHost, worker: QueryWorker, trace_list: TraceListView, status: QStatusBar,
                 window: QWidget) -> None:
        super().__init__(window)
        self.host, self.worker, self.trace_list, self.status = host, worker, trace_list, status
        self.action = QAction("Pin trace", self)
        self.action.setShortcuts(key_sequences(PIN_TRACES))
        self.action.setToolTip("Pinned traces are never deleted by retention; is:pinned in the search lists them")
        self.action.triggered.connect(self.toggle_selected)
        trace_list.selectionModel().selectionChanged.connect(self._update_text)
        trace_list.model().dataChanged.connect(self._update_text)

    def toggle_selected(self) -> None:
        """Pin the selected traces, or unpin them when every one is pinned already."""
        receiver, ids = self.host.receiver, self.trace_list.selected_trace_ids()
        if receiver is None or not ids:
            return
        pin = not self._all_pinned()
        done = "Pinned" if pin else "Unpinned"
        self.worker.ask(lambda _store: receiver.set_pinned(ids, pin),
                        lambda changed: self.status.showMessage(f"{done} {plural(len(changed), 'trace')}", 5000),
                        on_failed=lambda message: self.status.showMessage(f"Could not pin: {message}", 10_000))

    def _all_pinned(self) -> bool:
        rows = self.trace_list.selectionModel().selectedRows()
        return bool(rows) and all(index.data(TRACE_ROLE).pinned for index in rows)

    def _update_text(self, *_args) -> None:
        several = len(self.trace_list.selectionModel().selectedRows()) > 1
        verb = "Unpin" if self._all_pinned() else "Pin"
        self.action.setText(f"{verb} {'traces' if several else 'trace'}")
