"""Fixtures for the app's tests: the demo traces, sent over real OTLP/gRPC to a real
receiver and read back from its SQLite file; main windows with a receiver in the process."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from app.demo import send_demo
from app.gc_policy import GuiThreadCollector
from app.receiver_host import ReceiverHost
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from app.workers import QueryWorker
from receiver import Receiver, ReceiverConfig, TraceDetail
from tests.big_trace import BigTrace, build_big_trace
from tests.conftest import post


@pytest.fixture(scope="session", autouse=True)
def _collect_on_the_gui_thread(qapp):
    """As the app does (app.gc_policy): the windows of earlier tests are collected on the GUI
    thread, never in a query or writer thread, where destroying them can deadlock with Qt."""
    collector = GuiThreadCollector()
    collector.start()
    yield
    collector.stop()


@pytest.fixture
def demo_receiver(receiver):
    """The conftest's receiver (loopback, port 0) with the demo's three traces stored."""
    send_demo("127.0.0.1", receiver.addresses.grpc_port)
    assert receiver.flush(10)
    return receiver


@pytest.fixture
def demo_traces(demo_receiver, store) -> list[TraceDetail]:
    """The demo's traces, newest first: [0] the short third turn, [1] the rate-limited turn
    (an error span), [2] the first turn (agent → chat with a tool call → tool → retrieval →
    embeddings → sub-agent → chat with cached tokens → streamed chat)."""
    return [store.get_trace(t.trace_id) for t in store.list_traces().traces]


@pytest.fixture
def first_turn(demo_traces) -> TraceDetail:
    return demo_traces[2]


@pytest.fixture
def settings_path(tmp_path):
    return tmp_path / "settings.ini"


@pytest.fixture
def make_window(qtbot, db_path, settings_path):
    """Makes main windows, each with its own receiver (port 0) on `db_path`, and a store that
    raises if the GUI thread queries it; closes and stops them after the test."""
    made = []

    def make(config: ReceiverConfig | None = None, *, show: bool = True) -> MainWindow:
        host = ReceiverHost(config or ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0))
        host.start()
        worker = QueryWorker(host.config.db_path)
        worker.store.forbid_queries_on(threading.get_ident())  # the GUI thread must never query
        window = MainWindow(host, worker, AppSettings(settings_path))
        qtbot.addWidget(window)
        if show:
            window.show()  # shortcuts and focus work only in a shown window (offscreen shows nothing)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
        assert window.worker.shutdown()
        window.host.stop()


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()


@pytest.fixture(scope="session")
def big_trace_db(tmp_path_factory) -> tuple[Path, BigTrace]:
    """A database holding one 10,000-span agent trace (`tests.big_trace`), sent once per session
    over real OTLP/HTTP; tests open copies of it (`big_window`)."""
    db = tmp_path_factory.mktemp("big") / "big.db"
    big = build_big_trace()
    with Receiver(ReceiverConfig(db_path=db, grpc_port=0, http_port=0)) as receiver:
        for body in big.bodies:
            answer = post(receiver.addresses.http_port, body)
            assert answer.status == 200, answer.body
        assert receiver.flush(60)
    return db, big


@pytest.fixture
def big_window(qtbot, make_window, db_path, big_trace_db) -> tuple[MainWindow, BigTrace]:
    """A window on a copy of `big_trace_db`, the big trace opened and its waterfall filled."""
    source, big = big_trace_db
    for suffix in ("", "-wal", "-shm"):
        if (file := Path(f"{source}{suffix}")).exists():
            shutil.copyfile(file, f"{db_path}{suffix}")
    window = make_window()
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1, timeout=30_000)
    window.trace_list.select_trace(big.trace_id)
    qtbot.waitUntil(lambda: window.waterfall.model.span_count() == big.span_count
                    and window.inspector.span() is not None, timeout=30_000)
    return window, big
