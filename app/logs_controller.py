"""Fills the logs page from the `QueryWorker`: the unlinked log records for the page's search
and severity, while the page is shown and again after commits that wrote or deleted records."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.page_controller import PageController
from app.widgets.logs_page import SHOWN_LIMIT, LogsPage
from app.workers import QueryWorker
from receiver import IngestEvent, StoredLog

__all__ = ["LogsController"]


class LogsController(PageController):
    def __init__(self, worker: QueryWorker, page: LogsPage, parent: QObject | None = None) -> None:
        super().__init__(worker, parent)
        self.page = page
        page.sig_query_changed.connect(self._query_changed)

    def wants(self, event: IngestEvent) -> bool:
        # Not for spans alone: re-running a search for every span batch would cost the most
        # under load. A model call stored after its record links it, and the record stays
        # listed until the next commit of records (or the page is shown again).
        return bool(event.logs_written or event.cleared or event.deleted_trace_ids)

    def refresh(self) -> None:
        text, min_severity = self.page.query()
        self.worker.ask(lambda store: store.unlinked_logs(text or None, min_severity=min_severity, limit=SHOWN_LIMIT),
                        self._show, key="logs", on_failed=self.page.show_error)

    def _query_changed(self, _text: str, _min_severity: int) -> None:
        if self.active:
            self.refresh()

    def _show(self, records: list[StoredLog]) -> None:
        self.page.show_logs(records)
        self.sig_updated.emit()
