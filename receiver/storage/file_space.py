"""The database file's size: giving free pages back, and keeping the write-ahead log within
the size budget's share for it."""

from __future__ import annotations

import sqlite3

from receiver.storage.retention_budget import RetentionBudget

__all__ = ["limit_wal", "vacuum_if_mostly_free"]


def vacuum_if_mostly_free(conn: sqlite3.Connection) -> bool:
    """VACUUM when over half the file is free pages (after a clear, or when retention has
    deleted much from a file without incremental auto-vacuum): the file shrinks at the next
    checkpoint, which runs now. After a clear VACUUM copies next to nothing (measured: 7 ms
    after clearing 85 MB; readers go on meanwhile, WAL). Not once spans that arrived since
    fill half the file: it would copy them all, and they reuse the free pages anyway."""
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    if free * 2 <= conn.execute("PRAGMA page_count").fetchone()[0]:
        return False
    # from now on retention gives back what it frees a little at a time (an older file had none)
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return True


def limit_wal(conn: sqlite3.Connection, budget: RetentionBudget) -> None:
    """Under a size budget the log counts as much as the file: checkpoint it, and truncate it
    after, within its share (`RetentionBudget.wal_bytes`)."""
    if budget.max_bytes:
        conn.execute(f"PRAGMA journal_size_limit = {budget.wal_bytes}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {max(64, budget.wal_bytes // 4096)}")


def truncate_wal(conn: sqlite3.Connection, busy_timeout_ms: int = 100) -> bool:
    """Copy the log into the file and truncate it to nothing, when idle under a size budget
    (the log's size limit acts only when a write starts it over; after the last write of a
    burst it would stay large). A reader in the way makes it give up after `busy_timeout_ms`,
    so that it never holds up the next write: it is tried again at the next idle moment."""
    (previous,) = conn.execute("PRAGMA busy_timeout").fetchone()
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.execute(f"PRAGMA busy_timeout = {previous}")
    return not busy
