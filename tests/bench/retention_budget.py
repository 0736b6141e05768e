"""Retention under a size budget: `tracepane serve --max-db-mb 20` and 60,000 agent spans.

Run by hand (not a pytest test):

    .venv/bin/python tests/bench/retention_budget.py [--spans 60000] [--max-db-mb 20] [--batch 512]

Sends agent-shaped GenAI spans (tests/bench/workload.py, ~2 % of traces with a failing tool,
timestamps moved to now) over OTLP/HTTP protobuf as fast as they are acknowledged, then polls
`tracepane stats --json` every second for up to a minute. Prints the database's size each
poll and when it settled at no more than 1.25 x the budget; then reads the database (after
serve stopped) for what survived: every trace with an error, and the newest traces sent.
Exit code 1 when the size did not settle within the minute, a trace with an error or one of
the newest 100 is gone, or a request failed.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402

from tests.bench import workload  # noqa: E402
from tests.conftest import TRACEPANE, post  # noqa: E402
from tests.serve_process import ServeProcess  # noqa: E402

SETTLE_WITHIN_S = 60.0
ALLOWED_RATIO = 1.25
NEWEST_TRACES = 100
MIB = 1024 * 1024


def _bodies(spans: int, batch: int) -> tuple[list[bytes], list[str], set[str]]:
    """Request bodies with start times moved to now, the trace ids in the order sent, and the
    ids of traces with an error span."""
    span_set = workload.build_span_set(random.Random(1), spans, batch)
    shift = time.time_ns() - workload.BASE_TIME_NS - 3_600 * 10**9  # the run ends about now
    bodies, order, errors = [], {}, set()
    for body in span_set.bodies:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    span.start_time_unix_nano += shift
                    span.end_time_unix_nano += shift
                    trace_id = span.trace_id.hex()
                    order.setdefault(trace_id, None)
                    if span.status.code == span.status.STATUS_CODE_ERROR:
                        errors.add(trace_id)
        bodies.append(request.SerializeToString())
    return bodies, list(order), errors


def _db_bytes(db: Path) -> int:
    out = subprocess.run([str(TRACEPANE), "stats", "--db", str(db), "--json"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return json.loads(out)["db_bytes"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=60_000)
    parser.add_argument("--max-db-mb", type=int, default=20)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()
    budget = args.max_db_mb * MIB
    bodies, order, errors = _bodies(args.spans, args.batch)
    print(f"{args.spans:,} spans in {len(bodies)} requests: {len(order):,} traces, {len(errors)} with an error; "
          f"budget {args.max_db_mb} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "tracepane.db"
        serve = ServeProcess(db, command=[str(TRACEPANE), "serve", "--max-db-mb", str(args.max_db_mb)])
        failed = 0
        try:
            serve.wait_listening()
            started = time.monotonic()
            for body in bodies:
                failed += post(serve.http_port, body).status != 200
            sent_s = time.monotonic() - started
            print(f"sent in {sent_s:.1f} s ({args.spans / sent_s:,.0f} spans/s), {failed} requests failed; "
                  f"{_db_bytes(db) / MIB:.1f} MiB on disk")
            settled_after = None
            deadline = time.monotonic() + SETTLE_WITHIN_S
            while time.monotonic() < deadline:
                size = _db_bytes(db)
                waited = time.monotonic() - started - sent_s
                print(f"  +{waited:4.1f} s  {size / MIB:6.2f} MiB  ({size / budget:.2f} x budget)")
                if size <= ALLOWED_RATIO * budget:
                    settled_after = waited
                    break
                time.sleep(1)  # pacing the polls of a process we watch, not a wait for a result
        finally:
            serve.stop()
        with sqlite3.connect(db) as conn:
            kept = {trace_id for (trace_id,) in conn.execute("SELECT trace_id FROM traces")}
            pages, free = (conn.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "freelist_count"))
            print(f"file: {pages * 4096 / MIB:.1f} MiB, of which {free * 4096 / MIB:.1f} MiB free pages; largest:")
            for name, size in conn.execute("SELECT name, sum(pgsize) AS s FROM dbstat GROUP BY name "
                                           "ORDER BY s DESC LIMIT 6"):
                print(f"  {name:32} {size / MIB:6.2f} MiB")
        final = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    lost_errors = errors - kept
    lost_newest = [t for t in order[-NEWEST_TRACES:] if t not in kept]
    print(f"kept {len(kept):,} of {len(order):,} traces; after stopping {final / MIB:.2f} MiB")
    print(f"settled at <= {ALLOWED_RATIO} x budget: "
          + (f"after {settled_after:.1f} s" if settled_after is not None else f"NOT within {SETTLE_WITHIN_S:g} s"))
    print(f"traces with an error kept: {len(errors) - len(lost_errors)} of {len(errors)}")
    print(f"newest {NEWEST_TRACES} traces kept: {NEWEST_TRACES - len(lost_newest)} of {NEWEST_TRACES}")
    ok = settled_after is not None and not lost_errors and not lost_newest and not failed
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
