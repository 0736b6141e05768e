"""Forwarding (issue 12, part 2): what Tracepane stores goes on to the `--forward-to`
upstreams, over OTLP/gRPC or OTLP/HTTP. The upstream is a second real Tracepane receiver on
loopback port 0; data reaches the first through the real OpenTelemetry SDK exporters. A
failing upstream never blocks or loses local ingest: it shows in the status, is retried with
backoff from a bounded queue, and whatever overflows or is refused is counted and said."""

from __future__ import annotations

import contextlib
import json
import queue
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from receiver.attributes import plain_attributes
from receiver.config import ReceiverConfig
from receiver.errors import ConfigError
from receiver.forwarding import UpstreamStatus, parse_endpoints, parse_headers
from receiver.forwarding.endpoints import ACCEPTED_FORMS, Endpoint
from receiver.forwarding.status import summary_text
from receiver.forwarding.upstream import Backoff
from receiver.records import StoredSpan, TraceFilter
from receiver.service import Receiver
from tests.conftest import TRACEPANE, post
from tests.otlp_builders import make_request, make_span, new_trace_id
from tests.sdk_spans import finished_spans
from tests.serve_process import ServeProcess

WAIT_S = 30.0  # an upper bound on waits for conditions, never a sleep
FAST_RETRIES = {"backoff_initial_s": 0.05, "backoff_max_s": 0.2}  # so a recovery is seen at once
TOKEN = "T0ken-for-the-upstream"

Statuses = list[UpstreamStatus]


@contextlib.contextmanager
def running(db: Path, *, forwarder_options: dict | None = None, **settings) -> Iterator[Receiver]:
    """A real receiver on loopback (port 0 unless given), stopped at the end."""
    config = ReceiverConfig(db_path=db, **{"grpc_port": 0, "http_port": 0, **settings})
    receiver = Receiver(config, _forwarder_options=forwarder_options)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def url(transport: str, grpc_port: int, http_port: int) -> str:
    return f"grpc://127.0.0.1:{grpc_port}" if transport == "grpc" else f"http://127.0.0.1:{http_port}"


def upstream_url(transport: str, upstream: Receiver) -> str:
    return url(transport, upstream.addresses.grpc_port, upstream.addresses.http_port)


def unused_ports(tmp_path: Path) -> tuple[int, int]:
    """Two ports nothing listens on: a Tracepane's, once it stopped (the upstream to come back)."""
    with running(tmp_path / "probe.db") as probe:
        return probe.addresses.grpc_port, probe.addresses.http_port


def export_spans(receiver: Receiver, protocol: str, spans: list[ReadableSpan]) -> float:
    """Export with the SDK's exporter, which returns once the receiver acknowledged (= stored);
    returns how long that took."""
    ports = receiver.addresses
    exporter = (GrpcSpanExporter(endpoint=f"127.0.0.1:{ports.grpc_port}", insecure=True) if protocol == "grpc"
                else HttpSpanExporter(endpoint=f"http://127.0.0.1:{ports.http_port}/v1/traces"))
    started = time.monotonic()
    try:
        assert exporter.export(spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    return time.monotonic() - started


def sdk_keys(spans: list[ReadableSpan]) -> set[tuple[str, str]]:
    return {(format(s.context.trace_id, "032x"), format(s.context.span_id, "016x")) for s in spans}


def stored_spans(receiver: Receiver) -> dict[tuple[str, str], StoredSpan]:
    with contextlib.closing(receiver.store()) as store:
        traces = store.list_traces(TraceFilter(), limit=100_000).traces
        return {(s.trace_id, s.span_id): s for t in traces for s in store.get_trace(t.trace_id).spans}


def stats(receiver: Receiver):
    with contextlib.closing(receiver.store()) as store:
        return store.stats()


def all_sent(items: int) -> Callable[[Statuses], bool]:
    return lambda statuses: all(s.sent_items == items and s.queued_items == 0 and s.state == "ok" for s in statuses)


def wait_forwarding(receiver: Receiver, predicate: Callable[[Statuses], bool]) -> Statuses:
    assert receiver.wait_for_forwarding(predicate, WAIT_S), receiver.forwarding_status()
    return receiver.forwarding_status()


# --- data gets there ------------------------------------------------------------------------------


@pytest.mark.parametrize(("sent_over", "forwarded_over"), [("http", "grpc"), ("grpc", "http")])
def test_stored_spans_reach_the_upstream_field_for_field(sent_over, forwarded_over, tmp_path):
    spans = finished_spans("forwarded-service", traces=3, spans_per_trace=4)
    with running(tmp_path / "upstream.db") as upstream, \
            running(tmp_path / "main.db", forward_to=(upstream_url(forwarded_over, upstream),)) as main:
        export_spans(main, sent_over, spans)

        (status,) = wait_forwarding(main, all_sent(len(spans)))
        local, remote = stored_spans(main), stored_spans(upstream)

    assert set(local) == sdk_keys(spans)
    assert remote == local  # every span, every stored field
    assert status.url == upstream_url(forwarded_over, upstream)
    assert (status.dropped_items, status.rejected_items, status.last_error) == (0, 0, "")
    assert main.forwarding_problem() == ""


def test_a_json_request_is_forwarded_as_protobuf(tmp_path):
    trace_id = new_trace_id()
    document = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace_id.hex(), "spanId": "00f067aa0ba902b7", "name": "sent as json",
        "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]})
    with running(tmp_path / "upstream.db") as upstream, \
            running(tmp_path / "main.db", forward_to=(upstream_url("http", upstream),)) as main:
        assert post(main.addresses.http_port, document.encode(), "application/json").status == 200
        wait_forwarding(main, all_sent(1))
        (span,) = stored_spans(upstream).values()
    assert (span.trace_id, span.span_id, span.name) == (trace_id.hex(), "00f067aa0ba902b7", "sent as json")


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_log_records_and_metric_points_are_forwarded_too(transport, tmp_path):
    with running(tmp_path / "upstream.db") as upstream, \
            running(tmp_path / "main.db", forward_to=(upstream_url(transport, upstream),)) as main:
        ports = main.addresses
        resource = Resource.create({"service.name": "logs-and-metrics"})
        loggers = LoggerProvider(resource=resource)
        loggers.add_log_record_processor(SimpleLogRecordProcessor(
            GrpcLogExporter(endpoint=f"127.0.0.1:{ports.grpc_port}", insecure=True) if transport == "http"
            else HttpLogExporter(endpoint=f"http://127.0.0.1:{ports.http_port}/v1/logs")))
        logger = loggers.get_logger("tests.forwarding")
        for n in range(3):
            logger.emit(body=f"record {n}", attributes={"n": n})
        loggers.shutdown()
        reader = PeriodicExportingMetricReader(
            GrpcMetricExporter(endpoint=f"127.0.0.1:{ports.grpc_port}", insecure=True) if transport == "http"
            else HttpMetricExporter(endpoint=f"http://127.0.0.1:{ports.http_port}/v1/metrics"),
            export_interval_millis=3_600_000)  # exported by force_flush only
        meters = MeterProvider(resource=resource, metric_readers=[reader])
        meters.get_meter("tests.forwarding").create_counter("llm.calls").add(2, {"model": "m"})
        assert meters.force_flush(30_000)
        local = stats(main)
        assert (local.logs, local.metric_points) == (3, 1)

        wait_forwarding(main, all_sent(4))
        remote = stats(upstream)
        with contextlib.closing(upstream.store()) as store:
            counter = store.metric_points("llm.calls")
        meters.shutdown()

    assert (remote.logs, remote.metric_points) == (3, 1)
    assert [(p.kind, p.value, p.service_name) for p in counter] == [("sum", 2, "logs-and-metrics")]


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_forward_headers_are_sent_so_an_upstream_requiring_a_token_takes_the_data(transport, tmp_path):
    spans = finished_spans("with-token", traces=1, spans_per_trace=2)
    # percent-encoded as in OTEL_EXPORTER_OTLP_HEADERS; the key's case does not matter to gRPC
    header = f"Authorization=Bearer%20{TOKEN}"
    with running(tmp_path / "upstream.db", auth_token=TOKEN) as upstream, \
            running(tmp_path / "main.db", forward_to=(upstream_url(transport, upstream),),
                    forward_headers=(header,)) as main:
        export_spans(main, "http", spans)
        wait_forwarding(main, all_sent(2))
        assert set(stored_spans(upstream)) == sdk_keys(spans)


def test_credentials_masked_locally_go_upstream_masked_too(tmp_path):
    # The upstream keeps what it gets as it gets it (no masking of its own): it shows what was sent.
    trace_id = new_trace_id()
    span = make_span(trace_id=trace_id, attributes={"api_key": "plain-secret-without-a-known-shape",
                                                    "user.question": "what is the weather?"})
    with running(tmp_path / "upstream.db", mask_credentials=False) as upstream, \
            running(tmp_path / "main.db", forward_to=(upstream_url("grpc", upstream),)) as main:
        assert post(main.addresses.http_port, make_request(span).SerializeToString()).status == 200
        wait_forwarding(main, all_sent(1))
        (local,), (remote,) = stored_spans(main).values(), stored_spans(upstream).values()
    assert plain_attributes(local.attributes)["api_key"] == "plai…[masked]"
    assert plain_attributes(remote.attributes) == plain_attributes(local.attributes)


def test_with_no_content_stored_none_is_forwarded_either(tmp_path):
    trace_id = new_trace_id()
    span = make_span(trace_id=trace_id, attributes={"gen_ai.prompt": "the user's private question",
                                                    "gen_ai.request.model": "gpt-4o"})
    with running(tmp_path / "upstream.db") as upstream, \
            running(tmp_path / "main.db", forward_to=(upstream_url("http", upstream),), store_content=False) as main:
        assert post(main.addresses.http_port, make_request(span).SerializeToString()).status == 200
        wait_forwarding(main, all_sent(1))
        (local,), (remote,) = stored_spans(main).values(), stored_spans(upstream).values()
    assert "gen_ai.prompt" not in plain_attributes(remote.attributes)
    assert plain_attributes(remote.attributes) == plain_attributes(local.attributes)
    assert plain_attributes(remote.attributes)["gen_ai.request.model"] == "gpt-4o"


# --- the upstream fails -------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_while_the_upstream_is_down_ingest_goes_on_and_what_is_queued_arrives_once_it_is_back(transport, tmp_path):
    grpc_port, http_port = unused_ports(tmp_path)
    target = url(transport, grpc_port, http_port)
    batches = [finished_spans(f"batch-{n}", traces=2, spans_per_trace=5) for n in range(3)]
    told: list[str] = []
    with running(tmp_path / "main.db", forward_to=(target,), forwarder_options=FAST_RETRIES) as main:
        main.subscribe_forwarding(told.append)
        for batch in batches:
            export_spans(main, "grpc", batch)
        assert stats(main).spans == 30  # stored at once, whatever the upstream does

        (status,) = wait_forwarding(main, lambda s: s[0].state == "retrying" and s[0].queued_items == 30)
        assert status.sent_items == 0 and status.dropped_items == 0
        assert status.last_error == "connection refused"
        problem = main.forwarding_problem()
        assert problem.startswith(f"forwarding to {target} failing: connection refused; retrying ")
        assert problem.endswith("; 30 items queued, 0 dropped")

        with running(tmp_path / "upstream.db", grpc_port=grpc_port, http_port=http_port) as upstream:
            (status,) = wait_forwarding(main, all_sent(30))
            assert set(stored_spans(upstream)) == set().union(*(sdk_keys(b) for b in batches))
        assert main.forwarding_problem() == ""
    assert told[0].startswith(f"forwarding to {target} failing") and told[-1] == ""
    assert len(told) == 2  # told when it failed and when it recovered: not about every retry


def test_an_upstream_that_never_answers_slows_neither_ingest_nor_stopping(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never reads or answers
        target = f"http://127.0.0.1:{silent.getsockname()[1]}"
        options = {"send_timeout_s": 60.0, "close_timeout_s": 0.5}
        with running(tmp_path / "main.db", forward_to=(target,), forwarder_options=options) as main:
            took = [export_spans(main, "http", finished_spans("hung", traces=1, spans_per_trace=3))
                    for _ in range(3)]
            assert stats(main).spans == 9
            stopping = time.monotonic()
        stopped_in = time.monotonic() - stopping
    assert max(took) < 5  # far below the 60 s the upstream may take: exports never wait for it
    assert stopped_in < 5  # the last flush is cut off at close_timeout_s, the send in progress aborted
    (status,) = main.forwarding_status()
    # what could not be sent is counted, not lost silently
    assert (status.sent_items, status.queued_items, status.dropped_items) == (0, 0, 9)


def test_a_full_queue_refuses_new_requests_and_counts_their_items_as_dropped(tmp_path):
    grpc_port, _ = unused_ports(tmp_path)
    target = f"grpc://127.0.0.1:{grpc_port}"
    told: list[str] = []
    options = {**FAST_RETRIES, "max_queued_items": 3}
    with running(tmp_path / "main.db", forward_to=(target,), forwarder_options=options) as main:
        main.subscribe_forwarding(told.append)
        requests = [make_request(*(make_span(trace_id=new_trace_id()) for _ in range(2))) for _ in range(5)]
        assert post(main.addresses.http_port, requests[0].SerializeToString()).status == 200
        wait_forwarding(main, lambda s: s[0].state == "retrying")
        for request in requests[1:]:  # 2 queued + 2 more is over the bound of 3: each is refused whole
            assert post(main.addresses.http_port, request.SerializeToString()).status == 200
        assert stats(main).spans == 10  # local ingest loses nothing

        (status,) = main.forwarding_status()
        problem = main.forwarding_problem()
    assert (status.queued_items, status.dropped_items, status.overflowing) == (2, 8, True)
    assert problem.endswith("; 2 items queued, 8 dropped")
    assert len(told) == 2 and "0 dropped" in told[0] and "dropped" in told[1] and "0 dropped" not in told[1]


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_an_upstream_that_refuses_the_data_gets_it_counted_as_rejected_with_its_reason(transport, tmp_path):
    spans = finished_spans("no-token", traces=2, spans_per_trace=2)
    with running(tmp_path / "upstream.db", auth_token=TOKEN) as upstream, \
            running(tmp_path / "main.db", forward_to=(upstream_url(transport, upstream),),
                    forwarder_options=FAST_RETRIES) as main:
        export_spans(main, "grpc", spans[:2])
        export_spans(main, "http", spans[2:])
        (status,) = wait_forwarding(main, lambda s: s[0].rejected_items == 4)
        problem = main.forwarding_problem()
        assert stats(upstream).spans == 0
        assert stats(main).spans == 4

    assert status.state == "failing-permanently"
    assert (status.sent_items, status.queued_items, status.dropped_items) == (0, 0, 0)  # not retried
    code = "UNAUTHENTICATED" if transport == "grpc" else "HTTP 401 Unauthorized"
    assert status.last_error.startswith(code) and "requires a bearer token" in status.last_error
    assert problem.startswith(f"forwarding to {status.url} refused: {code}")
    assert "; 4 items rejected; 0 items queued, 0 dropped" in problem


# --- settings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "why"), [
    ("collector:4317", "unknown scheme"),
    ("ftp://collector:21", "unknown scheme ftp://"),
    ("grpc://:4317", "no host"),
    ("grpc://collector:99999", "out of range"),
    ("grpc://collector:port", "Port could not be cast"),
    ("grpc://collector:4317/v1", "a gRPC endpoint takes no path"),
    ("http://collector:4318/v1/traces", "without /v1/traces"),
    ("http://collector:4318/?tenant=a", "query or fragment"),
])
def test_a_bad_forward_to_url_is_refused_before_the_database_opens_or_a_port_listens(bad, why, tmp_path):
    db = tmp_path / "main.db"
    receiver = Receiver(ReceiverConfig(db_path=db, grpc_port=0, http_port=0, forward_to=(bad,)))
    with pytest.raises(ConfigError) as refused:
        receiver.start()
    message = str(refused.value)
    assert message.startswith(f"--forward-to: {bad!r} is not an upstream OTLP endpoint (")
    assert why in message and message.endswith(f"; use {ACCEPTED_FORMS}")
    assert not db.exists() and receiver.addresses is None


def test_a_password_in_a_bad_url_is_not_repeated_in_the_message():
    with pytest.raises(ConfigError) as refused:
        parse_endpoints(["https://me:hunter2@collector"])
    assert "hunter2" not in str(refused.value) and "--forward-header" in str(refused.value)


def test_accepted_urls_and_what_they_mean():
    got = parse_endpoints(["grpc://collector", "GRPCS://collector:443", "http://127.0.0.1:4318/",
                           "https://otlp.example.com/api/otel", "grpc://[::1]:4317"])
    assert got == (
        Endpoint("grpc://collector:4317", "grpc", "collector", 4317, tls=False),
        Endpoint("grpcs://collector:443", "grpc", "collector", 443, tls=True),
        Endpoint("http://127.0.0.1:4318", "http", "127.0.0.1", 4318, tls=False),
        Endpoint("https://otlp.example.com:443/api/otel", "http", "otlp.example.com", 443, tls=True,
                 path_prefix="/api/otel"),
        Endpoint("grpc://[::1]:4317", "grpc", "::1", 4317, tls=False),
    )
    with pytest.raises(ConfigError, match="given twice"):
        parse_endpoints(["grpc://collector", "grpc://collector:4317"])


def test_forward_headers_are_parsed_and_their_values_never_shown_in_errors():
    assert parse_headers(["x-api-key=abc", " Authorization = Bearer%20T%2C1 "]) == (
        ("x-api-key", "abc"), ("Authorization", "Bearer T,1"))
    for bad, said in [("Bearer s3cret", "expected KEY=VALUE"), ("=s3cret", "expected KEY=VALUE"),
                      ("x key=s3cret", "cannot be a header name"), ("k=s3cret%0A", "printable ASCII")]:
        with pytest.raises(ConfigError, match=said) as refused:
            parse_headers([bad])
        assert "s3cret" not in str(refused.value)


def test_the_summary_line_names_what_fails_and_what_it_costs():
    retrying = UpstreamStatus("grpc://collector:4317", "retrying", queued_items=1234, last_error="connection refused",
                              next_retry_in_s=3.2)
    refused = UpstreamStatus("http://collector:4318", "failing-permanently", rejected_items=1,
                             last_error="HTTP 401 Unauthorized: no token")
    behind = UpstreamStatus("http://other:4318", "ok", queued_items=10, dropped_items=5, overflowing=True)
    assert summary_text([retrying]) == ("forwarding to grpc://collector:4317 failing: connection refused; retrying "
                                        "in 4 s; 1,234 items queued, 0 dropped")
    assert summary_text([refused]) == ("forwarding to http://collector:4318 refused: HTTP 401 Unauthorized: no "
                                       "token; 1 item rejected; 0 items queued, 0 dropped")
    assert summary_text([behind]) == "forwarding to http://other:4318 falling behind: queue full; 10 items queued, " \
                                     "5 dropped"
    # past losses stay in the counts; the line is only about what is wrong now
    assert summary_text([UpstreamStatus("grpc://a:1", "ok", sent_items=9, dropped_items=3, rejected_items=2)]) == ""
    assert summary_text([retrying, behind]).count(" | ") == 1


def test_backoff_doubles_from_half_a_second_to_thirty_with_jitter_and_honours_retry_after():
    backoff, rng = Backoff(), random.Random(7)
    delays = [backoff.delay_s(attempt, rng) for attempt in range(10)]
    bases = [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert all(0.8 * base <= delay <= base for delay, base in zip(delays, bases, strict=True)), delays
    assert len(set(delays)) == len(delays)  # jittered: restarted Tracepanes do not retry in step
    assert backoff.delay_s(0, rng, retry_after_s=5) == 5
    assert backoff.delay_s(0, rng, retry_after_s=600) == 30


# --- tracepane serve ----------------------------------------------------------------------------------


class _Lines:
    """A pipe's lines, read on a thread, awaited with a deadline."""

    def __init__(self, pipe) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self._lines.put(line) for line in pipe], daemon=True).start()

    def wait_for(self, pattern: str) -> str:
        deadline = time.monotonic() + WAIT_S
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no line matching {pattern!r} in {self.seen}"
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line


def test_tracepane_serve_says_when_forwarding_fails_and_when_it_recovers(tmp_path):
    grpc_port, _ = unused_ports(tmp_path)
    target = f"grpc://127.0.0.1:{grpc_port}"
    server = ServeProcess(tmp_path / "serve.db", command=[str(TRACEPANE), "serve", "--forward-to", target,
                                                          "--forward-header", "X-Team=agents-secret"])
    try:
        server.wait_listening()
        banner = "".join(server.banner)
        assert f"  forward to {target} (headers: x-team)\n" in banner and "agents-secret" not in banner
        errors = _Lines(server.proc.stderr)
        trace_id = new_trace_id()
        assert post(server.http_port, make_request(make_span(trace_id=trace_id)).SerializeToString()).status == 200

        failing = errors.wait_for("forwarding to")
        assert failing.startswith(f"tracepane: warning: forwarding to {target} failing: connection refused; ")
        with running(tmp_path / "upstream.db", grpc_port=grpc_port) as upstream:
            recovered = errors.wait_for("forwarding")
            assert recovered == f"tracepane: forwarding recovered: {target}: 1 item sent, 0 queued, 0 dropped, " \
                                "0 rejected\n"
            with contextlib.closing(upstream.store()) as store:
                assert store.get_trace_summary(trace_id.hex()).span_count == 1
    finally:
        assert server.stop() == 0
    assert not [line for line in errors.seen if "agents-secret" in line]
