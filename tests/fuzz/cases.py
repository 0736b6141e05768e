"""Whole fuzzing cases: hypothesis strategies of `Case`s (a body from tests/fuzz/strategies.py
or a seed, a transport, an endpoint, HTTP framing); `any_case` draws from all of them.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.fuzz.seeds import Seed
from tests.fuzz.strategies import deep_request, hostile_request, json_text, mutated_bytes, mutated_document
from tests.fuzz.target import Case
from tests.fuzz.wire import CONTENT_TYPES, ENCODINGS, JSON, PROTOBUF, SIGNALS

TRANSPORTS = st.sampled_from(["http", "grpc"])


def _endpoint(draw: st.DrawFn, seed_signal: str) -> str:
    """Mostly the seed's own endpoint; now and then another one (a trace body at /v1/logs)."""
    return seed_signal if draw(st.integers(0, 4)) else draw(st.sampled_from(SIGNALS))


@st.composite
def mutated_protobuf_case(draw: st.DrawFn, seeds: list[Seed]) -> Case:
    seed, other = draw(st.sampled_from(seeds)), draw(st.sampled_from(seeds))
    body = mutated_bytes(draw, seed.protobuf, other.protobuf)
    transport = draw(TRANSPORTS)
    encoding = "gzip" if transport == "grpc" and draw(st.integers(0, 3)) == 0 else None
    return Case(transport, _endpoint(draw, seed.signal), body, encoding=encoding, label=f"mutated {seed.name}")


@st.composite
def mutated_json_case(draw: st.DrawFn, seeds: list[Seed]) -> Case:
    seed = draw(st.sampled_from(seeds))
    body = json_text(draw, draw(mutated_document(seed)))
    if draw(st.integers(0, 3)) == 0:
        body = mutated_bytes(draw, body)
    return Case("http", _endpoint(draw, seed.signal), body, JSON, label=f"mutated {seed.name}")


@st.composite
def hostile_case(draw: st.DrawFn, keys: list[str]) -> Case:
    """Ids of any length, invalid UTF-8, any enum number, timestamp and count, odd AnyValues, unknown
    fields, histograms whose bounds do not match their buckets, under real GenAI keys."""
    signal = draw(st.sampled_from(SIGNALS))
    return Case(draw(TRANSPORTS), signal, draw(hostile_request(signal, keys)), label="hostile items")


@st.composite
def deep_case(draw: st.DrawFn) -> Case:
    signal = draw(st.sampled_from(SIGNALS))
    protobuf, document = draw(deep_request(signal))
    how = draw(st.sampled_from(["http-protobuf", "http-json", "grpc"]))
    if how == "http-json":
        return Case("http", signal, document, JSON, label="deep")
    return Case(how.split("-")[0], signal, protobuf, label="deep")


@st.composite
def wire_case(draw: st.DrawFn, seeds: list[Seed]) -> Case:
    """A real request in hostile HTTP framing: wrong or odd content types, content encodings
    that lie, are unsupported or truncated, chunked transfer."""
    seed = draw(st.sampled_from(seeds))
    as_json = draw(st.booleans())
    body = seed.json_bytes if as_json else seed.protobuf
    content_type = draw(st.one_of(st.just(JSON if as_json else PROTOBUF), st.sampled_from(CONTENT_TYPES), st.none()))
    encoding = draw(st.one_of(st.none(), st.sampled_from(ENCODINGS)))
    return Case("http", seed.signal, body, content_type, encoding, chunked=draw(st.booleans()),
                label=f"wire variant of {seed.name}")


@st.composite
def garbage_case(draw: st.DrawFn) -> Case:
    body = draw(st.one_of(st.binary(max_size=2048), st.sampled_from(
        [b"", b"\x00", b"{}", b"[]", b"null", b"\xff" * 64, b"\x0a\xff\xff\xff\xff\x0f", b'{"resourceSpans":{}}'])))
    return Case(draw(TRANSPORTS), draw(st.sampled_from(SIGNALS)), body, draw(st.sampled_from([PROTOBUF, JSON])),
                label="garbage")


def any_case(seeds: list[Seed], keys: list[str]) -> st.SearchStrategy[Case]:
    return st.one_of(mutated_protobuf_case(seeds), mutated_json_case(seeds), hostile_case(keys), deep_case(),
                     wire_case(seeds), garbage_case())
