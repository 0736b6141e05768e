"""The receiver inside the app starts on a thread of its own (a big database takes the writer
a moment to open) and tells the window when it listens; views subscribed before it started
hear of every commit; quitting while it starts stops what started."""

from __future__ import annotations

import socket
import threading

from app.receiver_host import ReceiverHost
from receiver import ReceiverConfig
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


def test_start_soon_reports_when_it_listens_and_subscribers_hear_commits(qtbot, db_path):
    host = ReceiverHost(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0))
    heard = []
    host.subscribe(lambda event: heard.append(event.trace_ids))
    host.start_soon()
    assert host.starting and host.receiver is None
    qtbot.waitUntil(lambda: host.receiver is not None, timeout=10_000)
    try:
        assert not host.starting and host.addresses.http_port > 0
        trace_id = new_trace_id()
        assert post(host.addresses.http_port, make_request(make_span(trace_id=trace_id)).SerializeToString()
                    ).status == 200
        qtbot.waitUntil(lambda: any(trace_id.hex() in ids for ids in heard), timeout=10_000)
    finally:
        host.stop()
    assert host.receiver is None


def test_a_taken_port_is_reported_after_start_soon(qtbot, db_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        host = ReceiverHost(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=port))
        with qtbot.waitSignal(host.sig_state_changed, check_params_cb=lambda: not host.starting, timeout=10_000):
            host.start_soon()
    assert host.receiver is None and str(port) in host.problem


def test_stopping_while_it_starts_stops_what_started(qtbot, db_path):
    host = ReceiverHost(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0))
    host.start_soon()
    host.stop()  # before the event loop could hand the started receiver over
    assert host.receiver is None and not host.starting
    assert not [t for t in threading.enumerate() if t.name in ("tracepane-writer", "tracepane-http")]
