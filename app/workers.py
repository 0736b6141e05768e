"""Database reads off the GUI thread: `QueryWorker`, a `QObject` moved to its own `QThread`
(the worker-object pattern of the Qt documentation), with its own `TraceStore` whose
connection is opened, used and closed on that thread.

The GUI calls `request(query, key=...)` and gets a request id back at once; the answer comes
as `sig_result(request_id, payload)` or `sig_failed(request_id, message)`, emitted on the GUI
thread (the runner on the worker thread reports to the facade, which lives there). `ask` does
the same with callbacks, for callers that would otherwise keep their own id bookkeeping.
A request with a key supersedes the ones with that key still waiting: they are skipped, not
run, and the one running is stopped (a user typing in the filter bar starts one query per
pause; only the last one matters, and a slow search must not hold up the next).
Exceptions never cross threads; they travel as the message.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from receiver import QueryCancelled, TraceStore

__all__ = ["Query", "QueryWorker"]

Query = Callable[[TraceStore], Any]  # runs on the worker thread, returns the payload
OnResult = Callable[[Any], None]
OnFailed = Callable[[str], None]
SHUTDOWN_TIMEOUT_MS = 5000


class QueryWorker(QObject):
    """Lives on the GUI thread and answers there; its `_Runner` does the work on `_thread`."""

    sig_result = Signal(int, object)  # request id, payload
    sig_failed = Signal(int, str)  # request id, what went wrong
    _sig_request = Signal(int, object, object)  # -> runner: id, key, query
    _sig_close = Signal()

    def __init__(self, db_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = TraceStore(db_path)  # queried only on the worker thread
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._latest: dict[str, int] = {}  # key -> newest request id
        self._callbacks: dict[int, tuple[OnResult, OnFailed | None]] = {}  # of `ask`, until answered
        self._asked: dict[str, int] = {}  # key -> the id whose callbacks are kept
        self._thread = QThread()
        self._thread.setObjectName("tracepane-queries")
        self._runner = _Runner(self.store, self._superseded)
        self._runner.moveToThread(self._thread)
        # cross-thread connections, so queued both ways: requests run there, answers land here
        self._sig_request.connect(self._runner.run)
        self._sig_close.connect(self._runner.close)
        self._runner.sig_done.connect(self._deliver)
        self._runner.sig_failed.connect(self._fail)
        self.sig_result.connect(self._answer)
        self.sig_failed.connect(self._answer_failure)
        self._thread.start()

    def ask(self, query: Query, on_result: OnResult, *, key: str | None = None,
            on_failed: OnFailed | None = None) -> int:
        """`request`, answered by calling `on_result(payload)` (or `on_failed(message)`) on the GUI
        thread. A newer ask with the same key drops the older one's callbacks: they never run."""
        request_id = self.request(query, key=key)
        if key is not None:
            self._callbacks.pop(self._asked.get(key, 0), None)
            self._asked[key] = request_id
        self._callbacks[request_id] = (on_result, on_failed)
        return request_id

    def request(self, query: Query, *, key: str | None = None) -> int:
        """Queue `query`; returns its request id at once."""
        request_id = next(self._ids)
        if key is not None:
            with self._lock:
                self._latest[key] = request_id
        self._sig_request.emit(request_id, key, query)
        return request_id

    def shutdown(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> bool:
        """Close the connection on the worker thread and stop it; False if it did not stop in time."""
        if not self._thread.isRunning():
            return True
        self._sig_close.emit()
        return self._thread.wait(timeout_ms)

    @Slot(int, object)
    def _answer(self, request_id: int, payload: Any) -> None:
        callbacks = self._callbacks.pop(request_id, None)
        if callbacks is not None:
            callbacks[0](payload)

    @Slot(int, str)
    def _answer_failure(self, request_id: int, message: str) -> None:
        callbacks = self._callbacks.pop(request_id, None)
        if callbacks is not None and callbacks[1] is not None:
            callbacks[1](message)

    def _superseded(self, request_id: int, key: str | None) -> bool:
        with self._lock:
            return key is not None and self._latest.get(key) != request_id

    @Slot(int, object, object)
    def _deliver(self, request_id: int, key: str | None, payload: Any) -> None:
        if not self._superseded(request_id, key):  # a newer one may have come while it ran
            self.sig_result.emit(request_id, payload)

    @Slot(int, str)
    def _fail(self, request_id: int, message: str) -> None:
        self.sig_failed.emit(request_id, message)


class _Runner(QObject):
    """The worker thread's side: runs queries, reports each outcome by signal."""

    sig_done = Signal(int, object, object)  # request id, key, payload
    sig_failed = Signal(int, str)

    def __init__(self, store: TraceStore, superseded: Callable[[int, str | None], bool]) -> None:
        super().__init__()
        self._store, self._superseded = store, superseded

    @Slot(int, object, object)
    def run(self, request_id: int, key: str | None, query: Query) -> None:
        if self._superseded(request_id, key):  # a newer request with this key is queued: skip
            return
        # ... and one that comes while this runs stops it (a slow search the user typed past)
        self._store.cancel_when(None if key is None else lambda: self._superseded(request_id, key))
        try:
            payload = query(self._store)
        except QueryCancelled:
            return  # nobody waits for it
        except Exception as exc:  # a query's failure is an answer, never a crash of the thread
            self.sig_failed.emit(request_id, str(exc) or type(exc).__name__)
            return
        self.sig_done.emit(request_id, key, payload)

    @Slot()
    def close(self) -> None:
        self._store.close()  # this thread's connection, closed by its own thread
        self.thread().quit()
