"""Screenshot mode: wait until the window shows traces, open the first one and its first
chat span, let it paint, save a PNG of the whole window, and report an exit code. Waits on
the window's own signals; a deadline turns a stuck start into exit 1 with a message."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.span_category import CHAT, category_of
from app.widgets.main_window import MainWindow

__all__ = ["ScreenshotTaker"]

SETTLE_MS = 300  # after the last change, for layouts and the waterfall to paint


class ScreenshotTaker(QObject):
    sig_done = Signal(int)  # exit code

    def __init__(self, window: MainWindow, path: Path, *, wait_for_traces: int = 1,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window, self.path, self.wait_for_traces = window, Path(path), wait_for_traces
        self._deadline = QTimer(self, singleShot=True)
        self._deadline.timeout.connect(self._give_up)
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self._save)
        self._opened = False

    def start(self, timeout_ms: int) -> None:
        self._deadline.start(timeout_ms)
        model = self.window.list_model
        for signal in (model.modelReset, model.rowsInserted):
            signal.connect(self._check_list)
        self.window.list_controller.sig_loaded.connect(self._check_list)
        self.window.sig_trace_shown.connect(self._trace_shown)
        QTimer.singleShot(0, self._check_list)
        self.window.host.sig_state_changed.connect(self._check_receiver)
        QTimer.singleShot(0, self._check_receiver)

    def _check_receiver(self) -> None:
        host = self.window.host
        if self.wait_for_traces and not host.starting and host.receiver is None and self._deadline.isActive():
            self._fail(f"the receiver did not start: {host.problem}")

    def _check_list(self) -> None:
        rows = self.window.list_model.rowCount()
        if self._opened:
            return
        if rows >= max(1, self.wait_for_traces):
            self._opened = True
            self.window.trace_list.select_trace(self.window.list_model.trace_at(0).trace_id)
        elif not self.wait_for_traces and self.window.list_controller.loaded_once:
            self._opened = True
            self._settle.start()  # nothing stored: the empty state is the picture

    def _trace_shown(self, _trace_id: str) -> None:
        waterfall = self.window.waterfall
        chat = waterfall.first_span(lambda span: category_of(span.genai) == CHAT)
        if chat is not None:
            waterfall.select_span(chat.span_id)
        self._settle.start()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.window.grab().save(str(self.path)):
            self._fail(f"could not write {self.path}")
            return
        self._deadline.stop()
        print(f"saved {self.path}", file=sys.stderr)
        self.sig_done.emit(0)

    def _give_up(self) -> None:
        rows = self.window.list_model.rowCount()
        self._fail(f"gave up waiting: {rows} of {self.wait_for_traces} traces shown")

    def _fail(self, message: str) -> None:
        self._deadline.stop()
        self._settle.stop()
        print(f"tracepane: screenshot failed: {message}", file=sys.stderr)
        self.sig_done.emit(1)
