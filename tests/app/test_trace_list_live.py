"""The live trace list without the rest of the window: `TraceListController` (queries on the
worker thread, never the GUI's), `TraceListModel` and `TraceListView` over a real receiver.
Pages load as the view scrolls; new traces arriving above the rows the user is looking at
leave the selection and the visible rows where they were."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QModelIndex

from app.bridge import ReceiverBridge
from app.list_filter import ListFilter
from app.models.trace_list_model import TraceListModel
from app.trace_list_controller import TraceListController
from app.widgets.trace_list_view import TraceListView
from app.workers import QueryWorker
from tests.conftest import post
from tests.otlp_builders import BASE_NS, make_request, make_span, new_trace_id

WAIT_MS = 10_000
SECOND = 1_000_000_000


def _send(receiver, *spans) -> None:
    assert post(receiver.addresses.http_port, make_request(*spans).SerializeToString()).status == 200


def _traces(count: int, *, start_s: int = 0, error_every: int = 0) -> list:
    return [make_span(trace_id=new_trace_id(), name=f"run {start_s + i}", start_ns=BASE_NS + (start_s + i) * SECOND,
                      error=bool(error_every) and i % error_every == 0) for i in range(count)]


@pytest.fixture
def live_list(qtbot, receiver, db_path):
    worker = QueryWorker(db_path)
    worker.store.forbid_queries_on(threading.get_ident())
    bridge = ReceiverBridge(receiver.subscribe, interval_ms=50)
    model = TraceListModel()
    controller = TraceListController(worker, model, page_size=20)
    bridge.sig_spans_ingested.connect(controller.on_spans_ingested)
    view = TraceListView(model)
    view.resize(700, 240)
    qtbot.addWidget(view)
    view.show()
    yield controller, view
    bridge.close()
    assert worker.shutdown()


def test_pages_load_as_the_view_scrolls_to_the_end(qtbot, receiver, live_list):
    controller, view = live_list
    _send(receiver, *_traces(50))
    with qtbot.waitSignal(controller.sig_loaded, timeout=WAIT_MS):
        controller.reload()
    assert controller.model.rowCount() == 20
    view.scrollToBottom()
    qtbot.waitUntil(lambda: controller.model.rowCount() == 40, timeout=WAIT_MS)
    view.scrollToBottom()
    qtbot.waitUntil(lambda: controller.model.rowCount() == 50, timeout=WAIT_MS)
    assert not controller.model.canFetchMore(QModelIndex())
    names = [controller.model.trace_at(row).root_name for row in range(50)]
    assert names == [f"run {i}" for i in range(49, -1, -1)]  # newest first, no gaps, no repeats


def test_new_traces_above_keep_the_selection_and_the_visible_rows(qtbot, receiver, live_list):
    controller, view = live_list
    _send(receiver, *_traces(20))
    with qtbot.waitSignal(controller.sig_loaded, timeout=WAIT_MS):
        controller.reload()
    picked = controller.model.trace_at(12).trace_id
    view.select_trace(picked)
    view.verticalScrollBar().setValue(10)
    top_before = controller.model.trace_at(view.rowAt(0)).trace_id
    with qtbot.waitSignal(controller.sig_traces_arrived, timeout=WAIT_MS) as arrived:
        _send(receiver, *_traces(2, start_s=100))
    assert len(arrived.args[0]) == 2
    assert controller.model.trace_at(0).root_name == "run 101"  # newest on top
    assert view.current_trace_id() == picked
    # nothing jumped (the view lays out after the event loop turns)
    qtbot.waitUntil(lambda: controller.model.trace_at(view.rowAt(0)).trace_id == top_before, timeout=WAIT_MS)


def test_at_the_top_new_traces_come_into_sight(qtbot, receiver, live_list):
    controller, view = live_list
    _send(receiver, *_traces(5))
    with qtbot.waitSignal(controller.sig_loaded, timeout=WAIT_MS):
        controller.reload()
    assert view.verticalScrollBar().value() == 0
    with qtbot.waitSignal(controller.sig_traces_arrived, timeout=WAIT_MS):
        _send(receiver, *_traces(1, start_s=100))
    assert view.rowAt(0) == 0 and controller.model.trace_at(0).root_name == "run 100"


def test_a_growing_trace_beyond_the_first_page_is_updated_in_place(qtbot, receiver, live_list):
    controller, view = live_list
    spans = _traces(30)
    _send(receiver, *spans)
    with qtbot.waitSignal(controller.sig_loaded, timeout=WAIT_MS):
        controller.reload()
    view.scrollToBottom()
    qtbot.waitUntil(lambda: controller.model.rowCount() == 30, timeout=WAIT_MS)
    oldest = spans[0]
    row = controller.model.row_of(oldest.trace_id.hex())
    assert row == 29
    with qtbot.waitSignal(controller.model.dataChanged, timeout=WAIT_MS):
        _send(receiver, make_span(trace_id=oldest.trace_id, parent_span_id=oldest.span_id, name="late child",
                                  start_ns=oldest.start_time_unix_nano + 10, error=True))
    assert controller.model.trace_at(29).span_count == 2 and controller.model.trace_at(29).error_count == 1


def test_a_filter_change_drops_pages_of_the_old_filter(qtbot, receiver, live_list):
    controller, view = live_list
    _send(receiver, *_traces(30, error_every=3))
    with qtbot.waitSignal(controller.sig_loaded, timeout=WAIT_MS):
        controller.reload()
    controller.set_filter(ListFilter(text="no such words"))  # superseded before it can answer
    with qtbot.waitSignal(controller.sig_loaded, timeout=WAIT_MS):
        controller.set_filter(ListFilter(errors_only=True))
    assert controller.model.rowCount() == 10
    assert all(controller.model.trace_at(row).error_count for row in range(10))
