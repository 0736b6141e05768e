"""Ingest benchmark: how fast `tracepane serve` stores GenAI spans, end to end, against a floor.

Run by hand (not a pytest test):

    .venv/bin/python tests/bench/ingest.py [--spans 50000] [--batch 512] [--concurrency 2] [--seed 1]
                                           [--genai-pairs 7]

It generates agent-shaped GenAI traces deterministically, serializes them up front into OTLP
`ExportTraceServiceRequest` bodies of `--batch` spans, starts `tracepane serve` on loopback
port 0 with a fresh database, and sends every body with `--concurrency` threads over
OTLP/gRPC, then (a fresh span set) over OTLP/HTTP protobuf. The receiver acknowledges only
after commit, so the time from the first send to the last acknowledgement is the time to
store the spans; `tracepane stats` before and after proves they were all stored.

The floor is what plain Python does with the same bodies and no receiver: decode each
request, build one row per span (ids, name, times, status, attributes as a JSON object) and
insert the request's rows with one `executemany` into a fresh SQLite file (WAL,
synchronous=NORMAL), one transaction per request; median of 3 runs, interleaved with the
transports so that a noisy neighbour on a shared machine weighs on both.

What the GenAI analysis (normalising, pricing) costs is measured with the receiver's
`TRACEPANE_GENAI_ANALYSIS=false` as the baseline: `--genai-pairs` pairs of gRPC runs, with and
without it back to back on fresh databases, and the same for the in-process pipeline; the
cost is one minus the median of the pairs' throughput ratios.

Prints one JSON line per measurement, then a summary. Exit code 1 if a request failed or a
span was lost, else 0. The goals beside the ratios are printed, not enforced.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

HOST = "127.0.0.1"
GRPC_EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
# Longer than the receiver's own commit wait (30 s), so a slow commit shows up as its 503 /
# UNAVAILABLE answer rather than as a client timeout.
REQUEST_TIMEOUT_S = 60.0
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 60.0
# Pause after each transport: the receiver checkpoints its WAL once idle for 0.5 s, and that
# checkpoint should not overlap the next measurement.
SETTLE_S = 2.0
FLOOR_RUNS = 3
GOALS = {"grpc": 0.70, "http": 0.55}  # minimum ratio to the floor; printed, not enforced
LABELS = {"grpc": "OTLP/gRPC", "http": "OTLP/HTTP protobuf", "floor": "floor"}

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from tests.bench.workload import SpanSet, build_span_set  # noqa: E402


class ReceiverProcess:
    """`tracepane serve` on loopback port 0, as a subprocess; ports read from its banner."""

    def __init__(self, tracepane: str, db: Path, stderr_log: Path, env: dict[str, str] | None = None) -> None:
        self.stderr_log = stderr_log
        self._stderr = stderr_log.open("w")
        self.proc = subprocess.Popen(
            [tracepane, "serve", "--db", str(db), "--host", HOST, "--grpc-port", "0", "--http-port", "0"],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, env={**os.environ, **(env or {})})
        # A thread drains stdout, so that reading the banner can time out and the final
        # "stopped: …" line is kept.
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.grpc_port, self.http_port = self._read_banner()

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _read_banner(self) -> tuple[int, int]:
        grpc_port = http_port = 0
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                self.stop()
                raise RuntimeError(f"tracepane serve exited with code {self.proc.returncode} before listening:\n"
                                   f"{self.stderr_text()}")
            label, _, address = line.strip().partition(" ")
            if label == "OTLP/gRPC":
                grpc_port = int(address.strip().rsplit(":", 1)[1])
            elif label == "OTLP/HTTP":
                http_port = int(address.strip().rsplit(":", 1)[1])
            elif label == "database":
                if grpc_port and http_port:
                    return grpc_port, http_port
                break
        self.stop()
        raise RuntimeError(f"tracepane serve did not print both ports within {STARTUP_TIMEOUT_S:g} s:\n"
                           f"{self.stderr_text()}")

    def stderr_text(self) -> str:
        return self.stderr_log.read_text().strip()

    def stop(self) -> str:
        """SIGINT (the receiver writes what it has, then exits), by PID; return its last words."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._stderr.close()
        lines = []
        while True:
            try:
                line = self._lines.get(timeout=5)
            except queue.Empty:
                break
            if line is None:
                break
            lines.append(line.strip())
        return lines[-1] if lines else ""


def stored_spans(tracepane: str, db: Path) -> int:
    out = subprocess.run([tracepane, "stats", "--json", "--db", str(db)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return json.loads(out)["spans"]


# --- sending -----------------------------------------------------------------------------------

# Sends one request body; returns the response body, raises on anything but success.
Sender = Callable[[bytes], bytes]


class RequestFailed(Exception):
    pass


def connected_channel(port: int) -> grpc.Channel:
    """A channel to the receiver, connected before any timing starts."""
    channel = grpc.insecure_channel(f"{HOST}:{port}", options=[
        ("grpc.max_send_message_length", 64 * 2**20), ("grpc.max_receive_message_length", 64 * 2**20)])
    grpc.channel_ready_future(channel).result(timeout=STARTUP_TIMEOUT_S)
    return channel


def grpc_sender(channel: grpc.Channel) -> Sender:
    # No serializers: the pre-serialized body goes out as is and the response comes back as bytes.
    export = channel.unary_unary(GRPC_EXPORT_METHOD)

    def send(body: bytes) -> bytes:
        try:
            return export(body, timeout=REQUEST_TIMEOUT_S)
        except grpc.RpcError as exc:
            raise RequestFailed(f"gRPC {exc.code().name}: {exc.details()}") from exc

    return send


class HttpSender:
    """One keep-alive HTTP/1.1 connection, for one thread."""

    HEADERS = {"Content-Type": "application/x-protobuf"}

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
        self.connection.connect()  # outside the timed part

    def __call__(self, body: bytes) -> bytes:
        try:
            self.connection.request("POST", "/v1/traces", body=body, headers=self.HEADERS)
            response = self.connection.getresponse()
            payload = response.read()  # read it all, or the connection cannot be reused
        except (OSError, http.client.HTTPException) as exc:
            self.connection.close()  # the next request reconnects
            raise RequestFailed(f"HTTP {type(exc).__name__}: {exc}") from exc
        if response.status != 200:
            raise RequestFailed(f"HTTP {response.status}: {payload[:200]!r}")
        return payload

    def close(self) -> None:
        self.connection.close()


@dataclass
class Tally:
    """What one sending thread saw."""

    first_send: float = float("inf")
    last_ack: float = float("-inf")
    acknowledged: int = 0
    failed: int = 0
    rejected_spans: int = 0  # reported in partial_success
    errors: list[str] = field(default_factory=list)


def _send_until_empty(send: Sender, work: queue.SimpleQueue[bytes], tally: Tally) -> None:
    while True:  # bounded: the queue only empties
        try:
            body = work.get_nowait()
        except queue.Empty:
            return
        started = time.perf_counter()
        tally.first_send = min(tally.first_send, started)
        try:
            response = send(body)
        except RequestFailed as exc:
            tally.failed += 1
            if len(tally.errors) < 3:
                tally.errors.append(str(exc))
            continue
        tally.last_ack = time.perf_counter()
        tally.acknowledged += 1
        tally.rejected_spans += ExportTraceServiceResponse.FromString(response).partial_success.rejected_spans


def send_all(bodies: list[bytes], senders: list[Sender]) -> tuple[float, Tally]:
    """Send every body, one thread per sender; return seconds from first send to last ack, and the sum."""
    work: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    for body in bodies:
        work.put(body)
    tallies = [Tally() for _ in senders]
    threads = [threading.Thread(target=_send_until_empty, args=(send, work, tally), daemon=True)
               for send, tally in zip(senders, tallies, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        # Each request has its own timeout; this bounds the whole in case one hangs regardless.
        thread.join(REQUEST_TIMEOUT_S * (len(bodies) + 1))
    total = Tally(first_send=min(t.first_send for t in tallies), last_ack=max(t.last_ack for t in tallies),
                  acknowledged=sum(t.acknowledged for t in tallies), failed=sum(t.failed for t in tallies),
                  rejected_spans=sum(t.rejected_spans for t in tallies),
                  errors=[e for t in tallies for e in t.errors][:3])
    total.failed += len(bodies) - total.acknowledged - total.failed  # any a stuck thread never sent
    seconds = total.last_ack - total.first_send if total.acknowledged else 0.0
    return seconds, total


def measure_transport(transport: str, span_set: SpanSet, senders: list[Sender], tracepane: str,
                      db: Path) -> dict:
    before = stored_spans(tracepane, db)
    seconds, tally = send_all(span_set.bodies, senders)
    stored = stored_spans(tracepane, db) - before
    return {"measurement": transport, "spans": span_set.spans, "requests": len(span_set.bodies),
            "seconds": round(seconds, 4), "spans_per_s": round(span_set.spans / seconds) if seconds else 0,
            "failed_requests": tally.failed, "rejected_spans": tally.rejected_spans,
            "stored": stored, "loss": span_set.spans - stored, "errors": tally.errors}


# --- the floor -------------------------------------------------------------------------------------

FLOOR_SCHEMA = """
CREATE TABLE spans (
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT, name TEXT NOT NULL,
    start_time_unix_nano INTEGER NOT NULL, end_time_unix_nano INTEGER NOT NULL,
    status_code INTEGER NOT NULL, attributes TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id))
"""
FLOOR_INSERT = "INSERT OR IGNORE INTO spans VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def _floor_rows(body: bytes) -> list[tuple]:
    request = ExportTraceServiceRequest.FromString(body)
    return [(span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex() or None, span.name,
             span.start_time_unix_nano, span.end_time_unix_nano, span.status.code,
             json.dumps({kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in span.attributes}))
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans]


def measure_floor(run: int, span_set: SpanSet, db: Path) -> dict:
    """Decode + insert in plain Python, no receiver: the speed the receiver is held to."""
    connection = sqlite3.connect(db, isolation_level=None)  # transactions are explicit
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute(FLOOR_SCHEMA)
        started = time.perf_counter()
        for body in span_set.bodies:
            rows = _floor_rows(body)
            connection.execute("BEGIN")
            connection.executemany(FLOOR_INSERT, rows)
            connection.execute("COMMIT")
        seconds = time.perf_counter() - started
        stored = connection.execute("SELECT count(*) FROM spans").fetchone()[0]
    finally:
        connection.close()
    return {"measurement": "floor", "run": run, "spans": span_set.spans, "seconds": round(seconds, 4),
            "spans_per_s": round(span_set.spans / seconds), "stored": stored, "loss": span_set.spans - stored}


# --- the run ---------------------------------------------------------------------------------------


def measure_pipeline(bodies: list[bytes], db: Path, *, genai: bool) -> float:
    """Spans/s of the in-process ingest pipeline (parse, decode, write, commit), with or
    without GenAI normalisation, pricing and content rows: what the analyser costs."""
    from receiver.genai.analyser import SpanAnalyser
    from receiver.otlp.decode_traces import decode_export_trace_request
    from receiver.storage.writer import DatabaseWriter

    analyser = SpanAnalyser() if genai else None
    writer = DatabaseWriter(db, queue_spans=10**9, batch_spans=5_000)
    writer.start()
    spans = 0
    started = time.perf_counter()
    for body in bodies:
        batch = decode_export_trace_request(ExportTraceServiceRequest.FromString(body), analyser)
        writer.submit(batch).wait(REQUEST_TIMEOUT_S)
        spans += batch.size
    elapsed = time.perf_counter() - started
    writer.close()
    return spans / elapsed


def measure_grpc_ingest(span_set: SpanSet, run_dir: Path, tracepane: str, concurrency: int, *,
                        genai: bool) -> dict:
    """One gRPC run into a fresh `tracepane serve`, with or without the GenAI analysis."""
    run_dir.mkdir()
    receiver = ReceiverProcess(tracepane, run_dir / "bench.db", run_dir / "serve.stderr",
                               env={"TRACEPANE_GENAI_ANALYSIS": "true" if genai else "false"})
    try:
        channel = connected_channel(receiver.grpc_port)
        try:
            return measure_transport("grpc", span_set, [grpc_sender(channel)] * concurrency, tracepane,
                                     run_dir / "bench.db")
        finally:
            channel.close()
    finally:
        receiver.stop()


def measure_genai_cost(span_set: SpanSet, tmp_dir: Path, tracepane: str, concurrency: int, pairs: int) -> dict:
    """What normalising and pricing cost: end to end over gRPC, the receiver with and without
    the analysis (the throughput an exporter sees), and the in-process pipeline alone (decode,
    write, commit, one request after another: nothing overlaps, so the analysis weighs more).
    Runs in pairs, with and without back to back (the order alternating), on fresh databases:
    the share is the median of the pairs' ratios, so a noisy neighbour that slows the machine
    for a while weighs on both halves of a pair instead of on one side of the comparison."""
    e2e: dict[bool, list[dict]] = {True: [], False: []}
    pipeline: dict[bool, list[float]] = {True: [], False: []}
    for run in range(pairs):
        for genai in (False, True) if run % 2 == 0 else (True, False):
            e2e[genai].append(measure_grpc_ingest(span_set, tmp_dir / f"genai-{run}-{genai}", tracepane,
                                                  concurrency, genai=genai))
            time.sleep(SETTLE_S)
        for genai in (False, True) if run % 2 == 0 else (True, False):
            pipeline[genai].append(measure_pipeline(span_set.bodies, tmp_dir / f"pipeline-{run}-{genai}.db",
                                                    genai=genai))
    kept = statistics.median(w["spans_per_s"] / wo["spans_per_s"] for w, wo in zip(e2e[True], e2e[False], strict=True))
    pipeline_kept = statistics.median(w / wo for w, wo in zip(pipeline[True], pipeline[False], strict=True))
    without, with_genai = (statistics.median(r["spans_per_s"] for r in e2e[g]) for g in (False, True))
    p_without, p_with = (statistics.median(pipeline[g]) for g in (False, True))
    return {"measurement": "genai_cost", "pairs": pairs, "without_genai_spans_per_s": round(without),
            "with_genai_spans_per_s": round(with_genai), "throughput_kept": round(kept, 3),
            "pair_ratios": [round(w["spans_per_s"] / wo["spans_per_s"], 3)
                            for w, wo in zip(e2e[True], e2e[False], strict=True)],
            "goal": ">= 0.75 (normalisation and pricing cost at most 25% of gRPC ingest)",
            "loss": sum(r["loss"] for runs in e2e.values() for r in runs),
            "failed_requests": sum(r["failed_requests"] for runs in e2e.values() for r in runs),
            "pipeline_without_genai_spans_per_s": round(p_without), "pipeline_with_genai_spans_per_s": round(p_with),
            "pipeline_throughput_kept": round(pipeline_kept, 3)}


def _emit(result: dict) -> dict:
    print(json.dumps(result), flush=True)
    return result


def _summary(workload: dict, transports: dict[str, dict], floor: float, genai_cost: dict) -> list[str]:
    lines = [f"ingest: {workload['spans']:,} spans ({workload['traces']:,} traces) in {workload['requests']} "
             f"requests of {workload['batch']}, {workload['attribute_bytes_per_span']} B of attributes per span, "
             f"concurrency {workload['concurrency']}",
             f"  {LABELS['floor']:<20} {floor:>9,.0f} spans/s   (decode + executemany, median of {FLOOR_RUNS})"]
    for transport, result in transports.items():
        ratio = result["spans_per_s"] / floor
        goal = GOALS[transport]
        verdict = "meets" if ratio >= goal else "below"
        lines.append(f"  {LABELS[transport]:<20} {result['spans_per_s']:>9,} spans/s   {ratio:.2f} x floor "
                     f"(goal >= {goal:.2f}: {verdict})   loss {result['loss']}, failed requests "
                     f"{result['failed_requests']}")
    kept, verdict = genai_cost["throughput_kept"], "meets" if genai_cost["throughput_kept"] >= 0.75 else "below"
    lines.append(f"  GenAI analysis costs {1 - kept:.0%} of gRPC ingest, median of {genai_cost['pairs']} pairs "
                 f"(medians {genai_cost['without_genai_spans_per_s']:,} -> {genai_cost['with_genai_spans_per_s']:,} "
                 f"spans/s; goal <= 25%: {verdict}); {1 - genai_cost['pipeline_throughput_kept']:.0%} of the "
                 "in-process pipeline alone")
    return lines


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=50_000, help="spans per transport (default 50000)")
    parser.add_argument("--batch", type=int, default=512, help="spans per export request (default 512)")
    parser.add_argument("--concurrency", type=int, default=2, help="sending threads (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the span generator (default 1)")
    parser.add_argument("--genai-pairs", type=int, default=7,
                        help="runs with and without the GenAI analysis, back to back (default 7)")
    args = parser.parse_args()
    if min(args.spans, args.batch, args.concurrency, args.genai_pairs) < 1:
        parser.error("--spans, --batch, --concurrency and --genai-pairs must be at least 1")
    return args


def _find_tracepane() -> str:
    beside_python = Path(sys.executable).parent / "tracepane"
    found = str(beside_python) if beside_python.exists() else shutil.which("tracepane")
    if not found:
        sys.exit("ingest bench: no `tracepane` command beside this Python or on PATH")
    return found


def main() -> int:
    args = _parse_args()
    tracepane = _find_tracepane()
    rng = random.Random(args.seed)
    # One generator for both sets: the second continues the stream, so its ids are new and
    # each transport's spans are counted on their own.
    span_sets = {transport: build_span_set(rng, args.spans, args.batch) for transport in ("grpc", "http")}
    first = span_sets["grpc"]
    workload = _emit({"measurement": "workload", "spans": first.spans, "traces": first.traces,
                      "requests": len(first.bodies), "batch": args.batch, "concurrency": args.concurrency,
                      "attribute_bytes_per_span": round(first.attribute_bytes / first.spans),
                      "body_bytes_per_span": round(first.body_bytes / first.spans), "seed": args.seed})
    floors: list[dict] = []
    transports: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="tracepane-bench-") as tmp:
        tmp_dir = Path(tmp)
        db = tmp_dir / "bench.db"
        receiver = ReceiverProcess(tracepane, db, tmp_dir / "serve.stderr")
        try:
            floors.append(_emit(measure_floor(1, first, tmp_dir / "floor-1.db")))
            channel = connected_channel(receiver.grpc_port)
            try:
                senders = [grpc_sender(channel)] * args.concurrency  # one channel, requests multiplexed
                transports["grpc"] = _emit(measure_transport("grpc", span_sets["grpc"], senders, tracepane, db))
            finally:
                channel.close()
            time.sleep(SETTLE_S)
            floors.append(_emit(measure_floor(2, first, tmp_dir / "floor-2.db")))
            http_senders = [HttpSender(receiver.http_port) for _ in range(args.concurrency)]
            try:
                transports["http"] = _emit(measure_transport("http", span_sets["http"], http_senders, tracepane, db))
            finally:
                for sender in http_senders:
                    sender.close()
            time.sleep(SETTLE_S)
            floors.append(_emit(measure_floor(3, first, tmp_dir / "floor-3.db")))
            genai_cost = _emit(measure_genai_cost(first, tmp_dir, tracepane, args.concurrency, args.genai_pairs))
        finally:
            last_words = receiver.stop()
            stderr = receiver.stderr_text()
        print(f"receiver: {last_words}" + (f"\nreceiver stderr:\n{stderr}" if stderr else ""), flush=True)

    floor = statistics.median(result["spans_per_s"] for result in floors)
    for line in _summary(workload, transports, floor, genai_cost):
        print(line)
    trouble = [f"{LABELS[t]}: {r['failed_requests']} failed requests, {r['loss']} spans lost"
               for t, r in {**transports, "genai": genai_cost}.items() if r["failed_requests"] or r["loss"]]
    trouble += [f"floor run {r['run']}: {r['loss']} spans lost" for r in floors if r["loss"]]
    print("result: " + ("; ".join(trouble) if trouble else "OK, every request acknowledged, no span lost"))
    return 1 if trouble else 0


if __name__ == "__main__":
    sys.exit(main())
