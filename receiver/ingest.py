"""`Ingestor`: the one entry point both transports call with a request body.

It parses (protobuf or OTLP/JSON), validates and decodes, hands the spans to the writer,
and waits until they are committed: an exporter is told "success" only for data that is on
disk. Transports deal only with the wire (content types, compression, sizes, status codes).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from receiver.errors import BadPayload, ReceiverError
from receiver.otlp.decode_traces import decode_export_trace_request
from receiver.otlp.otlp_json import parse_otlp_json
from receiver.storage.writer import SpanWriter


class PayloadFormat(enum.Enum):
    PROTOBUF = "protobuf"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted_spans: int
    rejected_spans: int = 0
    message: str = ""


@dataclass(frozen=True, slots=True)
class IngestCounters:
    """Totals since start, for the status bar and `serve`'s summary."""

    requests: int
    spans_accepted: int
    spans_rejected: int
    requests_failed: int


class Ingestor:
    def __init__(self, writer: SpanWriter, *, write_timeout_s: float) -> None:
        self._writer = writer
        self._write_timeout_s = write_timeout_s
        self._lock = threading.Lock()
        self._requests = self._accepted = self._rejected = self._failed = 0

    def export_traces(self, body: bytes, payload_format: PayloadFormat) -> IngestResult:
        try:
            request = _parse(body, payload_format, ExportTraceServiceRequest)
            batch = decode_export_trace_request(request)
            if batch.size:
                self._writer.submit(batch).wait(self._write_timeout_s)
        except ReceiverError:
            self._count(failed=1)
            raise
        self._count(accepted=batch.size, rejected=batch.rejected)
        return IngestResult(batch.size, batch.rejected, batch.rejection_message)

    def note_failed_request(self) -> None:
        """Transports call this for requests refused on the wire (media type, size)."""
        self._count(failed=1)

    def counters(self) -> IngestCounters:
        with self._lock:
            return IngestCounters(self._requests, self._accepted, self._rejected, self._failed)

    def _count(self, *, accepted: int = 0, rejected: int = 0, failed: int = 0) -> None:
        with self._lock:
            self._requests += 1
            self._accepted += accepted
            self._rejected += rejected
            self._failed += failed


def _parse(body: bytes, payload_format: PayloadFormat, message_type):
    if payload_format is PayloadFormat.JSON:
        return parse_otlp_json(body, message_type)
    try:
        return message_type.FromString(body)
    except (DecodeError, RecursionError) as exc:
        raise BadPayload(f"body is not a valid protobuf {message_type.DESCRIPTOR.name}: {exc}") from None
