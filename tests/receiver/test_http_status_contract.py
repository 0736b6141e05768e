"""The OTLP/HTTP status contract, row by row, against the real server on a socket.
After every refusal the server keeps serving and what was stored before is still there."""

from __future__ import annotations

import http.client
import json
import socket

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from receiver.config import ReceiverConfig
from receiver.service import Receiver
from tests.conftest import gz, post
from tests.otlp_builders import make_request, make_span, new_trace_id

LIMIT = 64 * 1024  # a small limit keeps the oversize bodies small


def rpc_status(body: bytes) -> tuple[int, str]:
    """Decode google.rpc.Status{code=1, message=2} without a dependency, to check our encoder."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    pool = descriptor_pool.DescriptorPool()
    file = descriptor_pb2.FileDescriptorProto(name="status_test.proto", package="t")
    msg = file.message_type.add(name="Status")
    msg.field.add(name="code", number=1, type=5, label=1)
    msg.field.add(name="message", number=2, type=9, label=1)
    pool.Add(file)
    status = message_factory.GetMessageClass(pool.FindMessageTypeByName("t.Status")).FromString(body)
    return status.code, status.message


@pytest.fixture
def small(db_path):
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, max_request_bytes=LIMIT)) as r:
        yield r


def _one_span_request():
    trace_id = new_trace_id()
    return trace_id, make_request(make_span(trace_id=trace_id, name="kept"))


def _stored_names(receiver, trace_id: bytes) -> list[str]:
    store = receiver.store()
    try:
        return [s.name for s in store.get_trace(trace_id.hex()).spans]
    finally:
        store.close()


def test_empty_request_is_success_in_both_encodings(receiver):
    port = receiver.addresses.http_port
    answer = post(port, b"", "application/x-protobuf")
    assert answer.status == 200 and answer.headers["Content-Type"] == "application/x-protobuf"
    assert ExportTraceServiceResponse.FromString(answer.body) == ExportTraceServiceResponse()
    answer = post(port, b"{}", "application/json")
    assert answer.status == 200 and answer.json() == {}


def test_undecodable_protobuf_is_400_with_a_status_message(receiver):
    answer = post(receiver.addresses.http_port, b"\x0a\xff\xff\xff", "application/x-protobuf")
    assert answer.status == 400
    code, message = rpc_status(answer.body)
    assert code == 3 and "protobuf" in message  # INVALID_ARGUMENT


@pytest.mark.parametrize("body", [b"{not json", b'{"resourceSpans": "nope"}', b"[1, 2]",
                                  b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}'])
def test_invalid_json_is_400_in_json(receiver, body):
    answer = post(receiver.addresses.http_port, body, "application/json")
    assert answer.status == 400
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["code"] == 3 and answer.json()["message"]


def test_wrong_content_type_is_415(receiver):
    answer = post(receiver.addresses.http_port, b"hello", "text/plain")
    assert answer.status == 415 and "Content-Type" in answer.json()["message"]


def test_unknown_content_encoding_is_415(receiver):
    _, request = _one_span_request()
    answer = post(receiver.addresses.http_port, request.SerializeToString(), encoding="br")
    assert answer.status == 415
    assert "br" in rpc_status(answer.body)[1]


def test_gzip_and_deflate_bodies_are_accepted(receiver):
    import zlib

    for encode, name in ((gz, "gzip"), (zlib.compress, "deflate")):
        trace_id, request = _one_span_request()
        answer = post(receiver.addresses.http_port, encode(request.SerializeToString()), encoding=name)
        assert answer.status == 200, answer.body
        assert _stored_names(receiver, trace_id) == ["kept"]


def test_partial_success_names_rejected_spans_and_keeps_the_rest(receiver):
    good = new_trace_id()
    request = make_request(make_span(trace_id=good, name="a"), make_span(trace_id=b"\x01\x02\x03", name="bad"),
                           make_span(trace_id=good, name="b"))
    answer = post(receiver.addresses.http_port, request.SerializeToString())
    assert answer.status == 200
    response = ExportTraceServiceResponse.FromString(answer.body)
    assert response.partial_success.rejected_spans == 1
    assert "'bad'" in response.partial_success.error_message and "16" in response.partial_success.error_message
    assert sorted(_stored_names(receiver, good)) == ["a", "b"]


def test_partial_success_in_json_uses_otlp_json_names(receiver):
    good = new_trace_id().hex()
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": good, "spanId": "00f067aa0ba902b7", "name": "ok", "startTimeUnixNano": "1", "endTimeUnixNano": "2"},
        {"traceId": "abc", "spanId": "00f067aa0ba902b8", "name": "short id"},
        {"traceId": good, "spanId": "zz", "name": "not hex"},
    ]}]}]}
    answer = post(receiver.addresses.http_port, json.dumps(body).encode(), "application/json")
    assert answer.status == 200
    assert answer.json()["partialSuccess"]["rejectedSpans"] == "2"
    assert "short id" in answer.json()["partialSuccess"]["errorMessage"]


def test_a_body_within_4x_the_limit_is_read_answered_413_and_the_connection_reused(small):
    port = small.addresses.http_port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    answer = post(port, b"\x00" * (2 * LIMIT), conn=conn)
    assert answer.status == 413 and "limit" in rpc_status(answer.body)[1]
    trace_id, request = _one_span_request()
    assert post(port, request.SerializeToString(), conn=conn).status == 200  # same connection
    conn.close()
    assert _stored_names(small, trace_id) == ["kept"]


def test_a_body_past_4x_the_limit_is_refused_unread_and_the_connection_closed(small):
    with socket.create_connection(("127.0.0.1", small.addresses.http_port), timeout=30) as sock:
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\n"
                     b"Content-Length: %d\r\n\r\n" % (5 * LIMIT))
        reply = b""
        while chunk := sock.recv(65536):  # the server closes after answering
            reply += chunk
    head = reply.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 413") and "Connection: close" in head


def test_a_gzip_bomb_stops_at_the_limit(small):
    bomb = gz(b"\x00" * (50 * LIMIT))
    assert len(bomb) < LIMIT
    answer = post(small.addresses.http_port, bomb, encoding="gzip")
    assert answer.status == 413 and "decompressed" in rpc_status(answer.body)[1]


def test_an_oversize_chunked_body_is_413(small):
    answer = post(small.addresses.http_port, b"\x01" * (2 * LIMIT), chunked=True)
    assert answer.status == 413


def test_chunked_body_without_length_is_decoded_not_taken_as_empty(receiver):
    trace_id, request = _one_span_request()
    answer = post(receiver.addresses.http_port, request.SerializeToString(), chunked=True)
    assert answer.status == 200
    assert _stored_names(receiver, trace_id) == ["kept"]


def test_a_body_with_neither_length_nor_chunking_is_never_acknowledged(receiver):
    with socket.create_connection(("127.0.0.1", receiver.addresses.http_port), timeout=30) as sock:
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\r\n{}")
        head = sock.recv(65536).split(b"\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 400")


def test_keep_alive_serves_many_requests_on_one_connection(receiver):
    conn = http.client.HTTPConnection("127.0.0.1", receiver.addresses.http_port, timeout=30)
    conn.connect()
    first_socket = conn.sock
    ids = []
    for _ in range(3):
        trace_id, request = _one_span_request()
        ids.append(trace_id)
        assert post(receiver.addresses.http_port, request.SerializeToString(), conn=conn).status == 200
    assert conn.sock is first_socket
    conn.close()
    assert all(_stored_names(receiver, t) == ["kept"] for t in ids)


def test_unknown_path_is_404_and_get_is_405(receiver):
    port = receiver.addresses.http_port
    assert post(port, b"", path="/v1/nothing").status == 404
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/v1/traces")
    response = conn.getresponse()
    assert response.status == 405 and response.getheader("Allow") == "POST"
    conn.close()


def test_bad_requests_never_stop_the_server_or_lose_stored_spans(small):
    port = small.addresses.http_port
    before, request = _one_span_request()
    assert post(port, request.SerializeToString()).status == 200
    for body, ctype, enc in [(b"\xff" * 10, "application/x-protobuf", None), (b"{", "application/json", None),
                             (b"x", "text/html", None), (b"x", "application/x-protobuf", "zstd"),
                             (gz(b"\x00" * (20 * LIMIT)), "application/x-protobuf", "gzip"),
                             (b"not gzip", "application/x-protobuf", "gzip")]:
        assert post(port, body, ctype, encoding=enc).status in (400, 413, 415)
    after, request = _one_span_request()
    assert post(port, request.SerializeToString()).status == 200
    assert _stored_names(small, before) == ["kept"] and _stored_names(small, after) == ["kept"]
    counters = small.counters()
    assert counters.requests_failed == 6 and counters.spans_accepted == 2


def test_json_request_parsed_with_lower_camel_case_and_numbers_or_strings(receiver):
    trace_id = new_trace_id()
    request = make_request(make_span(trace_id=trace_id, name="json", attributes={"n": 2**60}))
    document = json_format.MessageToDict(request)
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"], span["spanId"] = trace_id.hex(), base64_to_hex(span["spanId"])
    span["startTimeUnixNano"] = int(span["startTimeUnixNano"])  # a number instead of a string
    span["someFieldFromTheFuture"] = {"x": 1}  # unknown fields are ignored
    answer = post(receiver.addresses.http_port, json.dumps(document).encode(), "application/json")
    assert answer.status == 200, answer.body
    store = receiver.store()
    stored = store.get_trace(trace_id.hex()).spans[0]
    store.close()
    assert stored.attributes == {"n": 2**60}
    assert stored.start_time_unix_nano == ExportTraceServiceRequest.FromString(
        request.SerializeToString()).resource_spans[0].scope_spans[0].spans[0].start_time_unix_nano


def base64_to_hex(text: str) -> str:
    import base64

    return base64.b64decode(text).hex()
