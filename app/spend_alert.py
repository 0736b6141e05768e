"""The spend alert: a dollars-per-hour threshold for the spend-rate meter, set from View ▸
Spend alert… and remembered. Reaching it colours the meter (`MetersStrip`), and once per
crossing logs a warning and shows a desktop notification (the status bar where the desktop
has no notification area)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QInputDialog, QStatusBar, QSystemTrayIcon, QWidget

from app.formatting import format_cost_usd
from app.settings import AppSettings
from app.widgets.meters_strip import MetersStrip

__all__ = ["SpendAlert"]

log = logging.getLogger(__name__)


class SpendAlert(QObject):
    def __init__(self, settings: AppSettings, strip: MetersStrip, status: QStatusBar, window: QWidget,
                 icon: QIcon) -> None:
        super().__init__(window)
        self.settings, self.strip, self.status, self.window = settings, strip, status, window
        self.action = QAction("Spend alert…", self)
        self.action.setToolTip("Alert when the spend rate reaches a number of dollars per hour")
        self.action.triggered.connect(self.ask)
        self._tray = QSystemTrayIcon(icon, self) if QSystemTrayIcon.isSystemTrayAvailable() else None
        strip.set_spend_alert(settings.spend_alert())
        strip.sig_alert_crossed.connect(self._crossed)

    def ask(self) -> None:
        current = self.settings.spend_alert() or 0.0
        value, ok = QInputDialog.getDouble(self.window, "Spend alert",
                                           "Alert when the spend rate reaches ($ per hour; 0 turns it off):",
                                           current, 0.0, 1_000_000.0, 4)
        if ok:
            self.set_threshold(value or None)

    def set_threshold(self, usd_per_hour: float | None) -> None:
        self.settings.set_spend_alert(usd_per_hour)
        self.strip.set_spend_alert(usd_per_hour)

    def _crossed(self, rate: float, alert: float) -> None:
        message = f"Spend rate {format_cost_usd(rate)}/h reached your alert of {format_cost_usd(alert)}/h"
        log.warning(message)
        if self._tray is not None:
            self._tray.show()
            self._tray.showMessage("Tracepane", message, QSystemTrayIcon.MessageIcon.Warning)
        else:
            self.status.showMessage(message, 30_000)
