"""The Qt binding itself: PySide6-Essentials 6.12.0 dropped a reference to `None` on every call
that returns nothing (`update()`, `setPen()`, …) until Python aborted with "deallocating None"
after a few hundred waterfall repaints. pyproject excludes that version; this keeps it out."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QWidget

CALLS = 1000


def test_qt_calls_that_return_nothing_keep_none_alive(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        widget.update()
    assert before - sys.getrefcount(None) < CALLS // 10  # 6.12.0: exactly CALLS lost
