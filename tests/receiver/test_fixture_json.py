"""Real telemetry captured from seven instrumentation libraries, posted as OTLP/JSON (plain,
gzip, and chunked without a length, as the JavaScript exporter sends), comes back from
`tracepane show --json` field by field."""

from __future__ import annotations

import base64
import json

import pytest

from receiver.records import SPAN_KIND_NAMES, STATUS_CODE_NAMES
from tests.conftest import fixture_files, fixture_requests, gz, post, show_json


def _plain(value: dict | None):
    """OTLP/JSON AnyValue -> the plain value `show --json` promises (written independently
    of the receiver's own conversion)."""
    if not value:
        return None
    (kind, inner), = value.items()
    return {
        "stringValue": lambda: inner,
        "boolValue": lambda: inner,
        "intValue": lambda: int(inner),
        "doubleValue": lambda: float(inner),
        "bytesValue": lambda: base64.b64encode(base64.b64decode(inner)).decode(),
        "arrayValue": lambda: [_plain(v) for v in inner.get("values", [])],
        "kvlistValue": lambda: _attrs(inner.get("values", [])),
    }[kind]()


def _attrs(key_values: list) -> dict:
    return {kv["key"]: _plain(kv.get("value")) for kv in key_values or []}


def _expected_spans(requests: list[dict]) -> dict[str, dict]:
    out = {}
    for request in requests:
        for rs in request.get("resourceSpans", []):
            resource = _attrs(rs.get("resource", {}).get("attributes"))
            for ss in rs.get("scopeSpans", []):
                scope = ss.get("scope", {})
                for s in ss.get("spans", []):
                    start, end = int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])
                    status = s.get("status", {})
                    out[s["spanId"]] = {
                        "trace_id": s["traceId"], "span_id": s["spanId"],
                        "parent_span_id": s.get("parentSpanId") or None, "name": s["name"],
                        "kind": SPAN_KIND_NAMES[s.get("kind", 0)],
                        "service_name": resource.get("service.name"),
                        "scope": {"name": scope.get("name", ""), "version": scope.get("version", ""),
                                  "attributes": _attrs(scope.get("attributes"))},
                        "start_time_unix_nano": start, "end_time_unix_nano": end,
                        "duration_ms": round((end - start) / 1e6, 6),
                        "status_code": STATUS_CODE_NAMES[status.get("code", 0)],
                        "status_message": status.get("message", ""),
                        "trace_state": s.get("traceState", ""), "flags": s.get("flags", 0),
                        "attributes": _attrs(s.get("attributes")),
                        "events": [{"name": e.get("name", ""), "time_unix_nano": int(e["timeUnixNano"]),
                                    "attributes": _attrs(e.get("attributes")),
                                    "dropped_attributes_count": e.get("droppedAttributesCount", 0)}
                                   for e in s.get("events", [])],
                        "links": [{"trace_id": lk["traceId"], "span_id": lk["spanId"],
                                   "trace_state": lk.get("traceState", ""), "flags": lk.get("flags", 0),
                                   "attributes": _attrs(lk.get("attributes")),
                                   "dropped_attributes_count": lk.get("droppedAttributesCount", 0)}
                                  for lk in s.get("links", [])],
                        "dropped_attributes_count": s.get("droppedAttributesCount", 0),
                        "dropped_events_count": s.get("droppedEventsCount", 0),
                        "dropped_links_count": s.get("droppedLinksCount", 0),
                        "resource": resource,
                    }
    return out


@pytest.mark.parametrize("path", fixture_files("*.traces.jsonl"), ids=lambda p: p.name.split(".traces")[0])
def test_fixture_telemetry_round_trips_through_show_json(path, receiver, db_path):
    requests = fixture_requests(path)
    port = receiver.addresses.http_port
    for i, request in enumerate(requests):
        body = json.dumps(request).encode()
        way = i % 3
        if way == 0:
            answer = post(port, body, "application/json")
        elif way == 1:
            answer = post(port, gz(body), "application/json", encoding="gzip")
        else:
            answer = post(port, body, "application/json", chunked=True)
        assert answer.status == 200, answer.body
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json() == {}  # full success: no partialSuccess object

    expected = _expected_spans(requests)
    got = {}
    for trace_id in {s["trace_id"] for s in expected.values()}:
        for span in show_json(db_path, trace_id)["spans"]:
            got[span["span_id"]] = span
    assert sorted(got) == sorted(expected)
    for span_id, want in expected.items():  # the OTLP fields; the GenAI ones have tests of their own
        assert {key: got[span_id][key] for key in want} == want, span_id
