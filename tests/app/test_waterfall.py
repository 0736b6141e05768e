"""WaterfallView on the demo's stored traces, driven with real mouse, wheel and key events:
selecting spans, moving through the tree with j / k / h / l, zooming and panning the shared time
axis, a trace that grows while it is open, bars painted in their category colours, and header
tooltips."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QMouseEvent, QPalette, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from app.models.span_tree_model import SpanColumn
from app.span_category import CATEGORY_COLOURS, ERROR_COLOUR, category_of
from app.widgets.time_axis import format_offset, tick_offsets, tick_step
from app.widgets.waterfall import WaterfallView
from receiver import TraceDetail
from receiver.records import StoredSpan

MS = 1_000_000


def _view(qtbot, detail: TraceDetail | None) -> WaterfallView:
    view = WaterfallView()
    qtbot.addWidget(view)
    view.resize(900, 320)
    view.set_trace(detail)
    view.show()
    qtbot.waitExposed(view)
    return view


def _by_name(detail: TraceDetail, fragment: str) -> StoredSpan:
    return next(span for span in detail.spans if fragment in span.name)


def _ordered(detail: TraceDetail) -> list[StoredSpan]:
    return sorted(detail.spans, key=lambda s: s.start_time_unix_nano)


def _bar_point(view: WaterfallView, span: StoredSpan, fraction: float = 0.5) -> QPoint:
    """A point (viewport coordinates) inside the span's bar."""
    area = view.tree.header().axis_area()
    ns = span.start_time_unix_nano + fraction * span.duration_ns
    x = view.time_window.x_of(ns, area.left(), area.width())
    row = view.tree.visualRect(view.model.index_of(span.span_id, SpanColumn.TIMELINE))
    return QPoint(round(x), row.center().y())


def _timeline_point(view: WaterfallView, fraction: float, row: int = 0) -> QPoint:
    area = view.tree.header().axis_area()
    index = view.model.index(row, SpanColumn.TIMELINE)
    return QPoint(round(area.left() + fraction * area.width()), view.tree.visualRect(index).center().y())


def _wheel(view: WaterfallView, at: QPoint, notches: float, modifiers=Qt.KeyboardModifier.ControlModifier) -> None:
    viewport = view.tree.viewport()
    event = QWheelEvent(QPointF(at), QPointF(viewport.mapToGlobal(at)), QPoint(0, 0), QPoint(0, round(120 * notches)),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def test_clicking_a_row_selects_its_span(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    tool = _by_name(first_turn, "execute_tool")
    row = view.tree.visualRect(view.model.index_of(tool.span_id, SpanColumn.DURATION))
    with qtbot.waitSignal(view.sig_span_selected) as selected:
        QTest.mouseClick(view.tree.viewport(), Qt.MouseButton.LeftButton, pos=row.center())
    assert selected.args == [tool]
    assert view.selected_span() == tool


def test_select_span_reveals_and_selects_a_span_inside_a_collapsed_agent(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    view.tree.collapseAll()
    claude = _by_name(first_turn, "claude")
    with qtbot.waitSignal(view.sig_span_selected) as selected:
        assert view.select_span(claude.span_id)
    assert selected.args == [claude] and view.selected_span() == claude
    assert view.tree.isExpanded(view.model.index_of(claude.parent_span_id))
    assert view.tree.visualRect(view.model.index_of(claude.span_id)).isValid()  # on screen
    assert not view.select_span("ffffffffffffffff")
    assert view.first_span(lambda s: s.genai.get("operation") == "execute_tool") == _by_name(first_turn, "execute_")


def test_zoom_to_narrows_the_window_and_reset_zoom_shows_the_whole_trace(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    start, end = view.model.trace_start_ns, view.model.trace_end_ns
    assert (view.view_start_ns, view.view_end_ns) == (start, end)
    view.zoom_to(start + 1_000 * MS, start + 2_000 * MS)
    assert (view.view_start_ns, view.view_end_ns) == (start + 1_000 * MS, start + 2_000 * MS)
    view.zoom_to(end - 500 * MS, end + 10_000 * MS)  # past the trace: clamped, width kept where possible
    assert view.view_end_ns == end and view.view_start_ns < end - 500 * MS
    view.reset_zoom()
    assert (view.view_start_ns, view.view_end_ns) == (start, end)


def test_ctrl_wheel_zooms_around_the_cursor_and_a_plain_wheel_scrolls(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    at = _timeline_point(view, 0.25)
    area = view.tree.header().axis_area()
    before = view.time_window.ns_at(at.x(), area.left(), area.width())
    _wheel(view, at, 2)
    assert view.time_window.width < (view.model.trace_end_ns - view.model.trace_start_ns) * 0.7
    after = view.time_window.ns_at(at.x(), area.left(), area.width())
    assert abs(after - before) < view.time_window.width / area.width()  # the time under the cursor stays put
    zoomed = (view.view_start_ns, view.view_end_ns)
    _wheel(view, at, 1, Qt.KeyboardModifier.NoModifier)
    assert (view.view_start_ns, view.view_end_ns) == zoomed
    _wheel(view, at, -10)
    assert not view.time_window.is_zoomed  # zooming out stops at the whole trace


def test_a_wheel_over_the_axis_zooms_and_a_double_click_on_it_shows_the_whole_trace(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    header = view.tree.header()
    area = header.axis_area()
    at = QPoint(area.left() + area.width() // 2, header.height() // 2)
    event = QWheelEvent(QPointF(at), QPointF(header.viewport().mapToGlobal(at)), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(header.viewport(), event)
    assert view.time_window.is_zoomed
    QTest.mouseDClick(header.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert not view.time_window.is_zoomed


def test_plus_minus_and_zero_keys_zoom_in_out_and_back(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    view.tree.setFocus()
    whole = view.time_window.width
    root = view.model.index(0, 0)
    QTest.keyClick(view.tree, Qt.Key.Key_Plus)
    assert view.time_window.width < whole
    assert view.tree.isExpanded(root)  # + zooms; it does not collapse or expand the row
    zoomed = view.time_window.width
    QTest.keyClick(view.tree, Qt.Key.Key_Minus)
    assert zoomed < view.time_window.width
    QTest.keyClick(view.tree, Qt.Key.Key_Plus)
    QTest.keyClick(view.tree, Qt.Key.Key_0)
    assert view.time_window.width == whole and not view.time_window.is_zoomed


def test_dragging_the_timeline_pans_a_zoomed_window(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    start = view.model.trace_start_ns
    view.zoom_to(start + 3_000 * MS, start + 5_000 * MS)
    viewport = view.tree.viewport()
    press, to = _timeline_point(view, 0.5, row=0), _timeline_point(view, 0.75, row=0)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=press)
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, QPointF(to), QPointF(viewport.mapToGlobal(to)),
                                                 Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
                                                 Qt.KeyboardModifier.NoModifier))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=to)
    # dragged a quarter of the column to the right: the window moved a quarter of its width earlier
    assert abs(view.view_start_ns - (start + 2_500 * MS)) < 20 * MS
    assert view.time_window.width == 2_000 * MS


def test_double_clicking_a_bar_zooms_to_its_span(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    retrieval = _by_name(first_turn, "retrieval")
    QTest.mouseDClick(view.tree.viewport(), Qt.MouseButton.LeftButton, pos=_bar_point(view, retrieval))
    assert view.view_start_ns <= retrieval.start_time_unix_nano < retrieval.end_time_unix_nano <= view.view_end_ns
    assert view.time_window.width < retrieval.duration_ns * 1.2


def test_a_growing_trace_keeps_selection_expansion_and_zoom(qtbot, first_turn):
    ordered = _ordered(first_turn)
    view = _view(qtbot, TraceDetail(first_turn.trace_id, ordered[:4], []))
    chat, retrieval = ordered[1], ordered[3]
    view.select_span(chat.span_id)
    view.tree.collapse(view.model.index_of(retrieval.span_id))
    start = view.model.trace_start_ns
    view.zoom_to(start + 1_000 * MS, start + 4_000 * MS)
    emitted = []
    view.sig_span_selected.connect(emitted.append)

    view.set_trace(first_turn)

    assert view.selected_span() == chat and emitted == []
    assert not view.tree.isExpanded(view.model.index_of(retrieval.span_id))  # the user's collapse stays
    claude = _by_name(first_turn, "claude")
    assert view.tree.visualRect(view.model.index_of(claude.span_id)).isValid()  # a new agent opens as it arrives
    assert (view.view_start_ns, view.view_end_ns) == (start + 1_000 * MS, start + 4_000 * MS)


def test_another_trace_expands_everything_and_clears_the_selection(qtbot, demo_traces):
    view = _view(qtbot, demo_traces[2])
    view.select_span(_by_name(demo_traces[2], "claude").span_id)
    view.zoom_to(view.model.trace_start_ns, view.model.trace_start_ns + 1_000 * MS)
    with qtbot.waitSignal(view.sig_span_selected) as selected:
        view.set_trace(demo_traces[1])
    assert selected.args == [None] and view.selected_span() is None
    assert not view.time_window.is_zoomed
    assert view.tree.isExpanded(view.model.index(0, 0))
    view.set_trace(None)
    assert view.model.rowCount() == 0 and not view.tree.isVisible()  # the "Select a trace" placeholder instead


def test_bars_are_painted_in_their_category_colours_on_light_and_dark_palettes(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    for palette in (view.palette(), _dark_palette()):
        view.setPalette(palette)
        image = view.tree.viewport().grab().toImage()
        for span in first_turn.spans:
            # away from the duration label a long bar carries inside
            fraction = 0.25 if span.duration_ns > 2_000 * MS else 0.5
            point = _bar_point(view, span, fraction)
            assert image.pixelColor(point).name() == CATEGORY_COLOURS[category_of(span.genai)], span.name


def test_an_error_span_is_painted_in_the_error_colour(qtbot, demo_traces):
    view = _view(qtbot, demo_traces[1])
    failed = next(s for s in demo_traces[1].spans if s.status_code == 2)
    image = view.tree.viewport().grab().toImage()
    assert image.pixelColor(_bar_point(view, failed, 0.3)).name() == ERROR_COLOUR


def test_axis_ticks_are_round_steps_labelled_in_readable_units():
    assert tick_step(9_400 * MS, 320, 64) == 2_000 * MS
    assert tick_step(1_000 * MS, 400, 64) == 200 * MS
    assert tick_step(2_000, 300, 64) == 500
    assert [format_offset(t, 250 * MS) for t in tick_offsets(0, 1_500 * MS, 250 * MS)] == [
        "0 ms", "250 ms", "500 ms", "750 ms", "1 s", "1.25 s", "1.5 s"]
    assert format_offset(0, 2_000 * MS) == "0 s"
    assert format_offset(1_350_200 * 1_000, 100_000) == "1.3502 s"
    assert format_offset(1_500, 500) == "1.5 µs"


def _dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#1e1f22"), (QPalette.ColorRole.WindowText, "#dfe1e5"),
                         (QPalette.ColorRole.Base, "#17181a"), (QPalette.ColorRole.AlternateBase, "#222326"),
                         (QPalette.ColorRole.Text, "#dfe1e5"), (QPalette.ColorRole.Button, "#2b2d30"),
                         (QPalette.ColorRole.ButtonText, "#dfe1e5"), (QPalette.ColorRole.Highlight, "#2f65ca"),
                         (QPalette.ColorRole.HighlightedText, "#ffffff"),
                         (QPalette.ColorRole.PlaceholderText, "#8c8f94")):
        palette.setColor(role, QColor(colour))
    return palette


def test_j_k_h_l_move_collapse_and_expand_and_enter_opens_the_span(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    tree = view.tree
    ordered = _ordered(first_turn)
    agent, first_chat, retrieval = ordered[0], ordered[1], _by_name(first_turn, "retrieval")
    view.select_span(agent.span_id)
    QTest.keyClick(tree, Qt.Key.Key_J)
    assert view.selected_span() == first_chat
    QTest.keyClick(tree, Qt.Key.Key_K)
    assert view.selected_span() == agent
    view.select_span(retrieval.span_id)
    QTest.keyClick(tree, Qt.Key.Key_H)  # expanded: collapses, stays
    assert view.selected_span() == retrieval and not tree.isExpanded(view.model.index_of(retrieval.span_id))
    QTest.keyClick(tree, Qt.Key.Key_J)  # over its hidden child, to the next agent
    assert view.selected_span() == _by_name(first_turn, "refund-agent")
    QTest.keyClick(tree, Qt.Key.Key_K)
    QTest.keyClick(tree, Qt.Key.Key_L)  # collapsed: expands, stays
    assert view.selected_span() == retrieval and tree.isExpanded(view.model.index_of(retrieval.span_id))
    QTest.keyClick(tree, Qt.Key.Key_L)  # expanded: its first child
    assert view.selected_span() == _by_name(first_turn, "embeddings")
    QTest.keyClick(tree, Qt.Key.Key_H)  # a leaf: its parent
    assert view.selected_span() == retrieval
    QTest.keyClick(tree, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)  # not ours: the tree's
    with qtbot.waitSignal(view.sig_span_opened) as opened:
        QTest.keyClick(tree, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)
    assert opened.args == [view.selected_span()]


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # offscreen shows the tooltip all the same
def test_every_column_header_explains_itself_in_a_tooltip(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    header = view.tree.header()
    for column in SpanColumn:
        tip = view.model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
        assert tip and len(tip) > 20, column
    at = QPoint(header.sectionViewportPosition(SpanColumn.COST) + 5, header.height() // 2)
    QApplication.sendEvent(header.viewport(), QHelpEvent(QEvent.Type.ToolTip, at, header.viewport().mapToGlobal(at)))
    qtbot.waitUntil(lambda: QToolTip.isVisible())
    assert QToolTip.text() == view.model.headerData(SpanColumn.COST, Qt.Orientation.Horizontal,
                                                    Qt.ItemDataRole.ToolTipRole)
    QToolTip.hideText()


def test_find_matches_are_painted_with_a_highlighters_background(qtbot, first_turn):
    view = _view(qtbot, first_turn)
    tool, claude = _by_name(first_turn, "execute_tool"), _by_name(first_turn, "claude")
    view.select_span(_ordered(first_turn)[0].span_id)

    def background(span: StoredSpan, column: SpanColumn) -> QColor:
        image = view.tree.viewport().grab().toImage()
        cell = view.tree.visualRect(view.model.index_of(span.span_id, column))
        return image.pixelColor(cell.right() - 3, cell.top() + 2)  # right of the text, above the bar

    plain = {column: background(tool, column) for column in (SpanColumn.DURATION, SpanColumn.TIMELINE)}
    view.set_matches([tool.span_id, claude.span_id])
    assert view.match_ids() == {tool.span_id, claude.span_id}
    for column, before in plain.items():
        for span in (tool, claude):
            marked = background(span, column)
            assert marked != before and marked.red() > marked.blue() + 20, (span.name, column)  # amber on the base
    unmarked = background(_by_name(first_turn, "retrieval"), SpanColumn.DURATION)
    assert abs(unmarked.red() - unmarked.blue()) < 10  # the plain (grey or white) base
    view.set_matches([])
    assert background(tool, SpanColumn.DURATION) == plain[SpanColumn.DURATION]
