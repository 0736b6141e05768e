"""The receiver inside the app: started with the window, restarted on other ports when the
user picks them, stopped on quit. A port that is taken does not stop the app: the window
opens with what is stored, and says what happened (`problem`).

Views subscribe here rather than to one `Receiver`, so a restart keeps their subscriptions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from receiver import IngestCounters, IngestEvent, ListenAddresses, Receiver, ReceiverConfig, ReceiverError, Subscribers

__all__ = ["ReceiverHost"]


class ReceiverHost(QObject):
    sig_state_changed = Signal()  # started, stopped, or failed to start: read `addresses` / `problem`

    def __init__(self, config: ReceiverConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.receiver: Receiver | None = None
        self.addresses: ListenAddresses | None = None
        self.problem = ""
        self._subscribers = Subscribers()
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> bool:
        """Start on the configured ports; False (and `problem` set) if it could not."""
        receiver = Receiver(self.config)
        try:
            self.addresses = receiver.start()
        except ReceiverError as exc:
            self.receiver, self.addresses, self.problem = None, None, str(exc)
        else:
            self.receiver, self.problem = receiver, ""
            self._unsubscribe = receiver.subscribe(self._subscribers.publish)
        self.sig_state_changed.emit()
        return self.receiver is not None

    def restart(self, grpc_port: int, http_port: int) -> bool:
        """Listen on other ports (0 = any free one)."""
        self.stop()
        self.config = dataclasses.replace(self.config, grpc_port=grpc_port, http_port=http_port)
        return self.start()

    def stop(self) -> None:
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
