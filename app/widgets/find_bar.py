"""Find in the open trace: the bar above the waterfall (`FindBar`) and what it drives
(`TraceFinder`).

The search runs on the query worker (`TraceStore.find_in_trace`, key "find", after a typing
pause) over span names, status messages, attribute values (where prompts and completions
travel), span events and log records. Matches are highlighted in the tree and walked in tree
order; the current one is selected, its ancestors expanded, and scrolled to. When the open
trace grows, the search runs again and the current match stays current. Another trace runs it
again too: its matches are highlighted and counted, and nothing jumps until Enter or F3.

Keys: Ctrl+F opens (the window binds it), Enter / F3 next, Shift+Enter / Shift+F3 previous,
Esc closes.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QIcon,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from app.widgets.waterfall import WaterfallView
from app.workers import QueryWorker

__all__ = ["FindBar", "TYPING_PAUSE_MS", "TraceFinder"]

TYPING_PAUSE_MS = 250
_SHIFT = Qt.KeyboardModifier.ShiftModifier
_WINDOW, _IN_BAR = Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.WidgetWithChildrenShortcut


class FindBar(QFrame):
    """The text field, the "3 of 41" count, previous / next and close. It only reports what the
    user wants; `TraceFinder` searches and moves."""

    sig_query_changed = Signal(str)  # the text to find, after a typing pause (or at once on Enter)
    sig_next_wanted = Signal()
    sig_previous_wanted = Signal()
    sig_closed = Signal(bool)  # whether the keyboard was in the bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text_edit = QLineEdit(placeholderText="Find in trace: span names, attribute values, messages…",
                                   clearButtonEnabled=True)
        self.text_edit.setToolTip("Any case; span names, status messages, attribute values, prompt and completion "
                                  "text, span events and log records of the open trace")
        self.count_label = QLabel()
        self.count_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.count_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("9999 of 9999") + 8)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.previous_button = _tool_button("Previous match (Shift+Enter, Shift+F3)")
        self.next_button = _tool_button("Next match (Enter, F3)")
        self.close_button = _tool_button("Close (Esc)")
        self._searched = ""  # the text of the last sig_query_changed
        self._typing = QTimer(self, singleShot=True, interval=TYPING_PAUSE_MS)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.text_edit, 1)
        layout.addWidget(self.count_label)
        layout.addSpacing(4)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.next_button)
        layout.addWidget(self.close_button)
        self._paint_icons()

        # F3 works anywhere in the window while the bar shows (a hidden widget's shortcuts do not fire);
        # Esc while the keyboard is in the bar
        for key, context, slot in (("F3", _WINDOW, self.sig_next_wanted.emit),
                                   ("Shift+F3", _WINDOW, self.sig_previous_wanted.emit),
                                   ("Esc", _IN_BAR, self.close_bar)):
            action = QAction(self, shortcut=QKeySequence(key), shortcutContext=context)
            action.triggered.connect(slot)
            self.addAction(action)

        self._typing.timeout.connect(self._search_now)
        self.text_edit.textChanged.connect(lambda _: self._typing.start())
        self.text_edit.installEventFilter(self)
        self.previous_button.clicked.connect(self.sig_previous_wanted.emit)
        self.next_button.clicked.connect(self.sig_next_wanted.emit)
        self.close_button.clicked.connect(self.close_bar)
        self.hide()

    def text(self) -> str:
        return self.text_edit.text().strip()

    def open(self) -> None:
        """Show the bar with its text selected and the keyboard in it."""
        self.show()
        self.text_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.text_edit.selectAll()

    def close_bar(self) -> None:
        self._typing.stop()
        focus = self.window().focusWidget()
        had_focus = focus is not None and self.isAncestorOf(focus)
        self.hide()
        self.sig_closed.emit(had_focus)

    def show_count(self, current: int | None, total: int | None) -> None:
        """"3 of 41" (current is 0-based), "41 matches" with none current, "No matches"; nothing
        for no search."""
        if total is None:
            text = ""
        elif total == 0:
            text = "No matches"
        elif current is None:
            text = f"{total:,} match" + ("" if total == 1 else "es")
        else:
            text = f"{current + 1:,} of {total:,}"
        self.count_label.setText(text)
        self.count_label.setToolTip("")
        for button in (self.previous_button, self.next_button):
            button.setEnabled(bool(total))

    def show_problem(self, message: str) -> None:
        self.count_label.setText("Search failed")
        self.count_label.setToolTip(message)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.text_edit and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if event.modifiers() & _SHIFT:
                    self.sig_previous_wanted.emit()
                elif self.text() != self._searched:
                    self._search_now()  # Enter before the pause: search now (the first match is shown)
                else:
                    self.sig_next_wanted.emit()
                return True
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._paint_icons()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.drawLine(0, self.height() - 1, self.width(), self.height() - 1)  # a hairline above the tree
        painter.end()

    def _search_now(self) -> None:
        self._typing.stop()
        self._searched = self.text()
        self.sig_query_changed.emit(self._searched)

    def _paint_icons(self) -> None:
        colour = self.palette().color(QPalette.ColorRole.ButtonText)
        self.previous_button.setIcon(_icon(colour, [(4, 10), (8, 6), (12, 10)]))
        self.next_button.setIcon(_icon(colour, [(4, 6), (8, 10), (12, 6)]))
        self.close_button.setIcon(_icon(colour, [(4.5, 4.5), (11.5, 11.5)], [(11.5, 4.5), (4.5, 11.5)]))


class TraceFinder(QObject):
    """Searches the open trace as the bar asks, and walks the matches in the waterfall. Binds
    Ctrl+F (Cmd+F on macOS) in `window`: it opens the bar while a trace is open."""

    sig_matches_changed = Signal(object)  # the match span ids in tree order (for tests and the status)

    def __init__(self, worker: QueryWorker, bar: FindBar, waterfall: WaterfallView, window: QWidget) -> None:
        super().__init__(window)
        self.worker, self.bar, self.waterfall = worker, bar, waterfall
        self.trace_id: str | None = None
        self.query = ""
        self.matches: list[str] = []
        self.current: int | None = None  # index into matches
        self.find_action = QAction("Find in trace", window, shortcut=QKeySequence(QKeySequence.StandardKey.Find),
                                   shortcutContext=Qt.ShortcutContext.WindowShortcut)
        self.find_action.triggered.connect(self.open_bar)
        window.addAction(self.find_action)
        bar.sig_query_changed.connect(self.search)
        bar.sig_next_wanted.connect(self.next)
        bar.sig_previous_wanted.connect(self.previous)
        bar.sig_closed.connect(self._closed)

    def set_trace(self, trace_id: str | None) -> None:
        """The open trace was loaded (again, as it grows, or another one): search it too."""
        if trace_id != self.trace_id:
            self.trace_id, self.matches, self.current = trace_id, [], None
        if trace_id is None:
            self.worker.ask(lambda store: None, lambda _: None, key="find")  # drops a search in flight
            self.bar.show_count(None, None)
        elif self.query and self.bar.isVisible():
            self._run(jump=False)

    def open_bar(self) -> None:
        """Ctrl+F: the bar, with the keyboard in it and its text selected; a closed bar's last
        text is searched again."""
        if self.trace_id is None:
            return
        was_open = self.bar.isVisible()
        self.bar.open()
        if not was_open and self.bar.text():
            self.search(self.bar.text())

    def search(self, text: str) -> None:
        """Find `text` in the open trace and show its first match."""
        self.query = text
        if not text or self.trace_id is None:
            self.worker.ask(lambda store: None, lambda _: None, key="find")
            self._show([], None)
            return
        self._run(jump=True)

    def next(self) -> None:
        if self.matches:
            self._go(0 if self.current is None else (self.current + 1) % len(self.matches))

    def previous(self) -> None:
        if self.matches:
            self._go(len(self.matches) - 1 if self.current is None else (self.current - 1) % len(self.matches))

    def _run(self, jump: bool) -> None:
        trace_id, text = self.trace_id, self.query
        self.worker.ask(lambda store: store.find_in_trace(trace_id, text),
                        lambda ids: self._found(trace_id, text, ids, jump), key="find", on_failed=self.bar.show_problem)

    def _found(self, trace_id: str, text: str, span_ids: list[str], jump: bool) -> None:
        if (trace_id, text) != (self.trace_id, self.query):
            return  # the user typed on, or opened another trace
        was = self.matches[self.current] if self.current is not None else None
        matches = self.waterfall.model.in_tree_order(span_ids)
        current = (0 if matches else None) if jump else (matches.index(was) if was in matches else None)
        self._show(matches, current)
        if jump and current is not None:
            self._go(current)

    def _show(self, matches: list[str], current: int | None) -> None:
        self.matches, self.current = matches, current
        self.waterfall.set_matches(matches)
        self.bar.show_count(current, len(matches) if self.query else None)
        self.sig_matches_changed.emit(matches)

    def _go(self, current: int) -> None:
        self.current = current
        self.waterfall.select_span(self.matches[current])
        self.bar.show_count(current, len(self.matches))

    def _closed(self, had_focus: bool) -> None:
        self.query, self.matches, self.current = "", [], None
        self.worker.ask(lambda store: None, lambda _: None, key="find")
        self.waterfall.set_matches([])
        if had_focus:
            self.waterfall.setFocus(Qt.FocusReason.OtherFocusReason)  # back where the finding happened


def _tool_button(tooltip: str) -> QToolButton:
    button = QToolButton(toolTip=tooltip, autoRaise=True)
    button.setIconSize(QSize(16, 16))
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keyboard stays in the text field
    return button


def _icon(colour: QColor, *strokes: list[tuple[float, float]]) -> QIcon:
    """Line strokes on a 16 px grid (chevrons, a cross) in the palette's button text colour;
    fainter when disabled."""
    icon = QIcon(_pixmap(colour, strokes))
    faint = QColor(colour)
    faint.setAlphaF(0.35)
    icon.addPixmap(_pixmap(faint, strokes), QIcon.Mode.Disabled)
    return icon


def _pixmap(colour: QColor, strokes: tuple[list[tuple[float, float]], ...]) -> QPixmap:
    scale = 2  # drawn at 2x so the strokes stay crisp on high-density screens
    pixmap = QPixmap(16 * scale, 16 * scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(scale, scale)
    painter.setPen(QPen(colour, 1.6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    for points in strokes:
        path = QPainterPath(QPointF(*points[0]))
        for point in points[1:]:
            path.lineTo(QPointF(*point))
        painter.drawPath(path)
    painter.end()
    pixmap.setDevicePixelRatio(scale)
    return pixmap
