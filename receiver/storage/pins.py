"""Pinned traces: the ones a user marked to keep. Retention never deletes them
(`retention.expired_trace_ids` leaves them out); the trace list shows them and filters by
them. A pin outlives its trace's spans arriving again (it names the trace id), and an
explicit deletion removes it."""

from __future__ import annotations

import sqlite3
import time

import orjson

__all__ = ["PINNED_SQL", "create_pins_table", "set_pinned"]

# SQL: whether the `traces` row in scope is pinned.
PINNED_SQL = "EXISTS (SELECT 1 FROM pins WHERE pins.trace_id = traces.trace_id)"


def create_pins_table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE pins (trace_id TEXT PRIMARY KEY, pinned_unix_nano INTEGER NOT NULL) WITHOUT ROWID")


def set_pinned(conn: sqlite3.Connection, trace_ids: list[str], pinned: bool) -> frozenset[str]:
    """Pin or unpin these (stored) traces inside the caller's transaction; return the ids
    whose pin changed. Ids of traces not stored are skipped: a pin is on something seen."""
    ids = orjson.dumps(trace_ids).decode()
    if pinned:
        changed = conn.execute("INSERT INTO pins (trace_id, pinned_unix_nano) SELECT trace_id, ? FROM traces "
                               "WHERE trace_id IN (SELECT value FROM json_each(?)) ON CONFLICT DO NOTHING "
                               "RETURNING trace_id", (time.time_ns(), ids)).fetchall()
    else:
        changed = conn.execute("DELETE FROM pins WHERE trace_id IN (SELECT value FROM json_each(?)) "
                               "RETURNING trace_id", (ids,)).fetchall()
    return frozenset(trace_id for (trace_id,) in changed)
