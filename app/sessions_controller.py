"""Fills the sessions page from the `QueryWorker`: the sessions list while the page is shown
(again after commits), and the selected session's turns."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.page_controller import PageController
from app.widgets.sessions_page import SessionsPage
from app.workers import QueryWorker

__all__ = ["SessionsController"]


class SessionsController(PageController):
    def __init__(self, worker: QueryWorker, page: SessionsPage, parent: QObject | None = None) -> None:
        super().__init__(worker, parent)
        self.page = page
        page.sig_session_selected.connect(self._load_turns)

    def refresh(self) -> None:
        self.worker.ask(lambda store: store.sessions(), self._show_sessions, key="sessions")

    def _show_sessions(self, sessions: list) -> None:
        self.page.show_sessions(sessions)
        self.sig_updated.emit()

    def _load_turns(self, session_id: str) -> None:
        self.worker.ask(lambda store: store.session_traces(session_id),
                        lambda turns: self._show_turns(session_id, turns), key="session-turns")

    def _show_turns(self, session_id: str, turns: list) -> None:
        self.page.show_turns(session_id, turns)
        self.sig_updated.emit()
