"""The OTLP/HTTP endpoint's DNS-rebinding guard, over real sockets: requests naming
localhost, 127.0.0.1, [::1] (any port), the listen address or a name the user added are
served; any other Host gets 421 with how to allow it, and the receiver goes on serving."""

from __future__ import annotations

import http.client
import json

import pytest

from receiver import Receiver, ReceiverConfig
from receiver.otlp.host_guard import allowed_host_names, host_name
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


@pytest.mark.parametrize(("header", "name"), [
    ("localhost:4318", "localhost"), ("LocalHost.", "localhost"), ("127.0.0.1", "127.0.0.1"),
    ("[::1]:4318", "::1"), ("[::1]", "::1"), ("evil.example:80", "evil.example"), ("::1", "::1"),
])
def test_the_name_in_a_host_header(header, name):
    assert host_name(header) == name


def test_the_names_allowed_are_loopback_the_listen_address_and_the_users():
    assert allowed_host_names("127.0.0.1") == {"localhost", "127.0.0.1", "::1"}
    assert allowed_host_names("0.0.0.0") == {"localhost", "127.0.0.1", "::1"}  # everywhere names no host
    assert allowed_host_names("192.168.1.20", ["host.docker.internal", "Dev-Box:4318"]) == {
        "localhost", "127.0.0.1", "::1", "192.168.1.20", "host.docker.internal", "dev-box"}


def _body(name: str) -> bytes:
    return make_request(make_span(trace_id=new_trace_id(), name=name)).SerializeToString()


def test_loopback_names_are_served_and_a_foreign_host_gets_421(receiver, store):
    port = receiver.addresses.http_port
    for host in ("localhost", "127.0.0.1", "[::1]"):
        assert post(port, _body(f"via {host}"), headers={"Host": f"{host}:{port}"}).status == 200
    refused = post(port, _body("rebound"), content_type="application/json", headers={"Host": "evil.example:80"})
    assert refused.status == 421
    assert "--allow-host" in json.loads(refused.body)["message"]
    preflight = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    preflight.request("OPTIONS", "/v1/traces", headers={"Host": "evil.example", "Origin": "http://evil.example",
                                                         "Access-Control-Request-Method": "POST"})
    assert preflight.getresponse().status == 421
    preflight.close()

    assert post(port, _body("after the attempt")).status == 200  # still serving
    assert receiver.flush(10)
    names = {t.root_name for t in store.list_traces().traces}
    assert names == {"via localhost", "via 127.0.0.1", "via [::1]", "after the attempt"}


def test_a_request_without_a_host_header_is_served(receiver):
    connection = http.client.HTTPConnection("127.0.0.1", receiver.addresses.http_port, timeout=10)
    connection.putrequest("POST", "/v1/traces", skip_host=True)
    body = _body("no host header")
    connection.putheader("Content-Type", "application/x-protobuf")
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    assert connection.getresponse().status == 200
    connection.close()


def test_names_the_user_adds_are_served(db_path):
    config = ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, allowed_hosts=("host.docker.internal",))
    with Receiver(config) as receiver:
        port = receiver.addresses.http_port
        assert post(port, _body("from a container"), headers={"Host": f"host.docker.internal:{port}"}).status == 200
        assert post(port, _body("elsewhere"), headers={"Host": f"other.internal:{port}"}).status == 421
