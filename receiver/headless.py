"""Run the receiver with no window until Ctrl-C or SIGTERM (`tracepane serve`,
`python -m receiver`)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from receiver.config import ReceiverConfig
from receiver.errors import DatabaseInUse, ReceiverError
from receiver.forwarding import UpstreamStatus
from receiver.forwarding.status import items
from receiver.otlp.auth import EXPORTER_HEADERS_HINT
from receiver.service import ListenAddresses, Receiver

# `tracepane serve` exits with these (app.cli has the same for every command)
EXIT_OK, EXIT_FAILURE, EXIT_DATABASE_IN_USE = 0, 1, 3


def _reachable(addresses: ListenAddresses) -> ListenAddresses:
    """An address an app on this machine can use (0.0.0.0 / :: are not destinations)."""
    if addresses.host in ("0.0.0.0", "::", ""):
        return ListenAddresses("127.0.0.1", addresses.grpc_port, addresses.http_port)
    return addresses


def _forward_lines(upstreams: list[UpstreamStatus], headers: tuple[str, ...]) -> str:
    """The banner's lines for --forward-to: URLs, and header names but never their values."""
    names = sorted({item.partition("=")[0].strip().lower() for item in headers})
    with_headers = f" (headers: {', '.join(names)})" if names else ""
    return "".join(f"  forward to {u.url}{with_headers}\n" for u in upstreams)


def _forwarded(upstreams: list[UpstreamStatus]) -> str:
    return "; ".join(f"{u.url}: {items(u.sent_items)} sent, {u.queued_items:,} queued, {u.dropped_items:,} "
                     f"dropped, {u.rejected_items:,} rejected" for u in upstreams)


def serve_until_stopped(config: ReceiverConfig, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Serve; return the process exit code (0 after a clean stop, 1 if it could not start, 3
    when another Tracepane writes to the database)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    receiver = Receiver(config, holder="serve")
    # once when it starts, once when it ends, however many exports are refused meanwhile
    said = [""]  # the last storage problem printed: its end is said in its own terms

    def say_storage_problem(problem: str) -> None:
        if problem:
            print(f"tracepane: warning: {problem}", file=err, flush=True)
        elif said[0].startswith("disk full"):
            print("tracepane: the database can grow again: storing resumed", file=err, flush=True)
        else:
            print("tracepane: retention runs again", file=err, flush=True)
        said[0] = problem

    receiver.subscribe_storage_problem(say_storage_problem)
    # likewise for the upstreams of --forward-to: when one starts failing or dropping, when all recover
    receiver.subscribe_forwarding(lambda problem: print(
        f"tracepane: warning: {problem}" if problem
        else f"tracepane: forwarding recovered: {_forwarded(receiver.forwarding_status())}",
        file=err, flush=True))
    try:
        try:
            addresses = receiver.start()
        except DatabaseInUse as exc:
            print(f"tracepane: {exc}", file=err, flush=True)
            return EXIT_DATABASE_IN_USE
        except ReceiverError as exc:
            print(f"tracepane: {exc}", file=err, flush=True)
            return EXIT_FAILURE
        for notice in receiver.notices:
            print(f"tracepane: warning: {notice}", file=err, flush=True)
        # Said, but the token itself never printed: this output ends up in terminals and CI logs.
        auth_line = "  auth       bearer token required (--auth-token / TRACEPANE_AUTH_TOKEN)\n"
        headers_hint = f"\n                      export {EXPORTER_HEADERS_HINT}"
        print(f"Tracepane receiver listening (Ctrl-C to stop)\n"
              f"  OTLP/gRPC  {addresses.grpc}\n"
              f"  OTLP/HTTP  {addresses.http}\n"
              f"{auth_line if config.auth_token else ''}"
              f"{_forward_lines(receiver.forwarding_status(), config.forward_headers)}"
              f"  database   {config.db_path}\n"
              f"point your app here:  export OTEL_EXPORTER_OTLP_ENDPOINT={_reachable(addresses).http}"
              f"{headers_hint if config.auth_token else ''}",
              file=out, flush=True)
        stop.wait()
        print("stopping: writing what was received…", file=out, flush=True)
        receiver.stop()
        counters = receiver.counters()
        print(f"stopped: {counters.spans_accepted} spans, {counters.logs_accepted} log records and "
              f"{counters.metric_points_accepted} metric points stored; {counters.items_rejected} rejected, "
              f"{counters.requests_failed} requests refused", file=out, flush=True)
        if config.forward_to:
            print(f"forwarded: {_forwarded(receiver.forwarding_status())}", file=out, flush=True)
        return EXIT_OK
    finally:
        receiver.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
