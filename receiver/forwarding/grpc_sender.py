"""OTLP/gRPC to one upstream: the `Export` methods of opentelemetry-proto's three collector
services on a grpcio channel, insecure for grpc://, TLS with the system's roots for grpcs://.

Requests go out as the bytes the forwarder serialized once (no request serializer), and the
answers are not decoded: success is the status code. A partial success is the upstream's
business and is not counted here (it would also count what the local receiver rejected,
which goes upstream as received).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from receiver.forwarding.endpoints import Endpoint
from receiver.forwarding.outcome import SendResult

__all__ = ["GrpcSender", "RETRYABLE_CODES"]

log = logging.getLogger(__name__)

# signal -> the full name of the Export method, from the generated descriptors
_METHODS = {
    "traces": f"/{trace_service_pb2.DESCRIPTOR.services_by_name['TraceService'].full_name}/Export",
    "logs": f"/{logs_service_pb2.DESCRIPTOR.services_by_name['LogsService'].full_name}/Export",
    "metrics": f"/{metrics_service_pb2.DESCRIPTOR.services_by_name['MetricsService'].full_name}/Export",
}

# What OTLP says to retry. RESOURCE_EXHAUSTED is retried only when the upstream says it will
# recover (RetryInfo in the status details): otherwise it is a request over the upstream's
# size limit, which would be retried forever and hold up everything queued behind it.
RETRYABLE_CODES = frozenset({grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED,
                             grpc.StatusCode.ABORTED, grpc.StatusCode.OUT_OF_RANGE,
                             grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS})
_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_RETRY_INFO_TYPE = b"google.rpc.RetryInfo"  # the type URL inside a google.rpc.Status's details


class GrpcSender:
    def __init__(self, endpoint: Endpoint, headers: Sequence[tuple[str, str]] = ()) -> None:
        self._endpoint = endpoint
        self._metadata = tuple((key.lower(), value) for key, value in headers)  # gRPC keys are lower case
        self._lock = threading.Lock()  # `close` comes from another thread
        self._channel: grpc.Channel | None = None
        self._calls: dict[str, grpc.UnaryUnaryMultiCallable] = {}
        self._closed = False

    def send(self, signal: str, body: bytes, timeout_s: float) -> SendResult:
        if self._closed:
            return SendResult.retryable("forwarding stopped")
        try:
            export = self._call(signal)
            export(body, timeout=timeout_s, metadata=self._metadata, wait_for_ready=False)
        except grpc.RpcError as exc:
            return self._failed(exc, timeout_s)
        except ValueError as exc:  # grpcio refuses a call on a channel `close` just closed
            return SendResult.retryable(f"channel closed: {exc}")
        return SendResult.sent()

    def close(self) -> None:
        """Abort a call in progress (from any thread); later sends fail at once."""
        self._closed = True
        self._disconnect()

    def _disconnect(self) -> None:
        with self._lock:
            channel, self._channel, self._calls = self._channel, None, {}
        if channel is not None:
            channel.close()  # cancels a call in progress on the worker's thread

    def _call(self, signal: str) -> grpc.UnaryUnaryMultiCallable:
        with self._lock:
            if self._channel is None:
                target = self._endpoint.address
                self._channel = (grpc.secure_channel(target, grpc.ssl_channel_credentials()) if self._endpoint.tls
                                 else grpc.insecure_channel(target))
            call = self._calls.get(signal)
            if call is None:
                call = self._calls[signal] = self._channel.unary_unary(_METHODS[signal])
            return call

    def _failed(self, exc: grpc.RpcError, timeout_s: float) -> SendResult:
        code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
        details = (exc.details() if isinstance(exc, grpc.Call) else "") or ""
        if code in RETRYABLE_CODES or (code is grpc.StatusCode.RESOURCE_EXHAUSTED and _asks_retry(exc)):
            # A fresh channel for the next attempt: grpcio's own reconnect backoff (up to two
            # minutes) would otherwise answer UNAVAILABLE for a while after the upstream is back.
            self._disconnect()
            return SendResult.retryable(_describe(code, details, timeout_s))
        log.debug("forwarding to %s: %s refused a request: %s", self._endpoint.url, code.name, details)
        return SendResult.permanent(_describe(code, details, timeout_s))


def _asks_retry(exc: grpc.RpcError) -> bool:
    trailers = exc.trailing_metadata() if isinstance(exc, grpc.Call) else None
    return any(key == _STATUS_DETAILS_KEY and isinstance(value, bytes) and _RETRY_INFO_TYPE in value
               for key, value in trailers or ())


def _describe(code: grpc.StatusCode, details: str, timeout_s: float) -> str:
    if code is grpc.StatusCode.UNAVAILABLE and "connection refused" in details.lower():
        return "connection refused"
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"no answer within {timeout_s:g} s"
    return f"{code.name}: {details}" if details else code.name
