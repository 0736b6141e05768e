"""The optional bearer token (`--auth-token`, TRACEPANE_AUTH_TOKEN) on both transports, with
real SDK exporters and raw requests against the real receiver: the right token is stored,
a missing or wrong one is refused (401 / UNAUTHENTICATED, nothing stored, the request
counted as refused) on all three signals; CORS preflights stay answerable; without a token
configured nothing changes. Also `tracepane serve` and `tracepane demo` with a token."""

from __future__ import annotations

import http.client

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from app.cli import main
from receiver import Receiver, ReceiverConfig
from receiver.errors import Unauthenticated
from receiver.otlp.auth import BearerAuth, bearer_auth
from tests.conftest import TRACEPANE, post
from tests.otlp_builders import make_request, make_span, new_trace_id
from tests.receiver.test_http_status_contract import rpc_status
from tests.sdk_spans import finished_spans
from tests.serve_process import ServeProcess

TOKEN = "s3cret-Token_42"
ALLOWED = "http://localhost:5173"
SERVICES = {"traces": "opentelemetry.proto.collector.trace.v1.TraceService",
            "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
            "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService"}


@pytest.fixture
def guarded(db_path):
    config = ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, auth_token=TOKEN, cors_origins=(ALLOWED,))
    with Receiver(config) as running:
        yield running


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER   {TOKEN} ", f" Bearer {TOKEN}"])
def test_the_token_is_accepted_with_the_bearer_scheme_in_any_case(header):
    BearerAuth(TOKEN).check(header)


@pytest.mark.parametrize(("header", "why"), [
    (None, "requires a bearer token"), ("", "requires a bearer token"), (TOKEN, "requires a bearer token"),
    (f"Basic {TOKEN}", "requires a bearer token"), ("Bearer", "requires a bearer token"),
    ("Bearer wrong", "does not match"), (f"Bearer {TOKEN}x", "does not match"),
    (f"Bearer {TOKEN[:-1]}", "does not match"),
    ("Bearer s3cret-Token_42\u00e9", "does not match"),  # not ASCII: refused, not an exception
])
def test_anything_else_is_refused_saying_how_to_send_it(header, why):
    with pytest.raises(Unauthenticated) as refused:
        BearerAuth(TOKEN).check(header)
    assert why in str(refused.value)
    assert "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>" in str(refused.value)
    assert TOKEN not in str(refused.value)


def test_the_token_is_never_shown_and_no_token_means_no_check():
    assert TOKEN not in repr(BearerAuth(TOKEN))
    assert TOKEN not in repr(ReceiverConfig(db_path="x.db", auth_token=TOKEN))
    assert bearer_auth(None) is None and bearer_auth("") is None
    assert ReceiverConfig.resolve(env={"TRACEPANE_AUTH_TOKEN": f" {TOKEN}\n"}, db_path="x.db").auth_token == TOKEN


def _span_exporter(protocol: str, receiver: Receiver, token: str | None):
    headers = {"authorization": f"Bearer {token}"} if token else None
    ports = receiver.addresses
    if protocol == "grpc":
        return GrpcSpanExporter(endpoint=f"127.0.0.1:{ports.grpc_port}", insecure=True, headers=headers, timeout=10)
    return HttpSpanExporter(endpoint=f"http://127.0.0.1:{ports.http_port}/v1/traces", headers=headers, timeout=10)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_sdk_exporters_with_the_token_are_stored_and_without_or_with_another_refused(protocol, guarded):
    for token in (None, "not-the-token"):
        exporter = _span_exporter(protocol, guarded, token)
        assert exporter.export(finished_spans("intruder", traces=1, spans_per_trace=2)) == SpanExportResult.FAILURE
        exporter.shutdown()
    refused = guarded.counters()
    assert (refused.requests_failed, refused.spans_accepted) == (2, 0)

    exporter = _span_exporter(protocol, guarded, TOKEN)
    assert exporter.export(finished_spans("with-token", traces=1, spans_per_trace=3)) == SpanExportResult.SUCCESS
    exporter.shutdown()
    counters = guarded.counters()
    assert (counters.requests_failed, counters.spans_accepted) == (2, 3)
    store = guarded.store()
    assert [t.service_name for t in store.list_traces().traces] == ["with-token"]  # acknowledged = committed
    store.close()


@pytest.mark.parametrize("signal", ["traces", "logs", "metrics"])
@pytest.mark.parametrize("content_type", ["application/x-protobuf", "application/json"])
def test_http_without_the_token_gets_401_with_how_to_send_it_and_the_connection_closed(guarded, signal,
                                                                                      content_type):
    body = b"{}" if content_type == "application/json" else b""
    port = guarded.addresses.http_port
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        answer = post(port, body, content_type, path=f"/v1/{signal}", headers=headers)
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer" and answer.headers["Connection"] == "close"
        if content_type == "application/json":
            code, message = answer.json()["code"], answer.json()["message"]
        else:
            code, message = rpc_status(answer.body)  # google.rpc.Status
        assert code == 16 and "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>" in message
    ok = post(port, body, content_type, path=f"/v1/{signal}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status == 200, ok.body
    assert guarded.counters().requests_failed == 3


@pytest.mark.parametrize("signal", ["traces", "logs", "metrics"])
def test_grpc_without_the_token_is_unauthenticated_on_every_service(guarded, signal):
    with grpc.insecure_channel(f"127.0.0.1:{guarded.addresses.grpc_port}") as channel:
        export = channel.unary_unary(f"/{SERVICES[signal]}/Export")  # bytes in, bytes out
        for metadata in (None, [("authorization", "Bearer wrong")]):
            with pytest.raises(grpc.RpcError) as refused:
                export(b"", timeout=10, metadata=metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>" in refused.value.details()
        assert export(b"", timeout=10, metadata=[("authorization", f"Bearer {TOKEN}")]) == b""  # an empty OK
    assert guarded.counters().requests_failed == 2


def test_the_host_guard_and_cors_answer_before_the_token_check(guarded):
    port = guarded.addresses.http_port
    body = make_request(make_span(trace_id=new_trace_id())).SerializeToString()
    assert post(port, body, headers={"Host": "evil.example"}).status == 421
    assert post(port, body, headers={"Origin": "http://evil.example"}).status == 403


def test_a_cors_preflight_needs_no_token_and_allows_the_authorization_header(guarded):
    conn = http.client.HTTPConnection("127.0.0.1", guarded.addresses.http_port, timeout=10)
    conn.request("OPTIONS", "/v1/traces", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "content-type, authorization"})
    preflight = conn.getresponse()
    preflight.read()
    conn.close()
    assert preflight.status == 204 and preflight.getheader("Access-Control-Allow-Origin") == ALLOWED
    assert "authorization" in preflight.getheader("Access-Control-Allow-Headers").lower()

    port, trace_id = guarded.addresses.http_port, new_trace_id()
    body = make_request(make_span(trace_id=trace_id)).SerializeToString()
    refused = post(port, body, headers={"Origin": ALLOWED})
    assert refused.status == 401 and refused.headers["Access-Control-Allow-Origin"] == ALLOWED  # the page can read why
    assert post(port, body, headers={"Origin": ALLOWED, "Authorization": f"Bearer {TOKEN}"}).status == 200


def test_without_a_token_configured_requests_need_no_header(receiver):
    trace_id = new_trace_id()
    body = make_request(make_span(trace_id=trace_id)).SerializeToString()
    assert post(receiver.addresses.http_port, body).status == 200
    assert post(receiver.addresses.http_port, body, headers={"Authorization": "Bearer anything"}).status == 200
    exporter = _span_exporter("grpc", receiver, None)
    assert exporter.export(finished_spans("no-token", traces=1, spans_per_trace=1)) == SpanExportResult.SUCCESS
    exporter.shutdown()
    assert receiver.counters().requests_failed == 0


def test_the_demo_command_sends_the_configured_token(guarded, monkeypatch, capsys):
    port = str(guarded.addresses.grpc_port)
    monkeypatch.delenv("TRACEPANE_AUTH_TOKEN", raising=False)
    assert main(["demo", "--grpc-port", port]) == 1
    error = capsys.readouterr().err
    assert "refused the demo" in error and "OTEL_EXPORTER_OTLP_HEADERS" in error
    assert main(["demo", "--grpc-port", port, "--auth-token", TOKEN]) == 0
    monkeypatch.setenv("TRACEPANE_AUTH_TOKEN", TOKEN)
    assert main(["demo", "--grpc-port", port]) == 0
    counters = guarded.counters()
    assert counters.spans_accepted == 2 * 13 and counters.logs_accepted and counters.metric_points_accepted


def test_serve_with_a_token_says_one_is_required_but_never_prints_it(db_path):
    server = ServeProcess(db_path, command=[str(TRACEPANE), "serve", "--auth-token", TOKEN])
    server.wait_listening()
    try:
        banner = "".join(server.banner) + server.proc.stdout.readline() + server.proc.stdout.readline()
        body = make_request(make_span(trace_id=new_trace_id())).SerializeToString()
        assert post(server.http_port, body).status == 401
        assert post(server.http_port, body, headers={"Authorization": f"Bearer {TOKEN}"}).status == 200
    finally:
        assert server.stop() == 0
    assert "bearer token required" in banner and "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>" in banner
    assert TOKEN not in banner
