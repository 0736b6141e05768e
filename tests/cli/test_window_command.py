"""`tracepane` with no command opens the window: screenshot mode (the installed command, in
a subprocess, offscreen) loads the demo, opens the first trace and its first chat span, and
writes a real picture; bad options and a missing display fail with a message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from PIL import Image

from tests.conftest import TRACEPANE

TIMEOUT_S = 120


def _run(tmp_path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TRACEPANE_SETTINGS": str(tmp_path / "settings.ini")}
    return subprocess.run([str(TRACEPANE), "--db", str(tmp_path / "tp.db"), *args], capture_output=True,
                          text=True, timeout=TIMEOUT_S, env=env or base)


def test_screenshot_mode_saves_the_window_with_the_demo_open(tmp_path):
    png = tmp_path / "shot.png"
    result = _run(tmp_path, "--grpc-port", "0", "--http-port", "0", "--demo", "--screenshot", str(png),
                  "--theme", "dark")
    assert result.returncode == 0, result.stderr
    image = Image.open(png).convert("RGB")
    assert image.width >= 1280 and image.height >= 800
    assert len(image.getcolors(1 << 24)) > 200  # text, bars and colours, not a blank frame
    window_colour = image.getpixel((image.width // 2, image.height - 40))
    assert sum(window_colour) < 3 * 100  # the dark palette was applied
    assert not (tmp_path / "settings.ini").exists() or "geometry" not in (tmp_path / "settings.ini").read_text()


def test_screenshot_mode_fails_with_a_message_when_the_receiver_cannot_start(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = _run(tmp_path, "--grpc-port", port, "--http-port", "0", "--demo", "--screenshot",
                      str(tmp_path / "x.png"))
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "screenshot failed" in result.stderr


def test_an_unknown_view_is_a_usage_error(tmp_path):
    result = _run(tmp_path, "--view", "nonsense", "--screenshot", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "--view" in result.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="displays are found differently elsewhere")
def test_without_a_display_the_window_command_says_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["TRACEPANE_SETTINGS"] = str(tmp_path / "settings.ini")
    result = _run(tmp_path, "--grpc-port", "0", "--http-port", "0", env=env)
    assert result.returncode == 1
    assert "no display" in result.stderr and "tracepane serve" in result.stderr


def test_ctrl_c_in_the_terminal_closes_the_window_cleanly(tmp_path):
    import signal

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TRACEPANE_SETTINGS": str(tmp_path / "settings.ini")}
    process = subprocess.Popen([str(TRACEPANE), "--db", str(tmp_path / "tp.db"), "--grpc-port", "0",
                                "--http-port", "0"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in process.stderr:  # Qt's notices, then ours once the window is up
            if line.startswith("tracepane: "):
                break
        assert "OTLP/gRPC on 127.0.0.1:" in line
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (tmp_path / "settings.ini").exists()  # the window closed through its own path: layout saved
