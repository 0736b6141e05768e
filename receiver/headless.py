"""Run the receiver with no window until Ctrl-C or SIGTERM (`tracepane serve`,
`python -m receiver`)."""

from __future__ import annotations

import ipaddress
import signal
import sys
import threading
from typing import TextIO

from receiver.config import ReceiverConfig
from receiver.errors import ReceiverError
from receiver.service import ListenAddresses, Receiver


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _reachable(addresses: ListenAddresses) -> ListenAddresses:
    """An address an app on this machine can use (0.0.0.0 / :: are not destinations)."""
    if addresses.host in ("0.0.0.0", "::", ""):
        return ListenAddresses("127.0.0.1", addresses.grpc_port, addresses.http_port)
    return addresses


def serve_until_stopped(config: ReceiverConfig, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Serve; return the process exit code (0 after a clean stop, 1 if it could not start)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    receiver = Receiver(config)
    try:
        try:
            addresses = receiver.start()
        except ReceiverError as exc:
            print(f"tracepane: {exc}", file=err, flush=True)
            return 1
        for notice in receiver.notices:
            print(f"tracepane: warning: {notice}", file=err, flush=True)
        if not is_loopback(config.host):
            print(f"tracepane: warning: listening on {config.host}, not loopback: other machines can "
                  "send telemetry here (there is no authentication)", file=err, flush=True)
        print(f"Tracepane receiver listening (Ctrl-C to stop)\n"
              f"  OTLP/gRPC  {addresses.grpc}\n"
              f"  OTLP/HTTP  {addresses.http}\n"
              f"  database   {config.db_path}\n"
              f"point your app here:  export OTEL_EXPORTER_OTLP_ENDPOINT={_reachable(addresses).http}",
              file=out, flush=True)
        stop.wait()
        print("stopping: writing what was received…", file=out, flush=True)
        receiver.stop()
        counters = receiver.counters()
        print(f"stopped: {counters.spans_accepted} spans, {counters.logs_accepted} log records and "
              f"{counters.metric_points_accepted} metric points stored; {counters.items_rejected} rejected, "
              f"{counters.requests_failed} requests refused", file=out, flush=True)
        return 0
    finally:
        receiver.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
