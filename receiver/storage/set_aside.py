"""A database file Tracepane cannot use — not SQLite at all (corrupt, truncated, another
program's data), or SQLite that is not Tracepane's — is moved aside when the writer opens it,
never overwritten or deleted: `NAME.unusable-YYYYmmdd-HHMMSS` beside it (with its -wal and
-shm files), and a fresh database is created in its place. The caller says so to the user."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from receiver.storage.schema import MIGRATIONS

__all__ = ["set_aside_if_unusable"]


def set_aside_if_unusable(path: Path) -> str:
    """Move an unusable database file aside; return what was done, for the user ("" when the
    file is fine or does not exist)."""
    if not path.exists() or path.stat().st_size == 0:
        return ""
    problem = _problem(path)
    if not problem:
        return ""
    aside = path.with_name(f"{path.name}.unusable-{time.strftime('%Y%m%d-%H%M%S')}")
    path.rename(aside)
    for suffix in ("-wal", "-shm"):
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            companion.rename(Path(f"{aside}{suffix}"))
    return (f"the database {path} {problem}: it was moved to {aside.name} (nothing in it was changed) "
            "and a new, empty database was created")


def _problem(path: Path) -> str:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            # reading the schema reads the header: "file is not a database" shows here. (No
            # integrity check: on a large file it would read every page at each start.)
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            ours = "_sqlite_migrations" in tables and conn.execute(
                "SELECT 1 FROM _sqlite_migrations WHERE migration_set = ? LIMIT 1", (MIGRATIONS.name,)).fetchone()
            return "holds another program's data (no Tracepane tables)" if tables and not ours else ""
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"is not a database Tracepane can read ({exc})"
