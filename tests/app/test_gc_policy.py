"""Cyclic garbage is collected on the GUI thread's timer, by Python's own thresholds, and
never by the automatic collector in whichever thread allocates (app.gc_policy)."""

from __future__ import annotations

import gc
import threading

from app.gc_policy import GuiThreadCollector


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_timer_collects_what_the_threads_leave(qtbot):
    collector = GuiThreadCollector()
    collector.start()
    try:
        assert not gc.isenabled()
        gc.collect()
        freed_in_thread = []

        def allocate() -> None:  # a worker making cyclic garbage: no collection runs here
            before = gc.get_stats()[0]["collections"]
            for _ in range(gc.get_threshold()[0] * 3):
                _Cycle()
            freed_in_thread.append(gc.get_stats()[0]["collections"] - before)

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        assert freed_in_thread == [0]
        assert gc.get_count()[0] > gc.get_threshold()[0]
        qtbot.waitUntil(lambda: gc.get_count()[0] < gc.get_threshold()[0], timeout=5000)  # the GUI thread's tick
    finally:
        collector.stop()
    assert gc.isenabled() == collector._was_enabled
