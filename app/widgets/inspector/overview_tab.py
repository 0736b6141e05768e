"""The Overview tab: the span's reproducibility record (`app.reproducibility`) as a form of
labelled rows in sections, every value selectable and copyable."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app import reproducibility as record
from app.reproducibility import CostLine, OverviewRow
from app.shortcuts import COPY_OVERVIEW_VALUE, widget_action
from app.span_category import CATEGORY_COLOURS, ERROR_COLOUR, category_of
from app.widgets.inspector.common import (
    CopyButton,
    InspectorPage,
    borderless_scroll_area,
    copy_to_clipboard,
    fixed_font,
    muted_label,
    scaled_font,
)
from receiver.records import STATUS_CODE_ERROR, StoredLog, StoredSpan

__all__ = ["OverviewTab"]

SECTION_GAP_PX = 14  # space above each section title


def _selectable(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class OverviewTab(InspectorPage):
    sig_open_span = Signal(str, str)  # a row's link to another span was followed: (trace id, span id)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scroll = borderless_scroll_area()
        self.set_content(self._scroll)
        self._copy_buttons: dict[str, CopyButton] = {}
        self._values: dict[str, QLabel] = {}
        self._section_titles: dict[str, QLabel] = {}
        self._copy_texts: dict[QLabel, str] = {}  # a row's value label -> what its copy button copies
        self.copy_action = widget_action(self, COPY_OVERVIEW_VALUE, self.copy_focused, "Copy value", with_children=True)
        self.show_placeholder("Select a span")

    # --- what tests and the panel use ---------------------------------------------------

    def show_span(self, span: StoredSpan | None, logs: Sequence[StoredLog] = ()) -> None:
        old = self._scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self._copy_buttons.clear()
        self._values.clear()
        self._section_titles.clear()
        self._copy_texts.clear()
        if span is None:
            self.show_placeholder("Select a span")
            return
        self._scroll.setWidget(self._build(span))
        self.show_content()

    def value_text(self, label: str) -> str | None:
        """The text shown for the row labelled `label` (None: no such row)."""
        value = self._values.get(label)
        return None if value is None else value.text()

    def value_label(self, label: str) -> QLabel | None:
        """The widget showing the value of the row labelled `label`."""
        return self._values.get(label)

    def labels(self) -> list[str]:
        return list(self._values)

    def scroll_to_section(self, title: str) -> None:
        """Bring the section called `title` ("Cost") to the top of the view."""
        heading = self._section_titles.get(title)
        page = self._scroll.widget()
        if heading is not None and page is not None:
            page.layout().activate()  # positions are final before the first paint otherwise
            self._scroll.verticalScrollBar().setValue(heading.mapTo(page, heading.rect().topLeft()).y())

    def copy_focused(self) -> str:
        """Ctrl+C: the selected part of the value that has the focus (a click gives it), else all of
        it, as its copy button would; returns the text ("": no value has the focus, nothing copied)."""
        focus = QApplication.focusWidget()
        page = self._scroll.widget()
        if not isinstance(focus, QLabel) or page is None or not page.isAncestorOf(focus):
            return ""
        text = focus.selectedText() or self._copy_texts.get(focus, focus.text())  # "": a not-set value
        if text:
            copy_to_clipboard(text)
        return text

    def copy_button(self, label: str) -> CopyButton | None:
        return self._copy_buttons.get(label)

    def text(self) -> str:
        """Every label the tab shows, one a line (what a test or a bug report reads)."""
        page = self._scroll.widget()
        if page is None:
            return self.placeholder_text()
        return "\n".join(label.text() for label in page.findChildren(QLabel))

    # --- building -----------------------------------------------------------------------

    def _build(self, span: StoredSpan) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setContentsMargins(16, 12, 16, 16)
        outer.setSpacing(2)
        outer.addLayout(self._header(span))
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(5)
        grid.setColumnStretch(1, 1)
        row = 0
        for section in record.overview_sections(span):
            title = QLabel(section.title)
            title.setFont(scaled_font(self.font(), bold=True))
            self._section_titles[section.title] = title
            grid.addWidget(title, row, 0, 1, 3)
            if row:
                grid.setRowMinimumHeight(row, title.sizeHint().height() + SECTION_GAP_PX)
                title.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
            row += 1
            for item in section.rows:
                self._add_row(grid, row, item)
                row += 1
        outer.addLayout(grid)
        outer.addStretch(1)
        return page

    def _header(self, span: StoredSpan) -> QVBoxLayout:
        box = QVBoxLayout()
        box.setSpacing(2)
        box.setContentsMargins(0, 0, 0, 10)
        line = QHBoxLayout()
        line.setSpacing(8)
        dot = QLabel()
        colour = ERROR_COLOUR if span.status_code == STATUS_CODE_ERROR else CATEGORY_COLOURS[category_of(span.genai)]
        dot.setFixedSize(10, 10)
        dot.setStyleSheet(f"background: {colour}; border-radius: 5px;")
        name = _selectable(span.name or "(unnamed span)")
        name.setFont(scaled_font(self.font(), 1.3, bold=True))
        line.addWidget(dot, 0, Qt.AlignmentFlag.AlignVCenter)
        line.addWidget(name, 1)
        box.addLayout(line)
        box.addWidget(muted_label(record.subtitle(span)))
        return box

    def _add_row(self, grid: QGridLayout, row: int, item: OverviewRow) -> None:
        label = muted_label(item.label)
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        grid.addWidget(label, row, 0)
        value = self._value_label(item)
        self._values[item.label] = value
        self._copy_texts[value] = item.clipboard_text
        if item.arithmetic:
            grid.addWidget(self._arithmetic(item.arithmetic, value), row, 1)
        else:
            grid.addWidget(value, row, 1)
        if item.clipboard_text:
            button = CopyButton(item.clipboard_text, item.label.lower())
            self._copy_buttons[item.label] = button
            grid.addWidget(button, row, 2, Qt.AlignmentFlag.AlignTop)

    def _value_label(self, item: OverviewRow) -> QLabel:
        value = _selectable(item.value) if item.target is None else self._link(item.value, item.target)
        value.setWordWrap(True)
        value.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        if item.monospace:
            value.setFont(fixed_font(self.font()))
        if item.tone == record.ERROR:
            palette = value.palette()
            palette.setColor(QPalette.ColorRole.WindowText, QColor(ERROR_COLOUR))
            value.setPalette(palette)
            value.setFont(scaled_font(value.font(), bold=True))
        elif item.tone == record.MUTED:
            value.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        return value

    def _link(self, text: str, target: tuple[str, str]) -> QLabel:
        trace_id, span_id = target
        label = QLabel(f'<a href="span:{trace_id}/{span_id}">{html.escape(text)}</a>')
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        label.setToolTip("Open this span")
        label.linkActivated.connect(lambda _href: self.sig_open_span.emit(trace_id, span_id))
        return label

    def _arithmetic(self, terms: tuple[CostLine, ...], total: QLabel) -> QWidget:
        """The terms as an aligned sum: tokens, bucket, × rate, = USD; a rule; = the total."""
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(1)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        for row, term in enumerate(terms):
            rate = record.format_rate(term.rate_mtok) + (f" ({term.note})" if term.note else "")
            cells = ((f"{term.tokens:,}", right), (term.bucket, left), ("×", left), (rate, right), ("=", left),
                     (record.format_usd_exact(term.usd), right))
            for column, (text, align) in enumerate(cells):
                cell = _selectable(text)
                if column in (1, 2, 4):
                    cell.setForegroundRole(QPalette.ColorRole.PlaceholderText)
                grid.addWidget(cell, row, column, align)
        rule = QFrame()
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setFrameShadow(QFrame.Shadow.Plain)
        rule.setForegroundRole(QPalette.ColorRole.Mid)
        grid.addWidget(rule, len(terms), 3, 1, 3)
        grid.addWidget(muted_label("="), len(terms) + 1, 4, left)
        total.setText(total.text().removeprefix("= "))
        total.setWordWrap(False)
        total.setFont(scaled_font(total.font(), bold=True))
        grid.addWidget(total, len(terms) + 1, 5, right)
        grid.setColumnStretch(6, 1)
        return box
