"""OTLP/HTTP to one upstream: `http.client` POSTs of `application/x-protobuf` to
`{prefix}/v1/traces`, `/v1/logs` and `/v1/metrics`, on one kept-alive connection (TLS with the
system's roots for https://).

Classification follows the OTLP/HTTP spec: 429, 502, 503 and 504 are retried (honouring a
`Retry-After` in seconds), like any network failure; any other non-2xx status drops the
request. An error body is a `google.rpc.Status` (or its JSON); its message is what the status
bar shows.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import threading
from collections.abc import Sequence

from google.protobuf import empty_pb2, unknown_fields
from google.protobuf.message import DecodeError

from receiver.forwarding.endpoints import Endpoint
from receiver.forwarding.outcome import SendResult, describe_os_error

__all__ = ["HttpSender", "RETRYABLE_STATUSES"]

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
_STATUS_MESSAGE_FIELD = 2  # google.rpc.Status.message
# A kept-alive connection the upstream closed while idle fails on first use; that attempt is
# repeated at once on a new connection rather than waiting out a backoff.
_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class HttpSender:
    def __init__(self, endpoint: Endpoint, headers: Sequence[tuple[str, str]] = ()) -> None:
        self._endpoint = endpoint
        self._paths = {signal: f"{endpoint.path_prefix}/v1/{signal}" for signal in ("traces", "logs", "metrics")}
        self._headers = {"Content-Type": "application/x-protobuf", **dict(headers)}
        self._lock = threading.Lock()  # `close` comes from another thread
        self._conn: http.client.HTTPConnection | None = None
        self._closed = False

    def send(self, signal: str, body: bytes, timeout_s: float) -> SendResult:
        if self._closed:
            return SendResult.retryable("forwarding stopped")
        reused = self._conn is not None
        try:
            try:
                response, data = self._post(self._paths[signal], body, timeout_s)
            except _STALE_CONNECTION:
                if not reused or self._closed:
                    raise
                self._disconnect()
                response, data = self._post(self._paths[signal], body, timeout_s)
        except (OSError, http.client.HTTPException, ValueError) as exc:  # ValueError: closed under us
            self._disconnect()
            return SendResult.retryable(describe_os_error(exc))
        if response.will_close:
            self._disconnect()
        if 200 <= response.status < 300:
            return SendResult.sent()
        error = f"HTTP {response.status} {response.reason}".rstrip()
        message = _error_message(data, response.getheader("Content-Type", ""))
        error = f"{error}: {message}" if message else error
        if response.status in RETRYABLE_STATUSES:
            return SendResult.retryable(error, _retry_after_s(response.getheader("Retry-After")))
        log.debug("forwarding to %s: a request was refused: %s", self._endpoint.url, error)
        return SendResult.permanent(error)

    def close(self) -> None:
        """Abort a send in progress (from any thread); later sends fail at once."""
        self._closed = True
        self._disconnect()

    def _disconnect(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            sock = conn.sock
            if sock is not None:
                try:  # wakes a send blocked in another thread, which `close` alone may not
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            conn.close()

    def _post(self, path: str, body: bytes, timeout_s: float) -> tuple[http.client.HTTPResponse, bytes]:
        conn = self._connection(timeout_s)
        conn.request("POST", path, body=body, headers=self._headers)
        response = conn.getresponse()
        return response, response.read()

    def _connection(self, timeout_s: float) -> http.client.HTTPConnection:
        with self._lock:
            if self._conn is None:
                endpoint = self._endpoint
                self._conn = (http.client.HTTPSConnection(endpoint.host, endpoint.port, timeout=timeout_s,
                                                          context=ssl.create_default_context())
                              if endpoint.tls else http.client.HTTPConnection(endpoint.host, endpoint.port,
                                                                               timeout=timeout_s))
            conn = self._conn
        conn.timeout = timeout_s
        if conn.sock is not None:
            conn.sock.settimeout(timeout_s)
        return conn


def _error_message(data: bytes, content_type: str) -> str:
    """The message of an OTLP/HTTP error body: a google.rpc.Status in protobuf or JSON."""
    if not data:
        return ""
    if "json" in content_type:
        try:
            document = json.loads(data)
        except ValueError:
            return ""
        return str(document.get("message", "")) if isinstance(document, dict) else ""
    if "protobuf" in content_type:
        try:  # Status's fields are unknown to Empty: read field 2 without googleapis-common-protos
            fields = unknown_fields.UnknownFieldSet(empty_pb2.Empty.FromString(data))
        except DecodeError:
            return ""
        texts = [f.data for f in fields if f.field_number == _STATUS_MESSAGE_FIELD and isinstance(f.data, bytes)]
        return texts[0].decode("utf-8", "replace") if texts else ""
    if content_type.startswith("text/"):
        return data[:500].decode("utf-8", "replace")
    return ""


def _retry_after_s(value: str | None) -> float | None:
    """Retry-After in seconds; the HTTP-date form is rare from collectors and is ignored."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None
