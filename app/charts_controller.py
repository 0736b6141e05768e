"""Fills the charts page: the series of its time range and model and the cost by attribute,
read on the `QueryWorker` (key "charts") from the rollups, when the range or model changes,
when the page is shown, and after commits while it is shown. Cost by a key that is not kept
at ingestion is computed from the spans (key "charts-attribute"), with progress, when the key
or the range changes — not after every commit. The evaluations section reads the same window
and steps as the time charts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from app.page_controller import PageController
from app.widgets.attribute_chart import default_key
from app.widgets.charts_page import CHART_RANGES, ChartsPage
from app.widgets.evaluations_chart import Series
from app.workers import QueryWorker
from receiver import AttributeCosts, TraceStore, UsageSeries
from receiver.records import EvaluatorSummary
from receiver.storage.metric_series import MetricSeries

__all__ = ["ChartsController", "chart_window"]

_MAX_STEPS = 120  # points per series for "All stored"
_NS_PER_MINUTE = 60_000_000_000


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


@dataclass(frozen=True, slots=True)
class _Answer:
    series: UsageSeries | None
    metrics: MetricSeries | None
    cost_keys: list[str]
    attribute_costs: AttributeCosts | None  # None: the key is not kept, computed apart
    window_ns: tuple[int, int] | None
    step_ns: int = _NS_PER_MINUTE
    evaluators: tuple[EvaluatorSummary, ...] = ()
    evaluation_series: Series | None = None


class ChartsController(PageController):
    sig_attribute_progress = Signal(int, int)  # traces done, in all (emitted on the worker thread)

    def __init__(self, worker: QueryWorker, page: ChartsPage, *, clock_ns: Callable[[], int] = time.time_ns,
                 set_cost_keys: Callable[[list[str]], None] | None = None, parent: QObject | None = None) -> None:
        super().__init__(worker, parent)
        self.page = page
        self._clock_ns = clock_ns
        self._set_cost_keys = set_cost_keys  # the receiver's, run on the worker thread (it waits for the writer)
        page.attributes.sig_keep_changed.connect(self.keep_key)
        page.sig_range_changed.connect(lambda: self.refresh(recompute_attribute=True))
        page.sig_attribute_key_changed.connect(lambda _key: self.refresh(recompute_attribute=True))
        self.sig_attribute_progress.connect(page.attributes.show_progress)

    def shown(self) -> None:
        self.refresh(recompute_attribute=True)

    def refresh(self, *, recompute_attribute: bool = False) -> None:
        range_label, model, now_minute = self.page.range_label, self.page.model, self._clock_ns() // 60_000_000_000
        key = self.page.attributes.key

        def query(store: TraceStore) -> _Answer:
            window = chart_window(store, range_label, now_minute)
            keys = store.cost_keys()
            if window is None:
                return _Answer(None, None, keys, None, None)
            window_ns = (window[0] * _NS_PER_MINUTE, window[1] * _NS_PER_MINUTE)
            chosen = key or default_key(keys)
            costs = store.attribute_costs(chosen, *window_ns) if chosen in keys else None
            step_ns = window[2] * _NS_PER_MINUTE
            return _Answer(store.usage_series(*window, model=model), store.metric_series(*window, model=model), keys,
                           costs, window_ns, step_ns, tuple(store.evaluator_summaries(*window_ns)),
                           store.evaluation_series(*window_ns, step_ns))

        self.worker.ask(query, lambda answer: self._show(answer, recompute_attribute), key="charts")

    def _show(self, answer: _Answer, recompute_attribute: bool) -> None:
        self.page.attributes.set_keys(answer.cost_keys)
        if answer.series is not None:
            self.page.show_series(answer.series, answer.metrics)
        self.page.evaluations.show_evaluations(answer.evaluators, answer.evaluation_series or {}, answer.window_ns,
                                               answer.step_ns)
        if answer.attribute_costs is not None:
            self.page.attributes.show_costs(answer.attribute_costs)
        elif recompute_attribute and answer.window_ns is not None and self.page.attributes.key:
            self._compute_attribute(self.page.attributes.key, answer.window_ns)
        self.sig_updated.emit()

    def keep_key(self, key: str, keep: bool) -> None:
        """Add a key to the ones kept at ingestion (filled from the stored spans), or drop it."""
        set_cost_keys = self._set_cost_keys
        if set_cost_keys is None or not key:
            return

        def change(store: TraceStore) -> None:
            keys = [k for k in store.cost_keys() if k != key] + ([key] if keep else [])
            set_cost_keys(keys)

        self.page.attributes.show_busy("filling…" if keep else "dropping…")
        self.worker.ask(change, lambda _: self.refresh(recompute_attribute=True), key="cost-keys",
                        on_failed=self._attribute_failed)

    def _compute_attribute(self, key: str, window_ns: tuple[int, int]) -> None:
        """Cost by a key not kept at ingestion: from the spans, reporting progress."""
        progress = self.sig_attribute_progress.emit
        self.page.attributes.show_progress(0, 1)
        self.worker.ask(lambda store: store.attribute_costs(key, *window_ns, progress=progress),
                        self._show_attribute, key="charts-attribute", on_failed=self._attribute_failed)

    def _show_attribute(self, costs: AttributeCosts) -> None:
        self.page.attributes.show_costs(costs)
        self.sig_updated.emit()

    def _attribute_failed(self, message: str) -> None:
        self.page.attributes.progress.hide()
        self.page.attributes.keep_box.setEnabled(True)
        self.page.readout.setText(f"Cost by attribute: {message}")
