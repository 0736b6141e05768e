"""`tracepane` with no command: the desktop window, with the receiver in the same process.

Startup order: QApplication and theme → receiver (a taken port is reported in the window,
not fatal) → query worker → main window. Quitting stops them in reverse: the window saves
its layout, the worker closes its connection on its thread, the receiver writes what it
accepted and closes the database.

Screenshot mode (`--screenshot PATH`, for docs and checks) loads the demo traces if asked,
opens the first trace and its first chat span, saves the window as PNG and exits.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from receiver import ReceiverConfig

__all__ = ["GuiOptions", "run_app"]

SCREENSHOT_SIZE = (1440, 900)
SCREENSHOT_TIMEOUT_MS = 60_000
INTERRUPT_POLL_MS = 250
EXIT_OK, EXIT_FAILURE = 0, 1


@dataclass(frozen=True, kw_only=True)
class GuiOptions:
    demo: bool = False
    screenshot: Path | None = None
    view: str = "traces"
    theme: str = "auto"
    ports_explicit: bool = False  # --grpc-port or --http-port given: ports chosen in the window do not apply
    budget_explicit: bool = False  # --max-db-mb / --max-age-days (or their variables): Preferences' do not apply


def run_app(config: ReceiverConfig, options: GuiOptions) -> int:
    problem = _display_problem(headless_ok=options.screenshot is not None)
    if problem:
        print(f"tracepane: {problem}", file=sys.stderr)
        return EXIT_FAILURE
    import PySide6.QtWidgets  # noqa: F401 - before pyqtgraph, so it binds to PySide6
    from PySide6.QtWidgets import QApplication

    from app.paths import resource_path
    from app.receiver_host import ReceiverHost
    from app.settings import AppSettings
    from app.theme import apply_theme
    from app.widgets.main_window import MainWindow, icon
    from app.workers import QueryWorker

    app = QApplication.instance() or QApplication([sys.argv[0]])
    from app.gc_policy import GuiThreadCollector

    collector = GuiThreadCollector(app)  # never in a worker thread: see app.gc_policy
    collector.start()
    app.setApplicationName("Tracepane")
    app.setOrganizationName("Tracepane")
    app.setDesktopFileName("tracepane")
    app.setWindowIcon(icon("tracepane"))
    apply_theme(app, options.theme)
    if (qss := resource_path("tracepane.qss")).exists():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))

    settings = AppSettings()
    if not options.ports_explicit and options.screenshot is None:
        chosen_grpc, chosen_http = settings.ports()  # picked in the app after a conflict
        config = _with_ports(config, chosen_grpc, chosen_http)
    if not options.budget_explicit and options.screenshot is None:
        config = _with_budget(config, *settings.retention_budget())
    host = ReceiverHost(config)
    host.start_soon()  # the window shows what is stored meanwhile
    worker = QueryWorker(config.db_path)
    window = MainWindow(host, worker, settings, remember_layout=options.screenshot is None)
    window.show_view(options.view)
    window.retention.set_by_flags = options.budget_explicit
    exit_code = [EXIT_OK]
    if options.screenshot is not None:
        window.resize(*SCREENSHOT_SIZE)
        from app.screenshot import ScreenshotTaker

        taker = ScreenshotTaker(window, options.screenshot, wait_for_traces=3 if options.demo else 0, parent=window)
        taker.sig_done.connect(lambda code: (exit_code.__setitem__(0, code), app.quit()))
        taker.start(SCREENSHOT_TIMEOUT_MS)
    window.show()
    if options.demo:
        window.load_demo()
    _quit_on_interrupt(app)
    previous_hook = sys.excepthook
    sys.excepthook = lambda *exc_info: _report_unexpected(window, previous_hook, *exc_info)
    host.sig_state_changed.connect(lambda: _say_where(host))
    try:
        app.exec()
    finally:
        sys.excepthook = previous_hook
        window.close()
        worker.shutdown()
        host.stop()
    return exit_code[0]


def _say_where(host) -> None:
    """One line in the terminal once the receiver is up (or could not start)."""
    if host.starting:
        return
    if host.addresses is not None:
        print(f"tracepane: OTLP/gRPC on {host.addresses.grpc}, OTLP/HTTP on {host.addresses.http}; "
              f"database {host.config.db_path}", file=sys.stderr, flush=True)
    elif host.problem:
        from receiver import DatabaseInUse

        then = "try again there once it has stopped" if isinstance(host.failure, DatabaseInUse) \
            else "pick other ports there"
        print(f"tracepane: {host.problem} (the window shows what is stored; {then})", file=sys.stderr, flush=True)


def _quit_on_interrupt(app) -> None:
    """Ctrl-C in the terminal quits like closing the window. Python runs signal handlers only
    between bytecodes, and Qt's loop runs none while idle: a timer lets Python look now and then."""
    import signal

    from PySide6.QtCore import QTimer

    # queued: the handler may run before the loop has started, when quitting would be lost
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, app.quit))
    timer = QTimer(app, interval=INTERRUPT_POLL_MS)
    timer.timeout.connect(lambda: None)
    timer.start()


def _report_unexpected(window, previous_hook, exc_type, exc, tb) -> None:
    """A bug in a slot must not pass silently: log it as Python would, and say so in the window."""
    previous_hook(exc_type, exc, tb)
    try:
        window.statusBar().showMessage(f"Internal error: {exc_type.__name__}: {exc} (details on stderr)", 30_000)
    except RuntimeError:  # the window is already gone
        pass


def _with_budget(config: ReceiverConfig, max_db_mb: int | None, max_age_days: float | None) -> ReceiverConfig:
    import dataclasses

    return dataclasses.replace(config, max_db_mb=config.max_db_mb if max_db_mb is None else max(0, max_db_mb),
                               max_age_days=config.max_age_days if max_age_days is None else max(0.0, max_age_days))


def _with_ports(config: ReceiverConfig, grpc_port: int | None, http_port: int | None) -> ReceiverConfig:
    import dataclasses

    return dataclasses.replace(config, grpc_port=config.grpc_port if grpc_port is None else grpc_port,
                               http_port=config.http_port if http_port is None else http_port)


def _display_problem(*, headless_ok: bool) -> str:
    """Why no window can open here ("" if one can). Screenshots fall back to offscreen."""
    if os.environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return ""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return ""
    if headless_ok:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return ""
    return ("no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset). Run `tracepane serve` for "
            "the headless receiver, or set QT_QPA_PLATFORM=offscreen")
