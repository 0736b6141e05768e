"""What the soak (tests/bench/soak.py) runs and measures: the Tracepane processes it owns, the
paced OpenTelemetry SDK exporters that feed them, and the readings taken of them (RSS of a
process tree, the database's bytes and counts)."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from tests.bench.load_test import _span_stream  # noqa: E402

HOST = "127.0.0.1"
READY_TIMEOUT_S = 90.0  # the window imports Qt and pyqtgraph before its receiver starts
STOP_TIMEOUT_S = 60.0  # both write what they have queued before they exit
EXPORT_TIMEOUT_S = 10.0  # the exporter retries a busy receiver within this, then reports FAILURE
MAX_EXPORT_SPANS = 512  # the SDK BatchSpanProcessor's largest export
# "OTLP/gRPC  127.0.0.1:4317" (serve's banner, stdout) or "OTLP/gRPC on 127.0.0.1:4317" (the window, stderr)
_LISTENING = re.compile(r"OTLP/(gRPC|HTTP)\s+(?:on\s+)?\S*?:(\d+)")


class OwnedProcess:
    """A `tracepane` process this script started (in a session of its own, so the terminal's
    Ctrl-C reaches only the soak, which then stops it in order); its ports are read from the
    lines it prints when its receiver is listening."""

    def __init__(self, label: str, argv: list[str], env: dict[str, str], stop_signal: signal.Signals) -> None:
        self.label, self.stop_signal = label, stop_signal
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     start_new_session=True)
        self.last_lines: collections.deque[str] = collections.deque(maxlen=40)
        self._ports: dict[str, int] = {}
        self._seen_ports = threading.Event()
        self._reader = threading.Thread(target=self._read_output, name=f"{label}-output", daemon=True)
        self._reader.start()
        self.exit_code: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def grpc_port(self) -> int:
        return self._ports["gRPC"]

    @property
    def http_port(self) -> int:
        return self._ports["HTTP"]

    def _read_output(self) -> None:
        for line in self.proc.stdout:
            self.last_lines.append(line.rstrip())
            for transport, port in _LISTENING.findall(line):
                self._ports[transport] = int(port)
            if len(self._ports) == 2:
                self._seen_ports.set()

    def wait_ready(self, deadline: float) -> float:
        """Wait until both ports are printed and accept a connection; return the seconds taken."""
        started = time.monotonic()
        while not self._seen_ports.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.label} is not listening (exit code {self.proc.poll()}):\n"
                                   + "\n".join(self.last_lines))
        for port in (self.grpc_port, self.http_port):
            while True:
                try:
                    socket.create_connection((HOST, port), timeout=1.0).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{self.label}: port {port} printed but not accepting") from None
                    time.sleep(0.1)  # a poll with a deadline, not a pause
        return time.monotonic() - started

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        """Its clean-stop signal, by PID, then wait; kill only if it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.last_lines.append(f"(no exit {STOP_TIMEOUT_S:g} s after {self.stop_signal.name}: killed)")
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(5)
        self.exit_code = self.proc.returncode
        return self.exit_code


def _children_by_parent() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            ppid = int(stat.rpartition(")")[2].split()[1])  # after the command name, which may hold spaces
            tree[ppid].append(int(entry))
    return tree


def tree_rss_kib(pid: int) -> int:
    """VmRSS of the process and all its descendants, in KiB (0 once it is gone)."""
    tree, total, todo = _children_by_parent(), 0, [pid]
    while todo:
        current = todo.pop()
        todo += tree.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def db_bytes(db: Path) -> int:
    """The database file and its write-ahead log, as `tracepane stats` counts them."""
    return sum(os.path.getsize(p) for p in (db, Path(f"{db}-wal")) if p.exists())


def store_stats(tracepane: str, db: Path) -> dict:
    """`tracepane stats --json`: spans, traces, db_bytes … (empty when the command failed)."""
    done = subprocess.run([tracepane, "stats", "--json", "--db", str(db)], capture_output=True, text=True,
                          timeout=60)
    return json.loads(done.stdout) if done.returncode == 0 else {}


@dataclass
class Export:
    at: float  # time.monotonic() when it returned
    seconds: float
    spans: int
    ok: bool


class PacedSender(threading.Thread):
    """One OTLP span exporter of the SDK (gRPC or HTTP/protobuf) sending agent-shaped GenAI
    traces (tests/bench/load_test.py's stream of tests/bench/workload.py) at `rate` spans/s, an
    export every `interval_s`, as a BatchSpanProcessor would; each `export()` call is timed."""

    def __init__(self, target: str, transport: str, port: int, rate: float, interval_s: float, seed: int) -> None:
        super().__init__(name=f"{target}-{transport}", daemon=True)
        self.target, self.transport, self.rate, self.interval_s = target, transport, rate, interval_s
        if transport == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            self.exporter = OTLPSpanExporter(endpoint=f"{HOST}:{port}", insecure=True, timeout=EXPORT_TIMEOUT_S)
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

            self.exporter = HttpExporter(endpoint=f"http://{HOST}:{port}/v1/traces", timeout=EXPORT_TIMEOUT_S)
        self._stream = _span_stream(seed, f"soak-{transport}")
        self._ahead = [next(self._stream)]  # builds the stream's trace pool before the clock starts
        self._lock = threading.Lock()
        self._exports: list[Export] = []
        self._stopping = threading.Event()  # not `_stop`: Thread has a method of that name
        self.spans_sent = self.error_spans = 0

    def _spans(self, count: int) -> list:
        spans, self._ahead = self._ahead + [next(self._stream) for _ in range(count - len(self._ahead))], []
        return spans

    def run(self) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult
        from opentelemetry.trace import StatusCode

        started = next_tick = time.monotonic()
        while not self._stopping.is_set():
            owed = int(self.rate * (time.monotonic() - started)) - self.spans_sent
            if owed > 0:
                spans = self._spans(min(owed, MAX_EXPORT_SPANS))
                t0 = time.perf_counter()
                result = self.exporter.export(spans)
                seconds = time.perf_counter() - t0
                with self._lock:
                    self._exports.append(Export(time.monotonic(), seconds, len(spans),
                                                result is SpanExportResult.SUCCESS))
                self.spans_sent += len(spans)
                self.error_spans += sum(span.status.status_code is StatusCode.ERROR for span in spans)
            next_tick += self.interval_s
            self._stopping.wait(max(0.0, next_tick - time.monotonic()))  # the pacing of the traffic
        self.exporter.shutdown()

    def take_exports(self) -> list[Export]:
        """The exports finished since the last call."""
        with self._lock:
            taken, self._exports = self._exports, []
        return taken

    def stop(self) -> None:
        self._stopping.set()
        self.join(EXPORT_TIMEOUT_S * 3)
