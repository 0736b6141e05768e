"""OTLP/gRPC: the Trace, Logs and Metrics services of opentelemetry-proto on a grpcio server.

Methods are registered with no request deserializer, so the servicer sees raw bytes and an
undecodable body is answered INVALID_ARGUMENT (grpcio would say INTERNAL if its own
deserializer failed). Bodies over the limit are refused by grpcio with RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from receiver.errors import PortInUse, ReceiverError, grpc_status_name_for
from receiver.ingest import Ingestor, PayloadFormat, Signal
from receiver.otlp.auth import BearerAuth
from receiver.otlp.ports import bind_failure_reason, host_port, ipv6_companion

log = logging.getLogger(__name__)

GRPC_WORKERS = 8  # concurrent exports; the writer serialises them anyway

# Signal -> (generated service descriptor, response type, partial-success count field)
SERVICES: dict[Signal, tuple[object, type[Message], str]] = {
    Signal.TRACES: (trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"],
                    trace_service_pb2.ExportTraceServiceResponse, "rejected_spans"),
    Signal.LOGS: (logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"],
                  logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records"),
    Signal.METRICS: (metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"],
                     metrics_service_pb2.ExportMetricsServiceResponse, "rejected_data_points"),
}


class ExportServicer:
    """The `Export` method of one OTLP collector service."""

    def __init__(self, ingestor: Ingestor, signal: Signal, auth: BearerAuth | None = None) -> None:
        self._ingestor = ingestor
        self._signal = signal
        self._auth = auth
        self._service, self._response_type, self._rejected_field = SERVICES[signal]

    def export(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        if self._auth is not None:
            self._check_token(context)
        try:
            result = self._ingestor.export(self._signal, body, PayloadFormat.PROTOBUF)
        except ReceiverError as exc:
            context.abort(grpc.StatusCode[grpc_status_name_for(exc)], str(exc))
        response = self._response_type()
        if result.rejected or result.message:  # a message alone is a warning (what a limit cut)
            setattr(response.partial_success, self._rejected_field, result.rejected)
            response.partial_success.error_message = result.message
        return response.SerializeToString()

    def _check_token(self, context: grpc.ServicerContext) -> None:
        # Metadata keys arrive lower case; the exporter sends `authorization: Bearer <token>`.
        given = next((value for key, value in context.invocation_metadata() if key == "authorization"), None)
        try:
            self._auth.check(given if isinstance(given, str) else None)
        except ReceiverError as exc:
            self._ingestor.note_failed_request()
            context.abort(grpc.StatusCode[grpc_status_name_for(exc)], str(exc))

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(self._service.full_name, {
            "Export": grpc.unary_unary_rpc_method_handler(self.export),
        })


def start_grpc_server(ingestor: Ingestor, host: str, port: int, *, max_message_bytes: int,
                      auth: BearerAuth | None = None) -> tuple[grpc.Server, int]:
    """Start serving; return the server and the bound port (useful when `port` is 0). With
    `auth`, every export must carry its bearer token."""
    # Probe first: grpcio logs its own bind failure to stderr before we can say it in one line.
    reason = port and bind_failure_reason(host, port)
    if reason:
        raise PortInUse(f"cannot listen for OTLP/gRPC on {host_port(host, port)}: {reason}")
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=GRPC_WORKERS, thread_name_prefix="tracepane-grpc"),
        options=[
            # Off, so a second instance fails to bind instead of silently sharing the port
            # and receiving half of the traffic.
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", max_message_bytes),
        ],
    )
    server.add_generic_rpc_handlers([ExportServicer(ingestor, signal, auth).handler() for signal in Signal])
    address = host_port(host, port)
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if not bound:
        server.stop(None)
        reason = bind_failure_reason(host, port) or "the address could not be bound"
        raise PortInUse(f"cannot listen for OTLP/gRPC on {address}: {reason}")
    companion = ipv6_companion(host)
    if companion and not bind_failure_reason(companion, bound):  # best effort: no IPv6 is fine
        try:
            if server.add_insecure_port(host_port(companion, bound)):
                log.info("OTLP/gRPC also listening on %s", host_port(companion, bound))
        except RuntimeError:
            pass
    server.start()
    log.info("OTLP/gRPC listening on %s", host_port(host, bound))
    return server, bound
