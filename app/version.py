"""The version, from one place: `pyproject.toml`, as installed package metadata (a bundle
carries it too, see build_scripts/tracepane.spec). Read on demand: importing the metadata
machinery costs ~40 ms, which `tracepane stats` must not pay."""

from __future__ import annotations

import functools
import re
from pathlib import Path

__all__ = ["LICENCE", "app_version"]

LICENCE = "Apache-2.0"


@functools.cache
def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tracepane")
    except PackageNotFoundError:  # a checkout run without installing it
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        found = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"), re.MULTILINE) \
            if pyproject.exists() else None
        return found.group(1) if found else "0+unknown"
