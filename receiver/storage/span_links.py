"""Spans of one service whose OpenTelemetry links point into a trace: the way back along a
link (a playground run links to the call it re-ran; the original wants to list its runs).
The service's traces come from the `traces_by_service` index and their spans by primary key,
so only that service's spans are read, never the whole table. Read-only SQL."""

from __future__ import annotations

import json
import sqlite3

from receiver.records import LinkingSpan

__all__ = ["linking_spans"]

_SQL = """
SELECT s.trace_id, s.span_id, s.name, s.start_time_unix_nano, s.links
FROM traces AS t JOIN spans AS s ON s.trace_id = t.trace_id
WHERE t.service_name = :service AND s.links LIKE '%' || :trace_id || '%'
"""


def linking_spans(conn: sqlite3.Connection, trace_id: str, service_name: str) -> dict[str, list[LinkingSpan]]:
    """Linked span id (of `trace_id`) -> the spans of `service_name` linking to it, oldest first."""
    found: dict[str, list[LinkingSpan]] = {}
    for run_trace, run_span, name, start, links in conn.execute(_SQL, {"service": service_name,
                                                                        "trace_id": trace_id}):
        for link in json.loads(links):
            if link.get("traceId") == trace_id and link.get("spanId"):
                found.setdefault(link["spanId"], []).append(LinkingSpan(run_trace, run_span, name, start))
    for spans in found.values():
        spans.sort(key=lambda span: (span.start_time_unix_nano, span.span_id))
    return found
