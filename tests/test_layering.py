"""The receiver runs headless: importing it loads no Qt, no pyqtgraph and nothing of `app`,
and the import-linter contract in pyproject.toml keeps it that way."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "app")


def test_importing_the_whole_receiver_loads_no_qt():
    probe = ("import sys, pkgutil, importlib, receiver\n"
             "for m in pkgutil.walk_packages(receiver.__path__, 'receiver.'):\n"
             "    if m.name != 'receiver.__main__': importlib.import_module(m.name)\n"
             "[getattr(receiver, n) for n in receiver.__all__]\n"
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_import_linter_contract_holds():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    done = subprocess.run([lint, "--no-cache"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout  # the receiver's, and the app's two (pyproject.toml)


def test_python_m_receiver_serves_headless(tmp_path):
    from receiver.storage.store import TraceStore
    from tests.conftest import post
    from tests.otlp_builders import make_request, make_span, new_trace_id
    from tests.serve_process import ServeProcess

    server = ServeProcess(tmp_path / "headless.db", command=[sys.executable, "-m", "receiver"])
    server.wait_listening()
    trace_id = new_trace_id()
    try:
        assert post(server.http_port, make_request(make_span(trace_id=trace_id)).SerializeToString()).status == 200
    finally:
        assert server.stop() == 0
    store = TraceStore(tmp_path / "headless.db")
    assert store.get_trace_summary(trace_id.hex()).span_count == 1
    store.close()


def test_app_models_import_no_widgets():
    """Models are adapters (QtCore/QtGui only): import-linter cannot name a PySide6 submodule,
    so the rule is checked here from the source."""
    import ast

    for path in sorted((REPO / "app" / "models").glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {name for name in imported if name.startswith("PySide6.QtWidgets")}, path.name
