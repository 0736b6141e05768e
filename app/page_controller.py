"""`PageController`: what the pages beside the traces page (charts, sessions, logs) share —
they read only while shown, once when shown, and again after the commits they care about."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.workers import QueryWorker
from receiver import IngestEvent

__all__ = ["PageController"]


class PageController(QObject):
    sig_updated = Signal()  # the page shows a fresh answer

    def __init__(self, worker: QueryWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.active = False  # only a shown page follows commits

    def set_active(self, active: bool) -> None:
        self.active = active
        if active:
            self.shown()

    def on_spans_ingested(self, event: IngestEvent) -> None:
        if self.active and self.wants(event):
            self.refresh()

    def shown(self) -> None:
        """The page came into view: read it all."""
        self.refresh()

    def wants(self, _event: IngestEvent) -> bool:
        """Whether a commit can change what the page shows."""
        return True

    def refresh(self) -> None:
        raise NotImplementedError
