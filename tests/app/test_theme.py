"""Light and dark: a forced theme sets its palette; `auto` follows the system's colour scheme
(offscreen reports none, which reads as light). Icons load from resources/."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication

from app.theme import apply_theme, dark_palette, is_dark, light_palette
from app.widgets.main_window import icon


@pytest.fixture
def restore_palette(qapp):
    palette, style = qapp.palette(), qapp.style().name()
    yield qapp
    qapp.setPalette(palette)
    qapp.setStyle(style)


@pytest.mark.parametrize(("theme", "dark"), [("dark", True), ("light", False), ("auto", False)])
def test_a_theme_sets_a_readable_palette(restore_palette, theme, dark):
    apply_theme(restore_palette, theme)
    palette = QGuiApplication.palette()
    assert is_dark(palette) is dark
    text, base = palette.text().color(), palette.base().color()
    assert abs(text.lightness() - base.lightness()) > 150  # text stands out from its background


def test_the_two_palettes_differ_where_it_shows():
    assert is_dark(dark_palette()) and not is_dark(light_palette())


@pytest.mark.parametrize("name", ["tracepane", "follow", "demo", "delete", "clear", "ports"])
def test_the_toolbar_icons_load_from_resources(qapp, name):
    assert not icon(name).pixmap(16, 16).isNull()
