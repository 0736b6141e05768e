"""`StorageHealth`: what keeps the writer from storing right now, in words for the user.

Two things: a database that cannot grow (SQLITE_FULL: the disk is full, or SQLite's page
limit is reached), and retention stopped because pinned traces alone fill the size budget.
The writer notes each write's outcome and each retention turn's; the state changes only on the
first failure and on the first success after it, and listeners hear of each change once
(`tracepane serve` prints it; the window's status bar reads `problem`), however many
exporters keep retrying meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

from receiver.events import Subscribers

__all__ = ["StorageHealth", "is_disk_full"]

log = logging.getLogger(__name__)


def is_disk_full(exc: BaseException) -> bool:
    # the primary code: extended codes keep it in their low byte
    return isinstance(exc, sqlite3.Error) and (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_FULL


class StorageHealth:
    def __init__(self, db_path, clock: Callable[[], float] = time.time) -> None:
        self._db_path = db_path
        self._clock = clock
        self._lock = threading.Lock()
        self._disk = ""
        self._retention = ""
        self._problem = ""
        self._listeners = Subscribers()

    @property
    def problem(self) -> str:
        """"" while writes succeed; else what is wrong, since when, and what to do."""
        with self._lock:
            return self._problem

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call `callback(problem)` on the writer thread when the problem starts ("" when it ends)."""
        return self._listeners.subscribe(callback)

    def disk_full(self) -> None:
        since = time.strftime("%H:%M", time.localtime(self._clock()))
        self._change(disk=f"disk full since {since}: the database {self._db_path} cannot grow. Free some space; "
                     "exporters are told to retry meanwhile, and storing resumes by itself", only_if_clear=True)

    def writes_succeed(self) -> None:
        self._change(disk="")

    def retention_stopped(self, why: str) -> None:
        self._change(retention=why)

    def retention_runs(self) -> None:
        self._change(retention="")

    def _change(self, *, disk: str | None = None, retention: str | None = None, only_if_clear: bool = False) -> None:
        with self._lock:
            if disk is not None and not (only_if_clear and self._disk):
                self._disk = disk
            if retention is not None:
                self._retention = retention
            problem = "; ".join(p for p in (self._disk, self._retention) if p)
            if problem == self._problem:
                return
            self._problem = problem
        log.info("%s", problem or "storage problem over: storing and retention run normally")
        self._listeners.publish(problem)
