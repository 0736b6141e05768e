"""`Upstream`: one forwarding target's bounded queue and the thread that empties it.

The queue is bounded in items (spans, log records, metric points): an offer that would pass
the bound is refused whole and its items counted as dropped, so memory stays bounded however
long the upstream is down and ingest never waits for it. The thread sends in arrival order;
after a retryable failure it waits (exponential backoff with jitter, or the upstream's
`Retry-After`) and sends the same request again; a permanent failure drops that request and
goes on with the next. Every wait is on the queue's condition, so `begin_close` wakes it at
once for a last flush bounded by the close deadline.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from receiver.forwarding.endpoints import Endpoint
from receiver.forwarding.outcome import Outcome, Sender, SendResult
from receiver.forwarding.status import FAILING_PERMANENTLY, OK, RETRYING, UpstreamStatus, items

__all__ = ["Backoff", "Upstream"]

log = logging.getLogger(__name__)

_THREAD_ABORT_GRACE_S = 1.0  # after its sender is closed under it, a worker gets this long to end


@dataclass(frozen=True, slots=True)
class Backoff:
    initial_s: float = 0.5
    multiplier: float = 2.0
    max_s: float = 30.0
    # Each wait is cut by up to this fraction at random, so that Tracepanes restarted together
    # do not retry an upstream in step.
    jitter: float = 0.2

    def delay_s(self, attempt: int, rng: random.Random, retry_after_s: float | None = None) -> float:
        """The wait before retry number `attempt + 1` (`attempt` 0: after the first failure)."""
        base = min(self.max_s, self.initial_s * self.multiplier ** min(attempt, 64))
        delay = base * (1 - self.jitter * rng.random())
        if retry_after_s is not None:  # not sooner than the upstream asked, never past the cap
            delay = min(self.max_s, max(delay, retry_after_s))
        return delay


@dataclass(frozen=True, slots=True)
class _Request:
    signal: str
    body: bytes
    items: int


class Upstream:
    def __init__(self, endpoint: Endpoint, sender: Sender, *, max_queued_items: int, backoff: Backoff,
                 send_timeout_s: float, on_change: Callable[[bool], None]) -> None:
        self.endpoint = endpoint
        self._sender = sender
        self._max_items = max_queued_items
        self._backoff = backoff
        self._send_timeout_s = send_timeout_s
        # called outside the lock after every change, with whether `key` changed
        self._on_change = on_change
        self._rng = random.Random()
        self._changed = threading.Condition()
        self._queue: deque[_Request] = deque()
        self._queued = self._sent = self._dropped = self._rejected = 0
        self._state = OK
        self._overflowing = False
        self._last_error = ""
        self._retry_at: float | None = None  # monotonic time of the next attempt while RETRYING
        self._closing = False
        self._deadline = float("inf")
        self._thread = threading.Thread(target=self._run, name=f"tracepane-forward {endpoint.url}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def offer(self, signal: str, body: bytes, count: int) -> bool:
        """Queue one serialized request of `count` items; False (they are counted as dropped)
        if the queue is full or closed. Never blocks beyond the lock. One request larger than
        the whole bound is taken when the queue is empty, or it could never be forwarded."""
        with self._changed:
            before = self._key()
            accepted = not self._closing and (not self._queue or self._queued + count <= self._max_items)
            if accepted:
                self._queue.append(_Request(signal, body, count))
                self._queued += count
                self._changed.notify_all()
            else:
                self._dropped += count
                if not self._overflowing and not self._closing:
                    log.info("forwarding to %s: queue full (%s); dropping new data until it empties",
                                self.endpoint.url, items(self._max_items))
                self._overflowing = True
            after = self._key()
        self._on_change(after != before)
        return accepted

    def status(self) -> UpstreamStatus:
        with self._changed:
            return self._status_locked()

    def key(self) -> tuple[str, bool]:
        """What listeners are told about when it changes: not every request, only the state."""
        with self._changed:
            return self._key()

    def begin_close(self, deadline: float) -> None:
        """Stop waiting out a backoff and send what is queued until the monotonic `deadline`."""
        with self._changed:
            self._closing = True
            self._deadline = deadline
            self._changed.notify_all()

    def finish_close(self) -> None:
        """Wait for the thread until the deadline, then abort a send still in progress."""
        self._thread.join(max(0.0, self._deadline - time.monotonic()))
        if self._thread.is_alive():
            self._sender.close()
            self._thread.join(_THREAD_ABORT_GRACE_S)
        if self._thread.is_alive():
            log.warning("forwarding to %s: the sending thread did not stop", self.endpoint.url)
        self._sender.close()

    # --- the worker thread -----------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0  # failed attempts in a row
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._queue or self._closing)
                if not self._queue:
                    break  # closing, and everything was sent
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:
                    self._give_up_locked()
                    break
                request = self._queue[0]
            result = self._send(request, min(self._send_timeout_s, remaining))
            with self._changed:
                before = self._key()
                if result.outcome is Outcome.RETRYABLE:
                    self._state, self._last_error = RETRYING, result.error
                    if self._closing:
                        self._give_up_locked()
                        break
                    delay = self._backoff.delay_s(attempt, self._rng, result.retry_after_s)
                    attempt += 1
                    self._retry_at = time.monotonic() + delay
                else:
                    attempt = 0
                    self._retry_at = None
                    self._queue.popleft()
                    self._queued -= request.items
                    if result.outcome is Outcome.SENT:
                        self._state = OK
                        self._sent += request.items
                    else:
                        self._state, self._last_error = FAILING_PERMANENTLY, result.error
                        self._rejected += request.items
                    if not self._queue:
                        self._overflowing = False
                after = self._key()
                self._changed.notify_all()
            self._on_change(after != before)
            if result.outcome is Outcome.RETRYABLE:
                with self._changed:  # woken early by `begin_close`: one last attempt
                    self._changed.wait_for(lambda: self._closing, delay)
        self._on_change(False)  # what was given up is counted: waiters look again

    def _send(self, request: _Request, timeout_s: float) -> SendResult:
        try:
            return self._sender.send(request.signal, request.body, timeout_s)
        except Exception as exc:  # a bug in a sender: drop the request, keep the thread
            log.exception("forwarding to %s failed unexpectedly", self.endpoint.url)
            return SendResult.permanent(f"internal error (a bug; details are in the log): {exc}")

    def _give_up_locked(self) -> None:
        left = self._queued
        if left:
            log.warning("forwarding to %s: %s not sent before stopping", self.endpoint.url, items(left))
        self._dropped += left
        self._queued = 0
        self._queue.clear()
        self._changed.notify_all()

    def _key(self) -> tuple[str, bool]:
        return self._state, self._overflowing

    def _status_locked(self) -> UpstreamStatus:
        retry_in = (max(0.0, self._retry_at - time.monotonic())
                    if self._state == RETRYING and self._retry_at is not None else None)
        return UpstreamStatus(url=self.endpoint.url, state=self._state, queued_items=self._queued,
                              sent_items=self._sent, dropped_items=self._dropped, rejected_items=self._rejected,
                              last_error=self._last_error, next_retry_in_s=retry_in, overflowing=self._overflowing)
