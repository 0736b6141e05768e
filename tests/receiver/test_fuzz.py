"""Fuzzing both OTLP transports with hostile input: the real receiver on loopback port 0,
raw bytes over HTTP (`POST /v1/{traces,logs,metrics}`) and over a raw gRPC channel.

Seeds are the requests captured from real instrumentation (the shared fixtures), as
protobuf and as OTLP/JSON; hypothesis mutates them (bytes and JSON structure), builds
hostile items as raw protobuf wire bytes, and wraps bodies in hostile HTTP framing.
For every case (tests/fuzz/target.py, `Target`):

(a) the answer is an allowed one: HTTP 200 / 400 / 413 / 415 (503 only with the queue full),
    gRPC OK / INVALID_ARGUMENT / RESOURCE_EXHAUSTED / UNAVAILABLE (the same), never 500,
    INTERNAL, UNKNOWN, a hang, or a closed connection without an answer;
(b) after it, a known-good span is accepted on the same transport and stored;
(c) a sentinel trace stored first still reads back with the same spans and attribute values
    (after every case; at the end also through `tracepane show --json`), and every stored
    trace reads back;
(d) a success's partial_success count equals what the receiver counted as rejected, accepted +
    rejected equals the items in the request, and a wholly accepted request's spans are stored.

Examples per test: TRACEPANE_FUZZ_EXAMPLES (default 75; the file then takes 60-90 s on 2 cores).
Longer runs: tests/fuzz/fuzz_receiver.py.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings

from receiver.config import ReceiverConfig
from receiver.service import Receiver
from tests.conftest import run_tracepane
from tests.fuzz.cases import (
    deep_case,
    garbage_case,
    hostile_case,
    mutated_json_case,
    mutated_protobuf_case,
    wire_case,
)
from tests.fuzz.seeds import load_seeds, seed_keys
from tests.fuzz.strategies import METRIC_KINDS
from tests.fuzz.target import SENTINEL_ATTRIBUTES, Case, Target, Violation
from tests.fuzz.wire import (
    JSON,
    PROTOBUF,
    SIGNALS,
    deep_any_value,
    double,
    fixed64,
    item_with_attributes,
    key_value,
    kv_fields,
    ld,
    logs_request,
    metrics_request,
    raw_span,
    trace_request,
    vint,
)

EXAMPLES = int(os.environ.get("TRACEPANE_FUZZ_EXAMPLES", "75"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])

SEEDS = load_seeds()
KEYS = seed_keys(SEEDS)  # attribute keys real instrumentation uses: hostile values go under them
pytestmark = pytest.mark.skipif(not SEEDS, reason="no OTLP fixtures (TRACEPANE_FIXTURES)")


@pytest.fixture
def target(receiver: Receiver):
    """The conftest's receiver (loopback, port 0, temp db) with a sentinel trace stored."""
    fuzz_target = Target(receiver)
    fuzz_target.plant_sentinel()
    yield fuzz_target
    print(f"\n{fuzz_target.cases} cases: {dict(sorted(fuzz_target.histogram.items()))}")  # shown with -s
    fuzz_target.check_sentinel()
    fuzz_target.check_readable()
    fuzz_target.close()


def exercise(target: Target, case: Case) -> None:
    """One case, then (b) the server still takes a good span, and (c) the sentinel is intact."""
    target.check(case)
    target.check_alive(case.transport)
    target.check_sentinel()


# --- hypothesis: mutations of real requests, hostile items, framing ------------------------------


@FUZZ
@given(case=mutated_protobuf_case(SEEDS))
def test_mutated_protobuf_on_both_transports(target, case):
    exercise(target, case)


@FUZZ
@given(case=mutated_json_case(SEEDS))
def test_mutated_json_over_http(target, case):
    exercise(target, case)


@FUZZ
@given(case=hostile_case(KEYS))
def test_hostile_items_on_both_transports(target, case):
    exercise(target, case)


@FUZZ
@given(case=deep_case())
def test_deep_nesting_10_to_3000_on_both_transports(target, case):
    exercise(target, case)


@FUZZ
@given(case=wire_case(SEEDS))
def test_http_content_types_and_encodings(target, case):
    exercise(target, case)


@FUZZ
@given(case=garbage_case())
def test_garbage_bodies_on_both_transports(target, case):
    exercise(target, case)


# --- the heavy cases, each once per transport ----------------------------------------------------

HOW = ["http-protobuf", "http-json", "grpc"]


def _case(how: str, signal: str, protobuf: bytes, document: bytes | None = None, **kw) -> Case:
    if how == "http-json":
        assert document is not None
        return Case("http", signal, document, JSON, **kw)
    return Case(how.split("-")[0], signal, protobuf, **kw)


@cache
def _ten_megabytes() -> bytes:
    return b"A" * (10 * 1024 * 1024)


@pytest.mark.parametrize("how", HOW)
def test_a_ten_megabyte_attribute_value(target, how):
    trace_id, span_id = os.urandom(16), os.urandom(8)
    value = _ten_megabytes()
    extra = ld(9, key_value(b"gen_ai.input.messages", ld(1, value)))
    protobuf = trace_request([raw_span(trace_id, span_id, name=b"big", extra=extra)])
    document = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace_id.hex(), "spanId": span_id.hex(), "name": "big", "startTimeUnixNano": "1",
        "endTimeUnixNano": "2", "attributes": [{"key": "gen_ai.input.messages",
                                                "value": {"stringValue": value.decode()}}]}]}]}]}).encode()
    exercise(target, _case(how, "traces", protobuf, document, label="10 MB attribute value"))


@pytest.mark.parametrize("signal, how, count", [
    ("traces", "http-protobuf", 300_000), ("traces", "grpc", 300_000), ("logs", "http-protobuf", 300_000),
    ("metrics", "grpc", 300_000),
    ("traces", "http-json", 200_000),  # protobuf's JSON parser takes ~25 µs an attribute, on both sides
])
def test_hundreds_of_thousands_of_tiny_attributes(target, signal, how, count):
    item = item_with_attributes(signal, kv_fields([key_value(b"k%d" % i, ld(1, b"v")) for i in range(count)]))
    protobuf_request = {"traces": trace_request, "logs": logs_request, "metrics": metrics_request}[signal]([item])
    document = None
    if how == "http-json":
        document = _json_with_attributes(signal, [{"key": f"k{i}", "value": {"stringValue": "v"}}
                                                  for i in range(count)])
    exercise(target, _case(how, signal, protobuf_request, document, label=f"{count} attributes"))


def _json_with_attributes(signal: str, attributes: list[dict]) -> bytes:
    if signal == "traces":
        item = {"traceId": os.urandom(16).hex(), "spanId": os.urandom(8).hex(), "name": "many",
                "startTimeUnixNano": "1", "endTimeUnixNano": "2", "attributes": attributes}
        return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [item]}]}]}).encode()
    if signal == "logs":
        item = {"timeUnixNano": "1", "attributes": attributes}
        return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [item]}]}]}).encode()
    point = {"timeUnixNano": "1", "asDouble": 1.0, "attributes": attributes}
    return json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "many", "gauge": {"dataPoints": [point]}}]}]}]}).encode()


@cache
def _zeros(megabytes: int) -> bytes:
    return bytes(megabytes << 20)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_over_http(target, encoding):
    """A few hundred kB that inflate to 200 MB of zeros: refused (413, or 400), nothing held."""
    packed = gzip.compress(_zeros(200), 9) if encoding == "gzip" else zlib.compress(_zeros(200), 9)
    assert len(packed) < 1 << 20
    # The bomb goes out as is: Case.encoding names an encoding to apply, so send it pre-packed.
    case = _PrePacked("http", "traces", packed, PROTOBUF, encoding, label=f"{encoding} bomb")
    exercise(target, case)


class _PrePacked(Case):
    """A body already compressed (`encoding` is only the header)."""

    def wire(self):
        return self.plain, self.encoding


def test_a_compression_bomb_over_grpc(target):
    """grpcio compresses 200 MB of zeros; the server must refuse it inflated past its limit."""
    exercise(target, Case("grpc", "traces", _zeros(200), encoding="gzip", label="gRPC gzip bomb"))


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_a_body_over_the_size_limit(target, transport):
    body = trace_request([raw_span(os.urandom(16), os.urandom(8), extra=ld(9, key_value(
        b"blob", ld(1, bytes(40 << 20)))))])
    exercise(target, Case(transport, "traces", body, label="40 MB body"))


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_timestamps_enums_and_ids_at_their_extremes(target, transport):
    """One request mixing spans at the edges; each is either stored or counted rejected."""
    trace_id = os.urandom(16)
    spans = [
        raw_span(trace_id, os.urandom(8), name=b"reversed", start=2_000, end=1_000),
        raw_span(trace_id, os.urandom(8), name=b"max-u64", start=2**64 - 1, end=2**64 - 1),
        raw_span(trace_id, os.urandom(8), name=b"max-i64", start=2**63 - 1, end=2**63 - 1),
        raw_span(trace_id, os.urandom(8), name=b"zero", start=0, end=0),
        raw_span(trace_id, os.urandom(8), name=b"kind 99", extra=vint(6, 99)),
        raw_span(trace_id, os.urandom(8), name=b"kind -1", extra=vint(6, -1)),
        raw_span(trace_id, os.urandom(8), name=b"status 7", extra=ld(15, vint(3, 7) + ld(2, b"seven"))),
        raw_span(os.urandom(15), os.urandom(8), name=b"15-byte trace id"),
        raw_span(os.urandom(17), os.urandom(8), name=b"17-byte trace id"),
        raw_span(trace_id, os.urandom(9), name=b"9-byte span id"),
        raw_span(trace_id, os.urandom(8), parent=os.urandom(7), name=b"7-byte parent"),
        raw_span(trace_id, os.urandom(8), name=b"nan double",
                 extra=ld(9, key_value(b"gen_ai.request.temperature", double(4, float("nan"))))),
        raw_span(trace_id, os.urandom(8), name=b"huge tokens",
                 extra=ld(9, key_value(b"gen_ai.usage.input_tokens", vint(3, -(2**63))))
                 + ld(9, key_value(b"gen_ai.request.model", ld(1, b"gpt-4o-mini")))
                 + ld(9, key_value(b"gen_ai.usage.output_tokens", vint(3, 2**63 - 1)))),
    ]
    exercise(target, Case(transport, "traces", trace_request(spans), label="extremes"))
    records = [fixed64(1, t) + fixed64(11, t) + vint(2, 99) + ld(9, os.urandom(n))
               for t, n in ((2**64 - 1, 16), (0, 15), (2**63 - 1, 17), (1, 0))]
    exercise(target, Case(transport, "logs", logs_request(records), label="log extremes"))


@pytest.mark.parametrize("trace_id, span_id", [
    (os.urandom(15).hex(), os.urandom(8).hex()),
    (os.urandom(17).hex(), os.urandom(8).hex()),
    (os.urandom(16).hex(), os.urandom(7).hex()),
    (os.urandom(16).hex()[:-1], os.urandom(8).hex()),  # odd number of hex digits
    ("__" * 16, os.urandom(8).hex()),
    (None, os.urandom(8).hex()),
])
def test_json_ids_of_the_wrong_length_beside_a_good_span(target, trace_id, span_id):
    import base64

    good = {"traceId": os.urandom(16).hex(), "spanId": os.urandom(8).hex(), "name": "good",
            "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
    bad = {"traceId": trace_id if trace_id is not None else base64.b64encode(os.urandom(15)).decode(),
           "spanId": span_id, "name": "bad", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [bad, good]}]}]}).encode()
    outcome = target.check(Case("http", "traces", body, JSON, label="bad json id"))
    assert (outcome.answer, outcome.accepted, outcome.rejected) == ("http 200", 1, 1)
    target.check_sentinel()


@pytest.mark.parametrize("transport", ["http", "grpc"])
@pytest.mark.parametrize("where", ["span name", "attribute key", "attribute value", "resource attribute"])
def test_invalid_utf8_in_protobuf_strings(target, transport, where):
    bad = b"caf\xc3\x28\xff"
    trace_id, span_id = os.urandom(16), os.urandom(8)
    if where == "span name":
        spans = [raw_span(trace_id, span_id, name=bad)]
    elif where == "attribute key":
        spans = [raw_span(trace_id, span_id, extra=ld(9, key_value(bad, ld(1, b"v"))))]
    else:
        spans = [raw_span(trace_id, span_id, extra=ld(9, key_value(b"k", ld(1, bad))))]
    resource = ld(1, key_value(b"host.name", ld(1, bad))) if where == "resource attribute" else b""
    exercise(target, Case(transport, "traces", trace_request(spans, resource=resource), label=f"bad UTF-8 in {where}"))


@pytest.mark.parametrize("transport", ["http", "grpc"])
@pytest.mark.parametrize("signal", SIGNALS)
def test_empty_bodies(target, transport, signal):
    outcome = target.check(Case(transport, signal, b"", PROTOBUF, label="empty"))
    assert outcome.answer in ("http 200", "grpc OK")
    if transport == "http":
        assert target.check(Case("http", signal, b"", JSON, label="empty json")).answer == "http 400"
        assert target.check(Case("http", signal, b"{}", JSON, label="empty object")).answer == "http 200"
    target.check_alive(transport)


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_nesting_3000_deep_in_every_place(target, transport):
    """The deepest case of the range in a span attribute, an event, a link, a log body, a
    metric point, a resource attribute and a scope attribute."""
    deep = deep_any_value(3000, "kvlist")
    kv = ld(1, key_value(b"deep", deep))
    span = raw_span(os.urandom(16), os.urandom(8), extra=ld(11, fixed64(1, 1) + ld(2, b"e") + ld(3, kv[2:]))
                    + ld(13, ld(1, os.urandom(16)) + ld(2, os.urandom(8)) + ld(4, kv[2:])))
    for signal, body in (("traces", trace_request([span])),
                         ("traces", trace_request([raw_span(os.urandom(16), os.urandom(8))],
                                                  resource=ld(1, key_value(b"deep", deep)))),
                         ("traces", trace_request([raw_span(os.urandom(16), os.urandom(8))],
                                                  scope=ld(1, b"s") + ld(3, key_value(b"deep", deep)))),
                         ("logs", logs_request([fixed64(1, 1) + ld(5, deep)])),
                         ("metrics", metrics_request([item_with_attributes("metrics", kv)]))):
        exercise(target, Case(transport, signal, body, label="3000 deep"))


def test_the_sentinel_reads_back_through_the_cli_after_the_receiver_stops(db_path):
    """(c) through another reader: hostile cases of every kind, the receiver stopped, then
    `tracepane show --json` finds the sentinel's spans and attribute values unchanged."""
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)) as receiver:
        fuzz_target = Target(receiver)
        sentinel = fuzz_target.plant_sentinel()
        seed = SEEDS[0]
        for transport in ("http", "grpc"):
            for body in (seed.protobuf[: len(seed.protobuf) // 2], b"\xff" * 100, trace_request(
                    [raw_span(os.urandom(16), os.urandom(8), extra=ld(9, key_value(b"d", deep_any_value(3000))))])):
                exercise(fuzz_target, Case(transport, seed.signal, body, label="before the CLI"))
        fuzz_target.close()
    shown = json.loads(run_tracepane("show", sentinel.trace_id, "--db", str(db_path), "--json").stdout)
    assert sorted(s["name"] for s in shown["spans"]) == sorted(sentinel.spans)
    assert all(s["attributes"] == SENTINEL_ATTRIBUTES for s in shown["spans"])


def test_the_checker_reports_a_500_and_a_lost_sentinel(target, monkeypatch):
    """The invariants can fail: an ingestor that blows up (the receiver answers 500 / INTERNAL)
    is reported on both transports, and so is a sentinel that no longer matches."""
    from receiver.errors import DecodeBug

    def blow_up(*_args, **_kwargs):
        raise DecodeBug("simulated decoder bug")

    body = trace_request([raw_span(os.urandom(16), os.urandom(8))])
    with monkeypatch.context() as patched:
        patched.setattr(target.receiver._ingestor, "export", blow_up)
        for transport in ("http", "grpc"):
            with pytest.raises(Violation, match="500|INTERNAL"):
                target.check(Case(transport, "traces", body, label="simulated bug"))
    target.check_alive("http")
    target.sentinel.spans["sentinel root"] = {"changed": True}
    with pytest.raises(Violation, match="sentinel"):
        target.check_sentinel()
    target.sentinel.spans["sentinel root"] = dict(SENTINEL_ATTRIBUTES)


# --- bugs the fuzzers found (fixed): their minimal repros ----------------------------------------

_T, _S = "0102030405060708090a0b0c0d0e0f10", "0102030405060708"
LONE = "\ud800"  # json.dumps writes it as the escape \\ud800, which json.loads reads back as a lone surrogate


def _span_json(**fields) -> str:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": _T, "spanId": _S, **fields}]}]}]})


@pytest.mark.parametrize("signal, body", [
    ("traces", _span_json(kind=LONE)),
    ("traces", _span_json(status={"code": "\udfff"})),
    ("traces", json.dumps({LONE: 1})),
    ("logs", json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"severityNumber": LONE}]}]}]})),
    ("traces", json.dumps({"resourceSpans": [{"resource": {"attributes": [LONE + "abc"]}}]})),
    # raw bytes ED A0 80 (not UTF-8): json.loads decodes bytes with "surrogatepass", so they pass as one
    ("traces", b'{"resourceSpans":[{"resource":{"attr\xed\xa0\x80butes":[]}}]}'),
], ids=["span kind", "status code", "object key", "severity number", "string for an object", "raw ED A0 80 in a key"])
def test_a_lone_surrogate_in_a_json_key_or_enum_gets_400(target, signal, body):
    """A lone surrogate where protobuf's JSON parser meets it as a key (an object key, an enum
    name, a string where an object belongs) made that parser raise SystemError, which nothing
    caught: the connection closed without an answer. Now it is a bad request: 400."""
    body = body if isinstance(body, bytes) else body.encode()
    outcome = target.check(Case("http", signal, body, JSON, label="lone surrogate"))
    assert outcome.answer == "http 400"


def test_importing_a_line_with_a_lone_surrogate_skips_only_that_line(receiver, tmp_path):
    """A lone surrogate in any string of an imported line (here a span name) made re-encoding
    that line as UTF-8 raise UnicodeEncodeError, which escaped `tracepane import`. Now that
    line is reported as a problem and the others are imported."""
    from receiver.file_import import import_files

    good, bad = _span_json(name="ok"), _span_json(name=LONE).replace(_S, "0202030405060708")
    path = tmp_path / "spans.jsonl"
    path.write_text(bad + "\n" + good + "\n")
    outcome = import_files(receiver, [path])
    assert outcome.imported["traces"] == 1 and len(outcome.problems) == 1


@pytest.mark.parametrize("transport", ["http", "grpc"])
@pytest.mark.parametrize("kind", ["histogram", "exponential_histogram", "summary"])
def test_a_metric_point_count_of_2_63_or_more_is_not_a_storage_failure(target, transport, kind):
    """A histogram / exponential histogram / summary point whose count (fixed64) is 2**63 or
    more failed the database write (SQLite's integers are signed 64-bit): the request got
    503 / UNAVAILABLE, which exporters retry, and nothing was stored. Now the point is rejected
    in partial_success and the request succeeds (`Target.check` checks the counts agree)."""
    point = fixed64(3, 1_700_000_000_000_000_000) + fixed64(4, 2**63)  # time_unix_nano, count
    metric = ld(1, b"m") + ld(METRIC_KINDS[kind], ld(1, point))
    outcome = target.check(Case(transport, "metrics", metrics_request([metric]), label="count 2**63"))
    assert outcome.answer in ("http 200", "grpc OK")
