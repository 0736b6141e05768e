"""Long-run fuzzing of the receiver, by hand (not a pytest test; pytest collects test_*.py only).

    .venv/bin/python tests/fuzz/fuzz_receiver.py [--seconds 180] [--mode both|atheris|transport]
                                                 [--out DIR] [libFuzzer flags ...]

Two fuzzers, run side by side by default (`both`: one per core):

- atheris (`pip install -e .[fuzz]`): coverage-guided libFuzzer against the in-process decode
  path, `Ingestor.export` with a real `DatabaseWriter` on a temp database. The receiver's
  modules are instrumented (`atheris.instrument_imports`). Input byte 0 picks the signal
  (value % 3) and the format (bit 2: OTLP/JSON, else protobuf); the rest is the body. The
  corpus starts from the shared fixtures in both formats, with a dictionary of OTLP/JSON
  tokens. An export may return or raise BadPayload / PayloadTooLarge; anything else (a
  DecodeBug, which the transports answer 500, a storage failure, any other exception) is a
  violation, as is accepted + rejected != the items in the request. Every 1000 inputs a
  known-good span must be stored and the sentinel trace read back unchanged. libFuzzer
  flags pass through (e.g. -max_len=65536 -timeout=30); `-max_total_time=N` sets the time.
- transport: hypothesis-driven cases (tests/fuzz/cases.py: mutated fixtures, mutated JSON,
  hostile items, nesting 10..3000 deep, HTTP framing, garbage) against a real
  `Receiver` on loopback over OTLP/HTTP and OTLP/gRPC, with every invariant of
  tests/receiver/test_fuzz.py checked after every case. Runs alone when atheris is missing.

Each prints the cases tried, the outcomes by status, and each violation with its input
saved under --out (default: a new temp directory); a summary at the end. Exit code 1 if an
invariant broke.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

MAX_SAVED_PER_KIND = 5
PROGRESS_EVERY_S = 30.0
CHECK_EVERY_N = 1000  # atheris: known-good span and sentinel every N inputs
JSON_DICTIONARY = (
    "resourceSpans", "scopeSpans", "spans", "resourceLogs", "scopeLogs", "logRecords", "resourceMetrics",
    "scopeMetrics", "metrics", "traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano",
    "endTimeUnixNano", "timeUnixNano", "observedTimeUnixNano", "attributes", "key", "value", "stringValue",
    "intValue", "doubleValue", "boolValue", "bytesValue", "arrayValue", "kvlistValue", "values", "status", "code",
    "message", "events", "links", "body", "severityNumber", "gauge", "sum", "histogram", "exponentialHistogram",
    "summary", "dataPoints", "asInt", "asDouble", "bucketCounts", "explicitBounds", "count", "quantileValues",
    "scale", "positive", "negative", "offset", "resource", "scope", "gen_ai.input.messages",
    "gen_ai.usage.input_tokens", "gen_ai.request.model", "\\ud800", "18446744073709551615", "NaN",
)
JSON_BARE = ("null", "true", "[]", "{}", "-1", "1e400", "18446744073709551616", '{"stringValue":"', '{"intValue":')


class Tally:
    """Cases, outcomes and violations of one fuzzer; a JSON file kept current so that even an
    abrupt end leaves the figures."""

    def __init__(self, name: str, out: Path) -> None:
        self.name, self.out = name, out
        self.started = time.monotonic()
        self.cases = 0
        self.outcomes: Counter[str] = Counter()
        self.violations: Counter[str] = Counter()
        self.saved: dict[str, list[str]] = {}
        self.read_back: int | None = None  # stored traces read back whole at the end
        self._last_progress = self._last_write = self.started

    def violation(self, kind: str, body: bytes, detail: str, meta: dict | None = None) -> None:
        kind = kind[:160]
        self.violations[kind] += 1
        saved = self.saved.setdefault(kind, [])
        if len(saved) < MAX_SAVED_PER_KIND:
            folder = self.out / "violations"
            folder.mkdir(parents=True, exist_ok=True)
            stem = folder / f"{self.name}-{hashlib.sha1(kind.encode()).hexdigest()[:8]}-{len(saved)}"
            stem.with_suffix(".bin").write_bytes(body)
            stem.with_suffix(".txt").write_text(json.dumps({"kind": kind, "detail": detail, **(meta or {})}, indent=1))
            saved.append(str(stem.with_suffix(".bin")))
            print(f"[{self.name}] VIOLATION {kind}\n    {detail[:600]}\n    input: {saved[-1]}", flush=True)

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_write > 5:
            self.write()
            self._last_write = now
        if now - self._last_progress > PROGRESS_EVERY_S:
            self._last_progress = now
            print(f"[{self.name}] {now - self.started:5.0f} s: {self.cases} cases, "
                  f"{len(self.violations)} kinds of violation", flush=True)

    def as_dict(self) -> dict:
        return {"fuzzer": self.name, "seconds": round(time.monotonic() - self.started, 1), "cases": self.cases,
                "outcomes": dict(self.outcomes.most_common()), "violations": dict(self.violations),
                "saved": self.saved, "traces_read_back": self.read_back}

    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"summary-{self.name}.json").write_text(json.dumps(self.as_dict(), indent=1))


def print_summary(summary: dict) -> None:
    seconds = summary["seconds"] or 1
    print(f"\n== {summary['fuzzer']}: {summary['cases']:,} cases in {summary['seconds']:.0f} s "
          f"({summary['cases'] / seconds:,.0f}/s)")
    for outcome, count in summary["outcomes"].items():
        print(f"   {count:>9,}  {outcome}")
    if summary.get("traces_read_back") is not None:
        print(f"   every stored trace read back whole at the end: {summary['traces_read_back']:,}")
    if summary["violations"]:
        print("   VIOLATIONS:")
        for kind, count in summary["violations"].items():
            print(f"   {count:>9,}  {kind}")
            for path in summary["saved"].get(kind, []):
                print(f"              {path}")
    else:
        print("   no invariant violated")


# --- transport: hypothesis cases over real sockets --------------------------------------------


def run_transport(seconds: float, out: Path) -> dict:
    from hypothesis import HealthCheck, given, settings

    from receiver.config import ReceiverConfig
    from receiver.service import Receiver
    from tests.fuzz.cases import any_case
    from tests.fuzz.seeds import load_seeds, seed_keys
    from tests.fuzz.target import Target, Violation

    seeds = load_seeds()
    if not seeds:
        raise SystemExit("no OTLP fixtures found (TRACEPANE_FIXTURES)")
    keys = seed_keys(seeds)
    tally = Tally("transport", out)
    deadline = time.monotonic() + seconds
    db_dir = out / "transport-db"  # kept with the rest of the output, to look into after a violation
    db_dir.mkdir(parents=True, exist_ok=True)
    with Receiver(ReceiverConfig(db_path=db_dir / "fuzz.db", grpc_port=0, http_port=0)) as receiver:
        target = Target(receiver)
        target.plant_sentinel()
        server_down = [False]

        @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=any_case(seeds, keys))
        def one(case) -> None:
            if server_down[0] or time.monotonic() > deadline:
                return
            tally.cases += 1
            try:
                outcome = target.check(case, count=False)
                tally.outcomes[f"{outcome.answer}" + (" (partial success)" if outcome.rejected else "")] += 1
            except Violation as exc:
                tally.outcomes["violation"] += 1
                tally.violation(exc.problem.split(":")[0], case.plain, str(exc), {"case": case.describe()})
            try:
                target.check_alive(case.transport)
                if tally.cases % 25 == 0:
                    target.check_sentinel()
            except Violation as exc:
                tally.violation(exc.problem.split(":")[0], case.plain, str(exc),
                                {"after case": case.describe()})
                server_down[0] = "known-good" in exc.problem
            tally.tick()

        while time.monotonic() < deadline and not server_down[0]:
            try:
                one()
            except Exception as exc:  # noqa: BLE001 - hypothesis itself (a strategy bug): say so, go on
                tally.violation(f"fuzzer error: {type(exc).__name__}", b"", "".join(
                    traceback.format_exception_only(exc))[-2000:])
        try:
            target.check_sentinel()
            tally.read_back = target.check_readable(limit=100_000)
        except Violation as exc:
            tally.violation("end: " + exc.problem.split(":")[0], b"", str(exc))
        target.close()
    tally.write()
    return tally.as_dict()


# --- atheris: coverage-guided, in process ---------------------------------------------------------


def run_atheris(seconds: float, out: Path, libfuzzer_args: list[str]) -> None:
    """Never returns: libFuzzer owns the process; the summary is printed and written at the deadline."""
    import atheris

    with atheris.instrument_imports(include=["receiver", "google.protobuf.json_format"]):
        from receiver.config import ReceiverConfig
        from receiver.errors import BadPayload, PayloadTooLarge, ReceiverError
        from receiver.ingest import PayloadFormat, Signal
        from receiver.service import Receiver
    from receiver.attributes import plain_attributes
    from tests.fuzz.seeds import load_seeds
    from tests.fuzz.target import SENTINEL_ATTRIBUTES
    from tests.fuzz.wire import SIGNALS, any_value, deep_bodies, key_value, kv_fields, raw_span, retag, trace_request

    tally = Tally("atheris", out)
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = load_seeds()
    for index, seed in enumerate(seeds):
        selector = SIGNALS.index(seed.signal)
        (corpus / f"seed-{index}-pb").write_bytes(bytes([selector]) + seed.protobuf)
        (corpus / f"seed-{index}-json").write_bytes(bytes([selector | 4]) + seed.json_bytes)
    for signal in SIGNALS:  # a deep one per signal, as a start
        protobuf, document = deep_bodies(signal, 40)
        (corpus / f"deep-{signal}-pb").write_bytes(bytes([SIGNALS.index(signal)]) + protobuf)
        (corpus / f"deep-{signal}-json").write_bytes(bytes([SIGNALS.index(signal) | 4]) + document)
    dictionary = out / "otlp.dict"
    # libFuzzer's dictionary format: one quoted token a line, \\ and \" escaped (json.dumps does that)
    tokens = [f'"{token}"' for token in JSON_DICTIONARY] + list(JSON_BARE)
    dictionary.write_text("".join(f"{json.dumps(token)}\n" for token in tokens))

    db_dir = out / "atheris-db"
    db_dir.mkdir(parents=True, exist_ok=True)
    receiver = Receiver(ReceiverConfig(db_path=db_dir / "fuzz.db", grpc_port=0, http_port=0))
    receiver.start(listen=False)
    ingestor = receiver._ingestor  # the path both transports call, with the configured limits
    store = receiver.store()
    sentinel_trace = os.urandom(16)
    sentinel_body = trace_request([raw_span(sentinel_trace, os.urandom(8), name=b"sentinel", extra=retag(
        kv_fields([key_value(k.encode(), any_value(v)) for k, v in SENTINEL_ATTRIBUTES.items()]), 9))])
    ingestor.export(Signal.TRACES, sentinel_body, PayloadFormat.PROTOBUF)

    def sentinel_intact() -> str | None:
        try:
            spans = store.get_trace(sentinel_trace.hex()).spans
        except Exception as exc:  # noqa: BLE001
            return f"sentinel unreadable: {type(exc).__name__}: {exc}"
        if len(spans) != 1 or plain_attributes(spans[0].attributes) != SENTINEL_ATTRIBUTES:
            return f"sentinel changed: {spans!r}"[:500]
        return None

    def alive() -> str | None:
        trace_id = os.urandom(16)
        try:
            result = ingestor.export(Signal.TRACES, trace_request([raw_span(trace_id, os.urandom(8))]),
                                     PayloadFormat.PROTOBUF)
            store.get_trace(trace_id.hex())
        except Exception as exc:  # noqa: BLE001
            return f"known-good span refused: {type(exc).__name__}: {exc}"
        return None if result.accepted == 1 else f"known-good span not accepted: {result}"

    deadline = time.monotonic() + seconds

    def finish() -> None:
        problem = sentinel_intact()
        if problem:
            tally.violation("end: " + problem.split(":")[0], b"", problem)
        receiver.stop()
        tally.write()
        print_summary(tally.as_dict())
        sys.stdout.flush()
        os._exit(1 if tally.violations else 0)

    def one_input(data: bytes) -> None:
        if time.monotonic() > deadline:
            finish()
        if not data:
            return
        signal = SIGNALS[data[0] % 3]
        as_json = bool(data[0] & 4)
        body = data[1:]
        tally.cases += 1
        expected = _expected_items(signal, body, as_json)
        try:
            result = ingestor.export(Signal(signal), body, PayloadFormat.JSON if as_json else PayloadFormat.PROTOBUF)
        except (BadPayload, PayloadTooLarge) as exc:
            tally.outcomes[f"{'json' if as_json else 'protobuf'} {type(exc).__name__}"] += 1
        except Exception as exc:  # noqa: BLE001 - a DecodeBug (500), a storage failure, anything else
            tally.outcomes[f"{'json' if as_json else 'protobuf'} {type(exc).__name__} (violation)"] += 1
            kind = f"{type(exc).__name__}: {str(exc)[:80]}" if isinstance(exc, ReceiverError) else \
                f"{type(exc).__name__} escaped Ingestor.export"
            tally.violation(kind, data, "".join(traceback.format_exception(exc))[-3000:],
                            {"signal": signal, "format": "json" if as_json else "protobuf"})
        else:
            tally.outcomes[f"{'json' if as_json else 'protobuf'} accepted"
                           + (" (partial success)" if result.rejected else "")] += 1
            if expected is not None and result.accepted + result.rejected != expected:
                tally.violation("accepted + rejected != items in the request", data,
                                f"{expected} items, {result}", {"signal": signal})
        if tally.cases % CHECK_EVERY_N == 0:
            for problem in (alive(), sentinel_intact()):
                if problem:
                    tally.violation(problem.split(":")[0], data, problem, {"after input": signal})
        tally.tick()

    print(f"[atheris] corpus {corpus}, database {db_dir}, {seconds:.0f} s", flush=True)
    atheris.Setup([sys.argv[0], str(corpus), f"-dict={dictionary}", f"-artifact_prefix={out}/",
                   f"-max_total_time={int(seconds) + 60}", "-timeout=60", "-rss_limit_mb=4096", *libfuzzer_args],
                  one_input)
    atheris.Fuzz()


def _expected_items(signal: str, body: bytes, as_json: bool) -> int | None:
    """Items in the request as the oracle reads it; None when it cannot tell."""
    from tests.fuzz.seeds import parse_json_request
    from tests.fuzz.target import ORACLE_JSON_BYTES, count_items
    from tests.fuzz.wire import REQUEST

    try:
        if as_json:
            if len(body) > ORACLE_JSON_BYTES:
                return None
            message = parse_json_request(json.loads(body), signal)
        else:
            message = REQUEST[signal].FromString(body)
    except Exception:  # noqa: BLE001
        return None
    return count_items(message, signal)[0]


# --- main -------------------------------------------------------------------------------------------


def main() -> int:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--mode", choices=("auto", "both", "atheris", "transport"), default="auto",
                        help="auto: both when atheris is installed, else transport")
    parser.add_argument("--out", type=Path, help="where violations, the corpus and summaries go")
    args, libfuzzer_args = parser.parse_known_args()
    for flag in list(libfuzzer_args):
        if flag.startswith("-max_total_time="):
            args.seconds = float(flag.split("=", 1)[1])
            libfuzzer_args.remove(flag)
    out = args.out or Path(tempfile.mkdtemp(prefix="tracepane-fuzz-out-"))
    out.mkdir(parents=True, exist_ok=True)
    # hypothesis caches (constants, unicode data) go with the output, not into the checkout
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(out / "hypothesis"))
    try:
        import atheris  # noqa: F401
        have_atheris = True
    except ImportError:
        have_atheris = False
    mode = args.mode if args.mode != "auto" else ("both" if have_atheris else "transport")
    if mode in ("both", "atheris") and not have_atheris:
        raise SystemExit("atheris is not installed: pip install -e '.[fuzz]', or --mode transport")
    print(f"fuzzing the receiver for {args.seconds:.0f} s ({mode}); output in {out}", flush=True)
    if mode == "atheris":
        run_atheris(args.seconds, out, libfuzzer_args)  # does not return
    child = None
    if mode == "both":
        child = subprocess.Popen([sys.executable, __file__, "--mode", "atheris", "--seconds", str(args.seconds),
                                  "--out", str(out / "atheris"), *libfuzzer_args],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        atheris_log = out / "atheris.log"
        import threading

        def relay() -> None:
            with atheris_log.open("w") as log:
                for line in child.stdout:
                    log.write(line)
                    if line.startswith("[atheris]") or "VIOLATION" in line:
                        print(line, end="", flush=True)

        relay_thread = threading.Thread(target=relay, daemon=True)
        relay_thread.start()
    summaries = [run_transport(args.seconds, out)]
    code = 0
    if child is not None:
        try:
            child.wait(args.seconds + 300)
        except subprocess.TimeoutExpired:
            child.kill()  # our own child, by its handle
            child.wait()
        relay_thread.join(10)
        code = child.returncode or 0
        path = out / "atheris" / "summary-atheris.json"
        if path.exists():
            summaries.append(json.loads(path.read_text()))
        else:
            print(f"atheris ended without a summary (exit {child.returncode}); see {out / 'atheris.log'}")
            code = code or 1
    print("\n" + "=" * 78 + "\nSUMMARY")
    for summary in summaries:
        print_summary(summary)
    if any(s["violations"] for s in summaries):
        code = 1
    print(f"\noutput: {out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
