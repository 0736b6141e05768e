"""`Receiver`: wires the parts together and owns their lifetimes.

Start order: forwarder (checks --forward-to first) -> writer (opens and migrates the
database) -> ingestor -> gRPC -> HTTP. Stop runs in reverse: the transports stop taking
requests, the writer drains its queue and closes, then the forwarder flushes what it holds
for its upstreams (for at most `Forwarder.close`'s timeout). A port that cannot be bound
stops what had started and raises `PortInUse`; a database another Tracepane writes to raises
`DatabaseInUse` before anything starts (storage.writer_lock).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sqlite3
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from receiver.config import ReceiverConfig
from receiver.errors import ConfigError, StoreClosed
from receiver.events import Subscriber, Subscribers
from receiver.forwarding import Forwarder, UpstreamStatus, parse_endpoints, parse_headers
from receiver.genai.analyser import SpanAnalyser
from receiver.genai.pricing import PriceFileError
from receiver.ingest import IngestCounters, Ingestor, IngestResult, PayloadFormat, Signal
from receiver.otlp.auth import bearer_auth
from receiver.otlp.grpc_server import start_grpc_server
from receiver.otlp.http_server import start_http_server
from receiver.otlp.limits import ValueLimits
from receiver.otlp.ports import exposure_warning, host_port
from receiver.storage import cost_attributes
from receiver.storage.deletion import DeletedCounts
from receiver.storage.retention_budget import RetentionBudget
from receiver.storage.store import TraceStore
from receiver.storage.writer import DatabaseWriter

log = logging.getLogger(__name__)
T = TypeVar("T")

GRPC_STOP_GRACE_S = 5.0  # in-flight exports get this long to finish on shutdown
# The writer gives up the GIL for every SQLite statement and must win it back from a thread
# decoding the next request; with CPython's default 5 ms switch interval each statement could
# wait that long. 1 ms: +25 % spans/s over gRPC on a 2-core machine (docs/benchmarks.md).
GIL_SWITCH_INTERVAL_S = 0.001
# Decoding a request allocates tens of thousands of short-lived containers; at CPython's
# default (700) the cyclic collector runs ~200 times per 50,000 spans, each pass holding the
# GIL: 2.2 µs of CPU per span. At 10,000 it runs a handful of times (0.05 µs per span); ingest
# makes little cyclic garbage, so memory does not notice.
GC_GEN0_THRESHOLD = 10_000


@dataclass(frozen=True, slots=True)
class ListenAddresses:
    host: str
    grpc_port: int
    http_port: int

    @property
    def grpc(self) -> str:
        return host_port(self.host, self.grpc_port)

    @property
    def http(self) -> str:
        return "http://" + host_port(self.host, self.http_port)


class Receiver:
    def __init__(self, config: ReceiverConfig, *, holder: str = "receiver",
                 _forwarder_options: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self.holder = holder  # who writes, for another Tracepane's message: "window", "serve", "import"
        self._subscribers = Subscribers()
        self._storage_listeners = Subscribers()  # told of `storage_problem` changes
        self._forwarding_listeners = Subscribers()  # told of `forwarding_problem` changes
        # Forwarder keyword arguments (queue bound, backoff, timeouts): a seam for tests.
        self._forwarder_options = dict(_forwarder_options or {})
        self._stack = contextlib.ExitStack()
        self._forwarder: Forwarder | None = None
        self._writer: DatabaseWriter | None = None
        self._ingestor: Ingestor | None = None
        self.addresses: ListenAddresses | None = None
        self.notices: list[str] = []  # what the user must hear of, from starting (a database set aside)

    def start(self, *, listen: bool = True) -> ListenAddresses | None:
        """Open the database and start the writer, then (with `listen`) the two servers.
        Without, data comes in only through `import_request` (`tracepane import`)."""
        cfg = self.config
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))  # process-wide
        gen0, *older = gc.get_threshold()
        if gen0:  # 0: the host turned the collector's automatic runs off; leave that alone
            gc.set_threshold(max(gen0, GC_GEN0_THRESHOLD), *older)
        with contextlib.ExitStack() as stack:
            # First, so a bad --forward-to fails before the database is opened; closed last,
            # after the writer drained, so it gets everything that was stored.
            forwarder = self._start_forwarder(stack)
            writer = DatabaseWriter(cfg.db_path, queue_spans=cfg.queue_spans, batch_spans=cfg.batch_spans,
                                    subscribers=self._subscribers, holder=self.holder,
                                    budget=RetentionBudget.of(cfg.max_db_mb, cfg.max_age_days))
            writer.health.subscribe(self._storage_listeners.publish)
            writer.start()
            stack.callback(writer.close)
            if writer.set_aside:
                log.info("%s", writer.set_aside)  # the caller tells the user (`notices`)
                self.notices.append(writer.set_aside)
            price_file = cfg.price_file if cfg.price_file and cfg.price_file.exists() else None
            try:
                analyser = SpanAnalyser(price_file=price_file, store_content=cfg.store_content)
            except PriceFileError as exc:
                raise ConfigError(str(exc)) from None
            try:
                limits = ValueLimits(cfg.max_value_bytes, cfg.max_value_depth, cfg.max_attributes)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            ingestor = Ingestor(writer, write_timeout_s=cfg.write_timeout_s,
                                analyser=analyser if cfg.genai_analysis else None, limits=limits,
                                mask_credentials=cfg.mask_credentials, forwarder=forwarder)
            if not listen:
                self._stack = stack.pop_all()
                self._writer, self._ingestor, self._forwarder = writer, ingestor, forwarder
                return None
            auth = bearer_auth(cfg.auth_token)
            grpc_server, grpc_port = start_grpc_server(ingestor, cfg.host, cfg.grpc_port,
                                                       max_message_bytes=cfg.max_request_bytes, auth=auth)
            stack.callback(lambda: grpc_server.stop(GRPC_STOP_GRACE_S).wait())
            _, http_port, stop_http = start_http_server(ingestor, cfg.host, cfg.http_port,
                                                        max_request_bytes=cfg.max_request_bytes,
                                                        cors_origins=cfg.cors_origins,
                                                        allowed_hosts=cfg.allowed_hosts, auth=auth)
            stack.callback(stop_http)
            self._stack = stack.pop_all()
        self._writer, self._ingestor, self._forwarder = writer, ingestor, forwarder
        self.addresses = ListenAddresses(cfg.host, grpc_port, http_port)
        warning = exposure_warning(cfg.host, token_required=bool(cfg.auth_token))
        if warning:  # serve prints it, the window's status bar shows it
            self.notices.append(warning)
        return self.addresses

    def _start_forwarder(self, stack: contextlib.ExitStack) -> Forwarder | None:
        endpoints = parse_endpoints(self.config.forward_to)  # ConfigError names the bad URL
        if not endpoints:
            return None
        forwarder = Forwarder(endpoints, parse_headers(self.config.forward_headers),
                              listeners=self._forwarding_listeners, **self._forwarder_options)
        forwarder.start()
        stack.callback(forwarder.close)
        return forwarder

    def stop(self) -> None:
        """Stop listening, write what was accepted, close the database. Safe to call twice."""
        self._stack.close()

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(IngestEvent)` on the writer thread after each commit."""
        return self._subscribers.subscribe(callback)

    def import_request(self, signal: str, body: bytes) -> IngestResult:
        """One OTLP/JSON export request ("traces", "logs" or "metrics") through the same path
        as a request received over OTLP/HTTP JSON. Raises what the transports answer with
        (`BadPayload`, `AtCapacity`, `StorageFailed`)."""
        if self._ingestor is None:
            raise StoreClosed("the receiver is not running")
        return self._ingestor.export(Signal(signal), body, PayloadFormat.JSON)

    def flush(self, timeout: float = 10.0) -> bool:
        return self._writer.flush(timeout) if self._writer else True

    def wait_indexed(self, timeout: float = 10.0) -> bool:
        """Wait until everything written so far is full-text indexed (the list's search reads
        the index; what waits for it is scanned meanwhile)."""
        return self._writer.wait_indexed(timeout) if self._writer else True

    def pending_spans(self) -> int:
        """Spans accepted but not yet committed (the writer's queue depth)."""
        return self._writer.pending_spans if self._writer else 0

    def wait_for_pending_spans(self, spans: int, timeout: float) -> bool:
        return self._writer.wait_for_pending(spans, timeout) if self._writer else False

    def storage_problem(self) -> str:
        """What keeps received data from being stored right now (the disk is full: exporters are
        told to retry), said for the user; "" while writes succeed."""
        return self._writer.health.problem if self._writer else ""

    def subscribe_storage_problem(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call `callback(problem)` on the writer thread when a storage problem starts, and
        `callback("")` when it ends: once each, however many requests fail meanwhile."""
        return self._storage_listeners.subscribe(callback)

    def forwarding_status(self) -> list[UpstreamStatus]:
        """Each `--forward-to` upstream's state and counts ([] when not forwarding)."""
        return self._forwarder.status() if self._forwarder else []

    def forwarding_problem(self) -> str:
        """One line on the upstreams that fail or drop data now, said for the user; "" while all
        of them keep up (or none is configured)."""
        return self._forwarder.summary() if self._forwarder else ""

    def subscribe_forwarding(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call `callback(forwarding_problem)` when an upstream starts failing or dropping data,
        and when it recovers (`callback("")` once all have): once per change, not per request,
        on a forwarding or ingest thread."""
        return self._forwarding_listeners.subscribe(callback)  # type: ignore[arg-type]

    def wait_for_forwarding(self, predicate: Callable[[list[UpstreamStatus]], bool], timeout: float) -> bool:
        """Block until `predicate(forwarding_status())` holds (False on timeout, or when not
        forwarding): to wait on forwarding instead of sleeping."""
        return bool(self._forwarder) and self._forwarder.wait_for_status(predicate, timeout)

    def run_job(self, job: Callable[[sqlite3.Connection], T], timeout: float = 30) -> T:
        """Run `job(connection)` on the writer thread between two batches, in a transaction of its
        own (`DatabaseWriter.run_job`): for maintenance, and for tests that set the writer's PRAGMAs."""
        return self._running_writer().run_job(job, timeout)

    def counters(self) -> IngestCounters:
        return self._ingestor.counters() if self._ingestor else IngestCounters()

    def wait_for_counters(self, predicate: Callable[[IngestCounters], bool], timeout: float) -> bool:
        return bool(self._ingestor) and self._ingestor.wait_for_counters(predicate, timeout)

    def store(self) -> TraceStore:
        return TraceStore(self.config.db_path)

    # Deletions wait for the writer (between two batches) and for their own transaction: call
    # them from a worker thread, never a GUI thread. Subscribers hear of them like of commits.

    def delete_traces(self, trace_ids: Iterable[str], timeout: float = 30) -> DeletedCounts:
        """Delete these traces: spans, log records, rollups. Ids with nothing stored are skipped.
        Raises `StorageFailed` (nothing changed, or on timeout) or `StoreClosed`."""
        return self._running_writer().delete_traces(trace_ids, timeout)

    def clear_all(self, timeout: float = 30) -> DeletedCounts:
        """Delete everything received: traces, log records, metric points."""
        return self._running_writer().clear_all(timeout)

    def delete_older_than(self, before_ns: int, timeout: float = 60) -> DeletedCounts:
        """Retention by age: delete the traces that ended before `before_ns`, except pinned
        ones, a chunk at a time (`DatabaseWriter.delete_older_than`)."""
        return self._running_writer().delete_older_than(before_ns, timeout)

    def set_retention_budget(self, max_db_mb: int, max_age_days: float, timeout: float = 30) -> None:
        """Keep the database within these budgets from now on (0 turns either off)."""
        self._running_writer().set_budget(RetentionBudget.of(max_db_mb, max_age_days), timeout)

    def set_pinned(self, trace_ids: Iterable[str], pinned: bool = True, timeout: float = 30) -> frozenset[str]:
        """Pin (or unpin) these stored traces; returns the ids whose pin changed, and tells
        the subscribers so a list redraws them."""
        return self._running_writer().set_pinned(trace_ids, pinned, timeout)

    def set_annotation(self, trace_id: str, span_id: str | None = None, *, passed: bool | None,
                       name: str = "human", label: str | None = None, score: float | None = None,
                       note: str | None = None, timeout: float = 30) -> None:
        """A person's mark on a span, or on the whole trace without a span id: good (`passed`)
        or bad, a label, a score, a note; replaces the one before. The subscribers hear of it."""
        self._running_writer().set_annotation(trace_id.lower(), span_id.lower() if span_id else None, timeout,
                                              passed=passed, name=name, label=label, score=score, note=note)

    def remove_annotation(self, trace_id: str, span_id: str | None = None, timeout: float = 30) -> bool:
        return self._running_writer().remove_annotation(trace_id.lower(), span_id.lower() if span_id else None,
                                                        timeout)

    def set_cost_keys(self, keys: Iterable[str], timeout: float = 600) -> None:
        """Make `keys` the attribute keys whose cost is kept at ingestion; a new key is filled
        from every stored span, which takes a while on a large database. Raises
        `CostKeyInvalid` for a key that cannot be one."""
        wanted = list(keys)
        self._running_writer().run_job(lambda conn: cost_attributes.set_keys(conn, wanted), timeout)

    def _running_writer(self) -> DatabaseWriter:
        if self._writer is None:
            raise StoreClosed("the receiver is not running")
        return self._writer
