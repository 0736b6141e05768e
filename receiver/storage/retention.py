"""Which traces retention may delete, oldest first. Pinned traces are never among them
(`receiver.storage.pins`): a user pinned them to keep them."""

from __future__ import annotations

import sqlite3

from receiver.storage.pins import PINNED_SQL

__all__ = ["expired_trace_ids"]

RETENTION_CHUNK = 2000  # traces per deletion: one batch's wait for ingest, not a stall


def expired_trace_ids(conn: sqlite3.Connection, before_ns: int, limit: int = RETENTION_CHUNK) -> list[str]:
    """Up to `limit` unpinned traces that started and ended before `before_ns`, oldest first."""
    return [trace_id for (trace_id,) in conn.execute(
        "SELECT trace_id FROM traces WHERE start_time_unix_nano < :before AND end_time_unix_nano < :before "
        f"AND NOT {PINNED_SQL} ORDER BY start_time_unix_nano, trace_id LIMIT :limit",
        {"before": before_ns, "limit": limit})]
