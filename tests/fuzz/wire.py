"""OTLP on the wire, by hand: protobuf fields, items and export requests built as raw bytes
(the protobuf library refuses to build invalid UTF-8 or nesting thousands deep), and HTTP
bodies in each Content-Encoding the fuzzers send.

Part of the fuzzing kit under tests/fuzz (seeds -> strategies -> cases; target checks them).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SIGNALS = ("traces", "logs", "metrics")
REQUEST: dict[str, type[Message]] = {"traces": ExportTraceServiceRequest, "logs": ExportLogsServiceRequest,
                                     "metrics": ExportMetricsServiceRequest}
PROTOBUF, JSON = "application/x-protobuf", "application/json"
PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")

MASK64 = (1 << 64) - 1
MAX_TIME = 2**63 - 1


# --- protobuf wire format, by hand (the library refuses invalid UTF-8 and deep nesting) -------


def varint(n: int) -> bytes:
    n &= MASK64  # a negative enum / int64 goes out as ten bytes of two's complement
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def ld(number: int, payload: bytes) -> bytes:
    """One length-delimited field (string, bytes, message)."""
    return tag(number, 2) + varint(len(payload)) + payload


def vint(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def fixed64(number: int, value: int) -> bytes:
    return tag(number, 1) + struct.pack("<Q", value & MASK64)


def fixed32(number: int, value: int) -> bytes:
    return tag(number, 5) + struct.pack("<I", value & 0xFFFFFFFF)


def double(number: int, value: float) -> bytes:
    return tag(number, 1) + struct.pack("<d", value)


def any_string(text: bytes) -> bytes:
    return ld(1, text)  # AnyValue.string_value


def key_value(key: bytes, value: bytes | None) -> bytes:
    """KeyValue{key, value}; value None leaves it unset."""
    return ld(1, key) + (b"" if value is None else ld(2, value))


def deep_any_value(depth: int, kind: str = "array", leaf: bytes = b"bottom") -> bytes:
    """An AnyValue nested `depth` arrays (or key-value lists) deep."""
    value = any_string(leaf)
    for _ in range(depth):
        if kind == "array":
            value = ld(5, ld(1, value))  # AnyValue.array_value -> ArrayValue.values
        else:
            value = ld(6, ld(1, key_value(b"k", value)))  # AnyValue.kvlist_value -> KeyValueList.values
    return value


def deep_json_value(depth: int, kind: str = "array") -> str:
    """The same in OTLP/JSON, as text (json.dumps itself would recurse that deep)."""
    if kind == "array":
        return '{"arrayValue":{"values":[' * depth + '{"stringValue":"bottom"}' + "]}}" * depth
    return '{"kvlistValue":{"values":[{"key":"k","value":' * depth + '{"stringValue":"bottom"}' + "}]}}" * depth


def raw_span(trace_id: bytes, span_id: bytes, *, name: bytes = b"span", start: int = 1_700_000_000_000_000_000,
             end: int = 1_700_000_000_001_000_000, parent: bytes = b"", extra: bytes = b"") -> bytes:
    return (ld(1, trace_id) + ld(2, span_id) + (ld(4, parent) if parent else b"") + ld(5, name)
            + vint(6, 1) + fixed64(7, start) + fixed64(8, end) + extra)


def trace_request(spans: list[bytes], *, resource: bytes = b"", scope: bytes = ld(1, b"fuzz")) -> bytes:
    """ExportTraceServiceRequest{resource_spans{resource, scope_spans{scope, spans}}}."""
    service = ld(1, key_value(b"service.name", any_string(b"fuzz")))
    return ld(1, ld(1, service + resource) + ld(2, ld(1, scope) + b"".join(ld(2, s) for s in spans)))


def logs_request(records: list[bytes], *, resource: bytes = b"", scope: bytes = ld(1, b"fuzz")) -> bytes:
    service = ld(1, key_value(b"service.name", any_string(b"fuzz")))
    return ld(1, ld(1, service + resource) + ld(2, ld(1, scope) + b"".join(ld(2, r) for r in records)))


def metrics_request(metrics: list[bytes], *, resource: bytes = b"", scope: bytes = ld(1, b"fuzz")) -> bytes:
    service = ld(1, key_value(b"service.name", any_string(b"fuzz")))
    return ld(1, ld(1, service + resource) + ld(2, ld(1, scope) + b"".join(ld(2, m) for m in metrics)))


WRAP = {"traces": trace_request, "logs": logs_request, "metrics": metrics_request}


def item_with_attributes(signal: str, attributes: bytes) -> bytes:
    """One valid item of `signal` carrying these raw KeyValue fields as its attributes."""
    if signal == "traces":
        return raw_span(os.urandom(16), os.urandom(8), extra=retag(attributes, 9))
    if signal == "logs":
        return fixed64(1, 1_700_000_000_000_000_000) + ld(5, any_string(b"body")) + retag(attributes, 6)
    point = fixed64(3, 1_700_000_000_000_000_000) + double(4, 1.0) + retag(attributes, 7)
    return ld(1, b"fuzz.gauge") + ld(5, ld(1, point))


def retag(fields: bytes, number: int) -> bytes:
    """Fields numbered 1 (length-delimited) -> the same payloads numbered `number`."""
    out, i = bytearray(), 0
    while i < len(fields):
        assert fields[i] == 0x0A
        i += 1
        length, shift = 0, 0
        while True:
            byte = fields[i]
            i += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        out += ld(number, fields[i:i + length])
        i += length
    return bytes(out)


def kv_fields(pairs: list[bytes]) -> bytes:
    """KeyValue messages as a run of field-1 entries (re-tagged by `retag`)."""
    return b"".join(ld(1, kv) for kv in pairs)


def any_value(value: Any) -> bytes:
    """A plain Python value (str, bool, int, float, list, dict) as an AnyValue."""
    if isinstance(value, bool):
        return vint(2, int(value))
    if isinstance(value, int):
        return vint(3, value)
    if isinstance(value, float):
        return double(4, value)
    if isinstance(value, list):
        return ld(5, b"".join(ld(1, any_value(v)) for v in value))
    if isinstance(value, dict):
        return ld(6, b"".join(ld(1, key_value(k.encode(), any_value(v))) for k, v in value.items()))
    return any_string(str(value).encode())


def random_hex(n: int) -> str:
    return os.urandom(n).hex()


def deep_bodies(signal: str, depth: int, kind: str = "array", *, in_body: bool = False) -> tuple[bytes, bytes]:
    """(protobuf, OTLP/JSON) of one item of `signal` whose attribute (with `in_body`, a log
    record's body) nests `depth` deep."""
    value = deep_any_value(depth, kind)
    if in_body:  # a log record's body
        record = fixed64(1, 1_700_000_000_000_000_000) + ld(5, value)
        document = ('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000",'
                    '"body":' + deep_json_value(depth, kind) + "}]}]}]}")
        return logs_request([record]), document.encode()
    protobuf = WRAP[signal]([item_with_attributes(signal, kv_fields([key_value(b"deep", value)]))])
    attrs = '[{"key":"deep","value":' + deep_json_value(depth, kind) + "}]"
    if signal == "traces":
        document = ('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + random_hex(16) + '","spanId":"'
                    + random_hex(8) + '","name":"deep","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":'
                    + attrs + "}]}]}]}")
    elif signal == "logs":
        document = '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1","attributes":' + attrs + "}]}]}]}"
    else:
        document = ('{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"deep","gauge":{"dataPoints":'
                    '[{"timeUnixNano":"1","asDouble":1.0,"attributes":' + attrs + "}]}}]}]}]}")
    return protobuf, document.encode()


# --- HTTP bodies --------------------------------------------------------------------------------

CONTENT_TYPES = ("text/plain", "application/octet-stream", "", "application/json; charset=utf-8",
                 "application/x-protobuf; proto=opentelemetry", "APPLICATION/JSON", "multipart/form-data",
                 "application/protobuf", "application/grpc", "application/x-www-form-urlencoded", "json")
ENCODINGS = ("gzip", "x-gzip", "deflate", "deflate-raw", "br", "zstd", "gzip, gzip", "identity", "lying-gzip",
             "truncated-gzip", "GZIP", "compress", "gzip-twice-members")


def encode_body(body: bytes, encoding: str) -> tuple[bytes, str]:
    """(wire bytes, Content-Encoding header) for one of `ENCODINGS`."""
    if encoding in ("gzip", "x-gzip", "GZIP"):
        return gzip.compress(body), encoding
    if encoding == "deflate":
        return zlib.compress(body), "deflate"
    if encoding == "deflate-raw":  # raw deflate, no zlib header, as some clients send
        squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return squeezer.compress(body) + squeezer.flush(), "deflate"
    if encoding == "lying-gzip":
        return body, "gzip"
    if encoding == "truncated-gzip":
        packed = gzip.compress(body)
        return packed[:max(1, len(packed) // 2)], "gzip"
    if encoding == "gzip-twice-members":
        half = len(body) // 2
        return gzip.compress(body[:half]) + gzip.compress(body[half:]), "gzip"
    return body, encoding  # br, zstd, compress, "gzip, gzip", identity: sent as they are


def decoded_body(body: bytes, encoding: str | None) -> bytes:
    """A body as the receiver inflates it; ValueError for an encoding not decoded here."""
    encoding = (encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    if encoding in ("", "identity"):
        return body
    raise ValueError(f"not decoded here: {encoding}")
