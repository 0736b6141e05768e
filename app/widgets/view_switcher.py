"""The window's pages (traces, charts) in one stack, and the checkable actions that switch
between them (View menu, toolbar, Ctrl+1 / Ctrl+2)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QStackedWidget, QWidget

from app.shortcuts import Shortcut, key_sequences

__all__ = ["ViewSwitcher"]


class ViewSwitcher(QObject):
    sig_view_changed = Signal(str)  # the name of the page now shown

    def __init__(self, pages: dict[str, tuple[QWidget, str, Shortcut]], window: QWidget) -> None:
        """`pages`: name -> (page, action text, shortcut entry), in order."""
        super().__init__(window)
        self.stack = QStackedWidget()
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for name, (page, text, shortcut) in pages.items():
            self.stack.addWidget(page)
            action = QAction(text, self, checkable=True)
            action.setShortcuts(key_sequences(shortcut))
            action.setToolTip(f"{shortcut.description} ({shortcut.keys[0]})")
            action.triggered.connect(lambda _checked=False, name=name: self.show_view(name))
            self.group.addAction(action)
            window.addAction(action)
            self.actions[name] = action
        self._pages = {name: page for name, (page, _, _) in pages.items()}
        self.actions[next(iter(pages))].setChecked(True)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._pages)

    @property
    def current(self) -> str:
        return next(name for name, page in self._pages.items() if page is self.stack.currentWidget())

    def show_view(self, name: str) -> None:
        if name not in self._pages:
            raise ValueError(f"unknown view {name!r}; one of {', '.join(self._pages)}")
        self.actions[name].setChecked(True)
        if self.stack.currentWidget() is not self._pages[name]:
            self.stack.setCurrentWidget(self._pages[name])
            self.sig_view_changed.emit(name)
