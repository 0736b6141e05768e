"""SpanTreeModel over the demo's stored traces: the tree a developer expects (children in start
order), tokens and cost on model calls only, errors and missing parents flagged, and a trace
that is still arriving merged in place (blocks of inserts and moves; a reset only when that
would move many rows) so a view keeps its state; tree order for find; 10,000 spans at once.
Qt's model tester watches every change."""

from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QImage

from app.models.span_tree_model import (
    CATEGORY_ROLE,
    END_NS_ROLE,
    ERROR_ROLE,
    EVALUATIONS_ROLE,
    ORPHAN_ROLE,
    REGROW_RESET_MOVES,
    SPAN_ROLE,
    START_NS_ROLE,
    SpanColumn,
    SpanTreeModel,
)
from app.span_category import ERROR_COLOUR
from receiver import TraceDetail
from receiver.records import StoredEvaluation, StoredResource, StoredScope, StoredSpan


def _by_name(detail: TraceDetail, fragment: str) -> StoredSpan:
    return next(span for span in detail.spans if fragment in span.name)


def _children(model: SpanTreeModel, parent: QModelIndex = QModelIndex()) -> list[str]:  # noqa: B008
    return [model.data(model.index(row, SpanColumn.NAME, parent)) for row in range(model.rowCount(parent))]


def _text(model: SpanTreeModel, span: StoredSpan, column: SpanColumn) -> str | None:
    return model.data(model.index_of(span.span_id, column))


def _shape(model: SpanTreeModel, parent: QModelIndex = QModelIndex()) -> list[tuple[str, list]]:  # noqa: B008
    """The tree as (span id, children) pairs, for comparing two models."""
    return [(model.data(index, SPAN_ROLE).span_id, _shape(model, index))
            for index in (model.index(row, 0, parent) for row in range(model.rowCount(parent)))]


def _partial(detail: TraceDetail, spans: list[StoredSpan]) -> TraceDetail:
    return TraceDetail(detail.trace_id, spans, detail.logs)


def _in_start_order(detail: TraceDetail) -> list[StoredSpan]:
    return sorted(detail.spans, key=lambda s: s.start_time_unix_nano)


def test_the_first_turn_is_a_tree_with_children_in_start_order(qtmodeltester, first_turn):
    model = SpanTreeModel()
    model.set_trace(first_turn)
    qtmodeltester.check(model)

    assert _children(model) == ["invoke_agent support-agent"]
    root = model.index(0, 0)
    assert _children(model, root) == ["chat gpt-4o-mini", "execute_tool lookup_order", "retrieval refund-policy",
                                      "invoke_agent refund-agent", "chat gpt-4o-mini"]
    assert _children(model, model.index(2, 0, root)) == ["embeddings text-embedding-3-small"]
    assert _children(model, model.index(3, 0, root)) == ["chat claude-3-5-sonnet-20241022"]
    for span in first_turn.spans:  # every span under its own parent, found by its id
        index = model.index_of(span.span_id)
        assert model.span_at(index) == span
        parent = model.span_at(index.parent())
        assert (parent.span_id if parent is not None else None) == span.parent_span_id
        assert not model.data(index, ORPHAN_ROLE)
    assert model.span_count() == 8
    assert model.trace_start_ns == min(s.start_time_unix_nano for s in first_turn.spans)
    assert model.trace_end_ns - model.trace_start_ns == 9_400_000_000
    assert [s.name for s in model.spans_in_tree_order()][:4] == [
        "invoke_agent support-agent", "chat gpt-4o-mini", "execute_tool lookup_order", "retrieval refund-policy"]
    assert model.first_span(lambda s: s.genai.get("operation") == "embeddings").name.startswith("embeddings")


def test_columns_show_durations_and_tokens_and_cost_only_on_model_calls(first_turn):
    model = SpanTreeModel()
    model.set_trace(first_turn)
    first_chat = _in_start_order(first_turn)[1]
    tool, embeddings = _by_name(first_turn, "execute_tool"), _by_name(first_turn, "embeddings")
    claude = _by_name(first_turn, "claude")

    assert _text(model, first_chat, SpanColumn.NAME) == "chat gpt-4o-mini"
    assert _text(model, first_chat, SpanColumn.DURATION) == "1.15 s"
    assert _text(model, first_chat, SpanColumn.TOKENS) == "412/24"
    assert _text(model, first_chat, SpanColumn.COST) == "$0.0000762"  # exact, not "<$0.01"
    assert _text(model, claude, SpanColumn.TOKENS) == "1836/31"
    assert _text(model, claude, SpanColumn.COST) == "$0.00183"
    assert _text(model, embeddings, SpanColumn.TOKENS) == "14"  # embeddings have no output tokens
    assert _text(model, embeddings, SpanColumn.COST) == "$0.00000028"
    assert _text(model, tool, SpanColumn.DURATION) == "140 ms"
    assert _text(model, tool, SpanColumn.TOKENS) == "" and _text(model, tool, SpanColumn.COST) == ""
    root = _by_name(first_turn, "support-agent")
    assert _text(model, root, SpanColumn.TOKENS) == "" and _text(model, root, SpanColumn.COST) == ""

    timeline = model.index_of(first_chat.span_id, SpanColumn.TIMELINE)
    assert model.data(timeline) is None  # the delegate paints the bar
    assert model.data(timeline, START_NS_ROLE) - model.trace_start_ns == 20_000_000
    assert model.data(timeline, END_NS_ROLE) - model.data(timeline, START_NS_ROLE) == 1_150_000_000
    assert [model.data(model.index_of(s.span_id), CATEGORY_ROLE) for s in _in_start_order(first_turn)] == [
        "agent", "chat", "tool", "retrieval", "embeddings", "agent", "chat", "chat"]
    cost = model.index_of(first_chat.span_id, SpanColumn.COST)
    assert model.data(cost, Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    assert isinstance(model.data(model.index_of(first_chat.span_id), Qt.ItemDataRole.DecorationRole), QImage)
    assert "gpt-4o-mini" in model.data(model.index_of(first_chat.span_id), Qt.ItemDataRole.ToolTipRole)


def test_a_span_from_another_service_names_its_service(first_turn):
    tool = _by_name(first_turn, "execute_tool")
    spans = [dataclasses.replace(s, service_name="order-service") if s is tool else s for s in first_turn.spans]
    model = SpanTreeModel()
    model.set_trace(_partial(first_turn, spans))
    assert _text(model, tool, SpanColumn.NAME) == "execute_tool lookup_order · order-service"
    assert _text(model, _by_name(first_turn, "retrieval"), SpanColumn.NAME) == "retrieval refund-policy"


def test_the_rate_limited_call_is_marked_as_an_error(demo_traces):
    rate_limited = demo_traces[1]
    model = SpanTreeModel()
    model.set_trace(rate_limited)
    failed = next(s for s in rate_limited.spans if s.status_code == 2)
    index = model.index_of(failed.span_id)
    assert model.data(index, ERROR_ROLE) is True
    assert model.data(index, Qt.ItemDataRole.ForegroundRole) == QColor(ERROR_COLOUR)
    assert "Rate limit reached" in model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert _text(model, failed, SpanColumn.TOKENS) == ""  # no usage came back
    ok = [s for s in rate_limited.spans if s.status_code != 2]
    assert not any(model.data(model.index_of(s.span_id), ERROR_ROLE) for s in ok)
    assert model.data(model.index_of(ok[0].span_id), Qt.ItemDataRole.ForegroundRole) is None


def test_a_span_whose_parent_never_arrived_hangs_at_the_top_level_flagged(qtmodeltester, first_turn):
    embeddings = _by_name(first_turn, "embeddings")
    lost = dataclasses.replace(embeddings, parent_span_id="00000000deadbeef")
    model = SpanTreeModel()
    model.set_trace(_partial(first_turn, [lost if s is embeddings else s for s in first_turn.spans]))
    qtmodeltester.check(model)

    assert _children(model) == ["invoke_agent support-agent", "embeddings text-embedding-3-small"]
    index = model.index_of(lost.span_id)
    assert not index.parent().isValid()
    assert model.data(index, ORPHAN_ROLE) is True
    assert "00000000deadbeef" in model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert "never arrived" in model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert model.data(index, Qt.ItemDataRole.FontRole).italic()
    assert not model.data(model.index_of(_by_name(first_turn, "retrieval").span_id), ORPHAN_ROLE)


def test_more_spans_of_the_same_trace_are_inserted_without_a_reset(qtbot, qtmodeltester, first_turn):
    ordered = _in_start_order(first_turn)
    model = SpanTreeModel()
    model.set_trace(_partial(first_turn, ordered[:4]))
    qtmodeltester.check(model)  # the tester stays connected and checks the growth below
    assert _children(model, model.index(0, 0)) == ["chat gpt-4o-mini", "execute_tool lookup_order",
                                                    "retrieval refund-policy"]
    tool = QPersistentModelIndex(model.index_of(ordered[2].span_id))  # what a view's selection holds
    resets, inserted = [], []
    model.modelReset.connect(lambda: resets.append(True))
    model.rowsInserted.connect(lambda parent, first, last: inserted.append(last - first + 1))
    model.set_trace(first_turn)

    # one block per run of new siblings; the sub-agent's chat comes in with the sub-agent's row
    assert resets == [] and inserted == [1, 2]
    assert tool.isValid() and model.data(tool, SPAN_ROLE).span_id == ordered[2].span_id
    whole = SpanTreeModel()
    whole.set_trace(first_turn)
    assert _shape(model) == _shape(whole)  # the same tree as loading it at once
    qtmodeltester.check(model)


def test_an_orphan_moves_under_its_parent_when_the_parent_arrives(qtmodeltester, first_turn):
    retrieval = _by_name(first_turn, "retrieval")
    embeddings = _by_name(first_turn, "embeddings")
    model = SpanTreeModel()
    model.set_trace(_partial(first_turn, [s for s in first_turn.spans if s is not retrieval]))
    qtmodeltester.check(model)
    waiting = QPersistentModelIndex(model.index_of(embeddings.span_id))
    assert not waiting.parent().isValid() and model.data(waiting, ORPHAN_ROLE)

    moved, resets = [], []
    model.rowsMoved.connect(lambda *args: moved.append(args))
    model.modelReset.connect(lambda: resets.append(True))
    model.set_trace(first_turn)

    assert len(moved) == 1 and resets == []
    assert waiting.isValid() and model.span_at(waiting.parent()) == retrieval
    assert not model.data(waiting, ORPHAN_ROLE)
    assert _children(model) == ["invoke_agent support-agent"]
    qtmodeltester.check(model)


def test_children_that_end_first_arrive_first_and_are_adopted_by_their_root(qtbot, qtmodeltester, first_turn):
    """Spans are exported as they end: the root, which ends last, usually arrives last."""
    root = _by_name(first_turn, "support-agent")
    model = SpanTreeModel()
    model.set_trace(_partial(first_turn, [s for s in first_turn.spans if s is not root]))
    qtmodeltester.check(model)
    assert model.rowCount() == 5 and all(model.data(model.index(row, 0), ORPHAN_ROLE) for row in range(5))
    streamed = QPersistentModelIndex(model.index(4, 0))

    with qtbot.waitSignal(model.sig_time_range_changed) as grown:
        model.set_trace(first_turn)

    assert grown.args == [root.start_time_unix_nano, root.end_time_unix_nano]
    assert _children(model) == ["invoke_agent support-agent"]
    assert model.span_at(streamed.parent()) == root and not model.data(streamed, ORPHAN_ROLE)
    assert model.rowCount(model.index(0, 0)) == 5
    qtmodeltester.check(model)


def test_a_span_that_changed_is_updated_in_place(qtbot, first_turn):
    claude = _by_name(first_turn, "claude")
    before = dataclasses.replace(claude, genai={**claude.genai, "cost_usd": None})  # not priced yet
    model = SpanTreeModel()
    model.set_trace(_partial(first_turn, [before if s is claude else s for s in first_turn.spans]))
    assert _text(model, claude, SpanColumn.COST) == "no price"
    with qtbot.waitSignal(model.dataChanged) as changed:
        model.set_trace(first_turn)
    assert model.span_at(changed.args[0]) == claude
    assert _text(model, claude, SpanColumn.COST) == "$0.00183"


def test_another_trace_or_none_resets_the_model(qtbot, qtmodeltester, demo_traces):
    model = SpanTreeModel()
    qtmodeltester.check(model)
    model.set_trace(demo_traces[2])
    old = model.index_of(demo_traces[2].spans[0].span_id)
    with qtbot.waitSignal(model.modelReset):
        model.set_trace(demo_traces[0])
    assert model.span_count() == 2 and model.trace_id == demo_traces[0].trace_id
    assert model.data(old) is None  # a stale index reads as empty, never as another span
    with qtbot.waitSignal(model.modelReset):
        model.set_trace(None)
    assert model.rowCount() == 0 and model.trace_id is None


def test_a_parent_cycle_does_not_hang_or_hide_spans(qtmodeltester, first_turn):
    tool, retrieval = _by_name(first_turn, "execute_tool"), _by_name(first_turn, "retrieval")
    looped = {tool.span_id: dataclasses.replace(tool, parent_span_id=retrieval.span_id),
              retrieval.span_id: dataclasses.replace(retrieval, parent_span_id=tool.span_id)}
    model = SpanTreeModel()
    qtmodeltester.check(model)
    model.set_trace(_partial(first_turn, [looped.get(s.span_id, s) for s in first_turn.spans]))
    assert sorted(s.span_id for s in model.spans_in_tree_order()) == sorted(s.span_id for s in first_turn.spans)


def test_a_span_resent_with_another_start_moves_to_where_it_now_sorts(qtmodeltester, first_turn):
    tool = _by_name(first_turn, "execute_tool")
    early = dataclasses.replace(tool, start_time_unix_nano=tool.start_time_unix_nano - 1_180_000_000)
    model = SpanTreeModel()
    model.set_trace(_partial(first_turn, [early if s is tool else s for s in first_turn.spans]))
    qtmodeltester.check(model)
    assert _children(model, model.index(0, 0))[:2] == ["execute_tool lookup_order", "chat gpt-4o-mini"]
    kept = QPersistentModelIndex(model.index_of(tool.span_id))
    model.set_trace(first_turn)
    assert _children(model, model.index(0, 0))[:3] == ["chat gpt-4o-mini", "execute_tool lookup_order",
                                                       "retrieval refund-policy"]
    assert kept.isValid() and kept.row() == 1 and model.span_at(kept) == tool


def _span(span_id: str, parent: str | None, start: int, operation: str = "chat") -> StoredSpan:
    return StoredSpan("ab" * 16, span_id, parent, f"{operation} {span_id}", 1, start, start + 1_000, 0, "", "", 0, {},
                      [], [], 0, 0, 0, "svc", StoredResource({}), StoredScope("", ""), {"operation": operation})


def _synthetic(spans: list[StoredSpan]) -> TraceDetail:
    return TraceDetail("ab" * 16, spans, [])


def test_span_ids_are_put_in_tree_order(first_turn):
    model = SpanTreeModel()
    model.set_trace(first_turn)
    tool, claude = _by_name(first_turn, "execute_tool"), _by_name(first_turn, "claude")
    streamed = _in_start_order(first_turn)[-1]
    # depth first, as the rows read: the sub-agent's chat before the streamed chat that started after it
    assert model.in_tree_order([streamed.span_id, "ffffffffffffffff", claude.span_id, tool.span_id]) == [
        tool.span_id, claude.span_id, streamed.span_id]
    assert model.in_tree_order([]) == []


def test_a_growth_inserts_each_run_of_new_siblings_as_one_block(qtmodeltester):
    root = _span("r" * 16, None, 0, "invoke_agent")
    children = [_span(f"{i:016x}", root.span_id, 10 * (i + 1)) for i in range(100)]
    model = SpanTreeModel()
    model.set_trace(_synthetic([root, *children[::2]]))  # every other child first
    qtmodeltester.check(model)
    grandchildren = [_span(f"g{i:015x}", children[1].span_id, 20 + i) for i in range(3)]
    late = [_span(f"l{i:015x}", root.span_id, 10_000 + i) for i in range(60)]
    inserted, resets = [], []
    model.rowsInserted.connect(lambda parent, first, last: inserted.append((model.span_at(parent), first, last)))
    model.modelReset.connect(lambda: resets.append(True))

    model.set_trace(_synthetic([root, *children, *grandchildren, *late]))

    # 49 single rows between their siblings (one bringing its 3 children), then the last one and the
    # 60 late ones together: one block of 61 rows
    assert resets == [] and len(inserted) == 50
    assert inserted[-1] == (root, 99, 159)
    assert [model.span_at(model.index(row, 0, model.index(0, 0))).span_id for row in range(160)] == [
        s.span_id for s in (*children, *late)]
    assert model.rowCount(model.index_of(children[1].span_id)) == 3
    qtmodeltester.check(model)


def test_children_waiting_for_many_moves_make_one_reset_with_the_same_tree(qtbot, qtmodeltester):
    root = _span("r" * 16, None, 0, "invoke_agent")
    children = [_span(f"{i:016x}", root.span_id, 10 * (i + 1)) for i in range(REGROW_RESET_MOVES + 1)]
    model = SpanTreeModel()
    model.set_trace(_synthetic(children))
    qtmodeltester.check(model)
    assert model.rowCount() == len(children) and model.data(model.index(0, 0), ORPHAN_ROLE)
    with qtbot.waitSignal(model.modelReset):
        model.set_trace(_synthetic([root, *children]))
    whole = SpanTreeModel()
    whole.set_trace(_synthetic([root, *children]))
    assert _shape(model) == _shape(whole)
    qtmodeltester.check(model)


def test_10000_spans_load_in_one_quick_reset(qtbot):
    """An agent with 1,000 steps, each a chat and a tool, the tools running sub-agents 3 deep."""
    spans, clock = [_span("r" * 16, None, 0, "invoke_agent")], 1
    while len(spans) < 10_000:
        parent = spans[0].span_id if len(spans) % 50 else spans[-1].span_id  # now and then one level deeper
        spans.append(_span(f"{len(spans):016x}", parent, clock, "execute_tool" if len(spans) % 2 else "chat"))
        clock += 1
    model = SpanTreeModel()
    started = time.perf_counter()
    model.set_trace(_synthetic(spans))
    elapsed = time.perf_counter() - started
    assert model.span_count() == 10_000
    assert sum(1 for _ in model.spans_in_tree_order()) == 10_000
    assert elapsed < 1.0, elapsed  # ~25 ms on a laptop core; room for a busy CI machine
    index = model.index_of(spans[-1].span_id, SpanColumn.DURATION)
    assert model.data(index) == "1 µs" and model.data(index.siblingAtColumn(0), CATEGORY_ROLE) == "tool"


def _result(evaluation_id: int, span_id: str | None, name: str, passed: int | None) -> StoredEvaluation:
    return StoredEvaluation(evaluation_id, "ab" * 16, span_id, None, name, None, None, None, passed, "log",
                            evaluation_id)


def test_evaluation_results_change_only_their_rows_and_the_trace_s_show_on_the_first_row(qtbot, qtmodeltester):
    root = _span("r" * 16, None, 0, "invoke_agent")
    chat, tool = _span("c" * 16, root.span_id, 10), _span("t" * 16, root.span_id, 20, "execute_tool")
    model = SpanTreeModel()
    relevance = _result(1, chat.span_id, "relevance", 1)
    model.set_trace(TraceDetail("ab" * 16, [root, chat, tool], [], [relevance]))
    qtmodeltester.check(model)
    assert model.data(model.index_of(chat.span_id), EVALUATIONS_ROLE) == (relevance,)
    assert model.data(model.index_of(tool.span_id), EVALUATIONS_ROLE) == ()
    changed = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(model.span_at(top).span_id))
    resets = []
    model.modelReset.connect(lambda: resets.append(True))

    verdict = _result(2, tool.span_id, "tool_correctness", 0)
    on_trace = _result(3, None, "human", 1)
    model.set_trace(TraceDetail("ab" * 16, [root, chat, tool], [], [relevance, verdict, on_trace]))
    assert resets == [] and sorted(changed) == sorted([tool.span_id, root.span_id])  # not the chat's row
    assert model.data(model.index_of(tool.span_id), EVALUATIONS_ROLE) == (verdict,)
    assert model.data(model.index_of(root.span_id), EVALUATIONS_ROLE) == (on_trace,)
    assert model.evaluations_of(root.span_id) == ((), (on_trace,))
    tip = model.data(model.index_of(tool.span_id, SpanColumn.DURATION), Qt.ItemDataRole.ToolTipRole)
    assert "Evaluations:\n✗ tool_correctness: no score" in tip
    qtmodeltester.check(model)
