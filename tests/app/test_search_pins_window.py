"""The window's side of issue 9: the filter bar's language (an inline message for a mistake,
the list left as it was), pinning from the list, and broken traces flagged in the list and
above the waterfall — real widgets, a real receiver, traces sent over real OTLP."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.list_filter import ListFilter
from app.models.trace_list_model import Column, TraceListModel
from app.propagation import fragments_near
from app.widgets.trace_header import TraceHeader
from receiver import TracePage, TraceSummary
from receiver.records import PROPAGATION_GRACE_NS
from tests.app.test_main_window import WAIT_MS, _load_demo, _rows
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


def _type_filter(qtbot, window, text: str) -> None:
    window.filter_bar.text_edit.clear()
    qtbot.keyClicks(window.filter_bar.text_edit, text)
    qtbot.keyClick(window.filter_bar.text_edit, Qt.Key.Key_Return)  # search now, not after the pause


def test_a_typed_filter_narrows_the_list_and_a_mistake_is_said_inline(qtbot, window):
    _load_demo(qtbot, window)
    everything = sorted(_rows(window))

    _type_filter(qtbot, window, "tool:lookup_order attr.feature.name=refunds")
    qtbot.waitUntil(lambda: window.list_controller.list_filter.text == "tool:lookup_order attr.feature.name=refunds",
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1, timeout=WAIT_MS)
    assert window.filter_bar.problem_label.isHidden()
    narrowed = _rows(window)

    _type_filter(qtbot, window, "tool:lookup_order cost>cheap")
    assert not window.filter_bar.problem_label.isHidden()
    assert "not an amount of dollars" in window.filter_bar.problem_label.text()
    assert "character 19" in window.filter_bar.problem_label.text()
    assert window.list_controller.list_filter.text == "tool:lookup_order attr.feature.name=refunds"  # not queried
    assert _rows(window) == narrowed

    _type_filter(qtbot, window, "")
    qtbot.waitUntil(lambda: sorted(_rows(window)) == everything, timeout=WAIT_MS)
    assert window.filter_bar.problem_label.isHidden()


def test_pinning_from_the_list_marks_the_row_and_the_pinned_box_lists_only_pinned(qtbot, window):
    _load_demo(qtbot, window)
    window.trace_list.select_trace(window.list_model.trace_at(1).trace_id)
    pinned_id = window.list_model.trace_at(1).trace_id
    assert window.pins.action.text() == "Pin trace"

    window.pins.action.trigger()
    qtbot.waitUntil(lambda: window.list_model.trace_at(window.list_model.row_of(pinned_id)).pinned, timeout=WAIT_MS)
    row = window.list_model.row_of(pinned_id)
    assert window.list_model.data(window.list_model.index(row, Column.TIME), Qt.ItemDataRole.DecorationRole)
    assert window.list_model.data(window.list_model.index(0 if row else 2, Column.TIME),
                                  Qt.ItemDataRole.DecorationRole) is None
    assert window.pins.action.text() == "Unpin trace"

    window.filter_bar.pinned_box.setChecked(True)
    qtbot.waitUntil(lambda: window.list_model.trace_ids() == [pinned_id], timeout=WAIT_MS)
    window.filter_bar.pinned_box.setChecked(False)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 3, timeout=WAIT_MS)

    window.trace_list.select_trace(pinned_id)
    window.pins.action.trigger()  # all selected are pinned: unpins
    qtbot.waitUntil(lambda: not window.list_model.trace_at(window.list_model.row_of(pinned_id)).pinned,
                    timeout=WAIT_MS)


def test_a_trace_unpinned_while_only_pinned_ones_are_listed_leaves_the_list(qtbot, window):
    _load_demo(qtbot, window)
    first, second = window.list_model.trace_at(0).trace_id, window.list_model.trace_at(1).trace_id
    for trace_id in (first, second):
        window.trace_list.select_trace(trace_id)
        window.pins.action.trigger()
        qtbot.waitUntil(lambda t=trace_id: window.list_model.trace_at(window.list_model.row_of(t)).pinned,
                        timeout=WAIT_MS)
    window.filter_bar.pinned_box.setChecked(True)
    qtbot.waitUntil(lambda: sorted(window.list_model.trace_ids()) == sorted([first, second]), timeout=WAIT_MS)

    window.trace_list.select_trace(first)
    window.pins.action.trigger()  # unpinned: no longer what the list shows

    qtbot.waitUntil(lambda: window.list_model.trace_ids() == [second], timeout=WAIT_MS)


def _send_rootless(receiver):
    """A trace whose root never arrived (a server span of an unpropagated call) in a session,
    and a whole one; their ids."""
    broken, whole = new_trace_id(), new_trace_id()
    spans = [make_span(trace_id=broken, parent_span_id=b"\x07" * 8, name="tools/call lookup",
                       attributes={"session.id": "conv-9"}),
             make_span(trace_id=whole, name="agent run")]
    assert post(receiver.addresses.http_port, make_request(*spans).SerializeToString()).status == 200
    assert receiver.flush(10)
    return broken.hex(), whole.hex()


@pytest.fixture
def rootless(receiver, store):
    return tuple(store.get_trace_summary(trace_id) for trace_id in _send_rootless(receiver))


def test_the_list_flags_a_broken_trace_once_the_grace_period_is_over(qtbot, rootless):
    broken, whole = rootless
    now = [time.time_ns()]
    model = TraceListModel(clock_ns=lambda: now[0])
    model.reset_pages(TracePage([broken, whole], None))
    flag = [model.data(model.index(row, Column.ROOT), Qt.ItemDataRole.DecorationRole) for row in range(2)]
    assert flag == [None, None]  # its parent may still be on the way

    now[0] += PROPAGATION_GRACE_NS
    with qtbot.waitSignal(model.dataChanged, timeout=WAIT_MS):
        model.refresh_flags()  # the model's timer calls it every few seconds
    assert model.data(model.index(0, Column.ROOT), Qt.ItemDataRole.DecorationRole) is not None
    assert model.data(model.index(1, Column.ROOT), Qt.ItemDataRole.DecorationRole) is None
    tooltip = model.data(model.index(0, Column.ROOT), Qt.ItemDataRole.ToolTipRole)
    assert "root span never arrived" in tooltip and "traceparent" in tooltip


def test_the_trace_header_explains_a_broken_trace_and_lists_its_session(qtbot, rootless):
    broken, whole = rootless
    header = TraceHeader(clock_ns=lambda: time.time_ns() + PROPAGATION_GRACE_NS)
    qtbot.addWidget(header)
    header.show_trace(whole)
    assert header.problem_label.isHidden()
    header.show_trace(broken)
    assert not header.problem_label.isHidden()
    assert "root span never arrived" in header.problem_label.text()
    assert "traceparent" in header.problem_label.text()
    assert 'href="together:conv-9"' in header.problem_label.text()
    with qtbot.waitSignal(header.sig_session_wanted, timeout=WAIT_MS) as wanted:
        header.problem_label.linkActivated.emit("list:conv-9")
    assert wanted.args == ["conv-9"]


def test_listing_a_sessions_fragments_together(qtbot, window):
    broken, _whole = _send_rootless(window.host.receiver)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2, timeout=WAIT_MS)
    window.trace_header.sig_session_wanted.emit("conv-9")
    qtbot.waitUntil(lambda: window.list_model.trace_ids() == [broken], timeout=WAIT_MS)
    assert window.filter_bar.value() == ListFilter(text="session:conv-9")


def test_a_broken_trace_is_shown_together_with_its_sessions_fragments_and_alone_again(qtbot, window):
    """An agent's trace called an MCP server whose span landed in a trace of its own (the
    client did not pass traceparent); a third trace of the session ran an hour earlier."""
    client, server, earlier = new_trace_id(), new_trace_id(), new_trace_id()
    now = time.time_ns()
    agent = make_span(trace_id=client, name="invoke_agent", start_ns=now - 5 * 10**9, duration_ns=4 * 10**9,
                      attributes={"session.id": "conv-7"})
    call = make_span(trace_id=client, parent_span_id=agent.span_id, name="tools/call lookup (client)",
                     start_ns=now - 4 * 10**9, duration_ns=10**9)
    served = make_span(trace_id=server, parent_span_id=b"\x09" * 8, name="tools/call lookup (server)",
                       start_ns=now - 4 * 10**9 + 10**8, duration_ns=5 * 10**8, attributes={"session.id": "conv-7"})
    old = make_span(trace_id=earlier, name="invoke_agent", start_ns=now - 3600 * 10**9,
                    attributes={"session.id": "conv-7"})
    assert post(window.host.receiver.addresses.http_port,
                make_request(agent, call, served, old).SerializeToString()).status == 200
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 3, timeout=WAIT_MS)
    window.trace_list.select_trace(server.hex())
    qtbot.waitUntil(lambda: window.waterfall.model.span_count() == 1, timeout=WAIT_MS)

    window.trace_header.problem_label.linkActivated.emit("together:conv-7")
    qtbot.waitUntil(lambda: window.waterfall.model.span_count() == 3, timeout=WAIT_MS)  # not the hour-old run
    assert window.open_trace.together == (client.hex(),)
    assert "Shown together with 1 other trace of session conv-7" in window.trace_header.problem_label.text()
    client_span = window.waterfall.first_span(lambda s: s.name == "tools/call lookup (client)")
    window.waterfall.select_span(client_span.span_id)  # a span of the other trace, read in full from it
    qtbot.waitUntil(lambda: window.inspector.span() is not None
                    and window.inspector.span().name == "tools/call lookup (client)", timeout=WAIT_MS)

    window.trace_header.problem_label.linkActivated.emit("alone:")
    qtbot.waitUntil(lambda: window.waterfall.model.span_count() == 1, timeout=WAIT_MS)
    assert window.open_trace.together == ()


def test_fragments_are_the_sessions_traces_within_a_minute():
    def trace(trace_id: str, start_s: float, end_s: float):
        return TraceSummary(trace_id, "run", True, "svc", int(start_s * 1e9), int(end_s * 1e9), 1, 0, 0)

    broken = trace("b", 1000, 1002)
    session = [trace("before", 900, 939.9), trace("just before", 930, 941), broken, trace("after", 1061, 1070),
               trace("just after", 1062.5, 1063)]
    assert fragments_near(broken, session) == ["just before", "after"]
