"""The Attributes tab: span, resource and scope attributes as a key/value table, narrowed by a
filter on key and value (case-insensitive), with copy by Ctrl+C or the context menu."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.formatting import plural
from app.models.attribute_model import AttributeColumn, AttributeModel, AttributeRole
from app.widgets.inspector.common import InspectorPage, copy_to_clipboard, muted_label
from receiver.records import StoredLog, StoredSpan

__all__ = ["AttributeFilter", "AttributesTab"]

KEY_COLUMN_MAX_CHARS = 44  # the key column fits the longest key up to this many average characters


class AttributeFilter(QSortFilterProxyModel):
    """Rows whose key or whole value contains the filter text, ignoring case."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._needle = ""

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._needle = text.strip().casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self._needle:
            return True
        model = self.sourceModel()
        key = model.index(source_row, AttributeColumn.KEY, source_parent).data(AttributeRole.FULL_TEXT) or ""
        value = model.index(source_row, AttributeColumn.VALUE, source_parent).data(AttributeRole.FULL_TEXT) or ""
        return self._needle in key.casefold() or self._needle in value.casefold()


class AttributesTab(InspectorPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = AttributeModel(self)
        self.proxy = AttributeFilter(self)
        self.proxy.setSourceModel(self.model)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 0, 8, 0)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter attributes…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter_changed)
        self.count = muted_label()
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.count)
        layout.addLayout(bar)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setFrameShape(QFrame.Shape.NoFrame)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(AttributeColumn.SECTION, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(AttributeColumn.KEY, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(AttributeColumn.VALUE, QHeaderView.ResizeMode.Stretch)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        copy = QAction("Copy value", self.table)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(lambda: self.copy_selected(AttributeColumn.VALUE))
        self.table.addAction(copy)
        layout.addWidget(self.table, 1)
        self.set_content(page)
        self.show_placeholder("Select a span")

    def show_span(self, span: StoredSpan | None, logs: Sequence[StoredLog] = ()) -> None:
        self.model.set_span(span)
        if span is None:
            self.show_placeholder("Select a span")
            return
        self._fit_key_column()
        self._update_count()
        self.show_content()

    def visible_keys(self) -> list[str]:
        """The keys the table shows now, in order (after the filter)."""
        return [self.proxy.index(row, AttributeColumn.KEY).data() for row in range(self.proxy.rowCount())]

    def copy_selected(self, column: AttributeColumn) -> str:
        """Put the selected rows' keys or values (one a line) on the clipboard; returns the text."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedIndexes()})
        if not rows and self.table.currentIndex().isValid():
            rows = [self.table.currentIndex().row()]
        text = "\n".join(self.proxy.index(row, column).data(AttributeRole.FULL_TEXT) or "" for row in rows)
        if rows:
            copy_to_clipboard(text)
        return text

    def _fit_key_column(self) -> None:
        """As wide as the longest key, within reason (the user can still drag it)."""
        metrics = self.table.fontMetrics()
        keys = (self.model.index(row, AttributeColumn.KEY).data() for row in range(self.model.rowCount()))
        widest = max((metrics.horizontalAdvance(key) for key in keys), default=0) + 2 * metrics.averageCharWidth()
        self.table.horizontalHeader().resizeSection(
            AttributeColumn.KEY, min(widest, metrics.averageCharWidth() * KEY_COLUMN_MAX_CHARS))

    def _filter_changed(self, text: str) -> None:
        self.proxy.set_text(text)
        self._update_count()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{shown} of {total}" if shown != total else plural(total, "attribute"))

    def _menu(self, at: QPoint) -> None:
        if not self.table.indexAt(at).isValid():
            return
        menu = QMenu(self)
        menu.addAction("Copy value", lambda: self.copy_selected(AttributeColumn.VALUE))
        menu.addAction("Copy key", lambda: self.copy_selected(AttributeColumn.KEY))
        menu.exec(self.table.viewport().mapToGlobal(at))
