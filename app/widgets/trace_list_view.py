"""The trace list's table: one row per trace, newest first, pages loading as it scrolls.

Rows arriving above the ones the user is looking at do not push them away: when the list is
scrolled down, the scroll position moves with the inserted rows; at the top, it stays at
the top so new runs come into sight.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QMenu, QTableView, QWidget

from app.models.trace_list_model import TRACE_ROLE, Column, TraceListModel
from app.shortcuts import NEXT_TRACE, OPEN_TRACE, PREVIOUS_TRACE, widget_action

__all__ = ["TraceListView"]

_WIDTHS = {Column.TIME: 116, Column.ROOT: 180, Column.SERVICE: 105, Column.DURATION: 64, Column.SPANS: 48,
           Column.ERRORS: 48, Column.TOKENS: 84, Column.COST: 80, Column.MODELS: 200, Column.SESSION: 130,
           Column.EVALS: 64}


class TraceListView(QTableView):
    sig_trace_selected = Signal(object)  # trace id (str) or None
    sig_delete_requested = Signal(list)  # trace ids
    sig_open_requested = Signal(str)  # Enter on a trace: the window takes the keyboard into it

    def __init__(self, model: TraceListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in _WIDTHS.items():
            self.setColumnWidth(column, width)
        header.moveSection(header.visualIndex(Column.EVALS), header.visualIndex(Column.ERRORS) + 1)
        header.setStretchLastSection(True)

        self._placeholder = QLabel("No traces match the filter", self.viewport())
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setEnabled(False)  # the palette's disabled text: quiet
        self._placeholder.hide()
        self._rows_above = 0  # rows being inserted above the first visible one

        self.delete_action = QAction("Delete trace", self, shortcut=QKeySequence.StandardKey.Delete,
                                     shortcutContext=Qt.ShortcutContext.WidgetShortcut)
        self.delete_action.triggered.connect(self._request_delete)
        self.copy_id_action = QAction("Copy trace ID", self, shortcut=QKeySequence.StandardKey.Copy,
                                      shortcutContext=Qt.ShortcutContext.WidgetShortcut)
        self.copy_id_action.triggered.connect(self._copy_ids)
        self.addActions([self.copy_id_action, self.delete_action])
        self.next_action = widget_action(self, NEXT_TRACE, lambda: self._step(QAbstractItemView.CursorAction.MoveDown))
        self.previous_action = widget_action(self, PREVIOUS_TRACE,
                                             lambda: self._step(QAbstractItemView.CursorAction.MoveUp))
        self.open_action = widget_action(self, OPEN_TRACE, self._request_open)
        self.customContextMenuRequested.connect(self._context_menu)
        self.context_actions: list[QAction] = []  # the window's, for the selected trace (export)

        self.selectionModel().currentRowChanged.connect(self._current_changed)
        model.rowsAboutToBeInserted.connect(self._before_insert)
        model.rowsInserted.connect(self._after_insert)
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved):
            signal.connect(self._update_placeholder)

    def selected_trace_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [self.model().trace_at(row).trace_id for row in rows]

    def current_trace_id(self) -> str | None:
        index = self.currentIndex()
        return self.model().trace_at(index.row()).trace_id if index.isValid() else None

    def select_trace(self, trace_id: str) -> bool:
        row = self.model().row_of(trace_id)
        if row is None:
            return False
        index = self.model().index(row, Column.ROOT)
        self.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.scrollTo(index)
        return True

    def set_placeholder(self, text: str) -> None:
        self._placeholder.setText(text)

    def moveCursor(self, action: QAbstractItemView.CursorAction,  # noqa: N802 - Qt override
                   modifiers: Qt.KeyboardModifier) -> QModelIndex:
        """Home and End go to the first and last trace (a table's go to the first and last column,
        which moves nothing a user can see in a list of whole rows)."""
        if action in (QAbstractItemView.CursorAction.MoveHome, QAbstractItemView.CursorAction.MoveEnd):
            modifiers |= Qt.KeyboardModifier.ControlModifier
        return super().moveCursor(action, modifiers)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._placeholder.setGeometry(self.viewport().rect())

    # --- internals ----------------------------------------------------------------------

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        trace = current.data(TRACE_ROLE) if current.isValid() else None
        self.sig_trace_selected.emit(trace.trace_id if trace else None)

    def _before_insert(self, _parent: QModelIndex, first: int, last: int) -> None:
        scroll = self.verticalScrollBar()
        top = self.rowAt(0)
        self._rows_above = last - first + 1 if scroll.value() > 0 and top >= 0 and first <= top else 0

    def _after_insert(self) -> None:
        if self._rows_above:
            self.updateGeometries()  # the scroll range grows now, not at the next layout pass
            scroll = self.verticalScrollBar()
            scroll.setValue(scroll.value() + self._rows_above)  # per item: one step per row
            self._rows_above = 0

    def _update_placeholder(self) -> None:
        self._placeholder.setVisible(self.model().rowCount() == 0)

    def _step(self, direction: QAbstractItemView.CursorAction) -> None:
        """j and k: what Down and Up do (one row, the selection follows; none current: the first)."""
        if self.model().rowCount() == 0:
            return
        index = self.moveCursor(direction, Qt.KeyboardModifier.NoModifier) if self.currentIndex().isValid() \
            else self.model().index(0, Column.ROOT)
        if index.isValid():
            self.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            self.scrollTo(index)

    def _request_open(self) -> None:
        trace_id = self.current_trace_id()
        if trace_id is not None:
            self.sig_open_requested.emit(trace_id)

    def _request_delete(self) -> None:
        ids = self.selected_trace_ids()
        if ids:
            self.sig_delete_requested.emit(ids)

    def _copy_ids(self) -> None:
        ids = self.selected_trace_ids()
        if ids:
            QGuiApplication.clipboard().setText("\n".join(ids))

    def _context_menu(self, pos: QPoint) -> None:
        if not self.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        menu.addAction(self.copy_id_action)
        menu.addActions(self.context_actions)
        menu.addSeparator()
        self.delete_action.setText("Delete trace" if len(self.selected_trace_ids()) <= 1 else "Delete traces")
        menu.addAction(self.delete_action)
        menu.exec(self.viewport().mapToGlobal(pos))
