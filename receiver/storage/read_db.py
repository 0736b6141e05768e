"""Read-only connections to the database, for the CLI, the app and tests. Plain sqlite3: a
command like `tracepane stats` should start fast, without the migration machinery."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Settings of read connections (opened with mode=ro, so they cannot write anyway).
READ_PRAGMAS = (
    "PRAGMA busy_timeout = 10000",
    "PRAGMA query_only = ON",
)


def open_read_db(path: Path) -> sqlite3.Connection:
    """A read-only connection: it can neither write nor take a lock that blocks the writer."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    for pragma in READ_PRAGMAS:
        conn.execute(pragma)
    return conn
