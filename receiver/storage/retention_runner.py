"""`RetentionRunner`: when the writer runs a retention turn, and what one turn does.

A turn is one writer job: it picks a chunk (`retention_budget.choose_deletions`), deletes it
the way a user's deletion does (`deletion.delete_traces`: rollups, index, response ids), takes
out the metric points, unlinked log records and evaluation results as old as what went, and
gives the file some free pages back. Turns come every few seconds while within budget, and one after another
(a batch of spans between each) while over it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from receiver.storage.deletion import DeletedCounts, TraceDeletion, delete_traces
from receiver.storage.retention_budget import (
    CHUNK_TRACES,
    MIB,
    START_AT,
    RetentionBudget,
    choose_deletions,
    protection_thresholds,
    shrink,
)
from receiver.storage.storage_health import StorageHealth
from receiver.storage.text_index import merge_deleted

__all__ = ["RetentionRunner", "RetentionTurn"]

CHECK_EVERY_S = 2.0  # within budget: how often to look again
THRESHOLDS_EVERY_S = 60.0  # the 95th percentiles move slowly: computed once a minute
UNTIED_CHUNK_ROWS = 20_000  # metric points or unlinked log records per turn


@dataclass(frozen=True, slots=True)
class RetentionTurn:
    deletion: TraceDeletion
    untied_rows: int = 0  # metric points and log records of no trace
    pages_freed: int = 0
    more: bool = False  # still over budget: the next turn comes at once
    pinned_over_budget: bool = False
    used_bytes: int = 0


class RetentionRunner:
    def __init__(self, budget: RetentionBudget, health: StorageHealth, *,
                 clock_ns: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget
        self._health = health
        self._clock_ns = clock_ns
        self._monotonic = monotonic
        self._next_turn = 0.0
        self._thresholds: tuple[float, int] | None = None
        self._thresholds_until = 0.0
        self.turns = 0  # run so far (tests wait on it)

    def change_budget(self, budget: RetentionBudget) -> None:
        """On the writer thread. The next turn comes at once; what pinned traces stopped is
        looked at again under the new budget."""
        self.budget = budget
        self._next_turn = 0.0
        if not budget.max_bytes:
            self._health.retention_runs()

    def due(self) -> bool:
        return self.budget.active and self._monotonic() >= self._next_turn

    def seconds_until_due(self) -> float | None:
        """None without a budget."""
        return max(0.0, self._next_turn - self._monotonic()) if self.budget.active else None

    def turn(self, conn: sqlite3.Connection) -> RetentionTurn:
        """One chunk, inside the writer's job transaction."""
        now_ns = self._clock_ns()
        choice = choose_deletions(conn, self.budget, now_ns, thresholds=lambda: self._current_thresholds(conn, now_ns))
        deletion = delete_traces(conn, choice.trace_ids) if choice.trace_ids else TraceDeletion(DeletedCounts())
        untied = 0
        if choice.why == "age":
            untied = _delete_untied(conn, now_ns - self.budget.max_age_ns)
        elif choice.trace_ids:  # what is as old as the traces that went goes too
            (horizon,) = conn.execute("SELECT coalesce(min(start_time_unix_nano), ?) FROM traces",
                                      (now_ns,)).fetchone()
            untied = _delete_untied(conn, horizon)
        elif choice.used_bytes > self.budget.max_bytes * START_AT:  # only pinned traces left, or none
            untied = _delete_untied(conn, now_ns)
        if choice.trace_ids:
            merge_deleted(conn)
        pinned_over = choice.pinned_over_budget and not untied
        more = len(choice.trace_ids) >= CHUNK_TRACES or untied >= UNTIED_CHUNK_ROWS or (
            bool(choice.trace_ids) and choice.why != "age")
        return RetentionTurn(deletion, untied, shrink(conn, self.budget), more, pinned_over, choice.used_bytes)

    def finished(self, turn: RetentionTurn | None) -> None:
        """After the turn's commit (or its failure, `None`): when the next one comes, and what
        the user hears of pinned traces over budget."""
        self.turns += 1
        again_in = 0.0 if turn is not None and turn.more and not turn.pinned_over_budget else CHECK_EVERY_S
        self._next_turn = self._monotonic() + again_in
        if turn is None:
            return
        if turn.pinned_over_budget:
            self._health.retention_stopped(
                f"pinned traces alone fill the {self.budget.max_bytes / MIB:,.0f} MiB database budget "
                f"({turn.used_bytes / MIB:,.1f} MiB stored): retention deletes nothing more. Unpin some "
                "traces or raise the budget (--max-db-mb, or Receiver ▸ Storage budgets… in the window)")
        else:
            self._health.retention_runs()

    def _current_thresholds(self, conn: sqlite3.Connection, now_ns: int) -> tuple[float, int]:
        if self._thresholds is None or self._monotonic() >= self._thresholds_until:
            self._thresholds = protection_thresholds(conn, now_ns)
            self._thresholds_until = self._monotonic() + THRESHOLDS_EVERY_S
        return self._thresholds


def _delete_untied(conn: sqlite3.Connection, before_ns: int) -> int:
    """Delete up to a chunk of the metric points, unlinked log records and evaluation results
    (known by a response id whose call never came) older than `before_ns`."""
    deleted = 0
    for table, key, where in (("metric_points", "point_id", "time_unix_nano < :before"),
                              ("logs", "log_id", "trace_id IS NULL AND time_unix_nano < :before"),
                              ("evaluations", "evaluation_id", "trace_id IS NULL AND time_unix_nano < :before")):
        deleted += conn.execute(
            f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {where} "
            "ORDER BY time_unix_nano LIMIT :limit)", {"before": before_ns, "limit": UNTIED_CHUNK_ROWS}).rowcount
    return deleted
