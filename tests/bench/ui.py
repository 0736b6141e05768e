"""The window's responsiveness, measured on the real app (offscreen): what a user waits for.

1. Opening a 10,000-span trace until its waterfall has painted.
2. The trace list's first page, and the page filtered by service + errors only, in the
   window (worker thread round trip included) with a big database (default 1,000,000
   spans; built by `tests/bench/trace_list.py --db PATH` once and reused).
3. A span's arrival (its OTLP/HTTP export acknowledged) until its row is in the list.
4. Cold start: spawning a process that builds the window as `tracepane` does, until the
   list's first page is shown.
5. Peak RSS of that process with a small database (10,000 spans) and with the big one,
   after paging through the list and opening a trace.

    .venv/bin/python -m tests.bench.ui --big-db /tmp/bench1m.db [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QModelIndex, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

BIG_TRACE_SPANS = 10_000
WAIT_S = 60.0


def wait_until(condition, timeout_s: float = WAIT_S) -> float:
    """Run the event loop until `condition()`; returns the seconds it took."""
    started = time.perf_counter()
    loop = QEventLoop()
    timer = QTimer(interval=1)
    timer.timeout.connect(lambda: loop.quit() if condition() or time.perf_counter() - started > timeout_s else None)
    timer.start()
    if not condition():
        loop.exec()
    timer.stop()
    if not condition():
        raise SystemExit("timed out")
    return time.perf_counter() - started


def measure_in_window(args: argparse.Namespace) -> dict[str, float]:
    import http.client

    from app.receiver_host import ReceiverHost
    from app.settings import AppSettings
    from app.widgets.main_window import MainWindow
    from app.workers import QueryWorker
    from receiver import ReceiverConfig

    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp())
    host = ReceiverHost(ReceiverConfig(db_path=tmp / "ui.db", grpc_port=0, http_port=0))
    host.start()
    worker = QueryWorker(host.config.db_path)
    window = MainWindow(host, worker, AppSettings(tmp / "settings.ini"), remember_layout=False)
    window.resize(1440, 900)
    window.show()
    results: dict[str, float] = {}
    connection = http.client.HTTPConnection("127.0.0.1", host.addresses.http_port, timeout=60)

    def post(body: bytes) -> None:
        connection.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status

    from tests.big_trace import build_big_trace

    for body in build_big_trace(BIG_TRACE_SPANS).bodies:
        post(body)
    host.receiver.flush(60)
    host.receiver.wait_indexed(120)  # opening is measured apart from the indexing that follows an import
    wait_until(lambda: window.list_model.rowCount() == 1)
    trace_id = window.list_model.trace_at(0).trace_id
    opens = []
    for _ in range(args.repeat):
        window.trace_list.setCurrentIndex(QModelIndex())  # nothing open
        wait_until(lambda: window.waterfall.model.trace_id is None)
        started = time.perf_counter()
        window.trace_list.select_trace(trace_id)
        wait_until(lambda: window.waterfall.model.trace_id == trace_id and window.waterfall.model.span_count() > 0)
        window.waterfall.tree.viewport().repaint()  # the first paint, synchronously
        opens.append(time.perf_counter() - started)
    results["open a 10,000-span trace until painted (ms)"] = statistics.median(opens) * 1000
    results["  the same, fastest run (ms)"] = min(opens) * 1000  # this VM's noise is large

    from tests.otlp_builders import make_request, make_span, new_trace_id

    arrivals = []
    for i in range(args.repeat):
        rows = window.list_model.rowCount()
        started = time.perf_counter()
        post(make_request(make_span(trace_id=new_trace_id(), name=f"arrival {i}",
                                    start_ns=time.time_ns())).SerializeToString())
        wait_until(lambda rows=rows: window.list_model.rowCount() == rows + 1)
        arrivals.append(time.perf_counter() - started)
    results["a span's arrival until its row is listed (ms)"] = statistics.median(arrivals) * 1000
    window.close()
    worker.shutdown()
    host.stop()
    app.processEvents()

    if args.big_db:
        from app.list_filter import ListFilter
        from app.models.trace_list_model import TraceListModel
        from app.trace_list_controller import TraceListController

        big = QueryWorker(args.big_db)
        model = TraceListModel()
        controller = TraceListController(big, model)
        for name, list_filter in (("first page, 1M spans stored (ms)", ListFilter()),
                                  ("service + errors only page, 1M spans (ms)",
                                   ListFilter(service="support-agent", errors_only=True)),
                                  ("one full-text term, common ('refund'), 1M spans (ms)", ListFilter(text="refund")),
                                  ("one full-text term, rare ('timed'), 1M spans (ms)", ListFilter(text="timed")),
                                  ("one full-text term no span has, 1M spans (ms)", ListFilter(text="zzyzx")),
                                  ("service + errors only + 'refund', 1M spans (ms)",
                                   ListFilter(service="support-agent", errors_only=True, text="refund"))):
            times = []
            for _ in range(args.repeat):
                loaded = []
                controller.sig_loaded.connect(loaded.append)
                started = time.perf_counter()
                controller.set_filter(list_filter)
                wait_until(lambda loaded=loaded: bool(loaded))
                times.append(time.perf_counter() - started)
                controller.sig_loaded.disconnect()
            results[name] = statistics.median(times) * 1000
        big.shutdown()
        from tests.bench.charts import measure

        results.update(measure(args.big_db, args.repeat))  # the charts of 24 h, from the rollups
    return results


CHILD = r"""
import os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QTimer
from pathlib import Path
from app.receiver_host import ReceiverHost
from app.settings import AppSettings
from app.theme import apply_theme
from app.widgets.main_window import MainWindow
from app.workers import QueryWorker
from receiver import ReceiverConfig
app = QApplication(sys.argv[:1])
apply_theme(app, "light")
db = Path(sys.argv[1])
host = ReceiverHost(ReceiverConfig(db_path=db, grpc_port=0, http_port=0, max_db_mb=0, max_age_days=0))
host.start_soon()
worker = QueryWorker(db)
window = MainWindow(host, worker, AppSettings(Path(sys.argv[2])), remember_layout=False)
window.resize(1440, 900); window.show()
state = {"pages": 0}
def loaded(_empty):
    if state["pages"] == 0:
        print("ready", flush=True)
    view = window.trace_list
    if window.list_model.rowCount():
        window.trace_list.select_trace(window.list_model.trace_at(0).trace_id)
    for _ in range(5):
        view.scrollToBottom(); app.processEvents()
    state["pages"] += 1
window.list_controller.sig_loaded.connect(loaded)
def finish():
    # VmHWM, not ru_maxrss: Linux starts a forked child's ru_maxrss at its parent's, exec or not
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print("rss_kib", hwm.split()[1], flush=True)
    window.close(); worker.shutdown(); host.stop(); app.quit()
QTimer.singleShot(4000, finish)
app.exec()
"""


def child_run(db: Path) -> tuple[float, int]:
    """Cold start (s) to the first page shown, and peak RSS (KiB) after paging and opening a trace."""
    settings = Path(tempfile.mkdtemp()) / "settings.ini"
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(settings)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    ready, rss = None, 0
    for line in process.stdout:
        if line.startswith("ready") and ready is None:
            ready = time.perf_counter() - started
        if line.startswith("rss_kib"):
            rss = int(line.split()[1])
    process.wait(60)
    return ready or float("nan"), rss


def small_db(spans: int) -> Path:
    """A database of `spans` workload spans (the big one's shape), built through the receiver."""
    from tests.bench.trace_list import fill

    path = Path(tempfile.mkdtemp()) / "small.db"
    fill(path, spans)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-db", type=Path, help="a database with ~1,000,000 spans (tests/bench/trace_list.py)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; median of {args.repeat}")
    for name, value in measure_in_window(args).items():
        print(f"{name:50} {value:10.1f}")
    small = small_db(10_000)
    starts, rss_small = [], 0
    for _ in range(args.repeat):
        start, rss_small = child_run(small)
        starts.append(start)
    print(f"{'cold start to a usable window (ms)':50} {statistics.median(starts) * 1000:10.1f}")
    print(f"{'peak RSS, 10,000 spans stored (MiB)':50} {rss_small / 1024:10.1f}")
    if args.big_db:
        _, rss_big = child_run(args.big_db)
        print(f"{'peak RSS, big database (MiB)':50} {rss_big / 1024:10.1f}")
        print(f"{'ratio big / small':50} {rss_big / rss_small:10.2f}")
    print(f"this process's peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
