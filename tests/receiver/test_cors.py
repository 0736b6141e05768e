"""Browser-side exporters: a CORS preflight is answered only for origins the user allowed
(none by default), and a page from any other origin cannot write into the traces."""

from __future__ import annotations

import http.client

import pytest

from receiver.config import ReceiverConfig
from receiver.service import Receiver
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id

ALLOWED = "http://localhost:5173"


def preflight(port: int, origin: str | None, path: str = "/v1/traces") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    if origin:
        headers["Origin"] = origin
    conn.request("OPTIONS", path, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@pytest.fixture
def browser_receiver(db_path):
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, cors_origins=(ALLOWED,))) as r:
        yield r


def test_no_origin_is_allowed_by_default(receiver):
    response = preflight(receiver.addresses.http_port, ALLOWED)
    assert response.status == 403
    assert response.getheader("Access-Control-Allow-Origin") is None


@pytest.mark.parametrize("path", ["/v1/traces", "/v1/logs", "/v1/metrics"])
def test_preflight_from_an_allowed_origin_is_answered(browser_receiver, path):
    response = preflight(browser_receiver.addresses.http_port, ALLOWED, path)
    assert response.status == 204
    assert response.getheader("Access-Control-Allow-Origin") == ALLOWED
    assert "POST" in response.getheader("Access-Control-Allow-Methods")
    assert response.getheader("Access-Control-Allow-Headers") == "content-type"
    assert response.getheader("Vary") == "Origin"


def test_preflight_from_another_origin_is_refused(browser_receiver):
    response = preflight(browser_receiver.addresses.http_port, "http://evil.example")
    assert response.status == 403 and response.getheader("Access-Control-Allow-Origin") is None


def test_posts_carry_cors_headers_for_allowed_origins_and_are_refused_for_others(browser_receiver):
    port = browser_receiver.addresses.http_port
    allowed_trace, other_trace = new_trace_id(), new_trace_id()
    ok = post(port, make_request(make_span(trace_id=allowed_trace)).SerializeToString(), headers={"Origin": ALLOWED})
    assert ok.status == 200 and ok.headers["Access-Control-Allow-Origin"] == ALLOWED
    refused = post(port, make_request(make_span(trace_id=other_trace)).SerializeToString(),
                   headers={"Origin": "http://evil.example"})
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers
    no_origin = post(port, make_request(make_span(trace_id=new_trace_id())).SerializeToString())
    assert no_origin.status == 200 and "Access-Control-Allow-Origin" not in no_origin.headers
    store = browser_receiver.store()
    assert [t.trace_id for t in store.list_traces().traces if t.trace_id == other_trace.hex()] == []
    assert store.get_trace(allowed_trace.hex()).spans
    store.close()


def test_allowed_origins_come_from_the_environment():
    config = ReceiverConfig.resolve(env={"TRACEPANE_CORS_ORIGINS": "http://a.test, http://b.test/"}, db_path="x.db")
    assert config.cors_origins == ("http://a.test", "http://b.test")
