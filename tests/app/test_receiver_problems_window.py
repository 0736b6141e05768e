"""What the window says when its receiver cannot store: another Tracepane writes to the same
database (the window opens read-only, says who, and tries again when asked), or the disk is
full (the status bar says so while it lasts)."""

from __future__ import annotations

import os
import socket

from receiver import Receiver, ReceiverConfig
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id
from tests.receiver.test_disk_full import big_request, cap_growth, uncap_growth

WAIT_MS = 10_000


def test_a_database_another_tracepane_writes_to_opens_read_only_and_can_be_retried(qtbot, make_window, db_path):
    other = Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0), holder="serve")
    other.start()
    try:
        trace_id = new_trace_id()
        assert post(other.addresses.http_port, make_request(make_span(trace_id=trace_id, name="theirs"))
                    .SerializeToString()).status == 200
        window = make_window()
        assert window.host.receiver is None
        said = window.status.listen_label.text()
        assert f"another Tracepane (serve, PID {os.getpid()}) is already writing to {db_path}" in said
        assert "Try again" in said and "Change ports" not in said
        assert not window.demo_action.isEnabled() and not window.clear_action.isEnabled()
        qtbot.waitUntil(lambda: window.list_model.rowCount() == 1, timeout=WAIT_MS)  # what is stored is shown
        assert window.list_model.trace_at(0).trace_id == trace_id.hex()
    finally:
        other.stop()
    window.status.listen_label.linkActivated.emit("retry")  # the user clicks "Try again"
    assert window.host.receiver is not None
    assert window.status.listen_label.text().startswith("gRPC 127.0.0.1:")
    assert window.demo_action.isEnabled()


def test_the_status_bar_says_the_disk_is_full_while_it_lasts(qtbot, window):
    receiver = window.host.receiver
    label = window.status.storage_label
    window.status.refresh()
    assert label.isHidden() and not window.status.db_label.isHidden()
    cap_growth(receiver)
    assert post(receiver.addresses.http_port, big_request(new_trace_id()).SerializeToString()).status == 503
    qtbot.waitUntil(lambda: not label.isHidden(), timeout=WAIT_MS)
    assert label.text().startswith("⚠ Disk full since ") and "cannot grow" in label.text()
    assert str(window.host.config.db_path) in label.text()
    assert window.status.db_label.isHidden()  # the message names the file

    uncap_growth(receiver)
    trace_id = new_trace_id()
    assert post(receiver.addresses.http_port, big_request(trace_id).SerializeToString()).status == 200
    qtbot.waitUntil(lambda: label.isHidden(), timeout=WAIT_MS)
    assert not window.status.db_label.isHidden()
    qtbot.waitUntil(lambda: trace_id.hex() in window.list_model.trace_ids(), timeout=WAIT_MS)


def test_the_status_bar_says_when_forwarding_upstream_fails(qtbot, make_window, db_path):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    window = make_window(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0,
                                        forward_to=(f"grpc://127.0.0.1:{dead}",)))
    label = window.status.forward_label
    window.status.refresh()
    assert label.isHidden()
    trace_id = new_trace_id()
    assert post(window.host.receiver.addresses.http_port,
                make_request(make_span(trace_id=trace_id, name="kept here")).SerializeToString()).status == 200

    qtbot.waitUntil(lambda: (window.status.refresh(), not label.isHidden())[1], timeout=WAIT_MS)
    assert label.text().startswith(f"⚠ forwarding to grpc://127.0.0.1:{dead} failing")
    assert "queued" in label.text()
    qtbot.waitUntil(lambda: trace_id.hex() in window.list_model.trace_ids(), timeout=WAIT_MS)  # stored all the same
