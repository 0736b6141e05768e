"""Cyclic garbage collected on the GUI thread only.

Python's collector runs in whichever thread happens to allocate when a generation fills up.
In a threaded Qt app that is often a worker (the query thread building a 10,000-span
outline, the writer), and collecting a Qt widget's wrapper there destroys the widget off the
GUI thread: it takes Qt's locks in one order while the GUI thread takes them in the other, and
both threads hang (seen: a QMenu freed by the query thread's collection while the GUI thread
deleted another widget). So the automatic collector is off and a GUI-thread timer runs the
same generational collections Python would, by the same thresholds. Reference counting still
frees everything that is not in a cycle at once, on any thread."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = ["GuiThreadCollector"]

TICK_MS = 200


class GuiThreadCollector(QObject):
    """Install with `start()` (from the GUI thread); `stop()` gives the automatic collector back."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self, interval=TICK_MS)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> int:
        """The oldest generation past its threshold, collected as Python would have; returns
        what was freed."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                return gc.collect(generation)
        return 0
