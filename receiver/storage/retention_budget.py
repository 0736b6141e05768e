"""Retention: keeping the database within its size and age budgets.

What goes, in order: traces past the age budget (unpinned, oldest first); then, while the
database is over its size budget, oldest first in each tier: ordinary traces; only when none
is left, the protected ones — first those with a cost or duration at or above the 95th
percentile of the last seven days (and above its median, so that when all are alike none is),
then those with an error or a failed evaluation (a person's "bad" too); and last the newest
traces (a quarter of the budget's worth), which no tier touches before. Pinned traces never
go; when they alone fill the budget, retention stops and says so.

`choose_deletions` runs on the writer thread in the writer's job transaction and only picks
ids; the writer deletes them (`deletion.delete_traces`) a chunk per turn, so ingest waits
for one chunk at most. The file gives its space back through incremental vacuum
(`shrink`), a bounded number of pages per turn.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from receiver.storage.pins import PINNED_SQL

__all__ = ["RetentionBudget", "RetentionChoice", "choose_deletions", "protection_thresholds", "shrink", "used_bytes"]

NS_PER_DAY = 86_400 * 10**9
MIB = 1024 * 1024
CHUNK_TRACES = 500  # per turn: deleting them takes tens of milliseconds, one batch's wait
PROTECTION_WINDOW_NS = 7 * NS_PER_DAY  # the percentiles are of the last week's traces
PROTECTED_PERCENTILE = 0.95
# Stored data is kept below this share of the size budget: the rest is for the write-ahead
# log (`wal_bytes`), the free pages a turn leaves behind, and what arrives until the next turn.
START_AT = 0.85  # over this, a turn deletes ...
STOP_AT = 0.80  # ... down to this
# The newest traces, as many as fill this share of the size budget, go last of all: what a
# developer is iterating on right now matters more than any old error.
NEWEST_SHARE = 0.25
NEVER = 2**62  # a duration no trace reaches
VACUUM_PAGES_PER_TURN = 4096  # 16 MiB of 4 KiB pages moved at most per turn


@dataclass(frozen=True, slots=True)
class RetentionBudget:
    max_bytes: int = 0  # database file and log; 0: no size budget
    max_age_ns: int = 0  # 0: traces are never too old

    @classmethod
    def of(cls, max_db_mb: float, max_age_days: float) -> RetentionBudget:
        return cls(round(max_db_mb * MIB), round(max_age_days * NS_PER_DAY))

    @property
    def active(self) -> bool:
        return bool(self.max_bytes or self.max_age_ns)

    @property
    def wal_bytes(self) -> int:
        """How large the write-ahead log may grow: an eighth of the budget, at most SQLite's 64 MiB."""
        return min(64 * MIB, self.max_bytes // 8) if self.max_bytes else 64 * MIB


@dataclass(frozen=True, slots=True)
class RetentionChoice:
    trace_ids: list[str]
    # "age", "size", "size (costly or slow)", "size (with errors or failed evaluations)", "size (the newest)"
    why: str = ""
    pinned_over_budget: bool = False  # over the size budget with only pinned traces left
    used_bytes: int = 0


def used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes the stored data takes in the file: its pages less the free ones."""
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return (pages - free) * page_size


def choose_deletions(conn: sqlite3.Connection, budget: RetentionBudget, now_ns: int,
                     limit: int = CHUNK_TRACES,
                     thresholds: Callable[[], tuple[float, int]] | None = None) -> RetentionChoice:
    """The next chunk of traces to delete, and why; no ids when within budget. `thresholds`
    gives `protection_thresholds` when asked (over budget), if the caller keeps them a while."""
    if budget.max_age_ns:
        cutoff = now_ns - budget.max_age_ns
        # Ended and received before the cutoff: an old trace imported today stays a while.
        expired = [trace_id for (trace_id,) in conn.execute(
            "SELECT trace_id FROM traces WHERE updated_unix_nano < :cutoff AND end_time_unix_nano < :cutoff "
            f"AND NOT {PINNED_SQL} ORDER BY updated_unix_nano LIMIT :limit", {"cutoff": cutoff, "limit": limit})]
        if expired:
            return RetentionChoice(expired, "age")
    if not budget.max_bytes:
        return RetentionChoice([])
    used = used_bytes(conn)
    if used <= budget.max_bytes * START_AT:
        return RetentionChoice([], used_bytes=used)
    (traces,) = conn.execute("SELECT count(*) FROM traces").fetchone()
    per_trace = used / max(traces, 1)
    wanted = min(limit, max(1, math.ceil((used - budget.max_bytes * STOP_AT) / per_trace)))
    cost_p95, duration_p95 = thresholds() if thresholds else protection_thresholds(conn, now_ns)
    costly_or_slow = ("((coalesce(cost_usd, 0) > 0 AND cost_usd >= :cost_p95) "
                      "OR (end_time_unix_nano - start_time_unix_nano > 0 "
                      "AND end_time_unix_nano - start_time_unix_nano >= :duration_p95))")
    params = {"cost_p95": cost_p95, "duration_p95": duration_p95,
              "newest_from": _newest_from(conn, math.ceil(budget.max_bytes * NEWEST_SHARE / per_trace))}
    older = "start_time_unix_nano < :newest_from"
    faultless = f"error_count = 0 AND NOT {_FAILED_EVALUATION}"
    for why, where in (("size", f"{older} AND {faultless} AND NOT {costly_or_slow}"),
                       ("size (costly or slow)", f"{older} AND {faultless}"),
                       ("size (with errors or failed evaluations)", older),
                       ("size (the newest)", "1")):
        ids = _ids(conn, where, wanted, **params)
        if ids:
            return RetentionChoice(ids, why, used_bytes=used)
    return RetentionChoice([], pinned_over_budget=True, used_bytes=used)


# An answer an evaluator or a person failed is an error of its own kind (an HTTP 200 with a wrong answer).
_FAILED_EVALUATION = "EXISTS (SELECT 1 FROM evaluations AS e WHERE e.trace_id = traces.trace_id AND e.passed = 0)"


def _newest_from(conn: sqlite3.Connection, count: int) -> int:
    """The start time from which the newest `count` traces began."""
    row = conn.execute("SELECT start_time_unix_nano FROM traces ORDER BY start_time_unix_nano DESC, trace_id DESC "
                       "LIMIT 1 OFFSET ?", (max(count, 1) - 1,)).fetchone()
    return row[0] if row else 0


def shrink(conn: sqlite3.Connection, budget: RetentionBudget) -> int:
    """Give free pages back to the file system, a bounded number per call, keeping a few for
    what arrives next (they would be asked back at once). Returns the pages freed; 0 on a
    database without incremental auto-vacuum (`DatabaseWriter` converts it when idle)."""
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:  # 2: INCREMENTAL
        return 0
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    keep = (budget.max_bytes or 64 * MIB) // 32 // page_size
    pages = min(free - keep, VACUUM_PAGES_PER_TURN)
    if pages <= 0:
        return 0
    conn.execute(f"PRAGMA incremental_vacuum({pages})").fetchall()
    return pages


def _ids(conn: sqlite3.Connection, where: str, limit: int, **params: object) -> list[str]:
    return [trace_id for (trace_id,) in conn.execute(
        f"SELECT trace_id FROM traces WHERE {where} AND NOT {PINNED_SQL} "
        "ORDER BY start_time_unix_nano, trace_id LIMIT :limit", {**params, "limit": limit})]


def protection_thresholds(conn: sqlite3.Connection, now_ns: int) -> tuple[float, int]:
    """The cost and the duration from which a trace is protected: the 95th percentile over
    the traces of the last seven days, or just above the median when that is higher (when
    most traces are alike, being at the 95th percentile is nothing special). Infinite when
    no trace is that recent: then only errors protect."""
    since = now_ns - PROTECTION_WINDOW_NS
    (recent,) = conn.execute("SELECT count(*) FROM traces WHERE start_time_unix_nano >= ?", (since,)).fetchone()
    if not recent:
        return math.inf, NEVER
    top = int(recent * (1 - PROTECTED_PERCENTILE))  # from the top: the value 5 % of traces reach
    thresholds = []
    for value in ("coalesce(cost_usd, 0)", "end_time_unix_nano - start_time_unix_nano"):
        p95, median = (conn.execute(f"SELECT {value} AS v FROM traces WHERE start_time_unix_nano >= ? "
                                    "ORDER BY v DESC LIMIT 1 OFFSET ?", (since, offset)).fetchone()[0]
                       for offset in (top, recent // 2))
        thresholds.append(p95 if p95 > median else _just_above(median))
    return thresholds[0], thresholds[1]


def _just_above(value: float | int) -> float | int:
    return value + 1 if isinstance(value, int) else math.nextafter(value, math.inf)
