"""TraceListModel over real stored traces: pages as a view scrolls, merges a refreshed first
page without moving the rows a user has selected, shows exact costs, passes Qt's model tester."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from app.cli import main
from app.models.trace_list_model import TRACE_ROLE, Column, TraceListModel
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


def _demo(receiver, capsys) -> None:
    assert main(["demo", "--grpc-port", str(receiver.addresses.grpc_port)]) == 0
    capsys.readouterr()


def _cell(model: TraceListModel, row: int, column: Column) -> str:
    return model.data(model.index(row, column))


def test_pages_load_as_the_view_asks_and_the_model_passes_the_tester(qtmodeltester, qtbot, receiver, store,
                                                                     capsys):
    _demo(receiver, capsys)
    model = TraceListModel()
    model.reset_pages(store.list_traces(limit=2))
    assert model.rowCount() == 2 and model.canFetchMore(QModelIndex())
    with qtbot.waitSignal(model.sig_more_wanted) as wanted:
        model.fetchMore(QModelIndex())
    assert not model.canFetchMore(QModelIndex())  # one page request at a time
    model.append_page(store.list_traces(limit=2, after=wanted.args[0]))
    assert model.rowCount() == 3 and not model.canFetchMore(QModelIndex())  # the last page
    starts = [model.data(model.index(row, 0), TRACE_ROLE).start_time_unix_nano for row in range(3)]
    assert starts == sorted(starts, reverse=True)
    qtmodeltester.check(model)


def test_the_demo_rows_read_as_a_developer_expects(receiver, store, capsys):
    _demo(receiver, capsys)
    model = TraceListModel()
    model.reset_pages(store.list_traces(limit=10))
    first_turn = 2  # newest first
    assert _cell(model, first_turn, Column.ROOT) == "invoke_agent support-agent"
    assert _cell(model, first_turn, Column.SPANS) == "8"
    assert _cell(model, first_turn, Column.TOKENS) == "2800/96"
    assert _cell(model, first_turn, Column.COST) == "$0.00201"
    assert _cell(model, first_turn, Column.MODELS) == ("claude-3-5-sonnet-20241022, gpt-4o-mini-2024-07-18, "
                                                       "text-embedding-3-small")
    assert _cell(model, first_turn, Column.SESSION) == "conv-demo-0001"
    assert _cell(model, 0, Column.COST) == "$0.0000759"  # a fraction of a cent, exact
    assert [_cell(model, row, Column.ERRORS) for row in range(3)] == ["", "1", ""]
    assert _cell(model, first_turn, Column.DURATION) == "9.4 s"
    assert model.headerData(Column.COST, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)


def test_a_refreshed_page_inserts_new_traces_above_and_updates_rows_in_place(qtbot, receiver, store, capsys):
    _demo(receiver, capsys)
    model = TraceListModel()
    model.reset_pages(store.list_traces(limit=10))
    growing = model.data(model.index(1, 0), TRACE_ROLE)
    selected = QPersistentModelIndex(model.index(1, 0))  # what a selection model holds

    # the selected trace grows by a span; a new run arrives, and a late one from long ago
    post(receiver.addresses.http_port, make_request(make_span(
        trace_id=bytes.fromhex(growing.trace_id), start_ns=growing.start_time_unix_nano + 1)).SerializeToString())
    newest, oldest = new_trace_id(), new_trace_id()
    post(receiver.addresses.http_port, make_request(
        make_span(trace_id=newest, start_ns=growing.start_time_unix_nano + 10**12),
        make_span(trace_id=oldest, start_ns=growing.start_time_unix_nano - 10**12)).SerializeToString())
    refreshed = store.list_traces(limit=10).traces

    changed: list[int] = []
    model.dataChanged.connect(lambda top, bottom: changed.extend(range(top.row(), bottom.row() + 1)))
    with qtbot.waitSignal(model.rowsInserted):
        model.merge(refreshed)
    assert [model.data(model.index(row, 0), TRACE_ROLE).trace_id for row in range(5)] == [
        t.trace_id for t in refreshed]  # the same order as the store's
    assert model.data(model.index(0, 0), TRACE_ROLE).trace_id == newest.hex()
    assert model.data(model.index(4, 0), TRACE_ROLE).trace_id == oldest.hex()
    assert changed == [1]  # only the grown row (before the insertion above moved it)
    assert selected.isValid() and selected.row() == 2  # the selection follows its trace
    assert model.data(selected, TRACE_ROLE).span_count == growing.span_count + 1


def test_deleted_traces_leave_the_list_and_the_rest_keep_their_order(qtmodeltester, receiver, store, capsys):
    _demo(receiver, capsys)
    model = TraceListModel()
    model.reset_pages(store.list_traces())
    ids = model.trace_ids()
    removed = []
    model.rowsRemoved.connect(lambda parent, first, last: removed.append((first, last)))
    model.remove_traces({ids[0], ids[2], "0" * 32})
    assert model.trace_ids() == [ids[1]] and model.row_of(ids[1]) == 0
    assert removed == [(2, 2), (0, 0)]  # bottom up, each block once
    qtmodeltester.check(model)
