"""Receiver ▸ Storage budgets…: the database's size and age budgets, chosen in a dialog,
remembered in the settings, and handed to the running receiver's writer (through the query
worker, so that the window never waits for the writer's turn)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QStatusBar, QWidget

from app.receiver_host import ReceiverHost
from app.settings import AppSettings
from app.widgets.retention_dialog import RetentionDialog
from app.workers import QueryWorker

__all__ = ["RetentionController"]


class RetentionController(QObject):
    def __init__(self, host: ReceiverHost, worker: QueryWorker, settings: AppSettings, status: QStatusBar,
                 window: QWidget, *, set_by_flags: bool = False) -> None:
        super().__init__(window)
        self.host, self.worker, self.settings, self.status, self.window = host, worker, settings, status, window
        self.set_by_flags = set_by_flags
        self.action = QAction("Storage budgets…", self)
        self.action.setToolTip("How large the database may grow and how long traces are kept")
        self.action.triggered.connect(self.choose)
        self.dialog: RetentionDialog | None = None

    def choose(self) -> None:
        self.worker.ask(lambda store: store.stats().db_bytes, self._open, key="retention-stats",
                        on_failed=lambda _message: self._open(None))

    def _open(self, db_bytes: int | None) -> None:
        config = self.host.config
        stored = f"{db_bytes / 1_048_576:,.1f} MiB" if db_bytes is not None else "unknown"
        self.dialog = RetentionDialog(config.max_db_mb, config.max_age_days, stored, self.set_by_flags, self.window)
        self.dialog.finished.connect(self._chosen)
        self.dialog.open()

    def _chosen(self, result: int) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is None or result != QDialog.DialogCode.Accepted:
            return
        self.apply(*dialog.budget())

    def apply(self, max_db_mb: int, max_age_days: float) -> None:
        """Remember the budgets and have the receiver keep to them from now on."""
        self.settings.set_retention_budget(max_db_mb, max_age_days)
        self.worker.ask(lambda _store: self.host.set_retention_budget(max_db_mb, max_age_days),
                        lambda _: self.status.showMessage("Storage budgets changed: retention applies them now", 5000),
                        on_failed=lambda message: self.status.showMessage(
                            f"Could not change the storage budgets: {message}", 10_000))
