"""The packaging files (issue 10): the release workflows pass actionlint, the icons render,
and the Linux menu entry names the program. The bundle itself is built and self-tested by
`.ci/run` when CI=true (a minute and a half: not in the test suite)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def test_there_is_a_workflow_per_platform():
    assert {path.stem for path in WORKFLOWS} >= {"build-linux", "build-macos", "build-windows"}


@pytest.mark.skipif(shutil.which("actionlint") is None and not (REPO / ".venv" / "bin" / "actionlint").exists(),
                    reason="actionlint is installed with the test extra on Linux x86_64 only")
def test_the_workflows_pass_actionlint():
    actionlint = shutil.which("actionlint") or str(REPO / ".venv" / "bin" / "actionlint")
    done = subprocess.run([actionlint, *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_icons_render_from_the_svg(qapp, tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO / "build_scripts"))
    try:
        import build
    finally:
        sys.path.remove(str(REPO / "build_scripts"))
    monkeypatch.setattr(build, "GENERATED", tmp_path)
    build.make_icons()
    with Image.open(tmp_path / "tracepane.png") as png:
        assert png.size == (512, 512) and len(png.convert("RGBA").getcolors(1 << 24) or []) > 20
    with Image.open(tmp_path / "tracepane.ico") as ico:
        assert (256, 256) in ico.info["sizes"]
    assert (tmp_path / "tracepane.icns").stat().st_size > 10_000


def test_the_linux_menu_entry_starts_tracepane_with_its_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(REPO / "build_scripts" / "linux" / "tracepane.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"] == "tracepane" and desktop["Icon"] == "tracepane"
