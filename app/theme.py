"""Light and dark looks. `auto` follows the system's colour scheme (and its changes while
the app runs); `light` and `dark` force one (screenshots, users who prefer it). The Fusion
style draws the same on every platform, so both palettes are ours and tested."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["THEMES", "apply_theme", "dark_palette", "is_dark", "light_palette"]

THEMES = ("auto", "light", "dark")

_Role, _Group = QPalette.ColorRole, QPalette.ColorGroup


def _palette(colours: dict[QPalette.ColorRole, str], disabled_text: str) -> QPalette:
    palette = QPalette()
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (_Role.Text, _Role.WindowText, _Role.ButtonText):
        palette.setColor(_Group.Disabled, role, QColor(disabled_text))
    return palette


def light_palette() -> QPalette:
    return _palette({
        _Role.Window: "#f5f6f8", _Role.WindowText: "#1f2328", _Role.Base: "#ffffff", _Role.AlternateBase: "#f6f8fa",
        _Role.Text: "#1f2328", _Role.Button: "#eef0f3", _Role.ButtonText: "#1f2328", _Role.Highlight: "#2f6fde",
        _Role.HighlightedText: "#ffffff", _Role.ToolTipBase: "#ffffff", _Role.ToolTipText: "#1f2328",
        _Role.PlaceholderText: "#8c959f", _Role.Link: "#0969da", _Role.Mid: "#d0d7de", _Role.Midlight: "#e6e9ed",
        _Role.Dark: "#afb8c1", _Role.Shadow: "#8c959f", _Role.Light: "#ffffff", _Role.BrightText: "#cf222e",
    }, "#8c959f")


def dark_palette() -> QPalette:
    return _palette({
        _Role.Window: "#1e2126", _Role.WindowText: "#e6e8eb", _Role.Base: "#16181c", _Role.AlternateBase: "#1c1f24",
        _Role.Text: "#e6e8eb", _Role.Button: "#2a2e35", _Role.ButtonText: "#e6e8eb", _Role.Highlight: "#3b74d9",
        _Role.HighlightedText: "#ffffff", _Role.ToolTipBase: "#2a2e35", _Role.ToolTipText: "#e6e8eb",
        _Role.PlaceholderText: "#7d8590", _Role.Link: "#58a6ff", _Role.Mid: "#3a3f47", _Role.Midlight: "#30353c",
        _Role.Dark: "#0f1114", _Role.Shadow: "#000000", _Role.Light: "#3a3f47", _Role.BrightText: "#ff7b72",
    }, "#6e7681")


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(_Role.Window).lightness() < 128


def apply_theme(app: QApplication, theme: str = "auto") -> None:
    app.setStyle("Fusion")
    hints = QGuiApplication.styleHints()

    def follow_system() -> None:
        dark = hints.colorScheme() == Qt.ColorScheme.Dark
        app.setPalette(dark_palette() if dark else light_palette())

    if theme == "auto":
        follow_system()
        hints.colorSchemeChanged.connect(follow_system)
    else:
        app.setPalette(dark_palette() if theme == "dark" else light_palette())
