"""The `evaluations` table, written by the writer thread: results that came with spans and log
records (`receiver.genai.evaluations`), and the annotations people make.

A result names its span by trace and span id, or — sent by an evaluator that ran later, in
another process — only by the evaluated `gen_ai.response.id`. Those are linked to their span
here: against the model calls the writer stored recently (kept in memory, `RECENT_CALLS`), and
when the span arrives after its result (the response ids still waiting are kept in memory too).
One that finds no span stays unlinked; the trace view still finds it by response id when read.
The writer thread owns an instance of `EvaluationLinks`; nothing here is thread-safe.
"""

from __future__ import annotations

import sqlite3
import time
from collections import OrderedDict
from collections.abc import Iterable

import orjson

from receiver.genai.evaluations import ANNOTATION_NAME, EVALUATION_COLUMNS, HUMAN, annotation_id, verdict

__all__ = ["EvaluationLinks", "create_evaluations_table", "fill_evaluations", "insert_evaluations", "remove_annotation",
           "set_annotation"]

RECENT_CALLS = 100_000  # response id -> (trace id, span id) of the newest model calls (~20 MB)

_TRACE_ID, _SPAN_ID, _RESPONSE_ID = (EVALUATION_COLUMNS.index(c) for c in ("trace_id", "span_id", "response_id"))
_INSERT = (f"INSERT INTO evaluations ({', '.join(EVALUATION_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in EVALUATION_COLUMNS)}) ON CONFLICT DO NOTHING")
# An annotation imported from a file replaces the one made here, and the other way round.
_UPSERT = (f"INSERT INTO evaluations ({', '.join(EVALUATION_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in EVALUATION_COLUMNS)}) ON CONFLICT (evaluation_id) DO UPDATE SET "
           + ", ".join(f"{c} = excluded.{c}" for c in EVALUATION_COLUMNS[1:]))
_LINK = ("UPDATE evaluations SET trace_id = ?, span_id = ? WHERE trace_id IS NULL AND response_id = ?")


def create_evaluations_table(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE evaluations (
            evaluation_id INTEGER PRIMARY KEY,  -- the log record's id, a content hash, or annotation_id()
            trace_id TEXT,  -- NULL: known only by response id, its span not found (yet)
            span_id TEXT,  -- NULL with a trace id: of the whole trace
            response_id TEXT,
            name TEXT NOT NULL,
            score REAL,
            label TEXT,
            explanation TEXT,  -- an annotation's note
            passed INTEGER,  -- 1 passed, 0 failed, NULL no verdict (receiver.genai.evaluations.verdict)
            source TEXT NOT NULL,  -- log | span_event | span_attribute | human
            time_unix_nano INTEGER NOT NULL,
            service_name TEXT
        )""")
    conn.execute("CREATE INDEX evaluations_by_trace ON evaluations (trace_id, span_id) WHERE trace_id IS NOT NULL")
    conn.execute("CREATE INDEX evaluations_by_name ON evaluations (name, time_unix_nano)")
    conn.execute("CREATE INDEX evaluations_unlinked ON evaluations (response_id) WHERE trace_id IS NULL")


class EvaluationLinks:
    """Links results known by response id alone to their spans."""

    def __init__(self) -> None:
        self._recent: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._waiting: set[str] = set()  # response ids of stored results without a span

    def load(self, conn: sqlite3.Connection) -> None:
        self._waiting = {response_id for (response_id,) in conn.execute(
            "SELECT DISTINCT response_id FROM evaluations WHERE trace_id IS NULL AND response_id IS NOT NULL")}

    def clear(self) -> None:
        self._recent.clear()
        self._waiting.clear()

    def note_calls(self, conn: sqlite3.Connection, calls: Iterable[tuple[str, str, str]]) -> None:
        """Model calls just stored, (response id, trace id, span id): remember them, and link
        the waiting results that name them (inside the caller's transaction)."""
        recent, waiting = self._recent, self._waiting
        for response_id, trace_id, span_id in calls:
            recent[response_id] = (trace_id, span_id)
            recent.move_to_end(response_id)
            if response_id in waiting:
                conn.execute(_LINK, (trace_id, span_id, response_id))
                waiting.discard(response_id)
        while len(recent) > RECENT_CALLS:
            recent.popitem(last=False)

    def linked(self, rows: tuple[tuple, ...]) -> tuple[tuple, ...]:
        """`rows` with the span filled in where only a response id named it and memory knows the call."""
        out = list(rows)
        for i, row in enumerate(rows):
            if row[_TRACE_ID] is None and row[_RESPONSE_ID] is not None:
                call = self._recent.get(row[_RESPONSE_ID])
                if call is not None:
                    out[i] = row[:_TRACE_ID] + call + row[_SPAN_ID + 1:]
        return tuple(out)

    def note_unlinked(self, rows: Iterable[tuple]) -> None:
        """Rows stored without a span (after `linked`): linked when their call arrives."""
        self._waiting.update(row[_RESPONSE_ID] for row in rows
                             if row[_TRACE_ID] is None and row[_RESPONSE_ID] is not None)


def fill_evaluations(conn: sqlite3.Connection) -> None:
    """The results in what is stored already (migration m014); linked by response id where the
    span is stored. Reads only the rows whose text names a result."""
    from receiver.attributes import plain_attributes
    from receiver.genai.evaluations import EVALUATION_EVENT, evaluation_row, span_evaluation_rows

    rows: list[tuple] = []
    for log_id, trace_id, span_id, time_ns, observed_ns, event_name, attributes, service in conn.execute(
            "SELECT log_id, trace_id, span_id, time_unix_nano, observed_time_unix_nano, event_name, attributes, "
            "service_name FROM logs WHERE event_name = ? OR (event_name = '' AND attributes LIKE ?)",
            (EVALUATION_EVENT, f"%{EVALUATION_EVENT}%")):
        plain = plain_attributes(orjson.loads(attributes))
        if (event_name or plain.get("event.name")) == EVALUATION_EVENT:
            row = evaluation_row(plain, evaluation_id=log_id, trace_id=trace_id, span_id=span_id,
                                 time_unix_nano=time_ns or observed_ns, service_name=service, source="log")
            if row is not None:
                rows.append(row)
    for trace_id, span_id, end_ns, attributes, events, service in conn.execute(
            "SELECT trace_id, span_id, end_time_unix_nano, attributes, events, service_name FROM spans "
            "WHERE events LIKE ? OR attributes LIKE '%\"eval%'", (f"%{EVALUATION_EVENT}%",)):
        rows += span_evaluation_rows(plain_attributes(orjson.loads(attributes)), orjson.loads(events),
                                     trace_id=trace_id, span_id=span_id, end_unix_nano=end_ns,
                                     service_name=service, event_attributes=plain_attributes)
    insert_evaluations(conn, tuple(rows))
    conn.execute("UPDATE evaluations SET (trace_id, span_id) = (SELECT s.trace_id, s.span_id FROM spans AS s "
                 "WHERE s.response_id = evaluations.response_id AND s.duplicate_of IS NULL LIMIT 1) "
                 "WHERE trace_id IS NULL AND response_id IS NOT NULL AND EXISTS (SELECT 1 FROM spans AS s "
                 "WHERE s.response_id = evaluations.response_id)")


def insert_evaluations(conn: sqlite3.Connection, rows: tuple[tuple, ...]) -> int:
    """Store a batch's results (a result sent twice is stored once); annotations read from a
    file replace the same span's annotation. Returns how many rows changed."""
    results = [row for row in rows if row[EVALUATION_COLUMNS.index("source")] != HUMAN]
    annotations = [row for row in rows if row[EVALUATION_COLUMNS.index("source")] == HUMAN]
    before = conn.total_changes
    if results:
        conn.executemany(_INSERT, results)
    if annotations:
        conn.executemany(_UPSERT, annotations)
    return conn.total_changes - before


def set_annotation(conn: sqlite3.Connection, trace_id: str, span_id: str | None, *, passed: bool | None,
                   name: str = ANNOTATION_NAME, label: str | None = None, score: float | None = None,
                   note: str | None = None) -> tuple:
    """A person's mark on a span (or the whole trace, without a span id): good (`passed`) or
    bad, and/or a label, a score, a note; replaces the one before. Returns the stored row."""
    service = conn.execute("SELECT service_name FROM spans WHERE trace_id = ? AND span_id = ?",
                           (trace_id, span_id)).fetchone() if span_id else None
    label = label or (None if passed is None else ("good" if passed else "bad"))
    judged = verdict(name, score, label) if passed is None else int(passed)
    row = (annotation_id(trace_id, span_id), trace_id, span_id, None, name or ANNOTATION_NAME, score, label,
           note or None, judged, HUMAN, time.time_ns(), service[0] if service else None)
    conn.execute(_UPSERT, row)
    return row


def remove_annotation(conn: sqlite3.Connection, trace_id: str, span_id: str | None) -> bool:
    return conn.execute("DELETE FROM evaluations WHERE evaluation_id = ?",
                        (annotation_id(trace_id, span_id),)).rowcount > 0
