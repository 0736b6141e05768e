"""Load test: the app's receiver under four real OpenTelemetry SDK exporters at full speed,
with the main window's live models refreshing offscreen. Run by hand (not a pytest test):

    .venv/bin/python tests/bench/load_test.py [--seconds 60] [--batch 512] [--grpc 2] [--http 2]

The receiver runs in this process inside the app's `ReceiverHost`, with a `MainWindow`
(offscreen) on it: the trace list, meters and status bar refresh from its commits as they do
for a user. Each exporter runs in a process of its own (so the GIL does not serialise them):
2 × `OTLPSpanExporter` over gRPC and 2 × over HTTP/protobuf, each calling `export(batch)` as
fast as it returns, with agent-shaped GenAI spans (tests/bench/workload.py: invoke_agent
roots, chats with gen_ai.* and OpenInference attributes and message JSON, tool calls), made
into SDK `ReadableSpan`s with fresh ids for every batch. A failed export (the receiver's
503 / UNAVAILABLE when its queue is full, after the exporter's own retries) is retried by
the sender until it succeeds, and counted.

Printed at the end: spans/s in total and per exporter; p50 / p95 / p99 / max latency of one
`export()` call; spans sent, acknowledged and stored (per exporter, by service name, read
from the database after the receiver stopped: stored must equal acknowledged); retries;
RSS of this process (receiver + app); and how many refreshes the window's models did.
Exit code 1 when a span acknowledged is not stored, or one was given up on.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import queue
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # run as a script from anywhere; spawned children import this file

GIVE_UP_AFTER_S = 120.0  # a batch still failing this long after the end is counted lost
START_TIMEOUT_S = 120.0
POOL_TRACES = 400  # agent traces generated up front per exporter, reused with fresh ids


# --- the exporters (child processes: nothing here imports Qt) --------------------------------------


def _span_templates(seed: int) -> list[list[tuple]]:
    """Agent traces from the benchmark workload, as (name, kind, is_root, start offset ns,
    duration ns, attributes, error) per span, in the order an SDK ends them."""
    from tests.bench import workload

    rng = random.Random(seed)
    traces = []
    start = workload.BASE_TIME_NS
    for _ in range(POOL_TRACES):
        spans = workload._agent_trace(rng, start)
        first = min(s.start_time_unix_nano for s in spans)
        trace = []
        for span in spans:
            attributes = {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in span.attributes}
            trace.append((span.name, span.kind, not span.parent_span_id, span.start_time_unix_nano - first,
                          span.end_time_unix_nano - span.start_time_unix_nano, attributes,
                          span.status.code == 2))
        traces.append(trace)
    return traces


def _span_stream(seed: int, service: str):
    """Endless ReadableSpans: the templates again and again, each time with fresh trace and
    span ids, fresh response ids and the current time."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    from tests.bench import workload

    resource = Resource.create({"service.name": service, "telemetry.sdk.language": "python"})
    scope = InstrumentationScope(*workload.AGENT_SCOPE)
    kinds = {1: SpanKind.INTERNAL, 2: SpanKind.SERVER, 3: SpanKind.CLIENT, 4: SpanKind.PRODUCER, 5: SpanKind.CONSUMER}
    sampled = TraceFlags(TraceFlags.SAMPLED)
    rng = random.Random(seed)
    templates = _span_templates(seed)
    serial = 0
    while True:
        for trace in templates:
            trace_id, root_id = rng.getrandbits(128) | 1, rng.getrandbits(64) | 1
            root_context = SpanContext(trace_id, root_id, is_remote=False, trace_flags=sampled)
            now = time.time_ns()
            for name, kind, is_root, offset, duration, attributes, error in trace:
                serial += 1
                if "gen_ai.response.id" in attributes:
                    attributes = {**attributes, "gen_ai.response.id": f"chatcmpl-{service}-{serial}"}
                context = root_context if is_root else SpanContext(trace_id, rng.getrandbits(64) | 1,
                                                                   is_remote=False, trace_flags=sampled)
                yield ReadableSpan(name=name, context=context, parent=None if is_root else root_context,
                                   resource=resource, attributes=attributes, kind=kinds.get(kind, SpanKind.INTERNAL),
                                   status=Status(StatusCode.ERROR, "upstream timed out") if error else Status(),
                                   start_time=now + offset, end_time=now + offset + duration,
                                   instrumentation_scope=scope)


def exporter_process(index: int, transport: str, port: int, batch: int, seconds: float, go, results) -> None:
    """One exporter: export batches as fast as they return for `seconds` after `go` is set."""
    from opentelemetry.sdk.trace.export import SpanExportResult

    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, timeout=30)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", timeout=30)
    service = f"load-{transport}-{index}"
    stream = _span_stream(1000 + index, service)
    warm = [next(stream) for _ in range(batch)]  # build the pool before the clock starts
    go.wait(START_TIMEOUT_S)
    started, cpu_started = time.monotonic(), time.process_time()
    end = started + seconds
    latencies: list[float] = []
    sent = acknowledged = failed_calls = lost = exports = 0
    spans = warm
    while time.monotonic() < end:
        sent += len(spans)
        while True:
            t0 = time.perf_counter()
            result = exporter.export(spans)
            latencies.append(time.perf_counter() - t0)
            exports += 1
            if result is SpanExportResult.SUCCESS:
                acknowledged += len(spans)
                break
            failed_calls += 1  # retried (the exporter itself has retried already)
            if time.monotonic() > end + GIVE_UP_AFTER_S:
                lost += len(spans)
                break
        spans = [next(stream) for _ in range(batch)]
    active, cpu = time.monotonic() - started, time.process_time() - cpu_started
    exporter.shutdown()
    results.put({"index": index, "transport": transport, "service": service, "sent": sent,
                 "acknowledged": acknowledged, "failed_calls": failed_calls, "lost": lost, "exports": exports,
                 "seconds": active, "cpu_seconds": cpu, "latencies": latencies})


# --- the app side (this process) --------------------------------------------------------------------


def rss_kib(field: str = "VmRSS") -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def stored_by_service(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT service_name, count(*) FROM spans GROUP BY service_name").fetchall())
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--batch", type=int, default=512, help="spans per export (the SDK's default batch)")
    parser.add_argument("--grpc", type=int, default=2, help="gRPC exporter processes")
    parser.add_argument("--http", type=int, default=2, help="HTTP/protobuf exporter processes")
    parser.add_argument("--db", type=Path, help="database (default: a new temp file)")
    args = parser.parse_args()

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.gc_policy import GuiThreadCollector
    from app.receiver_host import ReceiverHost
    from app.settings import AppSettings
    from app.widgets.main_window import MainWindow
    from app.workers import QueryWorker
    from receiver import ReceiverConfig

    tmp = Path(tempfile.mkdtemp(prefix="tracepane-load-"))
    db = args.db or tmp / "load.db"
    app = QApplication.instance() or QApplication([sys.argv[0]])
    _quiet_offscreen_warning()
    collector = GuiThreadCollector(app)
    collector.start()
    host = ReceiverHost(ReceiverConfig(db_path=db, grpc_port=0, http_port=0))
    if not host.start():
        raise SystemExit(f"the receiver did not start: {host.problem}")
    worker = QueryWorker(db)
    window = MainWindow(host, worker, AppSettings(tmp / "settings.ini"), remember_layout=False)
    window.resize(1440, 900)
    window.show()

    # What the window's models do, counted without touching the app: the bridge's coalesced
    # ingest events, and each refresh the trace list merges into its model.
    counts = {"ingest events (bridge)": 0, "trace list refreshes (merged)": 0, "meters refreshes (shown)": 0}
    window.bridge.sig_spans_ingested.connect(lambda _event: counts.__setitem__(
        "ingest events (bridge)", counts["ingest events (bridge)"] + 1))
    model_merge = window.list_model.merge

    def counted_merge(traces):
        counts["trace list refreshes (merged)"] += 1
        return model_merge(traces)

    window.list_model.merge = counted_merge
    meters_show = window.meters_controller._show

    def counted_meters_show(*a, **kw):
        counts["meters refreshes (shown)"] += 1
        return meters_show(*a, **kw)

    window.meters_controller._show = counted_meters_show

    addresses = host.addresses
    context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt
    go, results = context.Event(), context.Queue()
    plan = [("grpc", addresses.grpc_port)] * args.grpc + [("http", addresses.http_port)] * args.http
    children = [context.Process(target=exporter_process, name=f"exporter-{i}",
                                args=(i, transport, port, args.batch, args.seconds, go, results), daemon=True)
                for i, (transport, port) in enumerate(plan)]
    for child in children:
        child.start()
    print(f"{len(children)} exporters ({args.grpc} gRPC, {args.http} HTTP/protobuf), batches of {args.batch}, "
          f"{args.seconds:g} s; receiver in the app's host at {addresses.grpc} / {addresses.http}; database {db}",
          flush=True)

    rss_peak = [rss_kib()]
    reports: list[dict] = []
    started = [0.0]

    def poll() -> None:
        rss_peak[0] = max(rss_peak[0], rss_kib())
        while True:
            try:
                reports.append(results.get_nowait())
            except queue.Empty:
                break
        if len(reports) == len(children) or not any(c.is_alive() for c in children) and not _pending(results):
            app.quit()

    cpu_started = [0.0]

    def start_clock() -> None:
        started[0], cpu_started[0] = time.monotonic(), _cpu_seconds()
        go.set()

    timer = QTimer(interval=200)
    timer.timeout.connect(poll)
    timer.start()
    QTimer.singleShot(3000, start_clock)  # the children import the SDK and build their pools meanwhile
    app.exec()
    timer.stop()
    wall, cpu_main = time.monotonic() - started[0], _cpu_seconds() - cpu_started[0]
    rss_end = rss_kib()
    for child in children:
        child.join(30)

    receiver = host.receiver
    receiver.flush(120)
    counters = receiver.counters()
    rows_in_list = window.list_model.rowCount()
    window.close()
    worker.shutdown()
    host.stop()
    collector.stop()
    app.processEvents()
    stored = stored_by_service(db)
    if args.db is None:
        shutil.rmtree(tmp, ignore_errors=True)

    # --- report ---------------------------------------------------------------------------------
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'exporter':<16} {'spans/s':>9} {'sent':>9} {'acked':>9} {'stored':>9} {'exports':>8} {'retried':>8} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    all_latencies: list[float] = []
    ok = len(reports) == len(children)
    for report in sorted(reports, key=lambda r: r["index"]):
        lat = report["latencies"]
        all_latencies += lat
        stored_here = stored.get(report["service"], 0)
        ok &= stored_here == report["acknowledged"] and not report["lost"]
        print(f"{report['service']:<16} {report['acknowledged'] / report['seconds']:9,.0f} {report['sent']:9,} "
              f"{report['acknowledged']:9,} {stored_here:9,} {report['exports']:8,} {report['failed_calls']:8,} "
              f"{percentile(lat, .5) * 1e3:8.1f} {percentile(lat, .95) * 1e3:8.1f} "
              f"{percentile(lat, .99) * 1e3:8.1f} {max(lat, default=0) * 1e3:8.1f}")
    acked = sum(r["acknowledged"] for r in reports)
    total_stored = sum(stored.get(r["service"], 0) for r in reports)
    print(f"{'all':<16} {acked / wall:9,.0f} {sum(r['sent'] for r in reports):9,} {acked:9,} {total_stored:9,} "
          f"{sum(r['exports'] for r in reports):8,} {sum(r['failed_calls'] for r in reports):8,} "
          f"{percentile(all_latencies, .5) * 1e3:8.1f} {percentile(all_latencies, .95) * 1e3:8.1f} "
          f"{percentile(all_latencies, .99) * 1e3:8.1f} {max(all_latencies, default=0) * 1e3:8.1f}")
    print(f"\nwall time {wall:.1f} s (until the last exporter finished its last batch); "
          f"mean export {statistics.fmean(all_latencies) * 1e3 if all_latencies else 0:.1f} ms")
    print(f"spans stored == spans acknowledged: {total_stored == acked} ({total_stored:,} / {acked:,}); "
          f"lost (given up): {sum(r['lost'] for r in reports):,}")
    print(f"receiver counters: {counters.spans_accepted:,} spans accepted, {counters.requests_busy:,} requests "
          f"refused busy (503 / UNAVAILABLE), {counters.requests_failed:,} failed")
    print(f"CPU over the run: receiver + app process {cpu_main:.1f} s ({cpu_main / wall:.0%} of one core), "
          f"exporter processes {sum(r['cpu_seconds'] for r in reports):.1f} s in all")
    print(f"RSS of the receiver process (receiver + app): peak {rss_peak[0] / 1024:,.0f} MiB (sampled), "
          f"at the end {rss_end / 1024:,.0f} MiB, high-water mark {rss_kib('VmHWM') / 1024:,.0f} MiB")
    print("app refreshes: " + ", ".join(f"{name} {count:,}" for name, count in counts.items())
          + f"; {rows_in_list:,} rows in the trace list at the end")
    if not ok:
        print("FAILED: an exporter did not report, or spans acknowledged are not all stored")
    return 0 if ok else 1


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _quiet_offscreen_warning() -> None:
    """The offscreen platform says it cannot propagate size hints, once per window shown."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = None

    def handler(mode, context, message):
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)


def _pending(results) -> bool:
    try:
        return not results.empty()
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
