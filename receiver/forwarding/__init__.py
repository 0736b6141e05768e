"""Forwarding: a copy of everything Tracepane stores goes on to upstream OTLP endpoints
(`--forward-to`, gRPC or HTTP), without ever slowing or losing local ingest.

* `endpoints` — `--forward-to` URLs and `--forward-header` values, checked at start;
* `outcome` — what one send came to (sent, retryable, permanent) and the `Sender` interface;
* `grpc_sender`, `http_sender` — the two transports;
* `upstream` — one upstream's bounded queue, backoff and sending thread;
* `status` — per-upstream status and the status bar's one line;
* `forwarder` — `Forwarder`, what the receiver holds: one `Upstream` per endpoint.
"""

from __future__ import annotations

from receiver.forwarding.endpoints import Endpoint, parse_endpoints, parse_headers
from receiver.forwarding.forwarder import DEFAULT_MAX_QUEUED_ITEMS, Forwarder
from receiver.forwarding.status import FAILING_PERMANENTLY, OK, RETRYING, UpstreamStatus

__all__ = ["DEFAULT_MAX_QUEUED_ITEMS", "FAILING_PERMANENTLY", "OK", "RETRYING", "Endpoint", "Forwarder",
           "UpstreamStatus", "parse_endpoints", "parse_headers"]
