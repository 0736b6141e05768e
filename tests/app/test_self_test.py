"""`tracepane --self-test`, which the packaged build runs on a fresh machine: it passes here,
touches no user data, and a step that fails is exit 1 with what failed."""

from __future__ import annotations

import os
import subprocess

from app import self_test
from tests.conftest import REPO, TRACEPANE


def test_the_self_test_passes_and_leaves_the_users_data_alone(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_CONFIG_HOME": str(home / "config"), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([str(TRACEPANE), "--self-test"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "self-test: OK" in done.stdout and "self-test over gRPC" in done.stdout and "over HTTP" in done.stdout
    assert not list(home.rglob("*.db")), "the self-test wrote a database of the user's"


def test_a_failing_step_is_exit_1_with_its_reason(qapp, monkeypatch, capsys):
    def refused(addresses, name, token):
        raise ConnectionRefusedError("nobody listens")

    monkeypatch.setattr(self_test, "_send_http", refused)
    assert self_test.run_self_test() == 1
    error = capsys.readouterr().err
    assert "self-test: FAILED" in error and "self-test over HTTP: ConnectionRefusedError: nobody listens" in error


def test_about_names_the_version_licence_and_the_paths_in_use(qtbot, window):
    import tomllib

    from app.version import app_version

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    dialog = window.show_about()
    qtbot.waitExposed(dialog)
    text = " ".join(label.text() for label in dialog.findChildren(type(dialog.paths_label)))
    assert app_version() == version and f"Tracepane {version}" in text and "Apache-2.0" in text
    assert str(window.host.config.db_path) in dialog.paths_label.text()
    assert str(window.settings.file_path) in dialog.paths_label.text()
    dialog.copy_paths()
    from PySide6.QtGui import QGuiApplication

    assert f"Database: {window.host.config.db_path}" in QGuiApplication.clipboard().text()


def test_the_window_says_when_it_moved_an_unusable_database_aside(qtbot, make_window, db_path):
    db_path.write_bytes(b"not a database" * 100)
    window = make_window()
    qtbot.waitUntil(lambda: window.host.receiver is not None, timeout=10_000)
    qtbot.waitUntil(lambda: "moved to" in window.status.currentMessage(), timeout=10_000)
    assert "is not a database" in window.status.currentMessage()
