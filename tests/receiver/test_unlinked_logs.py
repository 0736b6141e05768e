"""The logs page's query: log records linked to no span (sent without ids, naming no stored
model call's response id), newest first, narrowed by free text and severity, sent with the
real OpenTelemetry SDK to a real receiver."""

from __future__ import annotations

import sqlite3
import time

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk.trace import TracerProvider

from receiver.attributes import plain_attributes, plain_value
from receiver.config import ReceiverConfig
from receiver.service import Receiver
from receiver.storage.read_db import open_read_db
from receiver.storage.response_ids import MERGED_THROUGH
from receiver.storage.store import TraceStore
from receiver.storage.unlinked_logs import count_unlinked_logs, unlinked_plan
from tests.sdk_logs import SECOND, sdk_logger, send_logs, send_model_call

INFO, WARN, ERROR = SeverityNumber.INFO, SeverityNumber.WARN, SeverityNumber.ERROR


def _bodies(records) -> list:
    return [plain_value(r.body) for r in records]


def test_only_records_linked_to_no_span_are_listed_newest_first(db_path):
    base = time.time_ns() - 60 * SECOND
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)) as receiver:
        ports = receiver.addresses
        trace_id, span_id = send_model_call(ports.grpc_port, "chatbot", "chatcmpl-42")
        with sdk_logger(ports.http_port, "chatbot") as logger:
            with TracerProvider().get_tracer("tests").start_as_current_span("handle request"):
                logger.emit(timestamp=base + 9 * SECOND, body="inside a span", severity_number=INFO)
            logger.emit(timestamp=base + 1 * SECOND, body="app started", severity_number=INFO)
            logger.emit(timestamp=base + 3 * SECOND, body="choice after the span closed",
                        event_name="gen_ai.choice", attributes={"gen_ai.response.id": "chatcmpl-42"})
            logger.emit(timestamp=base + 4 * SECOND, body="names a call never stored",
                        attributes={"gen_ai.response.id": "chatcmpl-unknown"})
            # no time of its own: it sorts by when it was observed
            logger.emit(observed_timestamp=base + 2 * SECOND, body="observed only", severity_number=WARN)
        # the same response id from another service names no span of its own
        send_logs(ports.http_port, "billing", [dict(timestamp=base + 5 * SECOND, body="other service's id",
                                                     attributes={"gen_ai.response.id": "chatcmpl-42"})])
        assert receiver.flush(10)
    # Stopped, the writer has merged the response ids into their table.
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT response_id, service_key FROM response_ids").fetchall() == [
            ("chatcmpl-42", "=chatbot")]
        assert conn.execute("SELECT value FROM writer_state WHERE name = ?", (MERGED_THROUGH,)).fetchone() == (1,)
    conn.close()
    store = TraceStore(db_path)
    try:
        listed = store.unlinked_logs()
        # the record left out shows with its span instead
        _, span_logs = store.get_span(trace_id, span_id)
    finally:
        store.close()

    want = ["other service's id", "names a call never stored", "observed only", "app started"]
    assert _bodies(listed) == want
    assert all(r.trace_id is None and r.span_id is None for r in listed)
    assert [plain_value(r.body) for r in span_logs] == ["choice after the span closed"]
    assert listed[2].time_unix_nano == 0 and listed[2].time_or_observed_unix_nano == base + 2 * SECOND
    assert listed[0].service_name == "billing" and listed[0].resource.attributes["service.name"] == "billing"
    assert listed[1].scope.name == "tests.logs"

    # Ids of spans written after the last merge are read from the spans (as after an unclean stop).
    with sqlite3.connect(db_path) as conn:
        conn.execute("DELETE FROM response_ids")
        conn.execute("UPDATE writer_state SET value = 0 WHERE name = ?", (MERGED_THROUGH,))
    conn.close()
    store = TraceStore(db_path)
    try:
        assert _bodies(store.unlinked_logs()) == want
    finally:
        store.close()
    reader = open_read_db(db_path)
    try:
        assert count_unlinked_logs(reader) == len(want)
    finally:
        reader.close()


def test_search_finds_text_in_body_event_name_severity_service_and_attribute_values(receiver, store):
    base = time.time_ns() - 60 * SECOND
    send_logs(receiver.addresses.http_port, "rag-indexer", [
        dict(timestamp=base + 1 * SECOND, body="Indexed 40 documents", severity_number=INFO,
             attributes={"collection": "Handbook", "duration_ms": 734}),
        dict(timestamp=base + 2 * SECOND, body={"message": "Upstream TIMEOUT", "retry": 3},
             severity_number=WARN, severity_text="Warning"),
        dict(timestamp=base + 3 * SECOND, body=None, event_name="gen_ai.evaluation.result",
             attributes={"gen_ai.evaluation.score": 0.25}),
        dict(timestamp=base + 4 * SECOND, body="legacy event", attributes={"event.name": "cache.evicted"}),
        dict(timestamp=base + 5 * SECOND, body='quota at 100% for "team_a" in C:\\data', severity_number=ERROR),
    ])
    send_logs(receiver.addresses.http_port, "billing", [dict(timestamp=base, body="invoice sent")])
    assert receiver.flush(10)

    def found(text: str) -> list:
        return _bodies(store.unlinked_logs(text))

    assert found("timeout") == [{"message": "Upstream TIMEOUT", "retry": 3}]  # structured body, any case
    assert found("handbook") == ["Indexed 40 documents"]  # an attribute value
    assert found("734") == ["Indexed 40 documents"]  # a number among the values
    assert found("evaluation.RESULT") == [None]  # the event name field
    assert found("cache.evicted") == ["legacy event"]  # the event.name attribute older SDKs used
    assert found("warning") == [{"message": "Upstream TIMEOUT", "retry": 3}]  # severity text
    assert found("BILLING") == ["invoice sent"]  # service name
    assert len(found("rag-index")) == 5
    # Keys are no text of a record: attribute names, the body's typed-JSON wrapper and field names.
    assert found("collection") == found("stringValue") == found("duration_ms") == found("retry") == []
    # LIKE's wildcards, a quote and a backslash are taken literally.
    quota = ['quota at 100% for "team_a" in C:\\data']
    assert found("100%") == found('"team_a"') == found("team_a") == found("C:\\data") == quota
    assert found('"team') == quota
    assert found("10_%") == found("team%a") == []
    assert found("no such text") == []


def test_severity_filter_keeps_records_at_or_above_the_level(receiver, store):
    base = time.time_ns() - 60 * SECOND
    send_logs(receiver.addresses.http_port, "api", [
        dict(timestamp=base + 1 * SECOND, body="unspecified"),
        dict(timestamp=base + 2 * SECOND, body="debug", severity_number=SeverityNumber.DEBUG),
        dict(timestamp=base + 3 * SECOND, body="info", severity_number=INFO),
        dict(timestamp=base + 4 * SECOND, body="info4", severity_number=SeverityNumber.INFO4),
        dict(timestamp=base + 5 * SECOND, body="warn", severity_number=WARN),
        dict(timestamp=base + 6 * SECOND, body="error", severity_number=ERROR),
        dict(timestamp=base + 7 * SECOND, body="fatal", severity_number=SeverityNumber.FATAL),
    ])
    assert receiver.flush(10)

    assert _bodies(store.unlinked_logs(min_severity=0)) == ["fatal", "error", "warn", "info4", "info", "debug",
                                                            "unspecified"]
    assert _bodies(store.unlinked_logs(min_severity=9)) == ["fatal", "error", "warn", "info4", "info"]
    assert _bodies(store.unlinked_logs(min_severity=13)) == ["fatal", "error", "warn"]
    assert _bodies(store.unlinked_logs(min_severity=17)) == ["fatal", "error"]
    assert _bodies(store.unlinked_logs("o", min_severity=17)) == ["error"]
    assert [r.severity for r in store.unlinked_logs(min_severity=9)] == ["FATAL", "ERROR", "WARN", "INFO", "INFO"]


def test_limit_keeps_the_newest_whether_or_not_they_have_a_time(receiver, store):
    base = time.time_ns() - 600 * SECOND
    records = [dict(timestamp=base + i * SECOND, body=f"line {i}", attributes={"i": i}) for i in range(0, 30, 2)]
    records += [dict(observed_timestamp=base + i * SECOND, body=f"line {i}", attributes={"i": i})
                for i in range(1, 30, 2)]
    send_logs(receiver.addresses.http_port, "worker", records)
    assert receiver.flush(10)

    assert _bodies(store.unlinked_logs(limit=5)) == [f"line {i}" for i in (29, 28, 27, 26, 25)]
    assert _bodies(store.unlinked_logs(limit=500)) == [f"line {i}" for i in range(29, -1, -1)]
    assert [plain_attributes(r.attributes)["i"] for r in store.unlinked_logs("line 1", limit=3)] == [19, 18, 17]
    assert store.unlinked_logs(limit=0) == []


def test_the_query_reads_the_unlinked_index_in_order(receiver, db_path):
    assert receiver.flush(10)  # the database exists and is migrated
    reader = open_read_db(db_path)
    try:
        for text, severity in ((None, 0), ("timeout", 17)):
            plan = unlinked_plan(reader, text, min_severity=severity)
            assert "SEARCH l USING INDEX logs_unlinked (time_unix_nano>?)" in plan, plan
            assert "SEARCH l USING INDEX logs_unlinked (time_unix_nano=?)" in plan, plan
            assert not any(step.startswith("SCAN l") for step in plan), plan
            # only the second branch (records without a time: by observed time) and the page are sorted
            assert sum("TEMP B-TREE" in step for step in plan) == 2, plan
    finally:
        reader.close()
