"""The shortcut sheet: every entry of `app.shortcuts` grouped by where it works, keys drawn as
key caps, in two balanced columns. Opens with `?` or F1; `?`, F1 or Esc closes it."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.shortcuts import SHORTCUTS, SHOW_SHORTCUTS, Area, Shortcut, by_area, key_sequences, typed_texts
from app.theme import is_dark
from app.widgets.inspector.common import fixed_font, muted_label, scaled_font

__all__ = ["KeyCap", "ShortcutSheet", "key_label"]

COLUMNS = 2
CAP_PADDING_PX = 6  # left and right of a key cap's text
GROUP_GAP_PX = 16  # above each group but the first in a column

_ARROWS = ("↑", "↓", "←", "→")
_SHOWN_AS = {"Up": "↑", "Down": "↓", "Left": "←", "Right": "→", "Return": "Enter", "PgDown": "PgDn"}


def key_label(key: str) -> str:
    """How a key reads on a key cap: letters as typed (j, not J, which would suggest Shift), arrows
    as arrows, modifiers the platform's way (Ctrl+L here, ⌘L on macOS)."""
    if len(key) == 1:
        return key.lower()
    text = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
    for name, shown in _SHOWN_AS.items():
        if text == name or text.endswith("+" + name):
            return text[: len(text) - len(name)] + shown
    return text


class KeyCap(QWidget):
    """One key, drawn as a small raised key in the palette's colours (light and dark alike)."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = text
        self._height = self.fontMetrics().height() + 6  # of the UI font: every cap as tall as the next
        if len(text) == 1 and not text.endswith(_ARROWS):
            self.setFont(fixed_font(self.font()))  # monospace: l does not read as I, - is not a speck
        elif not text.endswith(_ARROWS):  # arrows keep the full size, or they shrink to specks
            self.setFont(scaled_font(self.font(), 0.92))
        self.setAccessibleName(text)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        width = self.fontMetrics().horizontalAdvance(self.text) + 2 * CAP_PADDING_PX
        return QSize(max(self._height, width), self._height + 2)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        palette = self.palette()
        dark = is_dark(palette)
        face = palette.color(QPalette.ColorRole.Button if dark else QPalette.ColorRole.Base)
        edge = palette.color(QPalette.ColorRole.Mid)
        shadow = palette.color(QPalette.ColorRole.Dark)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        key = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -2.5)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(shadow)
        painter.drawRoundedRect(key.translated(0, 2), 4, 4)  # the key's side, seen below its face
        painter.setPen(QPen(edge, 1))
        painter.setBrush(face)
        painter.drawRoundedRect(key, 4, 4)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(key, Qt.AlignmentFlag.AlignCenter, self.text)


class ShortcutSheet(QDialog):
    def __init__(self, shortcuts: Sequence[Shortcut] = SHORTCUTS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self._rows: list[tuple[Area, tuple[str, ...], str]] = []
        groups = by_area(shortcuts)

        heading = QLabel("Keyboard shortcuts")
        heading.setFont(scaled_font(self.font(), 1.35, bold=True))
        columns = QHBoxLayout()
        columns.setSpacing(40)
        for part in _balanced(list(groups.items()), COLUMNS):
            columns.addLayout(self._column(part), 1)
        close = QPushButton("Close")
        close.setAutoDefault(False)
        close.clicked.connect(self.reject)
        footer = QHBoxLayout()
        closers = [key_label(key) for key in SHOW_SHORTCUTS.keys] + ["Esc"]
        footer.addWidget(muted_label(f"Press {', '.join(closers[:-1])} or {closers[-1]} to close"))
        footer.addStretch(1)
        footer.addWidget(close)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 16)
        layout.setSpacing(14)
        layout.addWidget(heading)
        layout.addLayout(columns)
        layout.addLayout(footer)
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetFixedSize)

    def rows(self) -> list[tuple[Area, tuple[str, ...], str]]:
        """What the sheet shows: (area, key cap texts, description), in order."""
        return list(self._rows)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """The keys that open the sheet close it (Esc does too, as in every dialog)."""
        pressed = QKeySequence(event.keyCombination())
        if event.text() in typed_texts(SHOW_SHORTCUTS) or pressed in key_sequences(SHOW_SHORTCUTS):
            self.reject()
            return
        super().keyPressEvent(event)

    def _column(self, groups: list[tuple[Area, list[Shortcut]]]) -> QVBoxLayout:
        column = QVBoxLayout()
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(6)
        grid.setColumnStretch(1, 1)
        row = 0
        for area, entries in groups:
            title = QLabel(area.value)
            title.setFont(scaled_font(self.font(), 1.05, bold=True))
            if row:
                grid.setRowMinimumHeight(row, title.sizeHint().height() + GROUP_GAP_PX)
                title.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
            grid.addWidget(title, row, 0, 1, 2)
            row += 1
            for entry in entries:
                labels = tuple(key_label(key) for key in entry.keys)
                grid.addWidget(_caps(labels), row, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                description = QLabel(entry.description)
                description.setTextFormat(Qt.TextFormat.PlainText)
                grid.addWidget(description, row, 1, Qt.AlignmentFlag.AlignVCenter)
                self._rows.append((area, labels, entry.description))
                row += 1
        column.addLayout(grid)
        column.addStretch(1)
        return column


def _caps(labels: Sequence[str]) -> QWidget:
    """The keys of one entry side by side, a quiet slash between alternatives."""
    box = QWidget()
    line = QHBoxLayout(box)
    line.setContentsMargins(0, 0, 0, 0)
    line.setSpacing(5)
    for index, label in enumerate(labels):
        if index:
            line.addWidget(muted_label("/"))
        line.addWidget(KeyCap(label))
    return box


def _balanced(groups: list[tuple[Area, list[Shortcut]]], columns: int) -> list[list[tuple[Area, list[Shortcut]]]]:
    """Split the groups, in order, into `columns` runs of about equal height (a title counts as a row)."""
    total = sum(len(entries) + 1 for _, entries in groups)
    parts: list[list[tuple[Area, list[Shortcut]]]] = [[]]
    filled = 0
    for area, entries in groups:
        size = len(entries) + 1
        target = total * len(parts) / columns
        if parts[-1] and len(parts) < columns and filled + size / 2 > target:
            parts.append([])
        parts[-1].append((area, entries))
        filled += size
    return parts
