"""What one attempt to send a request upstream came to, as both senders report it, and the
`Sender` interface the upstream worker drives. The classification follows OTLP's failure
rules: retryable failures are retried with backoff, permanent ones drop that request."""

from __future__ import annotations

import enum
import errno
import socket
from dataclasses import dataclass
from typing import Protocol

__all__ = ["MAX_ERROR_CHARS", "Outcome", "SendResult", "Sender", "describe_os_error"]

MAX_ERROR_CHARS = 300  # of an upstream's error text, kept for the status bar: one line


class Outcome(enum.Enum):
    SENT = "sent"
    RETRYABLE = "retryable"  # the upstream is down, busy or slow: try the same request again
    PERMANENT = "permanent"  # the upstream refuses this request: sending it again cannot help


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    error: str = ""  # for the user: what the upstream or the network said
    retry_after_s: float | None = None  # what the upstream asked for (HTTP Retry-After), if anything

    @classmethod
    def sent(cls) -> SendResult:
        return _SENT

    @classmethod
    def retryable(cls, error: str, retry_after_s: float | None = None) -> SendResult:
        return cls(Outcome.RETRYABLE, _one_line(error), retry_after_s)

    @classmethod
    def permanent(cls, error: str) -> SendResult:
        return cls(Outcome.PERMANENT, _one_line(error))


_SENT = SendResult(Outcome.SENT)


class Sender(Protocol):
    """Sends serialized OTLP export requests to one upstream, one at a time, from one thread.
    `send` never raises: every failure is a `SendResult`. `close` may be called from another
    thread to abort a send in progress."""

    def send(self, signal: str, body: bytes, timeout_s: float) -> SendResult: ...

    def close(self) -> None: ...


def describe_os_error(exc: BaseException) -> str:
    """A network failure in a few words ("connection refused"), not a traceback's last line."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"host not found ({exc.strerror or exc})"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "host unreachable"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, OSError) else f"{type(exc).__name__}: {text}"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS - 1] + "…"
