"""`Ingestor`: the one entry point both transports call with a request body.

It parses (protobuf or OTLP/JSON), validates and decodes, hands the rows to the writer,
and waits until they are committed: an exporter is told "success" only for data that is on
disk. Transports deal only with the wire (content types, compression, sizes, status codes).
"""

from __future__ import annotations

import enum
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from receiver.errors import AtCapacity, BadPayload, DecodeBug, ReceiverError
from receiver.genai.analyser import SpanAnalyser
from receiver.genai.content import strip_request_content
from receiver.otlp import credential_masking
from receiver.otlp.credential_masking import mask_credential_keys, mask_credentials
from receiver.otlp.decode_logs import decode_export_logs_request
from receiver.otlp.decode_metrics import decode_export_metrics_request
from receiver.otlp.decode_traces import decode_export_trace_request
from receiver.otlp.limits import ValueLimits, applying
from receiver.otlp.otlp_json import parse_otlp_json
from receiver.records import WriteBatch
from receiver.storage.writer import DatabaseWriter

if TYPE_CHECKING:
    from receiver.forwarding.forwarder import Forwarder

log = logging.getLogger(__name__)
_Decoded = TypeVar("_Decoded")


class PayloadFormat(enum.Enum):
    PROTOBUF = "protobuf"
    JSON = "json"


class Signal(enum.Enum):
    TRACES = "traces"
    LOGS = "logs"
    METRICS = "metrics"


# What each signal's request is and how it is decoded.
_DECODERS: dict[Signal, tuple[type[Message], Callable[[Message], WriteBatch]]] = {
    Signal.TRACES: (ExportTraceServiceRequest, decode_export_trace_request),
    Signal.LOGS: (ExportLogsServiceRequest, decode_export_logs_request),
    Signal.METRICS: (ExportMetricsServiceRequest, decode_export_metrics_request),
}


_ACCEPTED_COUNTER = {Signal.TRACES: "spans_accepted", Signal.LOGS: "logs_accepted",
                     Signal.METRICS: "metric_points_accepted"}


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    rejected: int = 0
    message: str = ""


@dataclass(frozen=True, slots=True)
class IngestCounters:
    """Totals since start, for the status bar and `serve`'s summary."""

    requests: int = 0
    spans_accepted: int = 0
    logs_accepted: int = 0
    metric_points_accepted: int = 0
    items_rejected: int = 0  # spans, log records and data points refused one by one
    requests_failed: int = 0  # refused whole (bad body, too large, busy, storage error)
    requests_busy: int = 0  # of which refused because the writer's queue was full


class Ingestor:
    def __init__(self, writer: DatabaseWriter, *, write_timeout_s: float,
                 analyser: SpanAnalyser | None = None, limits: ValueLimits | None = None,
                 mask_credentials: bool = True, forwarder: Forwarder | None = None) -> None:
        self._writer = writer
        self._forwarder = forwarder  # gets a copy of each request once it is stored (receiver.forwarding)
        self._stores_content = analyser is None or analyser.store_content
        self._masks_credentials = mask_credentials  # receiver.otlp.credentials says what and how
        self._limits = limits or ValueLimits()
        self._decoders = dict(_DECODERS)
        if analyser is not None:  # spans get their GenAI fields, cost and content at ingestion
            self._decoders[Signal.TRACES] = (ExportTraceServiceRequest,
                                             functools.partial(decode_export_trace_request, analyser=analyser))
        self._write_timeout_s = write_timeout_s
        self._changed = threading.Condition()
        self._counters = {name: 0 for name in IngestCounters.__dataclass_fields__}
        self._decoding = threading.Lock()

    def export(self, signal: Signal, body: bytes, payload_format: PayloadFormat) -> IngestResult:
        message_type, decode = self._decoders[signal]
        try:
            with self._decoding, applying(self._limits) as cut:
                request = _parse(body, payload_format, message_type)
                if self._masks_credentials:  # first: nothing that reads a value sees an unmasked one
                    raw = body if payload_format is PayloadFormat.PROTOBUF else None
                    _decoded(functools.partial(mask_credentials, raw=raw), request)
                batch = _decoded(decode, request)
                if self._masks_credentials and signal is Signal.TRACES:
                    batch = self._masked_span_keys(batch, request)
            if batch.size:
                self._writer.submit(batch).wait(self._write_timeout_s)
                if self._forwarder is not None:  # stored: now, and only now, upstream gets it too
                    if not self._stores_content and signal is Signal.TRACES:  # not here: not there either
                        strip_request_content(request)
                    self._forwarder.offer(signal.value, request, batch.size)
        except AtCapacity:
            self._count(requests_failed=1, requests_busy=1)
            raise
        except ReceiverError:
            self._count(requests_failed=1)
            raise
        self._count(**{_ACCEPTED_COUNTER[signal]: batch.size, "items_rejected": batch.rejected})
        # What the limits cut is a warning beside any rejections (OTLP: rejected 0 and a message).
        message = "; ".join(m for m in (batch.rejection_message, cut.message(self._limits)) if m)
        return IngestResult(batch.size, batch.rejected, message)

    def _masked_span_keys(self, batch: WriteBatch, request: Message) -> WriteBatch:
        """Spans' credential keys are cheapest to check decoded (receiver.otlp.credential_masking).
        When one is found and the request is forwarded, the request's spans are masked too, so
        that upstream gets the values stored here, not the secrets."""
        masked = _decoded(lambda _: mask_credential_keys(batch), request)
        if masked is not batch and self._forwarder is not None:
            _decoded(_mask_span_keys, request)
        return masked

    def note_failed_request(self) -> None:
        """Transports call this for requests refused on the wire (media type, size)."""
        self._count(requests_failed=1)

    def counters(self) -> IngestCounters:
        with self._changed:
            return IngestCounters(**self._counters)

    def wait_for_counters(self, predicate: Callable[[IngestCounters], bool], timeout: float) -> bool:
        """Block until `predicate(counters)` holds (False on timeout): lets callers wait on
        what the receiver did instead of sleeping."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(IngestCounters(**self._counters)), timeout)

    def _count(self, **deltas: int) -> None:
        with self._changed:
            self._counters["requests"] += 1
            for name, delta in deltas.items():
                self._counters[name] += delta
            self._changed.notify_all()


def _decoded(decode: Callable[[Message], _Decoded], request: Message) -> _Decoded:
    """`decode(request)`, with anything it did not foresee turned into `DecodeBug`: one bad
    request must never take an exporter's other requests, or the server, with it."""
    try:
        return decode(request)
    except ReceiverError:
        raise
    except Exception as exc:
        log.exception("decoding a %s failed", request.DESCRIPTOR.name)
        raise DecodeBug(f"Tracepane could not decode this {request.DESCRIPTOR.name} (a bug; "
                        f"details are in its log): {type(exc).__name__}: {exc}") from None


def _mask_span_keys(request: ExportTraceServiceRequest) -> None:
    # The per-span masking `mask_credentials` applies to spans holding a known credential
    # format; it masks every value by its key's kind as well. (A private function of that
    # module: it has no public per-span entry point.)
    for group in request.resource_spans:
        for scope_group in group.scope_spans:
            for span in scope_group.spans:
                credential_masking._mask_span(span)


def _parse(body: bytes, payload_format: PayloadFormat, message_type: type[Message]) -> Message:
    if payload_format is PayloadFormat.JSON:
        return parse_otlp_json(body, message_type)
    try:
        return message_type.FromString(body)
    except (DecodeError, RecursionError) as exc:
        raise BadPayload(f"body is not a valid protobuf {message_type.DESCRIPTOR.name}: {exc}") from None
