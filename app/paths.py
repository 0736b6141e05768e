"""Where bundled read-only files are: the one module that knows about PyInstaller. In a
frozen build `sys._MEIPASS` is the bundle's folder; from source, the checkout's root. The
database is never here (see `receiver.config.default_db_path`): bundles may unpack to temp."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["resource_path", "resources_dir"]


def resources_dir() -> Path:
    root = getattr(sys, "_MEIPASS", None)
    return Path(root) / "resources" if root else Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
