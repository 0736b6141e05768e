"""A 10,000-span agent trace in the window (`big_window`: sent over real OTLP/HTTP, opened from
the list): every span in the tree, the inspector fetching the selected span in full, subtrees
collapsed and expanded without the model being rebuilt, the tree's keys, and the trace growing
while it is open, by block inserts or (many moves) a reset that keeps what the user had."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView

from app.models.span_tree_model import REGROW_RESET_MOVES, SpanColumn, SpanTreeModel
from tests.bench.workload import SERVICE_NAME
from tests.big_trace import MESSAGE_WORD
from tests.conftest import post
from tests.otlp_builders import make_request, make_span

WAIT_MS = 30_000


def _count_rows(model: SpanTreeModel, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
    """Rows reachable through the model's Qt interface, as a view walks them."""
    count, stack = 0, [parent]
    while stack:
        index = stack.pop()
        rows = model.rowCount(index)
        count += rows
        stack.extend(model.index(row, 0, index) for row in range(rows))
    return count


def _signals(model: SpanTreeModel) -> list[str]:
    seen: list[str] = []
    for name in ("modelReset", "layoutChanged", "rowsInserted", "rowsRemoved", "rowsMoved"):
        getattr(model, name).connect(lambda *args, name=name: seen.append(name))
    return seen


def _send(window, *spans) -> None:
    answer = post(window.host.addresses.http_port, make_request(*spans, service=SERVICE_NAME).SerializeToString())
    assert answer.status == 200, answer.body


def test_a_10000_span_trace_opens_with_every_span_in_its_tree(big_window):
    window, big = big_window
    model, tree = window.waterfall.model, window.waterfall.tree
    assert _count_rows(model) == 10_000
    assert model.span_at(model.index(0, 0)).span_id == big.root_span_id
    assert window.waterfall.selected_span().span_id == big.root_span_id  # the first span is open...
    assert window.inspector.span().span_id == big.root_span_id  # ...in full: the outline has no attributes
    assert window.inspector.span().attributes["gen_ai.agent.name"] == "orchestrator"
    assert all(tree.isExpanded(model.index_of(span_id)) for span_id in big.deep_path[:-1])  # all of it open
    deep = model.index_of(big.deep_span_id, SpanColumn.DURATION)  # its name is indented past the column
    tree.scrollTo(deep)
    assert tree.viewport().rect().contains(tree.visualRect(deep).center())
    assert len(big.deep_path) == 25  # 24 levels down


def test_a_big_trace_shows_its_first_screen_at_once_and_expands_the_rest_right_after(qtbot, big_window):
    window, big = big_window
    model, tree = window.waterfall.model, window.waterfall.tree
    parents = [span.span_id for span in model.spans_in_tree_order() if model.hasChildren(model.index_of(span.span_id))]
    at_first_paint: dict[str, object] = {}

    def look_at_first_screen() -> None:  # right after the waterfall's own reset handling
        rows, index = [], model.index(0, 0)
        while index.isValid() and len(rows) < 60:
            rows.append(model.span_at(index).span_id)
            index = tree.indexBelow(index)
        at_first_paint["rows"] = rows
        at_first_paint["expanded"] = sum(tree.isExpanded(model.index_of(span_id)) for span_id in parents)

    window.trace_list.setCurrentIndex(QModelIndex())
    qtbot.waitUntil(lambda: model.trace_id is None, timeout=WAIT_MS)
    model.modelReset.connect(look_at_first_screen)
    window.trace_list.select_trace(big.trace_id)
    qtbot.waitUntil(lambda: "rows" in at_first_paint, timeout=WAIT_MS)
    model.modelReset.disconnect(look_at_first_screen)
    in_order = [span.span_id for span in model.spans_in_tree_order()]
    assert at_first_paint["rows"] == in_order[:60]  # the screen a fully open tree starts with
    assert 0 < at_first_paint["expanded"] < len(parents)  # not yet all of it laid out...
    qtbot.waitUntil(lambda: all(tree.isExpanded(model.index_of(span_id)) for span_id in parents),
                    timeout=WAIT_MS)  # ...which follows, without the user doing anything
    assert _count_rows(model) == 10_000


def test_selecting_a_span_fetches_its_messages_which_the_outline_leaves_out(qtbot, big_window):
    window, big = big_window
    outline = window.waterfall.model.span_at(window.waterfall.model.index_of(big.deep_span_id))
    assert outline.content == {} and outline.attributes == {}
    window.inspector.show_tab("Messages")
    window.waterfall.select_span(big.deep_span_id)
    qtbot.waitUntil(lambda: window.inspector.span().span_id == big.deep_span_id, timeout=WAIT_MS)
    assert f"{MESSAGE_WORD.title()} depot" in window.inspector.messages.text()
    assert window.inspector.current_tab_name() == "Messages"  # the tab the user was on stays
    window.waterfall.select_span(big.root_span_id)  # fetched before: shown at once
    assert window.inspector.span().span_id == big.root_span_id


def test_collapsing_and_expanding_subtrees_never_rebuilds_the_model(qtbot, big_window):
    window, big = big_window
    model, tree = window.waterfall.model, window.waterfall.tree
    seen = _signals(model)
    worker = model.index_of(big.deep_path[1])  # the worker agent the deep chain hangs under
    deep = model.index_of(big.deep_span_id, SpanColumn.DURATION)
    window.waterfall.select_span(big.deep_path[1])
    QTest.keyClick(tree, Qt.Key.Key_H)
    assert not tree.isExpanded(worker) and not tree.visualRect(deep).isValid()  # hidden with its subtree
    QTest.keyClick(tree, Qt.Key.Key_L)
    assert tree.isExpanded(worker) and tree.visualRect(deep).isValid()
    root = model.index(0, 0)
    tree.collapse(root)  # all 10,000 out of sight, and back
    assert not tree.visualRect(model.index(0, SpanColumn.DURATION, root)).isValid()
    tree.expand(root)
    assert tree.isExpanded(worker) and tree.visualRect(deep).isValid()  # the subtree's own state kept
    assert seen == [] and model.span_count() == 10_000


def test_j_k_h_l_and_the_arrows_move_through_the_tree_and_enter_opens_the_span(qtbot, big_window):
    window, big = big_window
    waterfall, model, tree = window.waterfall, window.waterfall.model, window.waterfall.tree
    tree.setFocus()

    def current() -> str:
        return waterfall.selected_span().span_id

    assert current() == big.root_span_id
    QTest.keyClick(tree, Qt.Key.Key_J)
    assert current() == big.deep_path[1]  # the first worker: the root's first child
    QTest.keyClick(tree, Qt.Key.Key_J)
    first_chat = current()
    assert model.span_at(model.index_of(first_chat)).parent_span_id == big.deep_path[1]
    QTest.keyClick(tree, Qt.Key.Key_K)
    assert current() == big.deep_path[1]
    QTest.keyClick(tree, Qt.Key.Key_Down)
    assert current() == first_chat
    QTest.keyClick(tree, Qt.Key.Key_Up)
    assert current() == big.deep_path[1]
    QTest.keyClick(tree, Qt.Key.Key_L)  # expanded already: to its first child
    assert current() == first_chat
    QTest.keyClick(tree, Qt.Key.Key_L)  # a leaf: nowhere to go
    assert current() == first_chat
    QTest.keyClick(tree, Qt.Key.Key_H)  # a leaf: to its parent
    assert current() == big.deep_path[1]
    QTest.keyClick(tree, Qt.Key.Key_H)  # expanded: collapses
    assert current() == big.deep_path[1] and not tree.isExpanded(model.index_of(big.deep_path[1]))
    QTest.keyClick(tree, Qt.Key.Key_J)  # past the collapsed subtree: the next worker
    assert model.span_at(model.index_of(current())).name == "invoke_agent worker-1"
    QTest.keyClick(tree, Qt.Key.Key_K)
    QTest.keyClick(tree, Qt.Key.Key_Right)  # collapsed: expands
    assert current() == big.deep_path[1] and tree.isExpanded(model.index_of(big.deep_path[1]))
    QTest.keyClick(tree, Qt.Key.Key_Right)
    assert current() == first_chat
    QTest.keyClick(tree, Qt.Key.Key_Left)
    assert current() == big.deep_path[1]

    with qtbot.waitSignal(waterfall.sig_span_opened) as opened:
        QTest.keyClick(tree, Qt.Key.Key_Return)
    assert opened.args[0].span_id == big.deep_path[1]
    assert window.inspector.isAncestorOf(window.focusWidget())  # the keyboard is in the inspector now
    qtbot.waitUntil(lambda: window.inspector.span().span_id == big.deep_path[1], timeout=WAIT_MS)


def test_spans_arriving_in_a_big_open_trace_come_in_as_blocks_of_rows(qtbot, big_window):
    window, big = big_window
    model, tree = window.waterfall.model, window.waterfall.tree
    window.waterfall.select_span(big.deep_span_id)
    seen = _signals(model)
    trace_id, parent = bytes.fromhex(big.trace_id), bytes.fromhex(big.deep_path[1])
    start = model.trace_end_ns
    sub_agent = make_span(trace_id=trace_id, parent_span_id=parent, name="invoke_agent late-helper",
                          start_ns=start, duration_ns=900_000_000, attributes={"gen_ai.operation.name": "invoke_agent"})
    steps = [make_span(trace_id=trace_id, parent_span_id=sub_agent.span_id, name=f"execute_tool step-{i}",
                       start_ns=start + (i + 1) * 1_000_000, attributes={"gen_ai.operation.name": "execute_tool"})
             for i in range(300)]
    _send(window, *steps, sub_agent)
    qtbot.waitUntil(lambda: model.span_count() == 10_301, timeout=WAIT_MS)
    assert seen == ["rowsInserted"]  # the agent's row, bringing its 300 steps: one signal, no reset
    late = model.index_of(sub_agent.span_id.hex())
    assert model.rowCount(late) == 300 and tree.isExpanded(late)  # arriving spans open
    assert window.waterfall.selected_span().span_id == big.deep_span_id


def test_a_growth_that_would_move_many_rows_resets_and_keeps_the_users_view(qtbot, big_window):
    window, big = big_window
    waterfall, model, tree = window.waterfall, window.waterfall.model, window.waterfall.tree
    trace_id, root = bytes.fromhex(big.trace_id), bytes.fromhex(big.root_span_id)
    start = model.trace_end_ns
    late_agent = make_span(trace_id=trace_id, parent_span_id=root, name="invoke_agent late-batch", start_ns=start,
                           duration_ns=900_000_000, attributes={"gen_ai.operation.name": "invoke_agent"})
    children = [make_span(trace_id=trace_id, parent_span_id=late_agent.span_id, name=f"chat step-{i}",
                          start_ns=start + (i + 1) * 1_000_000, attributes={"gen_ai.operation.name": "chat"})
                for i in range(REGROW_RESET_MOVES + 8)]
    _send(window, *children)  # children end first: they wait at the top level for their agent
    qtbot.waitUntil(lambda: model.span_count() == 10_000 + len(children), timeout=WAIT_MS)
    assert model.rowCount() == 1 + len(children)

    waterfall.select_span(big.deep_span_id)
    worker_1 = waterfall.first_span(lambda span: span.name == "invoke_agent worker-1").span_id
    tree.collapse(model.index_of(worker_1))  # the user's own collapse
    waterfall.zoom_to(model.trace_start_ns, model.trace_start_ns + 60_000_000_000)
    tree.scrollTo(model.index_of(big.deep_path[1]), QAbstractItemView.ScrollHint.PositionAtTop)
    zoom = (waterfall.view_start_ns, waterfall.view_end_ns)
    seen, selected = _signals(model), []
    waterfall.sig_span_selected.connect(selected.append)

    _send(window, late_agent)  # adopting them all would be 40 moves: one reset instead
    qtbot.waitUntil(lambda: model.span_count() == 10_001 + len(children), timeout=WAIT_MS)

    assert seen == ["modelReset"]
    assert model.rowCount() == 1 and model.rowCount(model.index_of(late_agent.span_id.hex())) == len(children)
    assert waterfall.selected_span().span_id == big.deep_span_id and selected == []
    assert not tree.isExpanded(model.index_of(worker_1))
    assert tree.isExpanded(model.index_of(big.deep_path[1]))
    assert (waterfall.view_start_ns, waterfall.view_end_ns) == zoom
    assert model.span_at(tree.indexAt(QPoint(0, 0))).span_id == big.deep_path[1]  # the same rows in view
