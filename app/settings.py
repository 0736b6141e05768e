"""What the app remembers between runs, through `QSettings`: window geometry, splitter
positions, the trace list's column widths, the last filter, follow-latest, the ports the
user picked after a conflict. One place names every key.

`TRACEPANE_SETTINGS` (an .ini path) keeps a run's settings apart from the user's: tests and
screenshot runs use it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from app.list_filter import ListFilter

__all__ = ["AppSettings"]

ENV_SETTINGS = "TRACEPANE_SETTINGS"


class AppSettings:
    def __init__(self, path: Path | None = None) -> None:
        path = path or (Path(os.environ[ENV_SETTINGS]) if os.environ.get(ENV_SETTINGS) else None)
        self._qs = (QSettings(str(path), QSettings.Format.IniFormat) if path
                    else QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Tracepane", "tracepane"))

    @property
    def file_path(self) -> Path:
        """Where the settings are kept (the About dialog shows it)."""
        return Path(self._qs.fileName())

    def state(self, name: str) -> QByteArray | None:
        """A widget's saved state (`saveState`/`saveGeometry`), or None."""
        value = self._qs.value(f"window/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_state(self, name: str, value: QByteArray) -> None:
        self._qs.setValue(f"window/{name}", value)

    def ports(self) -> tuple[int | None, int | None]:
        """The ports the user chose in the app (None: not chosen, use the default)."""
        return _int_or_none(self._qs.value("receiver/grpc_port")), _int_or_none(self._qs.value("receiver/http_port"))

    def set_ports(self, grpc_port: int, http_port: int) -> None:
        self._qs.setValue("receiver/grpc_port", grpc_port)
        self._qs.setValue("receiver/http_port", http_port)

    def retention_budget(self) -> tuple[int | None, float | None]:
        """The database's size (MiB) and age (days) budgets chosen in Preferences; None: not chosen."""
        days = self._qs.value("receiver/max_age_days")
        try:
            days = float(days) if days is not None else None
        except (TypeError, ValueError):
            days = None
        return _int_or_none(self._qs.value("receiver/max_db_mb")), days

    def set_retention_budget(self, max_db_mb: int, max_age_days: float) -> None:
        self._qs.setValue("receiver/max_db_mb", max_db_mb)
        self._qs.setValue("receiver/max_age_days", max_age_days)

    def follow_latest(self) -> bool:
        return _bool(self._qs.value("list/follow_latest"), False)

    def set_follow_latest(self, on: bool) -> None:
        self._qs.setValue("list/follow_latest", on)

    def spend_alert(self) -> float | None:
        """Dollars per hour at which the spend-rate meter alerts; None: off."""
        try:
            value = float(self._qs.value("meters/spend_alert_usd_per_hour", 0) or 0)
        except (TypeError, ValueError):
            return None
        return value if value > 0 else None

    def set_spend_alert(self, usd_per_hour: float | None) -> None:
        self._qs.setValue("meters/spend_alert_usd_per_hour", usd_per_hour or 0)

    def attribute_spend_alerts(self) -> dict[str, float]:
        """Cost-by-attribute key -> dollars per hour at which any one value alerts."""
        try:
            stored = json.loads(str(self._qs.value("meters/attribute_spend_alerts", "{}") or "{}"))
            return {str(key): float(value) for key, value in stored.items() if float(value) > 0}
        except (TypeError, ValueError, AttributeError):
            return {}

    def set_attribute_spend_alerts(self, alerts: dict[str, float]) -> None:
        self._qs.setValue("meters/attribute_spend_alerts", json.dumps(alerts))

    def list_filter(self) -> ListFilter:
        qs, default = self._qs, ListFilter()
        return ListFilter(text=str(qs.value("list/text", "")), service=str(qs.value("list/service", "")),
                          model=str(qs.value("list/model", "")),
                          errors_only=_bool(qs.value("list/errors_only"), False),
                          pinned_only=_bool(qs.value("list/pinned_only"), False),
                          time_range=str(qs.value("list/time_range", default.time_range)))

    def set_list_filter(self, value: ListFilter) -> None:
        for name in ("text", "service", "model", "errors_only", "pinned_only", "time_range"):
            self._qs.setValue(f"list/{name}", getattr(value, name))

    def sync(self) -> None:
        self._qs.sync()


def _int_or_none(value: object) -> int | None:
    try:
        return int(value) if value is not None else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _bool(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "yes")
