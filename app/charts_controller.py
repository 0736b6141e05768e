"""Fills the charts page: the series of its time range and model, read on the `QueryWorker`
(key "charts") from the rollups, when the range or model changes, when the page is shown,
and after commits while it is shown."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.widgets.charts_page import CHART_RANGES, ChartsPage
from app.workers import QueryWorker
from receiver import IngestEvent, TraceStore, UsageSeries

__all__ = ["ChartsController", "chart_window"]

_MAX_STEPS = 120  # points per series for "All stored"


def chart_window(store: TraceStore, range_label: str, now_minute: int) -> tuple[int, int, int] | None:
    """(first minute, past minute, minutes per step) of a range; None when nothing is stored."""
    span = CHART_RANGES[range_label]
    if span is not None:
        minutes, step = span
        past = now_minute + 1
        return past - minutes, past, step
    extent = store.usage_extent()
    if extent is None:
        return None
    first, last = extent
    step = max(1, -(-(last + 1 - first) // _MAX_STEPS))
    return first, last + 1, step


class ChartsController(QObject):
    sig_updated = Signal()  # the page shows a fresh answer

    def __init__(self, worker: QueryWorker, page: ChartsPage, *, clock_ns: Callable[[], int] = time.time_ns,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker, self.page = worker, page
        self._clock_ns = clock_ns
        self.active = False  # only a shown page follows new spans
        page.sig_range_changed.connect(self.refresh)

    def set_active(self, active: bool) -> None:
        self.active = active
        if active:
            self.refresh()

    def on_spans_ingested(self, _event: IngestEvent) -> None:
        if self.active:
            self.refresh()

    def refresh(self) -> None:
        range_label, model, now_minute = self.page.range_label, self.page.model, self._clock_ns() // 60_000_000_000

        def query(store: TraceStore) -> UsageSeries | None:
            window = chart_window(store, range_label, now_minute)
            return None if window is None else store.usage_series(*window, model=model)

        self.worker.ask(query, self._show, key="charts")

    def _show(self, series: UsageSeries | None) -> None:
        if series is not None:
            self.page.show_series(series)
        self.sig_updated.emit()
