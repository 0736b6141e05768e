"""The ingest bridge: commits made by the real receiver's writer thread reach the GUI thread
as coalesced `sig_spans_ingested` signals, soon after, and stop when the bridge is closed."""

from __future__ import annotations

from PySide6.QtCore import QThread

from app.bridge import ReceiverBridge
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


def _send_trace(receiver) -> str:
    trace_id = new_trace_id()
    request = make_request(make_span(trace_id=trace_id), make_span(trace_id=trace_id))
    assert post(receiver.addresses.http_port, request.SerializeToString()).status == 200  # committed
    return trace_id.hex()


def test_commits_arrive_coalesced_on_the_gui_thread(qtbot, receiver):
    bridge = ReceiverBridge(receiver.subscribe, interval_ms=100)
    received, threads = [], []
    bridge.sig_spans_ingested.connect(lambda event: (received.append(event), threads.append(QThread.currentThread())))

    # three commits while the GUI thread is busy here, so none can be delivered in between
    sent = {_send_trace(receiver) for _ in range(3)}
    qtbot.waitUntil(lambda: {t for event in received for t in event.trace_ids} == sent, timeout=5000)
    assert len(received) < 3  # coalesced (one signal, unless the writer announced the last late)
    assert sum(event.spans_written for event in received) == 6
    assert set(threads) == {bridge.thread()}  # delivered on the GUI thread, not the writer's

    # a later commit is a new signal with only its own trace
    later = _send_trace(receiver)
    with qtbot.waitSignal(bridge.sig_spans_ingested, timeout=5000) as blocker:
        pass
    assert blocker.args[0].trace_ids == {later}
    bridge.close()


def test_a_closed_bridge_emits_nothing(qtbot, receiver):
    closed = ReceiverBridge(receiver.subscribe, interval_ms=10)
    closed.close()
    got = []
    closed.sig_spans_ingested.connect(got.append)
    # a witness with a longer interval: had `closed` still listened, it would have fired first
    witness = ReceiverBridge(receiver.subscribe, interval_ms=100)
    with qtbot.waitSignal(witness.sig_spans_ingested, timeout=5000):
        _send_trace(receiver)
    assert got == []
    witness.close()


def test_deletions_and_a_clear_reach_the_views_with_what_came_before_them(qtbot, receiver):
    bridge = ReceiverBridge(receiver.subscribe, interval_ms=100)
    received = []
    bridge.sig_spans_ingested.connect(received.append)
    # all before the GUI thread gets back to its loop: one signal, the commits in order
    doomed, kept, back = _send_trace(receiver), _send_trace(receiver), _send_trace(receiver)
    receiver.delete_traces([doomed, back])
    post(receiver.addresses.http_port, make_request(make_span(trace_id=bytes.fromhex(back))).SerializeToString())
    qtbot.waitUntil(lambda: bool(received), timeout=5000)
    (event,) = received
    assert event.deleted_trace_ids == {doomed, back}
    assert event.trace_ids == {kept, back}  # new data of a deleted trace is gone; `back` got new data since
    assert not event.cleared

    with qtbot.waitSignal(bridge.sig_spans_ingested, timeout=5000) as blocker:
        receiver.clear_all()
    assert blocker.args[0].cleared
    bridge.close()
