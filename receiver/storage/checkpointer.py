"""Copies the write-ahead log back into the database file on a thread of its own.

Left to the writer, a checkpoint runs inside the commit that crosses `wal_autocheckpoint`
and holds up ingest for a fraction of a second each time: with two requests in flight, the
exporter waits and the decoding core idles. From here the copying overlaps the writer's next
transactions. The writer's own automatic checkpoint stays as the backstop: when it comes, it
finds the log already copied but for the last few commits, and it is what lets the log start
over from its beginning (schema.WRITE_PRAGMAS).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_ROWS = 4096  # spans, log records, metric points: about 12 MiB of log for GenAI spans


class Checkpointer:
    def __init__(self, db_path: Path) -> None:
        self._db_path = db_path
        self._wanted = threading.Event()
        self._closing = False
        self._done = threading.Condition()
        self.passes = 0  # checkpoints run so far
        self._thread = threading.Thread(target=self._run, name="tracepane-checkpointer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self) -> None:
        """Ask for a checkpoint soon (requests made while one runs fold into the next)."""
        self._wanted.set()

    def wait_for_passes(self, passes: int, timeout: float) -> bool:
        """Wait until `passes` checkpoints have run. False on timeout."""
        with self._done:
            return self._done.wait_for(lambda: self.passes >= passes, timeout)

    def close(self, timeout: float) -> None:
        self._closing = True
        self._wanted.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(str(self._db_path), check_same_thread=True)
        except sqlite3.Error:
            log.warning("the checkpointer could not open the database; the writer checkpoints alone",
                        exc_info=True)
            return
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA synchronous = NORMAL")
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._closing:
                    return
                try:  # PASSIVE: never blocks the writer or a reader
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error:
                    log.warning("background checkpoint failed; will try again", exc_info=True)
                with self._done:
                    self.passes += 1
                    self._done.notify_all()
        finally:
            conn.close()
