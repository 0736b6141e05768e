"""The receiver inside the app: started with the window, restarted on other ports when the
user picks them, stopped on quit. A port that is taken, or a database another Tracepane
writes to, does not stop the app: the window opens with what is stored, and says what
happened (`problem`; `failure` is the error, for what to offer: other ports, or trying again).

`start_soon` starts it on a thread of its own: opening a database of a million spans takes
the writer most of a second (it reads back what it needs to find duplicate model calls), and
the window need not wait for that. Views subscribe here rather than to one `Receiver`, so a
restart keeps their subscriptions, and they are subscribed before it starts, so no commit
goes unannounced.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from receiver import IngestCounters, IngestEvent, ListenAddresses, Receiver, ReceiverConfig, ReceiverError, Subscribers

__all__ = ["ReceiverHost"]

START_JOIN_TIMEOUT_S = 60.0


class ReceiverHost(QObject):
    sig_state_changed = Signal()  # starting, started, stopped, or failed: read `addresses` / `problem`
    _sig_start_finished = Signal()  # the start thread -> the GUI thread

    def __init__(self, config: ReceiverConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.receiver: Receiver | None = None
        self.addresses: ListenAddresses | None = None
        self.problem = ""
        self.failure: ReceiverError | None = None  # why it could not start (`problem` says it)
        self.starting = False
        self._subscribers = Subscribers()
        self._unsubscribe: Callable[[], None] | None = None
        self._start_thread: threading.Thread | None = None
        self._started: tuple[Receiver | None, ReceiverError | None, Callable[[], None] | None] | None = None
        self._sig_start_finished.connect(self._adopt_started)

    def start(self) -> bool:
        """Start on the configured ports, here and now; False (and `problem` set) if it could not."""
        self._adopt(*self._start_receiver())
        return self.receiver is not None

    def start_soon(self) -> None:
        """Start on a thread; `sig_state_changed` tells when it is up (or could not start)."""
        self.starting, self.problem, self.failure = True, "", None
        self.sig_state_changed.emit()

        def run() -> None:
            self._started = self._start_receiver()
            self._sig_start_finished.emit()

        self._start_thread = threading.Thread(target=run, name="tracepane-receiver-start", daemon=True)
        self._start_thread.start()

    def restart(self, grpc_port: int, http_port: int) -> bool:
        """Listen on other ports (0 = any free one)."""
        self.stop()
        self.config = dataclasses.replace(self.config, grpc_port=grpc_port, http_port=http_port)
        return self.start()

    def set_retention_budget(self, max_db_mb: int, max_age_days: float) -> None:
        """From now on, and after a restart. Waits for the writer's turn (a moment)."""
        self.config = dataclasses.replace(self.config, max_db_mb=max_db_mb, max_age_days=max_age_days)
        if self.receiver is not None:
            self.receiver.set_retention_budget(max_db_mb, max_age_days)

    def stop(self) -> None:
        if self._start_thread is not None:  # quitting while it starts: wait, then stop what started
            self._start_thread.join(START_JOIN_TIMEOUT_S)
            self._adopt_started()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver, self.addresses = None, None
            self.sig_state_changed.emit()

    def subscribe(self, callback: Callable[[IngestEvent], None]) -> Callable[[], None]:
        """Like `Receiver.subscribe` (called on the writer thread), across restarts."""
        return self._subscribers.subscribe(callback)

    def counters(self) -> IngestCounters:
        return self.receiver.counters() if self.receiver else IngestCounters()

    def storage_problem(self) -> str:
        """What keeps received data from being stored (a full disk), "" if nothing; read on the GUI
        thread, it costs nothing (`Receiver.storage_problem`)."""
        return self.receiver.storage_problem() if self.receiver else ""

    def forwarding_problem(self) -> str:
        """What fails in forwarding to --forward-to endpoints (retrying, dropped), "" if nothing."""
        return self.receiver.forwarding_problem() if self.receiver else ""

    def _start_receiver(self) -> tuple[Receiver | None, ReceiverError | None, Callable[[], None] | None]:
        receiver = Receiver(self.config, holder="window")
        unsubscribe = receiver.subscribe(self._subscribers.publish)  # before the first commit can happen
        try:
            receiver.start()
        except ReceiverError as exc:
            unsubscribe()
            return None, exc, None
        return receiver, None, unsubscribe

    @Slot()
    def _adopt_started(self) -> None:
        if self._start_thread is None or self._started is None:
            return  # already adopted (stop() got there first), or still running
        started, self._started, self._start_thread = self._started, None, None
        self._adopt(*started)

    def _adopt(self, receiver: Receiver | None, failure: ReceiverError | None,
               unsubscribe: Callable[[], None] | None) -> None:
        self.starting = False
        self.receiver, self.failure, self._unsubscribe = receiver, failure, unsubscribe
        self.problem = str(failure) if failure else ""
        self.addresses = receiver.addresses if receiver else None
        self.sig_state_changed.emit()
