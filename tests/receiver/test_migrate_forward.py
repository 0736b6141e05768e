"""A database written by the first version of Tracepane (only the first migration applied)
opens in this one: every later migration runs in place, what it held is still there and
readable through today's store, and new spans join its traces."""

from __future__ import annotations

import json

from sqlite_utils import Database

from receiver import Receiver, ReceiverConfig
from receiver.attributes import plain_attributes
from receiver.storage.schema import MIGRATIONS
from tests.conftest import post
from tests.otlp_builders import make_request, make_span

TRACE = "5b8efff798038103d269b633813fc60c"
START = 1_790_000_000_000_000_000


def _first_version_database(path) -> None:
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m002_logs_and_metrics")
    db.execute("INSERT INTO resources VALUES (1, 'legacy-agent', ?, 0, '[]', '')",
               [json.dumps({"service.name": "legacy-agent"})])
    db.execute("INSERT INTO scopes VALUES (2, 'legacy.scope', '0.1', '{}', 0, '')")
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                  "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 30}
    db.execute("INSERT INTO spans VALUES (?, 'eee19b7ec3c1b174', NULL, 'chat gpt-4o', 3, ?, ?, 0, '', '', 0, ?,"
               " '[]', '[]', 0, 0, 0, 'legacy-agent', 1, 2)",
               [TRACE, START, START + 2_000_000_000, json.dumps(attributes)])
    db.execute("INSERT INTO traces VALUES (?, 'eee19b7ec3c1b174', 'chat gpt-4o', 1, 'legacy-agent', ?, ?, 1, 0, ?)",
               [TRACE, START, START + 2_000_000_000, START])
    db.conn.commit()
    db.close()


def test_a_first_version_database_migrates_forward_and_keeps_its_traces(db_path):
    _first_version_database(db_path)

    # no age budget: its trace was received long ago, and would be deleted as too old
    with Receiver(ReceiverConfig.resolve(db_path=db_path, grpc_port=0, http_port=0, max_age_days=0)) as receiver:
        assert not receiver.notices  # migrated in place, not set aside
        child = make_span(trace_id=bytes.fromhex(TRACE), parent_span_id=bytes.fromhex("eee19b7ec3c1b174"),
                          name="tool lookup", start_ns=START + 500_000_000)
        assert post(receiver.addresses.http_port, make_request(child).SerializeToString()).status == 200
        assert receiver.flush(10)
        store = receiver.store()
        (summary,) = store.list_traces().traces
        detail = store.get_trace(TRACE)

    applied = {row[0] for row in Database(db_path).execute("SELECT name FROM _sqlite_migrations")}
    assert applied == {migration.name for migration in MIGRATIONS._migrations}
    assert summary.trace_id == TRACE and summary.root_name == "chat gpt-4o" and summary.span_count == 2
    old = next(span for span in detail.spans if span.name == "chat gpt-4o")
    assert plain_attributes(old.attributes)["gen_ai.usage.input_tokens"] == 120
    assert old.service_name == "legacy-agent" and old.scope.name == "legacy.scope"
