"""Help ▸ About Tracepane: the version (from pyproject.toml, `app.version`), the licence, and
the paths in use — the database, the price overrides, the settings, and the bundle's own
folder when frozen — selectable, with a button that copies them."""

from __future__ import annotations

import html
import platform
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.version import LICENCE, app_version

__all__ = ["AboutDialog"]


class AboutDialog(QDialog):
    def __init__(self, paths: dict[str, Path], icon: QIcon, parent: QWidget | None = None) -> None:
        super().__init__(parent, windowTitle="About Tracepane")
        from PySide6 import __version__ as pyside_version

        self.paths = dict(paths)
        if getattr(sys, "frozen", False):
            self.paths["Program"] = Path(sys.executable).parent
        logo = QLabel()
        logo.setPixmap(icon.pixmap(64, 64))
        title = QLabel(f"<h2>Tracepane {html.escape(app_version())}</h2>"
                       "<p>A local-first trace viewer for LLM applications and agents:<br>"
                       "OTLP in, SQLite on disk, nothing sent anywhere.</p>"
                       f"<p>Licence: {LICENCE}<br>Python {platform.python_version()}, "
                       f"Qt for Python {pyside_version}, SQLite {__import__('sqlite3').sqlite_version}</p>")
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.paths_label = QLabel("<br>".join(f"<b>{html.escape(name)}</b>: <tt>{html.escape(str(path))}</tt>"
                                              for name, path in self.paths.items()))
        self.paths_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        copy = QPushButton("Copy paths")
        copy.clicked.connect(self.copy_paths)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(title, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.paths_label)
        layout.addWidget(buttons)

    def copy_paths(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(f"{name}: {path}" for name, path in self.paths.items()))
