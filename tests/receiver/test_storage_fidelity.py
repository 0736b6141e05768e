"""Nothing OTLP carries is lost: every field of every trace and log message is stored, and
stored spans encode back to the very protobuf that was received (bytes stay bytes, ints
stay ints, empty values stay empty)."""

from __future__ import annotations

import math

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from receiver.otlp.encode import encode_spans
from tests.conftest import post

# Where each field lives. A field added by a newer opentelemetry-proto fails this test until
# it is stored (and filled below) or listed in IGNORED with its reason.
STORED = {
    ResourceSpans: {"resource": "resources.*", "scope_spans": "spans by scope", "schema_url": "resources.schema_url"},
    ScopeSpans: {"scope": "scopes.*", "spans": "spans", "schema_url": "scopes.schema_url"},
    Span: {"trace_id": "spans.trace_id", "span_id": "spans.span_id", "trace_state": "spans.trace_state",
           "parent_span_id": "spans.parent_span_id", "flags": "spans.flags", "name": "spans.name",
           "kind": "spans.kind", "start_time_unix_nano": "spans.start_time_unix_nano",
           "end_time_unix_nano": "spans.end_time_unix_nano", "attributes": "spans.attributes",
           "dropped_attributes_count": "spans.dropped_attributes_count", "events": "spans.events",
           "dropped_events_count": "spans.dropped_events_count", "links": "spans.links",
           "dropped_links_count": "spans.dropped_links_count", "status": "spans.status_code/status_message"},
    Span.Event: {"time_unix_nano": "events[].timeUnixNano", "name": "events[].name",
                 "attributes": "events[].attributes", "dropped_attributes_count": "events[].droppedAttributesCount"},
    Span.Link: {"trace_id": "links[].traceId", "span_id": "links[].spanId", "trace_state": "links[].traceState",
                "attributes": "links[].attributes", "dropped_attributes_count": "links[].droppedAttributesCount",
                "flags": "links[].flags"},
    Status: {"message": "spans.status_message", "code": "spans.status_code"},
    Resource: {"attributes": "resources.attributes", "dropped_attributes_count": "resources.dropped_attributes_count",
               "entity_refs": "resources.entity_refs"},
    InstrumentationScope: {"name": "scopes.name", "version": "scopes.version", "attributes": "scopes.attributes",
                           "dropped_attributes_count": "scopes.dropped_attributes_count"},
}
STORED.update({
    ResourceLogs: {"resource": "resources.*", "scope_logs": "logs by scope", "schema_url": "resources.schema_url"},
    ScopeLogs: {"scope": "scopes.*", "log_records": "logs", "schema_url": "scopes.schema_url"},
    LogRecord: {"time_unix_nano": "logs.time_unix_nano", "observed_time_unix_nano": "logs.observed_time_unix_nano",
                "severity_number": "logs.severity_number", "severity_text": "logs.severity_text",
                "body": "logs.body", "attributes": "logs.attributes",
                "dropped_attributes_count": "logs.dropped_attributes_count", "flags": "logs.flags",
                "trace_id": "logs.trace_id", "span_id": "logs.span_id", "event_name": "logs.event_name"},
})
IGNORED: dict[type, dict[str, str]] = {}  # none: nothing is dropped on purpose


@pytest.mark.parametrize("message", list(STORED), ids=lambda m: m.DESCRIPTOR.name)
def test_every_otlp_trace_field_is_stored_or_deliberately_ignored(message):
    fields = {f.name for f in message.DESCRIPTOR.fields}
    accounted = set(STORED[message]) | set(IGNORED.get(message, {}))
    assert fields - accounted == set(), f"{message.DESCRIPTOR.full_name}: new fields nobody stores"


def _every_kind_of_value() -> list[KeyValue]:
    nested = AnyValue()
    nested.kvlist_value.values.add(key="inner", value=AnyValue(int_value=-1))
    nested.kvlist_value.values.add(key="deeper").value.array_value.values.add(bytes_value=b"\x00\xff")
    array = AnyValue()
    array.array_value.values.extend([AnyValue(string_value="a"), AnyValue(bool_value=False), AnyValue(),
                                     AnyValue(double_value=2.0)])
    return [
        KeyValue(key="s", value=AnyValue(string_value="héllo ✓")),
        KeyValue(key="empty string", value=AnyValue(string_value="")),
        KeyValue(key="t", value=AnyValue(bool_value=True)),
        KeyValue(key="f", value=AnyValue(bool_value=False)),
        KeyValue(key="i", value=AnyValue(int_value=-(2**63))),
        KeyValue(key="zero", value=AnyValue(int_value=0)),
        KeyValue(key="d", value=AnyValue(double_value=0.1)),
        KeyValue(key="integral double", value=AnyValue(double_value=3.0)),
        KeyValue(key="inf", value=AnyValue(double_value=math.inf)),
        KeyValue(key="b", value=AnyValue(bytes_value=bytes(range(256)))),
        KeyValue(key="empty bytes", value=AnyValue(bytes_value=b"")),
        KeyValue(key="array", value=array),
        KeyValue(key="kvlist", value=nested),
        KeyValue(key="empty value", value=AnyValue()),
        KeyValue(key="no value"),
        KeyValue(key="s", value=AnyValue(string_value="a repeated key keeps both")),
    ]


def _plain_values() -> list[KeyValue]:
    """Values that fit the plain stored shape; their types must survive it exactly."""
    nested = AnyValue()
    nested.kvlist_value.values.add(key="n", value=AnyValue(int_value=1))
    nested.kvlist_value.values.add(key="list").value.array_value.values.extend(
        [AnyValue(double_value=1.0), AnyValue(int_value=1), AnyValue(string_value="1"), AnyValue(bool_value=True)])
    return [
        KeyValue(key="gen_ai.request.model", value=AnyValue(string_value="gpt-4o-mini")),
        KeyValue(key="integral double", value=AnyValue(double_value=3.0)),
        KeyValue(key="negative zero", value=AnyValue(double_value=-0.0)),
        KeyValue(key="huge", value=AnyValue(double_value=1e300)),
        KeyValue(key="tiny", value=AnyValue(double_value=5e-324)),
        KeyValue(key="int", value=AnyValue(int_value=2**63 - 1)),
        KeyValue(key="bool", value=AnyValue(bool_value=False)),
        KeyValue(key="awkward text", value=AnyValue(string_value='q"uo\\te\n\u00e9\u2028\U0001F600 end')),
        KeyValue(key="empty string", value=AnyValue(string_value="")),  # "" and 0 are also what
        KeyValue(key="zero", value=AnyValue(int_value=0)),  # unset members read as
        KeyValue(key="nested", value=nested),
        KeyValue(key="empty array", value=AnyValue(array_value={})),
        KeyValue(key="empty kvlist", value=AnyValue(kvlist_value={})),
    ]


def _full_request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for r in range(2):
        rs = request.resource_spans.add(schema_url=f"https://opentelemetry.io/schemas/1.{r}")
        rs.resource.attributes.extend(_every_kind_of_value())
        rs.resource.attributes.add(key="service.name", value=AnyValue(string_value=f"svc-{r}"))
        rs.resource.dropped_attributes_count = 3
        rs.resource.entity_refs.add(schema_url="https://x", type="service", id_keys=["service.name"],
                                    description_keys=["service.version", "host.name"])
        for c in range(2):
            ss = rs.scope_spans.add(schema_url=f"https://scope/{c}")
            ss.scope.name, ss.scope.version = f"scope-{c}", "9.9"
            ss.scope.attributes.extend(_every_kind_of_value()[:4])
            ss.scope.dropped_attributes_count = 1
            for n in range(3):
                span = ss.spans.add(
                    trace_id=bytes([r + 1]) * 16, span_id=bytes([r + 1, c + 1, n + 1]) + b"\x00" * 5,
                    parent_span_id=(bytes([r + 1, c + 1, n]) + b"\x00" * 5) if n else b"",
                    trace_state="vendor=value,other=x", flags=0x301, name=f"span {r}{c}{n}",
                    kind=Span.SPAN_KIND_PRODUCER, start_time_unix_nano=1_790_000_000_123_456_789 + n,
                    end_time_unix_nano=1_790_000_001_000_000_001, dropped_attributes_count=4,
                    dropped_events_count=5, dropped_links_count=6,
                    status=Status(code=Status.STATUS_CODE_ERROR, message='déjà vu "\\x"\n\U0001F600'))
                span.attributes.extend(_plain_values() if n == 1 else _every_kind_of_value())
                event = span.events.add(time_unix_nano=1_790_000_000_500_000_000, name="exception",
                                        dropped_attributes_count=2)
                event.attributes.extend(_every_kind_of_value()[:6])
                span.events.add(time_unix_nano=0, name="")
                link = span.links.add(trace_id=b"\xab" * 16, span_id=b"\xcd" * 8, trace_state="k=v",
                                      dropped_attributes_count=7, flags=0x100)
                link.attributes.extend(_every_kind_of_value()[9:12])
    return request


def _canonical(request: ExportTraceServiceRequest) -> list[bytes]:
    """One entry per span with its resource and scope: equal lists = equal content, in any grouping."""
    out = []
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                single = ExportTraceServiceRequest()
                r = single.resource_spans.add(schema_url=rs.schema_url)
                r.resource.CopyFrom(rs.resource)
                s = r.scope_spans.add(schema_url=ss.schema_url)
                s.scope.CopyFrom(ss.scope)
                s.spans.append(span)
                out.append(single.SerializeToString(deterministic=True))
    return sorted(out)


def test_stored_spans_encode_back_to_exactly_what_was_received(receiver, store):
    request = _full_request()
    answer = post(receiver.addresses.http_port, request.SerializeToString())
    assert answer.status == 200, answer.body

    spans = [s for t in (b"\x01" * 16, b"\x02" * 16) for s in store.get_trace(t.hex()).spans]
    assert len(spans) == 12
    assert _canonical(encode_spans(spans)) == _canonical(request)


def test_typed_values_are_kept_with_their_types(receiver, store):
    post(receiver.addresses.http_port, _full_request().SerializeToString())
    spans = {s.name: s for s in store.get_trace((b"\x01" * 16).hex()).spans}
    plain = spans["span 001"].attributes  # all plain values: stored as a JSON object
    assert plain["integral double"] == 3.0 and isinstance(plain["integral double"], float)
    assert plain["int"] == 2**63 - 1 and plain["bool"] is False
    assert plain["empty string"] == "" and plain["zero"] == 0 and isinstance(plain["zero"], int)
    assert plain["awkward text"] == 'q"uo\\te\n\u00e9\u2028\U0001F600 end'  # through the writer's JSON
    assert plain["nested"] == {"n": 1, "list": [1.0, 1, "1", True]}
    assert [type(v) for v in plain["nested"]["list"]] == [float, int, str, bool]
    span = spans["span 000"]  # bytes, empty and repeated keys: stored as the typed list
    typed = {kv["key"]: kv.get("value", "absent") for kv in span.attributes}
    assert typed["i"] == {"intValue": -(2**63)}
    integral = typed["integral double"]["doubleValue"]
    assert integral == 3.0 and isinstance(integral, float)
    assert typed["inf"] == {"doubleValue": "Infinity"}
    assert typed["empty bytes"] == {"bytesValue": ""}
    assert typed["empty value"] == {} and typed["no value"] == "absent"


def test_nul_characters_in_names_messages_and_values_are_kept(receiver, store):
    # SQLite's JSON functions end a string at an escaped NUL, so such spans take the other insert
    request = _full_request()
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                span.name += "\x00after"
                span.status.message = "before\x00after"
                span.attributes.add(key="nul", value=AnyValue(string_value="a\x00b"))
    answer = post(receiver.addresses.http_port, request.SerializeToString())
    assert answer.status == 200, answer.body

    spans = [s for t in (b"\x01" * 16, b"\x02" * 16) for s in store.get_trace(t.hex()).spans]
    assert _canonical(encode_spans(spans)) == _canonical(request)
