"""By default both servers listen on loopback only: 127.0.0.1, and ::1 where the machine
has IPv6, so an exporter told `localhost` reaches them whichever address its runtime tries
first; nothing listens on any other address."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

import pytest

from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


def _ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def _listening_addresses(port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Linux's socket tables: the local addresses listening on `port`."""
    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)  # stored as 32-bit words in host (little-endian) order
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, size, 4))
            ip = ipaddress.ip_address(raw)
            found.add(ip.ipv4_mapped or ip if isinstance(ip, ipaddress.IPv6Address) else ip)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc/net socket tables")
def test_both_ports_listen_on_loopback_only(receiver):
    for port in (receiver.addresses.grpc_port, receiver.addresses.http_port):
        addresses = _listening_addresses(port)
        assert addresses and all(address.is_loopback for address in addresses), addresses
        assert ipaddress.ip_address("127.0.0.1") in addresses


@pytest.mark.skipif(not _ipv6_loopback_available(), reason="this machine has no IPv6 loopback")
def test_exporters_reach_both_transports_over_ipv6_loopback(receiver, store):
    import http.client

    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    finished = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(finished))
    with provider.get_tracer("tests").start_as_current_span("over grpc on ::1"):
        pass
    exporter = OTLPSpanExporter(endpoint=f"[::1]:{receiver.addresses.grpc_port}", insecure=True)
    assert exporter.export(finished.get_finished_spans()) == SpanExportResult.SUCCESS
    exporter.shutdown()

    connection_body = make_request(make_span(trace_id=new_trace_id(), name="over http on ::1")).SerializeToString()
    connection = http.client.HTTPConnection("::1", receiver.addresses.http_port, timeout=10)
    try:
        assert post(receiver.addresses.http_port, connection_body, conn=connection).status == 200
    finally:
        connection.close()
    assert receiver.flush(10)
    assert {t.root_name for t in store.list_traces().traces} == {"over grpc on ::1", "over http on ::1"}


def test_listening_beyond_loopback_is_warned_of_and_says_whether_a_token_guards_it():
    from receiver.otlp.ports import exposure_warning

    assert exposure_warning("127.0.0.1", token_required=False) is None
    assert exposure_warning("localhost", token_required=False) is None
    assert exposure_warning("[::1]", token_required=False) is None
    open_to_all = exposure_warning("0.0.0.0", token_required=False)
    assert "not loopback" in open_to_all and "no authentication; see --auth-token" in open_to_all
    assert "with the bearer token" in exposure_warning("192.168.1.20", token_required=True)
