"""The pages beside the traces page — charts, sessions, logs — each with the controller that
fills it. Made and kept in step together: only the page shown follows commits."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from app.charts_controller import ChartsController
from app.logs_controller import LogsController
from app.sessions_controller import SessionsController
from app.shortcuts import SHOW_CHARTS_PAGE, SHOW_LOGS_PAGE, SHOW_SESSIONS_PAGE, Shortcut
from app.widgets.charts_page import ChartsPage
from app.widgets.logs_page import LogsPage
from app.widgets.sessions_page import SessionsPage
from app.workers import QueryWorker
from receiver import IngestEvent

__all__ = ["SidePages"]


class SidePages(QObject):
    def __init__(self, worker: QueryWorker, *, set_cost_keys: Callable[[list[str]], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.charts_page = ChartsPage()
        self.charts_controller = ChartsController(worker, self.charts_page, set_cost_keys=set_cost_keys, parent=self)
        self.sessions_page = SessionsPage()
        self.sessions_controller = SessionsController(worker, self.sessions_page, parent=self)
        self.logs_page = LogsPage()
        self.logs_controller = LogsController(worker, self.logs_page, parent=self)
        self._controllers = {"charts": self.charts_controller, "sessions": self.sessions_controller,
                             "logs": self.logs_controller}

    def views(self) -> dict[str, tuple[QWidget, str, Shortcut]]:
        """For the `ViewSwitcher`: name -> (page, label, shortcut)."""
        return {"charts": (self.charts_page, "Charts", SHOW_CHARTS_PAGE),
                "sessions": (self.sessions_page, "Sessions", SHOW_SESSIONS_PAGE),
                "logs": (self.logs_page, "Logs", SHOW_LOGS_PAGE)}

    def set_shown(self, name: str) -> None:
        for page, controller in self._controllers.items():
            controller.set_active(page == name)

    def on_spans_ingested(self, event: IngestEvent) -> None:
        for controller in self._controllers.values():
            controller.on_spans_ingested(event)
