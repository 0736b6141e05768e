"""The trace list's queries on a big database: how long the window's reads take with N spans
stored (default 1,000,000 agent-shaped spans from `workload.py`, ~8 per trace).

Builds the database once through the real receiver (OTLP/HTTP on loopback), keeps it at
--db for later runs, then times each query the list makes (median of --repeat runs, warm
page cache): the first page, a page deep in the list (the cursor of page 50), filtered
first pages (free text from the full-text index among them; evaluation results, which an
evaluator sends for a tenth of the traces, `evaluation_seed.py`), the filter bar's facets, a
refresh of 50 touched traces, and one whole trace. An existing database is indexed first
if it was built before the full-text index.

    .venv/bin/python tests/bench/trace_list.py [--spans N] [--db PATH] [--repeat 7]
"""

from __future__ import annotations

import argparse
import http.client
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.list_filter import ListFilter
from receiver import Receiver, ReceiverConfig, TraceFilter, TraceStore
from receiver.storage.stats import read_stats
from tests.bench.evaluation_seed import NO_RETENTION, has_evaluations, seed_evaluations
from tests.bench.workload import build_span_set

CHUNK_SPANS = 20_000  # requests built and sent a chunk at a time: memory stays flat
BATCH = 512


def fill(db_path: Path, spans: int) -> None:
    config = ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, **NO_RETENTION)
    rng = random.Random(1)
    started = time.perf_counter()
    with Receiver(config) as receiver:
        connection = http.client.HTTPConnection("127.0.0.1", receiver.addresses.http_port, timeout=60)
        sent = 0
        while sent < spans:
            chunk = build_span_set(rng, min(CHUNK_SPANS, spans - sent), BATCH)
            for body in chunk.bodies:
                connection.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise SystemExit(f"the receiver answered {response.status}")
            sent += min(CHUNK_SPANS, spans - sent)
            print(f"\r  stored {sent:,} spans", end="", file=sys.stderr, flush=True)
        receiver.flush(120)
        print(f"\n  stored in {time.perf_counter() - started:.0f} s; full-text indexing", file=sys.stderr)
        receiver.wait_indexed(3600)
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def index(db_path: Path) -> None:
    """A database built before the full-text index: the writer indexes it when opened."""
    started = time.perf_counter()
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, **NO_RETENTION)) as receiver:
        receiver.wait_indexed(3600)
    print(f"  full-text indexed in {time.perf_counter() - started:.0f} s", file=sys.stderr)


# The filter bar's language (issue 9), read as the window reads it: each first page of 200.
TYPED_FILTERS = (
    "tool:issue_refund",
    "session:{session}",
    "cost>0.002",
    "duration>3s",
    "is:pinned",
    "is:broken",
    "attr.feature.name=chat",  # a kept (cost) key that no span has
    "attr.customer.tier=gold",  # a key not kept: every trace's spans read
    "attr.session.id={session}",  # a configured cost key: its values kept at ingestion
    '"refund policy" error',
    'model:gpt-4o-mini-2024-07-18 cost>0.001 error tool:search_policy "refund" service:support-agent duration>1s',
    "tool:search_policy cost>0.001 duration>1s error",
    'tool:search_policy "refund" service:support-agent duration>1s error',
    "order cost>0.003",  # a common word, a cost no trace reaches: every trace read once
)


def _typed(store: TraceStore, text: str) -> Callable[[], object]:
    session = store.sessions(limit=1)[0].session_id
    chosen = ListFilter(text=text.format(session=session))
    assert chosen.query.is_valid, chosen.query.error
    return lambda: store.list_traces(chosen.to_trace_filter(time.time_ns()), limit=200)


def timed(query: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        query()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="reuse (or create) this database")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    db_path = args.db or Path(tempfile.mkdtemp()) / "bench.db"
    if not db_path.exists():
        print(f"building {db_path} with {args.spans:,} spans", file=sys.stderr)
        fill(db_path, args.spans)
    else:
        index(db_path)
    if not has_evaluations(db_path):
        print("adding evaluation results (10 % of the traces with a model call)", file=sys.stderr)
        seed_evaluations(db_path)
    stats = read_stats(db_path)
    store = TraceStore(db_path, query_timeout_s=600)  # the app stops at 10 s; here, see how long
    page = store.list_traces(limit=200)
    cursor = page.next_cursor
    for _ in range(49):
        cursor = store.list_traces(limit=200, after=cursor).next_cursor
    newest = [t.trace_id for t in page.traces[:50]]
    word = "refund"
    text_cursor = store.list_traces(TraceFilter(text=word), limit=200).next_cursor
    queries = {
        "first page (200 traces)": lambda: store.list_traces(limit=200),
        "page 51 (by cursor)": lambda: store.list_traces(limit=200, after=cursor),
        "service filter, first page": lambda: store.list_traces(TraceFilter(service_name="support-agent"), limit=200),
        "model filter, first page": lambda: store.list_traces(TraceFilter(model="gpt-4o-mini-2024-07-18"), limit=200),
        "errors only, first page": lambda: store.list_traces(TraceFilter(errors_only=True), limit=200),
        "service + errors only, first page": lambda: store.list_traces(
            TraceFilter(service_name="support-agent", errors_only=True), limit=200),
        f"free text '{word}' (common), first page": lambda: store.list_traces(TraceFilter(text=word), limit=200),
        f"free text '{word}', page 2": lambda: store.list_traces(TraceFilter(text=word), limit=200,
                                                                after=text_cursor),
        "free text 'timed' (0.75 % of spans), first page": lambda: store.list_traces(
            TraceFilter(text="timed"), limit=200),
        "free text 'upstream timed out' (phrase)": lambda: store.list_traces(
            TraceFilter(text="upstream timed out"), limit=200),
        "free text a word no span has": lambda: store.list_traces(TraceFilter(text="zzyzx"), limit=200),
        f"service + errors only + '{word}', first page": lambda: store.list_traces(
            TraceFilter(service_name="support-agent", errors_only=True, text=word), limit=200),
        "service + errors only + 'timed', first page": lambda: store.list_traces(
            TraceFilter(service_name="support-agent", errors_only=True, text="timed"), limit=200),
        **{f"typed: {text}": _typed(store, text) for text in TYPED_FILTERS},
        "free text without words ('->'): a scan, once": None,
        "eval:hallucination=fail, first page": lambda: store.list_traces(
            TraceFilter(evaluations=(("hallucination", "=", "fail"),)), limit=200),
        "eval:relevance<0.5, first page": lambda: store.list_traces(
            TraceFilter(evaluations=(("relevance", "<", "0.5"),)), limit=200),
        "eval:tone (no such evaluator): every trace probed": lambda: store.list_traces(
            TraceFilter(evaluations=(("tone", "", ""),)), limit=200),
        "service + errors only + eval:relevance<0.5": lambda: store.list_traces(
            TraceFilter(service_name="support-agent", errors_only=True, evaluations=(("relevance", "<", "0.5"),)),
            limit=200),
        "evaluator summaries, all time": store.evaluator_summaries,
        "flagged answers, all time": store.flagged_answers,
        "facets (services, models)": store.facets,
        "refresh: 50 touched traces by id": lambda: store.get_trace_summaries(newest),
        "one whole trace (spans, content)": lambda: store.get_trace(newest[0]),
    }
    print(f"{stats.spans:,} spans in {stats.traces:,} traces, {stats.db_bytes / 2**20:,.0f} MiB; "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"SQLite {__import__('sqlite3').sqlite_version}")
    width = max(map(len, queries))
    print(f"{'query':{width}} {'median ms':>10} {'rows':>5}")
    for name, query in queries.items():
        if query is None:  # too slow to repeat
            query, repeat = (lambda: store.list_traces(TraceFilter(text="->"), limit=200)), 1
        else:
            repeat = args.repeat
        answer = query() if repeat > 1 else None
        rows = len(answer.traces) if hasattr(answer, "traces") else ""
        print(f"{name:{width}} {timed(query, repeat):10.1f} {rows:>5}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
