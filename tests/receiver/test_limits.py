"""The explicit limits on one item (receiver.otlp.limits), over real sockets: a value too
long is truncated and says so, lists nested too deep are cut, attributes beyond the limit
are dropped and counted; the exporter hears of it as a partial-success warning, everything
else of the span is stored, and the limits are settings."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from receiver import Receiver, ReceiverConfig
from receiver.attributes import plain_attributes
from receiver.errors import ConfigError
from tests.conftest import post
from tests.otlp_builders import BASE_NS, make_request, make_span, new_trace_id

SMALL = {"max_value_bytes": 8192, "max_value_depth": 4, "max_attributes": 200}


@pytest.fixture
def small_limits(receiver_config: ReceiverConfig):
    with Receiver(dataclasses.replace(receiver_config, **SMALL)) as running:
        yield running


def _send(receiver: Receiver, *spans) -> ExportTraceServiceResponse:
    answer = post(receiver.addresses.http_port, make_request(*spans).SerializeToString())
    assert answer.status == 200, answer.body
    assert receiver.flush(10)
    return ExportTraceServiceResponse.FromString(answer.body)


def _stored_span(receiver: Receiver, trace_id: bytes):
    (span,) = receiver.store().get_trace(trace_id.hex()).spans
    return span


def _nested(depth: int) -> AnyValue:
    value = AnyValue(string_value="bottom")
    for level in range(depth):
        value = (AnyValue(array_value=ArrayValue(values=[value])) if level % 2
                 else AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="in", value=value)])))
    return value


def test_a_value_over_the_size_limit_is_truncated_and_the_exporter_warned(small_limits):
    trace_id = new_trace_id()
    long_text = "é" * 10_000  # 20,000 UTF-8 bytes: the cut must not split a character
    response = _send(small_limits, make_span(trace_id=trace_id, name="big", attributes={
        "prompt": long_text, "blob": b"\x01" * 20_000, "model": "gpt-4o", "n": 3}))

    assert response.partial_success.rejected_spans == 0
    assert "2 value(s) truncated to 8192 bytes" in response.partial_success.error_message
    attributes = plain_attributes(_stored_span(small_limits, trace_id).attributes)
    kept, note = attributes["prompt"].split("…", 1)
    assert kept == "é" * 4096 and note == "[truncated by Tracepane: 20000 bytes received, 8192 kept]"
    assert base64.b64decode(attributes["blob"]) == b"\x01" * 8192
    assert attributes["model"] == "gpt-4o" and attributes["n"] == 3  # the rest as sent


def test_a_ten_megabyte_value_from_the_sdk_exporter_is_stored_truncated_under_the_defaults(receiver):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(span_limits=SpanLimits(max_attribute_length=None))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=f"127.0.0.1:{receiver.addresses.grpc_port}", insecure=True)))
    with provider.get_tracer("tests.limits").start_as_current_span("huge prompt") as span:
        span.set_attribute("gen_ai.prompt", "x" * (10 << 20))
        trace_id = span.get_span_context().trace_id.to_bytes(16, "big")
    provider.shutdown()
    assert receiver.flush(10)

    stored = plain_attributes(_stored_span(receiver, trace_id).attributes)["gen_ai.prompt"]
    assert stored.startswith("x" * (4 << 20)) and stored.endswith(f"[truncated by Tracepane: {10 << 20} bytes "
                                                                  f"received, {4 << 20} kept]")


def test_lists_nested_deeper_than_the_limit_are_cut_where_the_limit_is(small_limits):
    trace_id = new_trace_id()
    span = make_span(trace_id=trace_id, name="deep", attributes={"plain": "kept"})
    span.attributes.append(KeyValue(key="shallow", value=_nested(4)))  # four lists: within the limit
    span.attributes.append(KeyValue(key="deep", value=_nested(12)))
    response = _send(small_limits, span)

    assert "1 value(s) nested deeper than 4 levels cut" in response.partial_success.error_message
    attributes = plain_attributes(_stored_span(small_limits, trace_id).attributes)
    assert attributes["plain"] == "kept"
    assert attributes["shallow"] == [{"in": [{"in": "bottom"}]}]
    value, levels = attributes["deep"], 0
    while not isinstance(value, str):
        value = value["in"] if isinstance(value, dict) else value[0]
        levels += 1
    assert levels == 4 and value == "[nested deeper than 4 levels: cut by Tracepane]"


def test_attributes_beyond_the_limit_are_dropped_and_counted_on_the_span_and_its_events(small_limits):
    trace_id = new_trace_id()
    span = make_span(trace_id=trace_id, name="crowded")
    span.dropped_attributes_count = 5  # what the sender dropped itself is kept in the count
    span.attributes.extend(KeyValue(key=f"k{i}", value=AnyValue(int_value=i)) for i in range(1000))
    event = span.events.add(name="crowded event", time_unix_nano=span.start_time_unix_nano)
    event.attributes.extend(KeyValue(key=f"e{i}", value=AnyValue(string_value="v")) for i in range(300))
    response = _send(small_limits, span)

    assert "900 attribute(s) or list entries dropped beyond 200 per item" in response.partial_success.error_message
    stored = _stored_span(small_limits, trace_id)
    assert list(plain_attributes(stored.attributes)) == [f"k{i}" for i in range(200)]  # the first ones
    assert stored.dropped_attributes_count == 5 + 800
    (stored_event,) = stored.events
    assert len(plain_attributes(stored_event["attributes"])) == 200
    assert stored_event["droppedAttributesCount"] == 100


def test_a_log_record_body_over_the_limit_is_truncated(small_limits):
    trace_id = new_trace_id()
    _send(small_limits, make_span(trace_id=trace_id, name="with a log"))
    request = ExportLogsServiceRequest()
    record = LogRecord(time_unix_nano=BASE_NS, trace_id=trace_id, body=AnyValue(string_value="y" * 50_000))
    request.resource_logs.add().scope_logs.add().log_records.append(record)
    answer = post(small_limits.addresses.http_port, request.SerializeToString(), path="/v1/logs")
    assert answer.status == 200
    assert small_limits.flush(10)

    (log,) = small_limits.store().get_trace(trace_id.hex()).logs
    body = log.body if isinstance(log.body, str) else log.body.get("stringValue")
    assert body.startswith("y" * 8192) and body.endswith("[truncated by Tracepane: 50000 bytes received, 8192 kept]")


def test_an_ordinary_request_gets_no_warning(receiver):
    response = _send(receiver, make_span(trace_id=new_trace_id(), attributes={"prompt": "p" * 100_000}))
    assert not response.HasField("partial_success")


@pytest.mark.parametrize(("name", "value"), [("max_value_bytes", 100), ("max_attributes", 10),
                                             ("max_value_depth", 1)])
def test_a_limit_below_its_floor_stops_the_receiver_with_a_message(receiver_config, name, value):
    with pytest.raises(ConfigError, match=name):
        Receiver(dataclasses.replace(receiver_config, **{name: value})).start()


def test_the_limits_come_from_the_environment():
    config = ReceiverConfig.resolve(env={"TRACEPANE_MAX_VALUE_BYTES": "65536", "TRACEPANE_MAX_VALUE_DEPTH": "8",
                                         "TRACEPANE_MAX_ATTRIBUTES": "500"}, db_path="x.db")
    assert (config.max_value_bytes, config.max_value_depth, config.max_attributes) == (65536, 8, 500)
