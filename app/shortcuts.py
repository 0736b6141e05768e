"""Every keyboard shortcut of the app, in one table: the keys, where they work, what they do.

The shortcut sheet (`?`) lists this table, and the bindings read it (`key_sequences`,
`widget_action`, `TypedKeyShortcut`), so the sheet cannot drift from what the keys do.
Keys are portable `QKeySequence` strings ("Ctrl+L": Cmd+L on macOS). Of an entry's keys,
`native` ones are implemented by the widget's own key handling (Qt's item views move with
the arrows; the waterfall zooms with + and -); the sheet lists them so it is complete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

__all__ = ["Area", "SHORTCUTS", "Shortcut", "TypedKeyShortcut", "by_area", "is_typed", "key_sequences",
           "typed_texts", "widget_action"]


class Area(StrEnum):
    """Where a shortcut works: the sheet's groups, in this order."""

    ANYWHERE = "Anywhere"
    TRACE_LIST = "Trace list"
    FILTER = "Trace filter"
    WATERFALL = "Waterfall"
    FIND = "Find in trace"
    INSPECTOR = "Inspector"
    PLAYGROUND = "Playground"


@dataclass(frozen=True)
class Shortcut:
    keys: tuple[str, ...]  # what the sheet shows, in order
    area: Area
    description: str
    native: tuple[str, ...] = ()  # of `keys`, those the widget's own key handling implements
    also: tuple[str, ...] = ()  # bound as well, not shown (the keypad's Enter beside Return)

    @property
    def bound_keys(self) -> tuple[str, ...]:
        """The keys a binding built from this entry carries."""
        return tuple(key for key in self.keys if key not in self.native) + self.also


def is_typed(key: str) -> bool:
    """A punctuation key ("?") is matched on the character typed: where it sits on the keyboard,
    and whether it takes Shift or AltGr, depends on the layout."""
    return len(key) == 1 and not key.isalnum()


def key_sequences(shortcut: Shortcut) -> list[QKeySequence]:
    """The entry's bound keys as sequences for a QAction (typed keys left to `TypedKeyShortcut`)."""
    return [QKeySequence(key) for key in shortcut.bound_keys if not is_typed(key)]


def typed_texts(shortcut: Shortcut) -> tuple[str, ...]:
    """The entry's bound keys that are matched on the character typed."""
    return tuple(key for key in shortcut.bound_keys if is_typed(key))


def widget_action(widget: QWidget, shortcut: Shortcut, slot: Callable[[], object], text: str = "", *,
                  with_children: bool = False) -> QAction:
    """A QAction with the entry's keys that works while `widget` (`with_children`: or a widget in
    it) has the focus, so the same key, Ctrl+C, can mean a different thing in each pane."""
    action = QAction(text or shortcut.description, widget)
    action.setShortcuts(key_sequences(shortcut))
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut if with_children
                              else Qt.ShortcutContext.WidgetShortcut)
    action.triggered.connect(slot)
    widget.addAction(action)
    return action


class TypedKeyShortcut(QObject):
    """Emits `sig_typed` when a key typing one of `texts` is pressed in `window`, unless a text
    field has the focus (there the character is typed). Matching the typed character, not a key
    code, makes `?` work on every layout (Shift+/ on US, Shift+ß on German, Shift+, on French)."""

    sig_typed = Signal()

    def __init__(self, texts: Sequence[str], window: QWidget) -> None:
        super().__init__(window)
        self.texts = tuple(texts)
        self._window = window
        # The key goes to the focused widget, and an item view would take it for type-ahead search:
        # watch whichever widget of the window has the focus (not every object of the app).
        window.installEventFilter(self)
        QApplication.instance().focusChanged.connect(self._focus_changed)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and event.text() in self.texts
                and isinstance(watched, QWidget)
                and not watched.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)):
            # text fields (editable line and text edits, spin boxes) are the widgets that take input methods
            self.sig_typed.emit()
            return True
        return False

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        if old is not None and old is not self._window:
            old.removeEventFilter(self)
        if new is not None and new.window() is self._window:
            new.installEventFilter(self)


# --- the table ---------------------------------------------------------------------------

SHOW_SHORTCUTS = Shortcut(("?", "F1"), Area.ANYWHERE, "Show or hide these shortcuts")
FOCUS_FILTER = Shortcut(("Ctrl+L",), Area.ANYWHERE, "Search the trace list (go to the filter)")
FIND_IN_TRACE = Shortcut(("Ctrl+F",), Area.ANYWHERE, "Find within the open trace", native=("Ctrl+F",))
FOLLOW_LATEST = Shortcut(("Ctrl+Shift+F",), Area.ANYWHERE, "Follow latest: open each new trace as it arrives")
QUIT = Shortcut(("Ctrl+Q",), Area.ANYWHERE, "Quit")
SHOW_TRACES_PAGE = Shortcut(("Ctrl+1",), Area.ANYWHERE, "The traces page")
SHOW_CHARTS_PAGE = Shortcut(("Ctrl+2",), Area.ANYWHERE, "The charts page: latency, tokens, cost over time")
SHOW_SESSIONS_PAGE = Shortcut(("Ctrl+3",), Area.ANYWHERE, "The sessions page: conversations and their turns")
SHOW_LOGS_PAGE = Shortcut(("Ctrl+4",), Area.ANYWHERE, "The logs page: log records linked to no span")
EXPORT_TRACE = Shortcut(("Ctrl+E",), Area.ANYWHERE, "Export the selected trace (OTLP/JSON lines)")
OPEN_FILES = Shortcut(("Ctrl+O",), Area.ANYWHERE, "Open (import) OTLP/JSON files: also drop them on the window")

NEXT_TRACE = Shortcut(("J", "Down"), Area.TRACE_LIST, "Next trace", native=("Down",))
PREVIOUS_TRACE = Shortcut(("K", "Up"), Area.TRACE_LIST, "Previous trace", native=("Up",))
FIRST_LAST_TRACE = Shortcut(("Home", "End"), Area.TRACE_LIST, "First / last trace", native=("Home", "End"))
PAGE_TRACES = Shortcut(("PgUp", "PgDown"), Area.TRACE_LIST, "A page up / down", native=("PgUp", "PgDown"))
EXTEND_SELECTION = Shortcut(("Shift+Up", "Shift+Down"), Area.TRACE_LIST, "Select several traces",
                            native=("Shift+Up", "Shift+Down"))
OPEN_TRACE = Shortcut(("Return",), Area.TRACE_LIST, "Go into the trace's waterfall", also=("Enter",))
COPY_TRACE_IDS = Shortcut(("Ctrl+C",), Area.TRACE_LIST, "Copy the selected trace IDs")
DELETE_TRACES = Shortcut(("Del",), Area.TRACE_LIST, "Delete the selected traces")
PIN_TRACES = Shortcut(("Ctrl+P",), Area.ANYWHERE, "Pin (or unpin) the selected traces: retention keeps them")

SEARCH_NOW = Shortcut(("Return",), Area.FILTER, "Search now, without waiting for a typing pause",
                      native=("Return",))
LEAVE_FILTER = Shortcut(("Esc",), Area.FILTER, "Back to the trace list")

# The waterfall's keys live in its own widget (waterfall.py): listed here for the sheet.
# (Ctrl+F is bound in find_bar.py, as its QKeySequence.StandardKey.Find.)
NEXT_SPAN = Shortcut(("J", "Down"), Area.WATERFALL, "Next span", native=("J", "Down"))
PREVIOUS_SPAN = Shortcut(("K", "Up"), Area.WATERFALL, "Previous span", native=("K", "Up"))
EXPAND_SPAN = Shortcut(("L", "Right"), Area.WATERFALL, "Expand, or go to the first child", native=("L", "Right"))
COLLAPSE_SPAN = Shortcut(("H", "Left"), Area.WATERFALL, "Collapse, or go to the parent", native=("H", "Left"))
INSPECT_SPAN = Shortcut(("Return",), Area.WATERFALL, "Open the span in the inspector", native=("Return",))
ZOOM_SPANS = Shortcut(("+", "-"), Area.WATERFALL, "Zoom the timeline in / out", native=("+", "-"))
WHOLE_TRACE = Shortcut(("0",), Area.WATERFALL, "Show the whole trace", native=("0",))
COPY_SPAN_ID = Shortcut(("Ctrl+C",), Area.WATERFALL, "Copy the selected span's ID")
# Annotations (annotation_controller.py): the selected span, or the trace when no span is selected.
MARK_GOOD = Shortcut(("G",), Area.WATERFALL, "Mark the selected span good (your annotation)")
MARK_BAD = Shortcut(("B",), Area.WATERFALL, "Mark the selected span bad")
ANNOTATE = Shortcut(("N",), Area.WATERFALL, "Annotate the span or trace: verdict, label, score, note")
OPEN_PLAYGROUND = Shortcut(("P",), Area.WATERFALL, "Open the selected model call in the playground")

# The find bar's keys live in find_bar.py (Ctrl+F, above, opens it).
NEXT_MATCH = Shortcut(("Return", "F3"), Area.FIND, "Next match", native=("Return", "F3"))
PREVIOUS_MATCH = Shortcut(("Shift+Return", "Shift+F3"), Area.FIND, "Previous match",
                          native=("Shift+Return", "Shift+F3"))
CLOSE_FIND = Shortcut(("Esc",), Area.FIND, "Close the find bar", native=("Esc",))

COPY_OVERVIEW_VALUE = Shortcut(("Ctrl+C",), Area.INSPECTOR, "Overview: copy the value clicked or selected")
COPY_ATTRIBUTE_VALUES = Shortcut(("Ctrl+C",), Area.INSPECTOR, "Attributes: copy the selected values")

RUN_PLAYGROUND = Shortcut(("Ctrl+Return",), Area.PLAYGROUND, "Run the edited call (nothing is sent before)",
                          also=("Ctrl+Enter",))

SHORTCUTS: tuple[Shortcut, ...] = (
    SHOW_SHORTCUTS, FOCUS_FILTER, FIND_IN_TRACE, FOLLOW_LATEST, QUIT, SHOW_TRACES_PAGE, SHOW_CHARTS_PAGE,
    SHOW_SESSIONS_PAGE, SHOW_LOGS_PAGE, EXPORT_TRACE, OPEN_FILES,
    NEXT_TRACE, PREVIOUS_TRACE, FIRST_LAST_TRACE, PAGE_TRACES, EXTEND_SELECTION, OPEN_TRACE, COPY_TRACE_IDS,
    DELETE_TRACES, PIN_TRACES,
    SEARCH_NOW, LEAVE_FILTER,
    NEXT_SPAN, PREVIOUS_SPAN, EXPAND_SPAN, COLLAPSE_SPAN, INSPECT_SPAN, ZOOM_SPANS, WHOLE_TRACE, COPY_SPAN_ID,
    MARK_GOOD, MARK_BAD, ANNOTATE, OPEN_PLAYGROUND,
    NEXT_MATCH, PREVIOUS_MATCH, CLOSE_FIND,
    COPY_OVERVIEW_VALUE, COPY_ATTRIBUTE_VALUES,
    RUN_PLAYGROUND,
)


def by_area(shortcuts: Sequence[Shortcut] = SHORTCUTS) -> dict[Area, list[Shortcut]]:
    """The entries grouped by area, areas in `Area` order, entries in table order."""
    groups: dict[Area, list[Shortcut]] = {area: [] for area in Area}
    for shortcut in shortcuts:
        groups[shortcut.area].append(shortcut)
    return {area: entries for area, entries in groups.items() if entries}
