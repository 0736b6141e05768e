"""One writer per database file: `WriterLock` is an OS advisory lock on `NAME.lock` beside the
database, taken by `DatabaseWriter.start` before anything touches the file and held until its
thread has closed the connection.

Two writers on one file would each trust what they remember of it (the shared rows they
believe stored, the first reports of model calls) and one's deletions would go unseen by the
other. The lock makes the second one fail at once with `DatabaseInUse`, naming the holder.

The OS releases the lock when the holding process ends however it ends (no stale lock after a
crash or SIGKILL, which a PID file could not promise). The file stays; it holds a note of who
writes (PID and kind: window, serve, import…) for the message, emptied on release. Readers
never look at it: reading commands and the window's queries go on while a writer holds it.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
from pathlib import Path

from receiver.errors import DatabaseInUse, StorageFailed

__all__ = ["WriterLock", "lock_path"]

log = logging.getLogger(__name__)

if sys.platform == "win32":
    import msvcrt

    # Windows locks byte ranges, and a locked range cannot be read by others: the lock is on
    # one byte far past the note, so that the note stays readable. (Locking past the end of
    # a file is allowed.)
    _WINDOWS_LOCK_OFFSET = 1 << 30

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EDEADLK):  # another handle holds it
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        # flock, not fcntl/lockf: its lock belongs to the open file, so a second writer in the
        # same process (a test, the window's own CLI code) is refused too
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class WriterLock:
    def __init__(self, db_path: Path, holder: str) -> None:
        self.db_path = db_path
        self.path = lock_path(db_path)
        self.holder = holder  # what takes it, for the other's message: "window", "serve", "import"…
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise `DatabaseInUse` (another writer holds it) or `StorageFailed`
        (the lock file cannot be created). A file system without locks is written unlocked."""
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # never truncated on open: a refused attempt must leave the holder's note intact
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as exc:
            raise StorageFailed(f"cannot create the lock file {self.path}: {exc.strerror or exc}") from None
        try:
            locked = _try_lock(fd)
        except OSError as exc:  # e.g. ENOLCK on some network or FUSE file systems
            log.warning("cannot lock %s (%s): a second Tracepane on this database would go unnoticed",
                        self.path, exc)
            os.close(fd)
            return
        if not locked:
            os.close(fd)
            raise DatabaseInUse(in_use_message(self.db_path, read_note(self.path)))
        self._fd = fd
        try:
            _write_note(fd, {"pid": os.getpid(), "holder": self.holder})
        except OSError:  # the lock holds without its note; the other's message is vaguer
            log.warning("cannot write %s", self.path, exc_info=True)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # the note is gone with the writer, even if the file outlives it
            _unlock(fd)
        except OSError:  # closing releases it all the same
            log.warning("releasing %s", self.path, exc_info=True)
        finally:
            os.close(fd)


def in_use_message(db_path: Path, note: dict) -> str:
    pid, holder = note.get("pid"), note.get("holder")
    known = [str(holder)] if holder else []
    known += [f"PID {pid}"] if isinstance(pid, int) else []
    who = f"another Tracepane ({', '.join(known)})" if known else "another Tracepane"
    stop = "close its window" if holder == "window" else "stop it"
    return (f"{who} is already writing to {db_path}; {stop} first, or use another database file "
            "(--db PATH or TRACEPANE_DB)")


def read_note(path: Path) -> dict:
    """The holder's note, or {} if it cannot be read (written a moment after locking, or, on
    Windows, unreadable while being rewritten)."""
    try:
        note = json.loads(path.read_bytes() or b"{}")
    except (OSError, ValueError):
        return {}
    return note if isinstance(note, dict) else {}


def _write_note(fd: int, note: dict) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(note).encode())
