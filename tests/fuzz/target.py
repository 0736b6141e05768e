"""Sending fuzzing cases to a running receiver and checking the invariants on each answer.

`Case` is one request (transport, signal, body, HTTP framing); `Violation` is a broken
invariant. `Target`: a running `Receiver`, a gRPC channel and HTTP connections to it. `Target.check`
sends one `Case` and raises `Violation` unless (a) the answer is an allowed one, (d) a
success's partial_success agrees with the receiver's counters and with the request, and
the spans of a wholly accepted request are stored; `check_alive` (b) and `check_sentinel`
(c) check the rest.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.fuzz.seeds import parse_json_request
from tests.fuzz.wire import (
    JSON,
    PROTOBUF,
    PROTOBUF_TYPES,
    REQUEST,
    SIGNALS,
    any_value,
    decoded_body,
    encode_body,
    key_value,
    kv_fields,
    raw_span,
    retag,
    trace_request,
)

RESPONSE: dict[str, type[Message]] = {"traces": ExportTraceServiceResponse, "logs": ExportLogsServiceResponse,
                                      "metrics": ExportMetricsServiceResponse}
REJECTED_FIELD = {"traces": "rejected_spans", "logs": "rejected_log_records", "metrics": "rejected_data_points"}
ACCEPTED_COUNTER = {"traces": "spans_accepted", "logs": "logs_accepted", "metrics": "metric_points_accepted"}
GRPC_METHOD = {"traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
               "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
               "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"}

# (a): the answers a hostile request may get. 503 / UNAVAILABLE only when the writer's queue
# was full (the receiver's requests_busy counter went up).
HTTP_ALLOWED = frozenset({200, 400, 413, 415, 503})
GRPC_ALLOWED = frozenset({"OK", "INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "UNAVAILABLE"})
ANSWER_TIMEOUT_S = 120.0  # no answer by then is a hang
# protobuf's JSON parser takes seconds for a few MB: larger JSON bodies are not re-parsed for (d)
ORACLE_JSON_BYTES = 1 << 20


@dataclass
class Case:
    """One request. `plain` is the body before any Content-Encoding (what the oracle parses)."""

    transport: str  # "http" | "grpc"
    signal: str
    plain: bytes
    content_type: str | None = PROTOBUF  # HTTP only; None sends no Content-Type
    encoding: str | None = None  # HTTP: one of ENCODINGS; gRPC: "gzip" (grpcio compresses)
    path: str | None = None  # HTTP: default /v1/<signal>
    chunked: bool = False  # HTTP: Transfer-Encoding: chunked
    label: str = ""

    def wire(self) -> tuple[bytes, str | None]:
        if self.transport == "http" and self.encoding:
            return encode_body(self.plain, self.encoding)
        return self.plain, None

    def describe(self) -> str:
        parts = [self.transport, self.signal, f"{len(self.plain)} B"]
        if self.transport == "http":
            parts += [f"type={self.content_type!r}", f"encoding={self.encoding!r}"]
            parts += ["chunked"] if self.chunked else []
        elif self.encoding:
            parts.append(f"grpc-compression={self.encoding}")
        return " ".join(parts) + (f" [{self.label}]" if self.label else "")

    def save(self, directory: Path) -> Path:
        """The body and how it was sent, for a repro."""
        directory.mkdir(parents=True, exist_ok=True)
        stem = directory / f"violation-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.perf_counter_ns()}"
        stem.with_suffix(".body").write_bytes(self.plain)
        meta = {k: v for k, v in self.__dict__.items() if k != "plain"}
        stem.with_suffix(".json").write_text(json.dumps(meta, indent=1))
        return stem.with_suffix(".body")


class Violation(AssertionError):
    """An invariant broke for a case."""

    def __init__(self, case: Case | None, message: str) -> None:
        super().__init__(f"{message}\n  case: {case.describe() if case else '-'}")
        self.case = case
        self.problem = message


@dataclass
class Outcome:
    answer: str  # "http 200", "grpc INVALID_ARGUMENT", ...
    accepted: int = 0
    rejected: int = 0
    seconds: float = 0.0


@dataclass
class Sentinel:
    trace_id: str
    spans: dict[str, dict[str, Any]]  # span name -> plain attributes


SENTINEL_ATTRIBUTES = {"sentinel.text": "keep me as I am", "sentinel.int": 42, "sentinel.double": 2.5,
                       "sentinel.bool": True, "sentinel.array": ["a", 1, 2.5], "sentinel.map": {"k": "v", "n": 7}}


@dataclass
class Target:
    """The receiver under test and the clients that talk to it."""

    receiver: Any  # receiver.Receiver, started and listening
    histogram: Counter = field(default_factory=Counter)
    cases: int = 0
    sentinel: Sentinel | None = None

    def __post_init__(self) -> None:
        addresses = self.receiver.addresses
        self.http_port, self.grpc_port = addresses.http_port, addresses.grpc_port
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}", options=[
            ("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)])
        self.calls = {signal: self.channel.unary_unary(GRPC_METHOD[signal]) for signal in SIGNALS}
        self.store = self.receiver.store()

    def close(self) -> None:
        self.channel.close()
        self.store.close()

    # (c) what was stored before stays

    def plant_sentinel(self) -> Sentinel:
        trace_id = os.urandom(16)
        root = os.urandom(8)
        names = ["sentinel root", "sentinel child 1", "sentinel child 2"]
        attributes = kv_fields([key_value(k.encode(), any_value(v)) for k, v in SENTINEL_ATTRIBUTES.items()])
        spans = [raw_span(trace_id, root, name=names[0].encode(), extra=retag(attributes, 9))]
        spans += [raw_span(trace_id, os.urandom(8), parent=root, name=n.encode(), extra=retag(attributes, 9))
                  for n in names[1:]]
        case = Case("http", "traces", trace_request(spans), label="sentinel")
        outcome = self.check(case)
        if outcome.answer != "http 200" or outcome.accepted != 3:
            raise Violation(case, f"the sentinel was not stored: {outcome}")
        self.sentinel = Sentinel(trace_id.hex(), {n: dict(SENTINEL_ATTRIBUTES) for n in names})
        self.check_sentinel()
        return self.sentinel

    def check_sentinel(self) -> None:
        from receiver.attributes import plain_attributes

        assert self.sentinel is not None, "plant_sentinel first"
        try:
            detail = self.store.get_trace(self.sentinel.trace_id)
        except Exception as exc:  # noqa: BLE001 - whatever it is, the sentinel is lost
            raise Violation(None, f"the sentinel trace cannot be read: {type(exc).__name__}: {exc}") from exc
        stored = {s.name: plain_attributes(s.attributes) for s in detail.spans}
        if len(detail.spans) != len(self.sentinel.spans) or stored != self.sentinel.spans:
            raise Violation(None, f"the sentinel trace changed: {stored!r}")

    # (b) the server stays up

    def check_alive(self, transport: str) -> None:
        trace_id = os.urandom(16)
        case = Case(transport, "traces", trace_request([raw_span(trace_id, os.urandom(8), name=b"alive")]),
                    label="known-good span")
        outcome = self.check(case, count=False)
        ok = "http 200" if transport == "http" else "grpc OK"
        if outcome.answer != ok or outcome.accepted != 1 or outcome.rejected:
            raise Violation(case, f"a known-good span was not accepted after the last case: {outcome}")

    def check_readable(self, limit: int = 5000) -> int:
        """Every stored trace reads back whole (hostile data must not break the read side)."""
        read, cursor = 0, None
        while read < limit:
            page = self.store.list_traces(limit=200, after=cursor)
            for summary in page.traces:
                try:
                    self.store.get_trace(summary.trace_id)
                except Exception as exc:  # noqa: BLE001
                    raise Violation(None, f"stored trace {summary.trace_id} cannot be read back: "
                                          f"{type(exc).__name__}: {exc}") from exc
                read += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        return read

    # (a) and (d), one case

    def check(self, case: Case, *, count: bool = True) -> Outcome:
        before = self.receiver.counters()
        started = time.perf_counter()
        if case.transport == "http":
            answer, success, response, detail = self._post(case)
        else:
            answer, success, response, detail = self._call(case)
        seconds = time.perf_counter() - started
        after = self.receiver.counters()
        accepted = getattr(after, ACCEPTED_COUNTER[case.signal]) - getattr(before, ACCEPTED_COUNTER[case.signal])
        rejected_counted = after.items_rejected - before.items_rejected
        busy = after.requests_busy - before.requests_busy
        if count:
            self.cases += 1
            self.histogram[answer] += 1
        if answer in ("http 503", "grpc UNAVAILABLE") and not busy:
            raise Violation(case, f"{answer} although the writer's queue was not full: {detail}")
        if not success:
            if accepted or rejected_counted:
                raise Violation(case, f"{answer}, yet {accepted} items were accepted, {rejected_counted} rejected")
            return Outcome(answer, 0, 0, seconds)
        rejected = getattr(response.partial_success, REJECTED_FIELD[case.signal])
        if rejected != rejected_counted:
            raise Violation(case, f"partial_success says {rejected} rejected, the receiver counted {rejected_counted}")
        expected = self._expected(case)
        if expected is not None:
            items, span_ids = expected
            if accepted + rejected != items:
                raise Violation(case, f"{items} items sent, {accepted} accepted + {rejected} rejected")
            if case.signal == "traces" and not rejected and span_ids:
                self._check_stored(case, span_ids)
        return Outcome(answer, accepted, rejected, seconds)

    def _post(self, case: Case) -> tuple[str, bool, Message | None, str]:
        body, encoding = case.wire()
        headers = {}
        if case.content_type is not None:
            headers["Content-Type"] = case.content_type
        if encoding:
            headers["Content-Encoding"] = encoding
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=ANSWER_TIMEOUT_S)
        path = case.path or f"/v1/{case.signal}"
        try:
            if case.chunked:
                connection.putrequest("POST", path)
                for name, value in headers.items():
                    connection.putheader(name, value)
                connection.putheader("Transfer-Encoding", "chunked")
                connection.endheaders()
                for start in range(0, len(body), 65536):
                    piece = body[start:start + 65536]
                    connection.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                connection.send(b"0\r\n\r\n")
            else:
                connection.request("POST", path, body=body, headers=headers)
            reply = connection.getresponse()
            payload = reply.read()
            status, reply_type = reply.status, reply.headers.get("Content-Type", "")
        except (OSError, http.client.HTTPException) as exc:  # a timeout is an OSError
            raise Violation(case, f"no HTTP answer: {type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()
        answer = f"http {status}"
        if status not in HTTP_ALLOWED:
            raise Violation(case, f"{answer} is not an allowed answer: {payload[:300]!r}")
        if status != 200:
            return answer, False, None, payload[:500].decode("utf-8", "replace")
        response = RESPONSE[case.signal]()
        try:
            if reply_type.startswith("application/json"):
                json_format.Parse(payload, response, ignore_unknown_fields=True)
            else:
                response.ParseFromString(payload)
        except (json_format.ParseError, DecodeError, ValueError) as exc:
            raise Violation(case, f"200 with a body that is not an export response: {payload[:200]!r}") from exc
        return answer, True, response, ""

    def _call(self, case: Case) -> tuple[str, bool, Message | None, str]:
        compression = grpc.Compression.Gzip if case.encoding == "gzip" else None
        try:
            payload = self.calls[case.signal](case.plain, timeout=ANSWER_TIMEOUT_S, compression=compression)
        except grpc.RpcError as exc:
            code = exc.code().name
            if code not in GRPC_ALLOWED:
                raise Violation(case, f"grpc {code} is not an allowed answer: {exc.details()}") from None
            return f"grpc {code}", False, None, str(exc.details())[:500]
        try:
            return "grpc OK", True, RESPONSE[case.signal].FromString(payload), ""
        except DecodeError as exc:
            raise Violation(case, f"OK with a body that is not an export response: {payload[:200]!r}") from exc

    def _expected(self, case: Case) -> tuple[int, list[tuple[str, str]]] | None:
        """(items in the request, (trace id, span id) of each span), as the receiver would have
        read the body; None when it cannot be told here."""
        plain = case.plain
        if case.transport == "http":
            media = (case.content_type or "").split(";", 1)[0].strip().lower()
            if case.encoding:
                try:
                    plain = decoded_body(*case.wire())
                except (zlib.error, ValueError, EOFError):
                    return None
            fmt = "json" if media == JSON else "protobuf" if media in PROTOBUF_TYPES else None
        else:
            fmt = "protobuf"
        if fmt == "json" and len(plain) > ORACLE_JSON_BYTES:
            return None
        try:
            if fmt == "json":
                message = parse_json_request(json.loads(plain), case.signal)
            elif fmt == "protobuf":
                message = REQUEST[case.signal].FromString(plain)
            else:
                return None
        except Exception:  # noqa: BLE001 - the oracle could not read it: nothing to compare
            return None
        return count_items(message, case.signal)

    def _check_stored(self, case: Case, span_ids: list[tuple[str, str]]) -> None:
        by_trace: dict[str, set[str]] = {}
        for trace_id, span_id in span_ids:
            by_trace.setdefault(trace_id, set()).add(span_id)
        for trace_id, wanted in by_trace.items():
            try:
                stored = {s.span_id for s in self.store.get_trace(trace_id).spans}
            except Exception as exc:  # noqa: BLE001
                raise Violation(case, f"trace {trace_id} was acknowledged but cannot be read: "
                                      f"{type(exc).__name__}: {exc}") from exc
            if wanted - stored:
                raise Violation(case, f"acknowledged spans missing from trace {trace_id}: {sorted(wanted - stored)}")


def count_items(message: Message, signal: str) -> tuple[int, list[tuple[str, str]]]:
    """(spans / log records / data points in a request, (trace id, span id) of each span)."""
    if signal == "traces":
        spans = [s for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans]
        return len(spans), [(s.trace_id.hex(), s.span_id.hex()) for s in spans]
    if signal == "logs":
        return sum(len(sl.log_records) for rl in message.resource_logs for sl in rl.scope_logs), []
    points = 0
    for rm in message.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                member = metric.WhichOneof("data")
                if member is not None:
                    points += len(getattr(metric, member).data_points)
    return points, []
