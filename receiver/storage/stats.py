"""Row counts and bytes on disk: what `tracepane stats` prints and the app's status bar shows.

A module of its own with only sqlite3 beneath it: load tests poll `tracepane stats` several
times a second, each poll a new process, so the command must not pay for the data model."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import NamedTuple

from receiver.storage.read_db import open_read_db


class StoreStats(NamedTuple):
    spans: int
    traces: int
    logs: int
    metric_points: int
    db_bytes: int


NO_STATS = StoreStats(0, 0, 0, 0, 0)
_COUNTED_TABLES = ("spans", "traces", "logs", "metric_points")


def count_stats(conn: sqlite3.Connection, db_path: Path) -> StoreStats:
    """Counts from `conn`'s snapshot; a table an older database lacks counts as 0."""
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    counts = [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if table in tables else 0
              for table in _COUNTED_TABLES]
    return StoreStats(*counts, db_bytes=db_bytes(db_path))


def db_bytes(db_path: Path) -> int:
    """Bytes on disk: the database file and its write-ahead log."""
    return sum(os.path.getsize(p) for p in (db_path, Path(f"{db_path}-wal")) if p.exists())


def read_stats(db_path: Path) -> StoreStats:
    """Stats of the database at `db_path` (all zero when there is none yet)."""
    if not db_path.exists():
        return NO_STATS
    conn = open_read_db(db_path)
    try:
        with conn:  # one read transaction: the counts agree with each other
            conn.execute("BEGIN")
            return count_stats(conn, db_path)
    finally:
        conn.close()
