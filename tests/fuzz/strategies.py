"""Hypothesis strategies for hostile OTLP bodies: byte mutations of the seeds, structural
mutations of their JSON, hostile spans / log records / metrics as raw protobuf wire bytes
(invalid UTF-8, ids of any length, any enum number, timestamp or count, odd AnyValues,
unknown fields), and items nested 10..3000 deep.

Bodies only; tests/fuzz/cases.py makes them into `Case`s.
"""

from __future__ import annotations

import base64
import copy
import json
import struct
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.seeds import Seed
from tests.fuzz.wire import (
    MASK64,
    MAX_TIME,
    WRAP,
    any_string,
    deep_bodies,
    double,
    fixed32,
    fixed64,
    item_with_attributes,
    key_value,
    kv_fields,
    ld,
    random_hex,
    retag,
    tag,
    varint,
    vint,
)

BYTE_OPS = ("truncate", "flip", "set", "insert", "delete", "duplicate", "huge_length", "varint_run", "splice")


def mutated_bytes(draw: st.DrawFn, data: bytes, other: bytes = b"") -> bytes:
    """`data` after a few byte-level mutations: cut short, bits flipped, bytes inserted,
    deleted or repeated, a length prefix that lies, an endless varint, a piece of `other`.
    (A plain function taking `draw`, so that hypothesis never builds a repr of the seeds.)"""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(BYTE_OPS))
        at = draw(st.integers(0, 1 << 20)) % (len(out) + 1)
        if op == "truncate":
            del out[at:]
        elif op == "flip" and out:
            out[at % len(out)] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and out:
            out[at % len(out)] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x0A, 0x12, 0x22, 0x2A, 0x0B, 0x0C]))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del out[at:at + draw(st.integers(1, 64))]
        elif op == "duplicate":
            out[at:at] = out[at:at + draw(st.integers(1, 256))]
        elif op == "huge_length":
            out[at:at] = b"\x0a" + varint(draw(st.sampled_from([2**31 - 1, 2**31, 2**32, 2**63, MASK64, len(out) * 2])))
        elif op == "varint_run":
            out[at:at] = b"\xff" * draw(st.integers(1, 12))
        elif op == "splice" and other:
            start = draw(st.integers(0, len(other)))
            out[at:at] = other[start:start + draw(st.integers(1, 512))]
    return bytes(out)


HOSTILE_IDS = st.sampled_from([
    "", "00", "zz" * 16, "0x" + "ab" * 15, "AB" * 16, "ab cd" * 4, "ab" * 15, "ab" * 17, "ab" * 8, "ab" * 16,
    "00" * 16, "00" * 8, "ab" * 7, "ab" * 9, "ab" * 64,
    base64.b64encode(b"\x01" * 16).decode(), base64.b64encode(b"\x01" * 8).decode(),
    base64.b64encode(b"\x01" * 15).decode(), base64.b64encode(b"\x01" * 17).decode(), "====", "\ud800" * 8,
]) | st.integers(0, 15).map(lambda n: random_hex(n)) | st.integers(17, 40).map(lambda n: random_hex(n))

HOSTILE_NUMBERS = st.one_of(
    st.sampled_from(["soon", "-1", "1e400", "NaN", "Infinity", "-Infinity", str(2**64), str(2**64 - 1), str(2**63),
                     str(2**63 - 1), "0x10", " 12 ", "1.5", "", "+1", "1_000", "١٢", "-0", "00012"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2**64 - 1, 2**63, -(2**63) - 1, 2**64, 99, 7, -1, 1e300]),
)

HOSTILE_STRINGS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "\u202e", "ÿ" * 3, "\U0010ffff", "[" * 2000, '{"role":' * 500,
                     '[{"role": "user", "content": 5}]', '[{"role": "user", "parts": [{"type": 7}]}]',
                     '{"a":', "null", "[]", "{}", '[{"role": null, "parts": null}]', "1e999", '"\\ud800"']),
)

SMALL_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)

HOSTILE_JSON_VALUES = st.one_of(
    st.sampled_from([None, True, False, {}, [], {"x": 1}, [None], [[]], {"stringValue": None}, {"intValue": {}},
                     {"arrayValue": None}, {"arrayValue": {"values": {}}}, {"kvlistValue": {"values": [None]}},
                     {"stringValue": "a", "intValue": "1"}, [{"key": None}], [{"key": "k", "value": []}]]),
    HOSTILE_IDS, HOSTILE_NUMBERS, HOSTILE_STRINGS, SMALL_JSON,
)

INTERESTING_KEYS = frozenset({
    "traceId", "spanId", "parentSpanId", "startTimeUnixNano", "endTimeUnixNano", "timeUnixNano",
    "observedTimeUnixNano", "kind", "code", "status", "intValue", "doubleValue", "boolValue", "stringValue",
    "bytesValue", "arrayValue", "kvlistValue", "values", "attributes", "spans", "scopeSpans", "resourceSpans",
    "logRecords", "scopeLogs", "resourceLogs", "body", "severityNumber", "dataPoints", "asInt", "asDouble",
    "bucketCounts", "explicitBounds", "count", "sum", "min", "max", "value", "key", "name", "flags", "events",
    "links", "resource", "scope", "gauge", "histogram", "exponentialHistogram", "summary", "quantileValues",
    "scale", "positive", "negative", "offset", "zeroCount", "aggregationTemporality", "isMonotonic", "metrics",
    "scopeMetrics", "resourceMetrics", "eventName", "droppedAttributesCount", "traceState",
})


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """(container, key or index) of every value in a JSON document."""
    if isinstance(node, dict):
        for key in list(node):
            out.append((node, key))
            _slots(node[key], out)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            out.append((node, index))
            _slots(item, out)
    return out


@st.composite
def mutated_document(draw: st.DrawFn, seed: Seed) -> Any:
    """A deep copy of `document` with a few values replaced by hostile ones (wrong types,
    nulls, objects for arrays, ids of the wrong length, numbers out of range, lone
    surrogates), keys dropped, renamed or repeated, lists swollen."""
    doc = copy.deepcopy(seed.document)
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(doc, [])
        if not slots:
            return copy.deepcopy(draw(HOSTILE_JSON_VALUES))
        interesting = [s for s in slots if isinstance(s[1], str) and s[1] in INTERESTING_KEYS]
        pool = interesting if interesting and draw(st.booleans()) else slots
        container, key = pool[draw(st.integers(0, len(pool) - 1))]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "wrap_list", "wrap_object",
                                       "swell", "rename", "swap"]))
        if action == "replace":
            # a copy: sampled_from hands out the same object each time, and later mutations would change it
            container[key] = copy.deepcopy(draw(HOSTILE_JSON_VALUES))
        elif action == "delete":
            del container[key]
        elif action == "wrap_list":
            container[key] = [container[key]]
        elif action == "wrap_object":
            container[key] = {"value": container[key]}
        elif action == "swell" and isinstance(container[key], list) and container[key]:
            container[key] = container[key] * draw(st.integers(2, 50))
        elif action == "rename" and isinstance(key, str):
            renamed = draw(st.sampled_from([_snake(key), key.upper(), key + "X", "", "__proto__", "@type"]))
            container[renamed] = container.pop(key)
        elif action == "swap":
            other_container, other_key = slots[draw(st.integers(0, len(slots) - 1))]
            try:
                container[key] = copy.deepcopy(other_container[other_key])
            except (KeyError, IndexError):  # an earlier mutation removed it
                pass
    return doc


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def json_text(draw: st.DrawFn, document: Any) -> bytes:
    """`document` as OTLP/JSON bytes: ASCII-escaped, raw UTF-8 (lone surrogates then become
    invalid UTF-8), or with a stray invalid byte. (A plain function taking `draw`: as a
    strategy, hypothesis would build a repr of the whole document.)"""
    how = draw(st.sampled_from(["ascii", "ascii", "utf8", "stray"]))
    text = json.dumps(document, ensure_ascii=(how == "ascii"))
    body = text.encode("utf-8", "surrogatepass")
    if how == "stray" and body:
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\x00"])) + body[at:]
    return body


# Hostile items as raw wire bytes.

INVALID_UTF8 = (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"ok\x80", b"\xe2\x82")
_VALID_TEXT = st.one_of(st.text(max_size=30).map(lambda s: s.encode()),
                        st.sampled_from([b"", b"\x00", "\u202e".encode(), b"x" * 300, "\U0010ffff".encode()]))
# Any invalid UTF-8 refuses the whole request (400), so it is the exception here: a request
# has dozens of strings, and most requests should get through to decoding and storing.
TEXT_BYTES = st.one_of(*[_VALID_TEXT] * 12, st.sampled_from(INVALID_UTF8), st.binary(max_size=20))
TIMES = st.one_of(st.sampled_from([0, 1, MAX_TIME, MAX_TIME + 1, MASK64, 1_700_000_000_000_000_000]),
                  st.integers(0, MASK64))
ENUMS = st.one_of(st.sampled_from([0, 1, 2, 5, 6, 7, 99, -1, 2**31 - 1, -(2**31)]), st.integers(-(2**31), 2**31 - 1))
IDS_16 = st.one_of(st.binary(min_size=16, max_size=16), st.just(bytes(16)),
                   st.sampled_from([0, 1, 8, 15, 17, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
IDS_8 = st.one_of(st.binary(min_size=8, max_size=8), st.just(bytes(8)),
                  st.sampled_from([0, 1, 7, 9, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))


@st.composite
def unknown_fields(draw: st.DrawFn) -> bytes:
    """Fields a reader must skip (numbers no OTLP message uses) and some it cannot (groups)."""
    out = b""
    for _ in range(draw(st.integers(0, 2))):
        number = draw(st.sampled_from([17, 99, 1000, 18999, 19000, 2**29 - 1]))
        wire = draw(st.sampled_from([0, 1, 2, 5] * 8 + [3, 4]))  # a group (3, 4) is a parse error: now and then
        if wire == 0:
            out += vint(number, draw(st.integers(0, MASK64)))
        elif wire == 1:
            out += tag(number, 1) + draw(st.binary(min_size=8, max_size=8))
        elif wire == 2:
            out += ld(number, draw(st.binary(max_size=12)))
        elif wire == 5:
            out += tag(number, 5) + draw(st.binary(min_size=4, max_size=4))
        else:
            out += tag(number, wire)
    return out


SCALAR_ANY = st.one_of(
    TEXT_BYTES.map(any_string),
    HOSTILE_STRINGS.map(lambda s: any_string(s.encode("utf-8", "surrogatepass"))),
    st.integers(0, MASK64).map(lambda n: vint(2, n)),  # bool_value with any varint
    st.integers(-(2**63), 2**63 - 1).map(lambda n: vint(3, n)),
    st.binary(min_size=8, max_size=8).map(lambda b: tag(4, 1) + b),  # any double: NaN, infinities
    st.binary(max_size=24).map(lambda b: ld(7, b)),
    st.just(b""),  # an AnyValue with nothing set
    st.integers(-(2**31), 2**31 - 1).map(lambda n: vint(8, n)),  # string_value_strindex
    unknown_fields(),
)

ANY_VALUES = st.recursive(
    SCALAR_ANY,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda vs: ld(5, b"".join(ld(1, v) for v in vs))),
        st.lists(st.tuples(TEXT_BYTES, children), max_size=4).map(
            lambda kvs: ld(6, b"".join(ld(1, key_value(k, v)) for k, v in kvs)))),
    max_leaves=10)


def key_values(keys: list[str]) -> st.SearchStrategy[bytes]:
    """A run of hostile KeyValues (as field-1 entries), keys mostly those real instrumentation uses."""
    known = st.sampled_from(keys).map(str.encode) if keys else TEXT_BYTES
    pair = st.tuples(st.one_of(known, known, TEXT_BYTES), st.one_of(ANY_VALUES, ANY_VALUES, st.none()))
    return st.lists(pair, max_size=8).map(lambda pairs: kv_fields([key_value(k, v) for k, v in pairs]))


@st.composite
def hostile_span(draw: st.DrawFn, keys: list[str]) -> bytes:
    trace_id, span_id = draw(IDS_16), draw(IDS_8)
    parent = draw(st.one_of(st.just(b""), IDS_8))
    out = ld(1, trace_id) + ld(2, span_id) + ld(4, parent) + ld(5, draw(TEXT_BYTES))
    out += vint(6, draw(ENUMS)) + fixed64(7, draw(TIMES)) + fixed64(8, draw(TIMES))
    out += retag(draw(key_values(keys)), 9)
    if draw(st.booleans()):
        out += ld(3, draw(TEXT_BYTES))  # trace_state
    if draw(st.booleans()):
        out += ld(15, ld(2, draw(TEXT_BYTES)) + vint(3, draw(ENUMS)))  # status
    for _ in range(draw(st.integers(0, 2))):  # events
        out += ld(11, fixed64(1, draw(TIMES)) + ld(2, draw(TEXT_BYTES)) + retag(draw(key_values(keys)), 3)
                  + vint(4, draw(st.integers(0, 2**32 - 1))))
    for _ in range(draw(st.integers(0, 2))):  # links
        out += ld(13, ld(1, draw(IDS_16)) + ld(2, draw(IDS_8)) + retag(draw(key_values(keys)), 4)
                  + fixed32(6, draw(st.integers(0, 2**32 - 1))))
    if draw(st.booleans()):
        out += vint(10, draw(st.integers(0, MASK64))) + fixed32(16, draw(st.integers(0, 2**32 - 1)))
    return out + draw(unknown_fields())


@st.composite
def hostile_log(draw: st.DrawFn, keys: list[str]) -> bytes:
    out = fixed64(1, draw(TIMES)) + fixed64(11, draw(TIMES)) + vint(2, draw(ENUMS)) + ld(3, draw(TEXT_BYTES))
    if draw(st.booleans()):
        out += ld(5, draw(ANY_VALUES))
    out += retag(draw(key_values(keys)), 6)
    out += ld(9, draw(st.one_of(st.just(b""), IDS_16))) + ld(10, draw(st.one_of(st.just(b""), IDS_8)))
    if draw(st.booleans()):
        out += ld(12, draw(TEXT_BYTES)) + fixed32(8, draw(st.integers(0, 2**32 - 1)))
    return out + draw(unknown_fields())


DOUBLES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1e308]))


@st.composite
def hostile_point(draw: st.DrawFn, kind: str, keys: list[str]) -> bytes:
    times = fixed64(2, draw(TIMES)) + fixed64(3, draw(TIMES))
    if kind in ("gauge", "sum"):
        value = double(4, draw(DOUBLES)) if draw(st.booleans()) else tag(6, 1) + draw(
            st.binary(min_size=8, max_size=8))
        return times + value + retag(draw(key_values(keys)), 7) + vint(8, draw(st.integers(0, 2**32 - 1)))
    if kind == "histogram":
        counts = draw(st.lists(st.integers(0, MASK64), max_size=6))
        bounds = draw(st.lists(DOUBLES, max_size=6))  # any length: need not be len(counts) - 1
        out = times + fixed64(4, draw(st.integers(0, MASK64))) + double(5, draw(DOUBLES))
        out += ld(6, b"".join(struct.pack("<Q", c) for c in counts))
        out += ld(7, b"".join(struct.pack("<d", b) for b in bounds))
        if draw(st.booleans()):
            out += double(11, draw(DOUBLES)) + double(12, draw(DOUBLES))
        return out + retag(draw(key_values(keys)), 9)
    if kind == "exponential_histogram":
        def buckets() -> bytes:
            offset = draw(st.integers(-(2**31), 2**31 - 1))
            zigzag = (offset << 1) ^ (offset >> 31)
            counts = draw(st.lists(st.integers(0, MASK64), max_size=5))
            return vint(1, zigzag) + ld(2, b"".join(varint(c) for c in counts))
        scale = draw(st.integers(-(2**31), 2**31 - 1))
        out = times + fixed64(4, draw(st.integers(0, MASK64))) + double(5, draw(DOUBLES))
        out += vint(6, (scale << 1) ^ (scale >> 31)) + fixed64(7, draw(st.integers(0, MASK64)))
        out += ld(8, buckets()) + ld(9, buckets()) + double(14, draw(DOUBLES))
        return out + retag(draw(key_values(keys)), 1)
    quantiles = b"".join(ld(6, double(1, draw(DOUBLES)) + double(2, draw(DOUBLES)))
                         for _ in range(draw(st.integers(0, 3))))
    return (times + fixed64(4, draw(st.integers(0, MASK64))) + double(5, draw(DOUBLES)) + quantiles
            + retag(draw(key_values(keys)), 7))


METRIC_KINDS = {"gauge": 5, "sum": 7, "histogram": 9, "exponential_histogram": 10, "summary": 11}


@st.composite
def hostile_metric(draw: st.DrawFn, keys: list[str]) -> bytes:
    kind = draw(st.sampled_from(sorted(METRIC_KINDS)))
    points = b"".join(ld(1, draw(hostile_point(kind, keys))) for _ in range(draw(st.integers(0, 3))))
    if kind in ("sum", "histogram", "exponential_histogram"):
        points += vint(2, draw(ENUMS))
    if kind == "sum":
        points += vint(3, draw(st.integers(0, MASK64)))
    out = ld(1, draw(TEXT_BYTES)) + ld(3, draw(TEXT_BYTES)) + ld(METRIC_KINDS[kind], points)
    if draw(st.booleans()):
        out += retag(draw(key_values(keys)), 12)  # metadata
    if draw(st.integers(0, 9)) == 0:  # two data members at once: the last one wins
        out += ld(5, ld(1, fixed64(3, 1) + double(4, 1.0)))
    return out + draw(unknown_fields())


HOSTILE_ITEM = {"traces": hostile_span, "logs": hostile_log, "metrics": hostile_metric}


@st.composite
def hostile_request(draw: st.DrawFn, signal: str, keys: list[str]) -> bytes:
    items = [draw(HOSTILE_ITEM[signal](keys)) for _ in range(draw(st.integers(1, 4)))]
    if draw(st.booleans()):  # a good item beside the hostile ones
        items.append(item_with_attributes(signal, b""))
    resource = retag(draw(key_values(keys)), 1) if draw(st.booleans()) else b""
    scope = ld(1, draw(TEXT_BYTES)) + ld(2, draw(TEXT_BYTES)) + retag(draw(key_values(keys)), 3)
    return WRAP[signal](items, resource=resource, scope=scope)


@st.composite
def deep_request(draw: st.DrawFn, signal: str) -> tuple[bytes, bytes]:
    """One item whose attribute (or log body) nests 10..3000 deep: (protobuf, OTLP/JSON)."""
    depth = draw(st.integers(10, 3000))
    kind = draw(st.sampled_from(["array", "kvlist"]))
    return deep_bodies(signal, depth, kind, in_body=signal == "logs" and draw(st.booleans()))
