"""`Forwarder`: sends a copy of everything the receiver stores to upstream OTLP endpoints.

The `Ingestor` offers each request after its local commit: `offer` serializes it once and
puts it on every upstream's bounded queue, and returns at once. One thread per upstream
sends (`Upstream`), so a slow or dead collector can neither slow local ingest nor hold up
another upstream. Listeners hear the one-line `summary` when an upstream's state changes
(starts failing, recovers, starts dropping), never per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from threading import Condition, Lock

from google.protobuf.message import Message

from receiver.events import Subscribers
from receiver.forwarding.endpoints import Endpoint
from receiver.forwarding.outcome import Sender
from receiver.forwarding.status import UpstreamStatus, summary_text
from receiver.forwarding.upstream import Backoff, Upstream

__all__ = ["DEFAULT_MAX_QUEUED_ITEMS", "Forwarder", "default_sender"]

log = logging.getLogger(__name__)

# Per upstream: ~100 MB of typical spans, a few minutes of a busy agent's traffic; an upstream
# down longer loses the newest data, counted, rather than the receiver's memory.
DEFAULT_MAX_QUEUED_ITEMS = 100_000
DEFAULT_SEND_TIMEOUT_S = 10.0  # one attempt; a slower answer is retried like a failure
# What `close` gives a last flush by default: stopping must not wait long for a collector.
DEFAULT_CLOSE_TIMEOUT_S = 5.0

SenderFactory = Callable[[Endpoint, Sequence[tuple[str, str]]], Sender]


def default_sender(endpoint: Endpoint, headers: Sequence[tuple[str, str]]) -> Sender:
    if endpoint.transport == "grpc":
        from receiver.forwarding.grpc_sender import GrpcSender  # grpc loads only when forwarding over it

        return GrpcSender(endpoint, headers)
    from receiver.forwarding.http_sender import HttpSender

    return HttpSender(endpoint, headers)


class Forwarder:
    def __init__(self, endpoints: Sequence[Endpoint], headers: Sequence[tuple[str, str]] = (), *,
                 max_queued_items: int = DEFAULT_MAX_QUEUED_ITEMS, backoff_initial_s: float = 0.5,
                 backoff_multiplier: float = 2.0, backoff_max_s: float = 30.0,
                 send_timeout_s: float = DEFAULT_SEND_TIMEOUT_S, close_timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S,
                 listeners: Subscribers | None = None, _sender_factory: SenderFactory = default_sender) -> None:
        if max_queued_items < 1:
            raise ValueError("max_queued_items must be at least 1")
        backoff = Backoff(backoff_initial_s, backoff_multiplier, backoff_max_s)
        self._upstreams = tuple(
            Upstream(endpoint, _sender_factory(endpoint, headers), max_queued_items=max_queued_items,
                     backoff=backoff, send_timeout_s=send_timeout_s, on_change=self._changed)
            for endpoint in endpoints)
        self._close_timeout_s = close_timeout_s
        self._listeners = listeners if listeners is not None else Subscribers()
        self._publishing = Lock()  # one change published at a time, in order
        self._progress = Condition()  # notified after every change of any upstream
        self._published: tuple[tuple[str, bool], ...] = tuple(u.key() for u in self._upstreams)
        self._started = self._closed = False

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(u.endpoint.url for u in self._upstreams)

    def start(self) -> None:
        if not self._started:
            self._started = True
            for upstream in self._upstreams:
                upstream.start()

    def offer(self, signal: str, request: Message, items: int) -> None:
        """Queue `request` (an OTLP export request of `signal`: "traces", "logs" or "metrics",
        holding `items` spans, log records or points) for every upstream. Never blocks; call
        it only for what was stored."""
        if not self._upstreams or items <= 0:
            return
        try:
            body = request.SerializeToString()
            for upstream in self._upstreams:
                upstream.offer(signal, body, items)
        except Exception:  # stored already: a forwarding bug must not fail the exporter's request
            log.exception("forwarding a %s request failed", signal)

    def status(self) -> list[UpstreamStatus]:
        return [u.status() for u in self._upstreams]

    def summary(self) -> str:
        """One line for the status bar about the upstreams with a problem; "" when all is well."""
        return summary_text(self.status())

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call `callback(summary)` when an upstream starts failing, recovers, or starts dropping
        (on the thread that saw it: keep it quick). Returns the function that unsubscribes."""
        return self._listeners.subscribe(callback)

    def wait_for_status(self, predicate: Callable[[list[UpstreamStatus]], bool], timeout: float) -> bool:
        """Block until `predicate(status())` holds (False on timeout), woken by every change:
        lets tests and callers wait on what forwarding did instead of sleeping. Waiting for a
        retry's countdown needs a `timeout`-bounded predicate of its own."""
        with self._progress:
            return self._progress.wait_for(lambda: predicate(self.status()), timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop the threads after a last flush of what is queued, for at most `timeout`
        seconds (default `close_timeout_s`); what is left unsent is counted as dropped and
        logged. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + (self._close_timeout_s if timeout is None else timeout)
        for upstream in self._upstreams:
            upstream.begin_close(deadline)
        if self._started:
            for upstream in self._upstreams:
                upstream.finish_close()

    def _changed(self, key_changed: bool) -> None:
        with self._progress:
            self._progress.notify_all()
        if not key_changed:
            return
        with self._publishing:
            key = tuple(u.key() for u in self._upstreams)
            if key == self._published:
                return
            self._published = key
            summary = self.summary()
            # info: whoever shows the user (the status bar, `serve`) is told through the listeners
            if summary:
                log.info("%s", summary)
            else:
                log.info("forwarding recovered: every upstream is sending again")
            self._listeners.publish(summary)  # type: ignore[arg-type]  # Subscribers takes any event
