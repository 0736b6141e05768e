"""The spend alert: dollars-per-hour thresholds set from View ▸ Spend alert… and remembered —
one for the spend-rate meter (all traffic), and one per cost-by-attribute key that any single
value of the key (one user, one feature) may reach. Reaching one colours the spend-rate meter
(`MetersStrip`), and once per crossing logs a warning and shows a desktop notification (the
status bar where the desktop has no notification area). Per-value rates are read from the
cost-by-attribute rollups after commits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QStatusBar, QSystemTrayIcon, QWidget

from app.formatting import format_cost_usd
from app.settings import AppSettings
from app.widgets.meters_strip import MetersStrip
from app.widgets.spend_alert_dialog import SpendAlertDialog
from app.workers import QueryWorker
from receiver import IngestEvent, TraceStore

__all__ = ["SpendAlert"]

log = logging.getLogger(__name__)


class SpendAlert(QObject):
    def __init__(self, settings: AppSettings, strip: MetersStrip, status: QStatusBar, window: QWidget,
                 icon: QIcon, worker: QueryWorker, *, clock_ns: Callable[[], int] = time.time_ns) -> None:
        super().__init__(window)
        self.settings, self.strip, self.status, self.window, self.worker = settings, strip, status, window, worker
        self._clock_ns = clock_ns
        self.action = QAction("Spend alert…", self)
        self.action.setToolTip("Alert when the spend rate, or any one user's or feature's, reaches a number of "
                               "dollars per hour")
        self.action.triggered.connect(self.ask)
        self._tray = QSystemTrayIcon(icon, self) if QSystemTrayIcon.isSystemTrayAvailable() else None
        self.per_key: dict[str, float] = settings.attribute_spend_alerts()
        self._over: set[tuple[str, str]] = set()  # (key, value) at or over the key's threshold
        self.dialog: SpendAlertDialog | None = None
        strip.set_spend_alert(settings.spend_alert())
        strip.sig_alert_crossed.connect(self._crossed)

    def ask(self) -> None:
        """Open the dialog once the configured keys are known."""
        self.worker.ask(lambda store: store.cost_keys(), self._open_dialog, key="spend-alert-keys")

    def set_threshold(self, usd_per_hour: float | None) -> None:
        self.settings.set_spend_alert(usd_per_hour)
        self.strip.set_spend_alert(usd_per_hour)

    def set_attribute_thresholds(self, per_key: dict[str, float]) -> None:
        self.per_key = {key: value for key, value in per_key.items() if value > 0}
        self.settings.set_attribute_spend_alerts(self.per_key)
        self._over = set()
        self.strip.show_attribute_alerts([])
        self.check()

    def on_spans_ingested(self, _event: IngestEvent) -> None:
        if self.per_key:
            self.check()

    def check(self) -> None:
        """Read each value's spend rate of the keys with a threshold."""
        per_key, now = dict(self.per_key), self._clock_ns()
        if not per_key:
            return

        def query(store: TraceStore) -> dict[str, list[tuple[str, float]]]:
            return {key: store.attribute_spend_rates(key, now) for key in per_key}

        self.worker.ask(query, lambda rates: self._rates(per_key, rates), key="attribute-spend-rates")

    def _open_dialog(self, keys: list[str]) -> None:
        self.dialog = SpendAlertDialog(self.settings.spend_alert(), self.per_key, keys, self.window)
        self.dialog.accepted.connect(self._dialog_accepted)
        self.dialog.open()

    def _dialog_accepted(self) -> None:
        if self.dialog is not None:
            self.set_threshold(self.dialog.overall())
            self.set_attribute_thresholds(self.dialog.per_key())

    def _rates(self, per_key: dict[str, float], rates: dict[str, list[tuple[str, float]]]) -> None:
        over = {(key, value): rate for key, values in rates.items() for value, rate in values if rate >= per_key[key]}
        for key, value in sorted(over.keys() - self._over):
            self._notify(f"Spend rate of {key} = {value}: {format_cost_usd(over[key, value])}/h reached "
                         f"your alert of {format_cost_usd(per_key[key])}/h")
        self._over = set(over)
        self.strip.show_attribute_alerts([f"{key} = {value}: {format_cost_usd(rate)}/h (alert "
                                          f"{format_cost_usd(per_key[key])}/h)"
                                          for (key, value), rate in sorted(over.items())])

    def _crossed(self, rate: float, alert: float) -> None:
        self._notify(f"Spend rate {format_cost_usd(rate)}/h reached your alert of {format_cost_usd(alert)}/h")

    def _notify(self, message: str) -> None:
        log.warning(message)
        if self._tray is not None:
            self._tray.show()
            self._tray.showMessage("Tracepane", message, QSystemTrayIcon.MessageIcon.Warning)
        else:
            self.status.showMessage(message, 30_000)
