"""Evaluation results for a benchmark database: an evaluator that ran after the agent, sending
`gen_ai.evaluation.result` log records (linked to their model-call spans) over OTLP/HTTP for a
share of the traces — hallucination (about one in ten failing) and relevance (a score)."""

from __future__ import annotations

import http.client
import random
import sqlite3
import sys
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from receiver import Receiver, ReceiverConfig

RECORDS_PER_REQUEST = 1000
# A benchmark database is bigger than the default size budget (2 GiB) and may be older than the
# age budget: retention would delete part of it while it is measured.
NO_RETENTION = {"max_db_mb": 0, "max_age_days": 0}


def has_evaluations(db_path: Path) -> bool:
    with sqlite3.connect(db_path) as conn:
        try:
            return conn.execute("SELECT 1 FROM evaluations LIMIT 1").fetchone() is not None
        except sqlite3.OperationalError:  # built before the table: the receiver adds it when opened
            return False


def seed_evaluations(db_path: Path, share: float = 0.1, seed: int = 2) -> int:
    """Results for `share` of the traces' first model call; returns how many records were sent."""
    rng = random.Random(seed)
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, **NO_RETENTION)) as receiver:
        with sqlite3.connect(db_path) as conn:
            calls = conn.execute("SELECT trace_id, min(span_id), max(end_time_unix_nano) FROM spans "
                                 "WHERE operation = 'chat' GROUP BY trace_id").fetchall()
        conn.close()
        chosen = [call for call in calls if rng.random() < share]
        records = []
        for trace_id, span_id, end_ns in chosen:
            failed = rng.random() < 0.1
            records.append(_record(trace_id, span_id, end_ns + 10**9, "hallucination",
                                   rng.uniform(0.6, 1) if failed else rng.uniform(0, 0.3),
                                   "hallucinated" if failed else "factual"))
            records.append(_record(trace_id, span_id, end_ns + 10**9, "relevance", rng.random(), None))
        connection = http.client.HTTPConnection("127.0.0.1", receiver.addresses.http_port, timeout=60)
        for start in range(0, len(records), RECORDS_PER_REQUEST):
            request = ExportLogsServiceRequest()
            scope_logs = request.resource_logs.add().scope_logs.add()
            scope_logs.scope.name = "bench.evaluator"
            scope_logs.log_records.extend(records[start:start + RECORDS_PER_REQUEST])
            connection.request("POST", "/v1/logs", request.SerializeToString(),
                               {"Content-Type": "application/x-protobuf"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"the receiver answered {response.status}")
        receiver.flush(120)
    print(f"  {len(records):,} evaluation results for {len(chosen):,} of {len(calls):,} traces with a model call",
          file=sys.stderr)
    return len(records)


def _record(trace_id: str, span_id: str, time_ns: int, name: str, score: float, label: str | None) -> LogRecord:
    record = LogRecord(time_unix_nano=time_ns, severity_number=9, event_name="gen_ai.evaluation.result",
                       trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex(span_id))
    record.attributes.extend([KeyValue(key="gen_ai.evaluation.name", value=AnyValue(string_value=name)),
                              KeyValue(key="gen_ai.evaluation.score.value", value=AnyValue(double_value=score))])
    if label:
        record.attributes.append(KeyValue(key="gen_ai.evaluation.score.label", value=AnyValue(string_value=label)))
    return record
