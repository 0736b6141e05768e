"""The background checkpointer copies the write-ahead log into the database file while the
writer's connection stays open and writing (receiver.storage.checkpointer)."""

from __future__ import annotations

import sqlite3

from receiver.storage.checkpointer import Checkpointer


def test_a_requested_checkpoint_copies_the_log_into_the_database_file(db_path):
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # only the checkpointer copies
    writer.execute("CREATE TABLE t (x TEXT)")
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    empty_file = db_path.stat().st_size
    writer.execute("BEGIN")
    writer.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,)] * 2000)
    writer.execute("COMMIT")
    assert db_path.stat().st_size == empty_file  # committed, but only in the log so far

    checkpointer = Checkpointer(db_path)
    checkpointer.start()
    try:
        checkpointer.request()
        assert checkpointer.wait_for_passes(1, timeout=10)
        assert db_path.stat().st_size > empty_file + 2000 * 1000
        writer.execute("INSERT INTO t VALUES ('after')")  # the writer goes on meanwhile
    finally:
        checkpointer.close(timeout=10)
        writer.close()
    reader = sqlite3.connect(db_path)
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (2001,)
    reader.close()
