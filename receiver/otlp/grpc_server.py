"""OTLP/gRPC: the `TraceService` of opentelemetry-proto on a grpcio server.

The method is registered with no request deserializer, so the servicer sees raw bytes and
an undecodable body is answered INVALID_ARGUMENT (grpcio would say INTERNAL if its own
deserializer failed). Bodies over the limit are refused by grpcio with RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from receiver.errors import PortInUse, ReceiverError, grpc_status_name_for
from receiver.ingest import Ingestor, PayloadFormat
from receiver.otlp.ports import bind_failure_reason, host_port

log = logging.getLogger(__name__)

TRACE_SERVICE = trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
GRPC_WORKERS = 8  # concurrent exports; the writer serialises them anyway


class TraceServicer:
    def __init__(self, ingestor: Ingestor) -> None:
        self._ingestor = ingestor

    def export(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        try:
            result = self._ingestor.export_traces(body, PayloadFormat.PROTOBUF)
        except ReceiverError as exc:
            context.abort(grpc.StatusCode[grpc_status_name_for(exc)], str(exc))
        response = trace_service_pb2.ExportTraceServiceResponse()
        if result.rejected_spans:
            response.partial_success.rejected_spans = result.rejected_spans
            response.partial_success.error_message = result.message
        return response.SerializeToString()

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(TRACE_SERVICE, {
            "Export": grpc.unary_unary_rpc_method_handler(self.export),
        })


def start_grpc_server(ingestor: Ingestor, host: str, port: int, *,
                      max_message_bytes: int) -> tuple[grpc.Server, int]:
    """Start serving; return the server and the bound port (useful when `port` is 0)."""
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
    server.add_generic_rpc_handlers([TraceServicer(ingestor).handler()])
    address = host_port(host, port)
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if not bound:
        server.stop(None)
        reason = bind_failure_reason(host, port) or "the address could not be bound"
        raise PortInUse(f"cannot listen for OTLP/gRPC on {address}: {reason}")
    server.start()
    log.info("OTLP/gRPC listening on %s", host_port(host, bound))
    return server, bound
