"""Keyboard first (issue 6): every shortcut of `app.shortcuts` pressed as a user presses it, on a
shown window with a real receiver and the demo traces, and the sheet that lists them all."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QWidget

from app.models.attribute_model import AttributeColumn, AttributeRole
from app.models.trace_list_model import Column, TraceListModel
from app.provider_payloads import OPENAI, ModelCall
from app.receiver_host import ReceiverHost
from app.settings import AppSettings
from app.shortcuts import (
    ANNOTATE,
    COPY_ATTRIBUTE_VALUES,
    COPY_OVERVIEW_VALUE,
    COPY_SPAN_ID,
    COPY_TRACE_IDS,
    DELETE_TRACES,
    EXPORT_TRACE,
    FOCUS_FILTER,
    FOLLOW_LATEST,
    LEAVE_FILTER,
    MARK_BAD,
    MARK_GOOD,
    NEXT_TRACE,
    OPEN_FILES,
    OPEN_PLAYGROUND,
    OPEN_TRACE,
    PIN_TRACES,
    PREVIOUS_TRACE,
    QUIT,
    RUN_PLAYGROUND,
    SHORTCUTS,
    SHOW_CHARTS_PAGE,
    SHOW_LOGS_PAGE,
    SHOW_SESSIONS_PAGE,
    SHOW_SHORTCUTS,
    SHOW_TRACES_PAGE,
    Area,
    TypedKeyShortcut,
    is_typed,
)
from app.widgets.main_window import MainWindow
from app.widgets.playground_window import PlaygroundWindow
from app.widgets.shortcut_sheet import ShortcutSheet, key_label
from app.workers import QueryWorker
from receiver import ReceiverConfig

WAIT_MS = 10_000
CTRL = Qt.KeyboardModifier.ControlModifier
CLAUDE = "claude-3-5-sonnet-20241022"


@pytest.fixture
def window(qtbot, db_path, tmp_path):
    host = ReceiverHost(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0))
    host.start()
    worker = QueryWorker(host.config.db_path)
    worker.store.forbid_queries_on(threading.get_ident())
    made = MainWindow(host, worker, AppSettings(tmp_path / "settings.ini"), remember_layout=False)
    qtbot.addWidget(made)
    made.show()
    with qtbot.waitActive(made):  # shortcuts need the active window
        made.activateWindow()
    yield made
    made.close()
    assert made.worker.shutdown()
    host.stop()


@pytest.fixture
def demo_window(qtbot, window) -> MainWindow:
    with qtbot.waitSignal(window.sig_demo_finished, timeout=WAIT_MS) as finished:
        window.load_demo()
    assert finished.args == [""]
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 3, timeout=WAIT_MS)
    return window


def _focus(qtbot, widget: QWidget) -> None:
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=WAIT_MS)


def _open(qtbot, window: MainWindow, row: int) -> str:
    trace_id = window.list_model.trace_at(row).trace_id
    window.trace_list.select_trace(trace_id)
    qtbot.waitUntil(lambda: window.waterfall.model.trace_id == trace_id
                    and window.waterfall.selected_span() is not None, timeout=WAIT_MS)
    return trace_id


def _current_row(window: MainWindow) -> int:
    return window.trace_list.currentIndex().row()


def _clipboard() -> str:
    return QGuiApplication.clipboard().text()


# --- the table and its bindings ----------------------------------------------------------


def _bound_on(widget: QWidget, key: str) -> bool:
    """`key` is carried by a QAction or QShortcut of `widget`, or watched as typed text in its window."""
    if is_typed(key):
        return any(key in typed.texts for typed in widget.window().findChildren(TypedKeyShortcut))
    wanted = QKeySequence(key)
    if widget.isWindow():  # the window's own actions, and those of its menus and toolbars
        window_wide = (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut)
        actions = [a for a in widget.findChildren(QAction) if a.shortcutContext() in window_wide
                   and a.associatedObjects()]  # added to the window, a menu or a toolbar: live
    else:
        actions = widget.actions()
    shortcuts = [s for s in widget.findChildren(QShortcut) if s.parent() is widget]
    return any(wanted in a.shortcuts() and a.isEnabled() for a in actions) or any(wanted in s.keys() for s in shortcuts)


def test_every_key_the_table_binds_is_bound_where_the_table_says(window, qtbot):
    playground = PlaygroundWindow(ModelCall(OPENAI, "gpt-4o-mini", messages=[{"role": "user", "parts": []}]), None,
                                  "a call")
    qtbot.addWidget(playground)
    where = {SHOW_SHORTCUTS: window, FOCUS_FILTER: window, FOLLOW_LATEST: window, QUIT: window,
             SHOW_TRACES_PAGE: window, SHOW_CHARTS_PAGE: window, SHOW_SESSIONS_PAGE: window, SHOW_LOGS_PAGE: window,
             EXPORT_TRACE: window, OPEN_FILES: window,
             NEXT_TRACE: window.trace_list, PREVIOUS_TRACE: window.trace_list, OPEN_TRACE: window.trace_list,
             COPY_TRACE_IDS: window.trace_list, DELETE_TRACES: window.trace_list,
             LEAVE_FILTER: window.filter_bar.text_edit, COPY_SPAN_ID: window.waterfall.tree,
             COPY_OVERVIEW_VALUE: window.inspector.overview, COPY_ATTRIBUTE_VALUES: window.inspector.attributes.table,
             # pressed in tests/app/test_evaluations_window.py
             MARK_GOOD: window.waterfall.tree, MARK_BAD: window.waterfall.tree, ANNOTATE: window.waterfall.tree,
             PIN_TRACES: window,
             # pressed in tests/app/test_playground_window.py
             OPEN_PLAYGROUND: window.waterfall.tree, RUN_PLAYGROUND: playground}
    # a new entry with keys of its own must say here where it is bound (and get a test below)
    assert set(where) == {entry for entry in SHORTCUTS if entry.bound_keys}
    for entry, widget in where.items():
        for key in entry.bound_keys:
            assert _bound_on(widget, key), f"{key} ({entry.description}) is not bound on {type(widget).__name__}"


def test_every_trace_list_column_header_has_a_tooltip():
    model = TraceListModel()
    for column in Column:
        tip = model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
        assert isinstance(tip, str) and len(tip) > 10, column.name


# --- the sheet ---------------------------------------------------------------------------


def _sheet_shown(qtbot, window: MainWindow) -> ShortcutSheet:
    qtbot.waitUntil(lambda: window.shortcut_sheet is not None and window.shortcut_sheet.isActiveWindow(),
                    timeout=WAIT_MS)
    return window.shortcut_sheet


def _sheet_closed(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.shortcut_sheet.isVisible(), timeout=WAIT_MS)
    with qtbot.waitActive(window):  # a window manager gives it back; offscreen has none
        window.activateWindow()


def test_question_mark_opens_the_sheet_and_question_mark_or_esc_closes_it(qtbot, demo_window):
    window = demo_window
    _focus(qtbot, window.trace_list)
    row = _current_row(window)
    qtbot.keyClick(window.trace_list, "?")
    sheet = _sheet_shown(qtbot, window)
    assert _current_row(window) == row  # the list did not take "?" for a type-ahead search
    qtbot.keyClick(QApplication.focusWidget(), "?")  # where the key goes: the sheet's Close button
    _sheet_closed(qtbot, window)
    # Shift+/ on a US keyboard: the key code carries Shift, the text is "?"
    _focus(qtbot, window.trace_list)
    qtbot.keyClick(window.trace_list, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    assert _sheet_shown(qtbot, window) is sheet
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    _sheet_closed(qtbot, window)


def test_f1_and_the_help_menu_open_the_sheet(qtbot, window):
    _focus(qtbot, window.trace_list)
    qtbot.keyClick(window.trace_list, Qt.Key.Key_F1)
    _sheet_shown(qtbot, window)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F1)
    _sheet_closed(qtbot, window)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    shortcuts_item = next(a for a in help_menu.actions() if a.text() == "Keyboard shortcuts")
    shortcuts_item.trigger()
    assert window.shortcut_sheet.isVisible()


def test_question_mark_in_the_filter_is_typed_not_a_shortcut(qtbot, window):
    field = window.filter_bar.text_edit
    _focus(qtbot, field)
    qtbot.keyClicks(field, "why?")
    assert field.text() == "why?"
    assert window.shortcut_sheet is None or not window.shortcut_sheet.isVisible()


def test_the_sheet_lists_every_entry_of_the_table_under_its_area(qtbot):
    sheet = ShortcutSheet()
    qtbot.addWidget(sheet)
    shown = sheet.rows()
    assert len(shown) == len(SHORTCUTS)
    for entry in SHORTCUTS:
        assert (entry.area, tuple(key_label(k) for k in entry.keys), entry.description) in shown
    areas = [area for area, _, _ in shown]
    assert areas == sorted(areas, key=list(Area).index)  # grouped, groups in the table's order
    assert (Area.ANYWHERE, ("Ctrl+L",), FOCUS_FILTER.description) in shown
    assert (Area.TRACE_LIST, ("j", "↓"), NEXT_TRACE.description) in shown


# --- the trace list ----------------------------------------------------------------------


def test_j_and_k_move_through_the_list_like_the_arrows_and_open_the_trace(qtbot, demo_window):
    window = demo_window
    _open(qtbot, window, 0)
    _focus(qtbot, window.trace_list)
    qtbot.keyClick(window.trace_list, "j")
    assert _current_row(window) == 1
    second = window.list_model.trace_at(1).trace_id
    qtbot.waitUntil(lambda: window.waterfall.model.trace_id == second, timeout=WAIT_MS)  # moving opens it
    qtbot.keyClick(window.trace_list, "j")
    qtbot.keyClick(window.trace_list, "j")  # the last row stays the last
    assert _current_row(window) == 2
    qtbot.keyClick(window.trace_list, "k")
    assert _current_row(window) == 1
    qtbot.keyClick(window.trace_list, Qt.Key.Key_Up)
    assert _current_row(window) == 0
    qtbot.keyClick(window.trace_list, Qt.Key.Key_Down)
    assert _current_row(window) == 1
    qtbot.keyClick(window.trace_list, Qt.Key.Key_End)
    assert _current_row(window) == 2
    qtbot.keyClick(window.trace_list, Qt.Key.Key_Home)
    assert _current_row(window) == 0
    qtbot.keyClick(window.trace_list, Qt.Key.Key_PageDown)
    assert _current_row(window) == 2
    qtbot.keyClick(window.trace_list, Qt.Key.Key_PageUp)
    assert _current_row(window) == 0
    assert window.trace_list.selected_trace_ids() == [window.list_model.trace_at(0).trace_id]  # selection follows


def test_j_typed_in_the_filter_is_text_and_leaves_the_list_alone(qtbot, demo_window):
    window = demo_window
    _open(qtbot, window, 0)
    _focus(qtbot, window.filter_bar.text_edit)
    qtbot.keyClicks(window.filter_bar.text_edit, "jk")
    assert window.filter_bar.text_edit.text() == "jk"
    assert _current_row(window) == 0


def test_enter_on_a_trace_takes_the_keyboard_into_its_waterfall(qtbot, demo_window):
    window = demo_window
    _open(qtbot, window, 2)
    _focus(qtbot, window.trace_list)
    qtbot.keyClick(window.trace_list, Qt.Key.Key_Return)
    qtbot.waitUntil(window.waterfall.tree.hasFocus, timeout=WAIT_MS)
    assert window.waterfall.model.trace_id == window.list_model.trace_at(2).trace_id
    _focus(qtbot, window.trace_list)
    qtbot.keyClick(window.trace_list, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)  # the keypad's Enter
    qtbot.waitUntil(window.waterfall.tree.hasFocus, timeout=WAIT_MS)


def test_enter_on_a_trace_still_loading_focuses_its_waterfall_once_it_shows(qtbot, demo_window):
    window = demo_window
    _open(qtbot, window, 0)
    _focus(qtbot, window.trace_list)
    wanted = window.list_model.trace_at(1).trace_id
    with qtbot.waitSignal(window.sig_trace_shown, timeout=WAIT_MS,
                          check_params_cb=lambda trace_id: trace_id == wanted):
        qtbot.keyClick(window.trace_list, "j")  # opens the next trace, on the query worker
        qtbot.keyClick(window.trace_list, Qt.Key.Key_Return)  # before it arrived
    qtbot.waitUntil(window.waterfall.tree.hasFocus, timeout=WAIT_MS)


def test_ctrl_l_goes_to_the_filter_and_esc_comes_back_to_the_list(qtbot, demo_window):
    window = demo_window
    _focus(qtbot, window.trace_list)
    qtbot.keyClick(window.trace_list, Qt.Key.Key_L, CTRL)
    qtbot.waitUntil(window.filter_bar.text_edit.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(window.filter_bar.text_edit, Qt.Key.Key_Escape)
    qtbot.waitUntil(window.trace_list.hasFocus, timeout=WAIT_MS)


def test_ctrl_shift_f_turns_follow_latest_on_and_off(qtbot, window):
    _focus(qtbot, window.trace_list)
    before = window.follow_action.isChecked()
    qtbot.keyClick(window.trace_list, Qt.Key.Key_F, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert window.follow_action.isChecked() is not before
    qtbot.keyClick(window.trace_list, Qt.Key.Key_F, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert window.follow_action.isChecked() is before


def test_ctrl_q_closes_the_window(qtbot, window):
    _focus(qtbot, window.trace_list)
    qtbot.keyClick(window.trace_list, Qt.Key.Key_Q, CTRL)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)


def test_del_asks_to_delete_the_selected_trace(qtbot, demo_window, monkeypatch):
    window = demo_window
    doomed = _open(qtbot, window, 1)
    asked = []
    monkeypatch.setattr(window, "confirm", lambda title, text: asked.append(text) or False)  # the user says no
    _focus(qtbot, window.trace_list)
    qtbot.keyClick(window.trace_list, Qt.Key.Key_Delete)
    assert asked and "this trace" in asked[0]
    assert doomed in window.list_model.trace_ids()


# --- Ctrl+C copies what is selected, in each pane ----------------------------------------


def test_ctrl_c_in_the_list_copies_the_selected_trace_ids(qtbot, demo_window):
    window = demo_window
    _open(qtbot, window, 0)
    _focus(qtbot, window.trace_list)
    qtbot.keyClick(window.trace_list, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)  # two rows selected
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(window.trace_list, Qt.Key.Key_C, CTRL)
    assert _clipboard() == "\n".join(window.list_model.trace_at(row).trace_id for row in (0, 1))


def test_ctrl_c_in_the_waterfall_copies_the_selected_span_id(qtbot, demo_window):
    window = demo_window
    _open(qtbot, window, 2)
    claude = window.waterfall.first_span(lambda span: span.genai.get("request_model") == CLAUDE)
    assert claude is not None and window.waterfall.select_span(claude.span_id)
    _focus(qtbot, window.waterfall.tree)
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(window.waterfall.tree, Qt.Key.Key_C, CTRL)
    assert _clipboard() == claude.span_id


def test_ctrl_c_in_the_attributes_copies_the_selected_value(qtbot, demo_window):
    window = demo_window
    _open(qtbot, window, 2)
    claude = window.waterfall.first_span(lambda span: span.genai.get("request_model") == CLAUDE)
    window.waterfall.select_span(claude.span_id)
    window.inspector.show_tab("Attributes")
    tab = window.inspector.attributes
    qtbot.waitUntil(lambda: "gen_ai.request.model" in tab.visible_keys(), timeout=WAIT_MS)  # the span in full
    row = tab.visible_keys().index("gen_ai.request.model")
    tab.table.selectionModel().setCurrentIndex(
        tab.proxy.index(row, AttributeColumn.KEY),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    _focus(qtbot, tab.table)
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(tab.table, Qt.Key.Key_C, CTRL)
    assert _clipboard() == tab.proxy.index(row, AttributeColumn.VALUE).data(AttributeRole.FULL_TEXT) == CLAUDE


def test_ctrl_c_in_the_overview_copies_the_clicked_value_or_nothing(qtbot, demo_window):
    window = demo_window
    _open(qtbot, window, 2)
    claude = window.waterfall.first_span(lambda span: span.genai.get("request_model") == CLAUDE)
    window.waterfall.select_span(claude.span_id)
    window.inspector.show_tab("Overview")
    overview = window.inspector.overview
    qtbot.waitUntil(lambda: overview.value_label("Cache read") is not None, timeout=WAIT_MS)  # the span in full
    QGuiApplication.clipboard().setText("before")
    _focus(qtbot, window.inspector.tabBar())  # no value has the focus: Ctrl+C copies nothing
    qtbot.keyClick(window.inspector.tabBar(), Qt.Key.Key_C, CTRL)
    assert _clipboard() == "before"
    value = overview.value_label("Request model")
    qtbot.mouseClick(value, Qt.MouseButton.LeftButton)  # a click puts the focus on the value
    qtbot.waitUntil(value.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(value, Qt.Key.Key_C, CTRL)
    assert _clipboard() == CLAUDE
    cache_read = overview.value_label("Cache read")  # shows "1,536 of the input"; copies the number
    qtbot.mouseClick(cache_read, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(cache_read.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(cache_read, Qt.Key.Key_C, CTRL)
    assert _clipboard() == overview.copy_button("Cache read").copy_text == "1536"
