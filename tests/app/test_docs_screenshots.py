"""The script that makes the README's screenshots keeps working as the window changes (it
broke once when the waterfall started holding outlines): it runs, and writes every picture."""

from __future__ import annotations

import os
import subprocess
import sys

from PIL import Image

from tests.conftest import REPO

PICTURES = ("empty-state", "main-window-light", "main-window-dark", "messages-tab", "overview-tab", "search",
            "broken-trace", "forwarding-failing", "evaluation-badges", "annotation-dialog", "evaluations-chart",
            "playground", "mcp-unpropagated")


def test_docs_screenshots_script_writes_every_picture(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "docs" / "screenshots.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, cwd=REPO,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr[-2000:]
    for name in PICTURES:
        image = Image.open(tmp_path / f"{name}.png")
        assert image.width >= 700 and len(image.convert("RGB").getcolors(1 << 24) or []) > 50, name
    assert Image.open(tmp_path / "main-window-light.png").size == (1440, 900)
    # the README shows each of them
    readme = (REPO / "README.md").read_text()
    assert all(f"docs/screenshots/{name}.png" in readme for name in (*PICTURES, "storage-budgets"))
    assert Image.open(tmp_path / "storage-budgets.png").width >= 400
