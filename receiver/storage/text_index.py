"""The full-text index: SQLite FTS5 over the text of every span and linked log record.

What is indexed of a span: its name, status message, and every string value in its
attributes (prompts and completions travel in them) and events; of a log record with a trace
id: its event name and the string values of its body and attributes. The tokenizer is
`unicode61` without diacritics: words match case- and accent-insensitively.

**Indexed by the writer right after the batch is acknowledged**, a chunk at a time whenever
its queue is empty (`index_pending`), never in the ingest transaction: working out the text
(SQLite's `json_tree`) costs more per span than storing it, and an exporter must not wait for
that. Spans are pending above a rowid watermark (new spans always get a higher rowid),
log records in a table of their own (their rowids are content hashes); readers scan what is
still pending (`receiver.storage.text_search`).

**Contentless.** The text is in the rows already; storing it twice would double the file. A
contentless FTS5 row is deleted by giving the text it was indexed with, so deletion
recomputes it with the same SQL expression (`unindex_traces`).

**Document ids are ordered by trace start**: `(trace start in seconds << 30) + n`, `n`
counting within the second. A trace's start only ever moves earlier, so each of its
documents has an id at or above its start: streaming matches in descending id order visits
traces newest first, and the trace list stops reading once its page is complete.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

DOC_SECOND_SHIFT = 30  # document id = bound second << 30 + a count within the second
MAX_DOC_SECOND = (1 << 33) - 1  # the year 2242: a later (bad) timestamp sorts as this one
INDEXED_THROUGH = "text_indexed_through"  # writer_state: spans up to this rowid are indexed
INDEX_CHUNK_ROWS = 1000  # rows indexed per transaction: ~50 ms that a new batch may wait

_STRINGS_IN = "coalesce((SELECT group_concat(value, ' ') FROM json_tree({0}) WHERE type = 'text'), '')"


def span_text(row: str) -> str:
    """SQL for the indexed text of a span row (by its alias)."""
    return (f"{row}.name || ' ' || {row}.status_message || ' ' || {_STRINGS_IN.format(row + '.attributes')}"
            f" || ' ' || {_STRINGS_IN.format(row + '.events')}")


def log_text(row: str) -> str:
    """SQL for the indexed text of a log record row."""
    return (f"{row}.event_name || ' ' || {_STRINGS_IN.format(row + '.body')}"
            f" || ' ' || {_STRINGS_IN.format(row + '.attributes')}")


# A log record's own time (emitted within its span; observed, if unset): its trace started before.
_LOG_TIME = "max({0}.time_unix_nano, {0}.observed_time_unix_nano)"


def _bound_second(row: str, own_start: str) -> str:
    """SQL: the second of the trace's start, or of `own_start` if sooner (or no rollup yet)."""
    return (f"max(0, min({MAX_DOC_SECOND}, min({own_start}, coalesce((SELECT t.start_time_unix_nano FROM traces AS t "
            f"WHERE t.trace_id = {row}.trace_id), {own_start})) / 1000000000))")


# The chunk's rows get ids numbered within each second after those already there (the
# subquery reads text_docs before the INSERT adds to it).
_NUMBERED = (f"coalesce((SELECT max(doc) + 1 FROM text_docs WHERE doc BETWEEN base << {DOC_SECOND_SHIFT} "
             f"AND (base << {DOC_SECOND_SHIFT}) + {(1 << DOC_SECOND_SHIFT) - 1}), base << {DOC_SECOND_SHIFT}) "
             "+ row_number() OVER (PARTITION BY base ORDER BY source) - 1")
_INDEX_SPANS = (
    f"INSERT INTO text_docs (doc, trace_id, span_rowid) SELECT {_NUMBERED}, trace_id, source FROM "
    f"(SELECT s.rowid AS source, s.trace_id, {_bound_second('s', 's.start_time_unix_nano')} AS base "
    "FROM spans AS s WHERE s.rowid > :after AND s.rowid <= :through)",
    f"INSERT INTO text_index (rowid, text) SELECT d.doc, {span_text('s')} FROM text_docs AS d "
    "JOIN spans AS s ON s.rowid = d.span_rowid WHERE d.span_rowid > :after AND d.span_rowid <= :through",
)
_INDEX_LOGS = (
    "CREATE TEMP TABLE IF NOT EXISTS text_chunk (log_id INTEGER PRIMARY KEY)",
    "INSERT INTO temp.text_chunk SELECT log_id FROM text_pending_logs LIMIT :limit",
    f"INSERT INTO text_docs (doc, trace_id, log_id) SELECT {_NUMBERED}, trace_id, source FROM "
    f"(SELECT l.log_id AS source, l.trace_id, {_bound_second('l', _LOG_TIME.format('l'))} AS base "
    "FROM temp.text_chunk AS c JOIN logs AS l ON l.log_id = c.log_id)",
    f"INSERT INTO text_index (rowid, text) SELECT d.doc, {log_text('l')} FROM temp.text_chunk AS c "
    "JOIN text_docs AS d ON d.log_id = c.log_id JOIN logs AS l ON l.log_id = c.log_id",
    "DELETE FROM text_pending_logs WHERE log_id IN temp.text_chunk",
    "DELETE FROM temp.text_chunk",
)


def create_text_index(conn: sqlite3.Connection) -> None:
    """Create the index (a migration). What is stored already is pending: the writer indexes
    it a chunk at a time when idle, so opening a large older database does not stall."""
    conn.execute("CREATE VIRTUAL TABLE text_index USING fts5(text, content='', "
                 "tokenize='unicode61 remove_diacritics 2')")
    conn.execute("""
        CREATE TABLE text_docs (
            doc INTEGER PRIMARY KEY,  -- the text_index rowid: ordered by trace start (see module docs)
            trace_id TEXT NOT NULL,
            span_rowid INTEGER,  -- the span indexed, or
            log_id INTEGER  -- the log record indexed
        )""")
    conn.execute("CREATE INDEX text_docs_by_span ON text_docs (span_rowid) WHERE span_rowid IS NOT NULL")
    conn.execute("CREATE INDEX text_docs_by_log ON text_docs (log_id) WHERE log_id IS NOT NULL")
    conn.execute("CREATE TABLE text_pending_logs (log_id INTEGER PRIMARY KEY)")
    # Records without a trace id (emitted after their span closed) are left out: nothing leads
    # from them to a trace in the list. Find-in-trace still reads them.
    conn.execute("""
        CREATE TRIGGER logs_text_pending AFTER INSERT ON logs WHEN NEW.trace_id IS NOT NULL BEGIN
            INSERT INTO text_pending_logs VALUES (NEW.log_id);
        END""")
    conn.execute("INSERT INTO text_pending_logs SELECT log_id FROM logs WHERE trace_id IS NOT NULL")
    conn.execute("INSERT INTO writer_state (name, value) VALUES (?, 0)", (INDEXED_THROUGH,))


def index_pending(conn: sqlite3.Connection, max_rows: int = INDEX_CHUNK_ROWS, *,
                  also: Callable[[sqlite3.Connection, int, int], None] | None = None) -> int:
    """Index up to `max_rows` pending spans and log records in one transaction; return how
    many were indexed (0: nothing is pending). `also(conn, after, through)` does more work on
    the same spans (rowids in (after, through]) in the same transaction."""
    conn.execute("BEGIN")
    try:
        after = conn.execute("SELECT value FROM writer_state WHERE name = ?", (INDEXED_THROUGH,)).fetchone()[0]
        through = conn.execute("SELECT max(rowid) FROM (SELECT rowid FROM spans WHERE rowid > ? ORDER BY rowid "
                               "LIMIT ?)", (after, max_rows)).fetchone()[0]
        spans = 0
        if through is not None:
            bounds = {"after": after, "through": through}
            spans = conn.execute(_INDEX_SPANS[0], bounds).rowcount
            conn.execute(_INDEX_SPANS[1], bounds)
            if also is not None:
                also(conn, after, through)
            conn.execute("UPDATE writer_state SET value = ? WHERE name = ?", (through, INDEXED_THROUGH))
        logs = 0
        if max_rows > spans:
            conn.execute(_INDEX_LOGS[0])
            logs = conn.execute(_INDEX_LOGS[1], {"limit": max_rows - spans}).rowcount
            for sql in _INDEX_LOGS[2:]:
                conn.execute(sql)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return spans + logs


def unindex_traces(conn: sqlite3.Connection, trace_ids_sql: str, params: dict) -> None:
    """Take these traces' spans and records out of the index (before they are deleted, inside
    the caller's transaction). `trace_ids_sql` is a subquery of trace ids over `params`."""
    conn.execute(f"INSERT INTO text_index (text_index, rowid, text) SELECT 'delete', d.doc, {span_text('s')} "
                 f"FROM spans AS s JOIN text_docs AS d ON d.span_rowid = s.rowid WHERE s.trace_id IN {trace_ids_sql}",
                 params)
    conn.execute(f"INSERT INTO text_index (text_index, rowid, text) SELECT 'delete', d.doc, {log_text('l')} "
                 f"FROM logs AS l JOIN text_docs AS d ON d.log_id = l.log_id WHERE l.trace_id IN {trace_ids_sql}",
                 params)
    spans = f"(SELECT rowid FROM spans WHERE trace_id IN {trace_ids_sql})"
    logs = f"(SELECT log_id FROM logs WHERE trace_id IN {trace_ids_sql})"
    conn.execute(f"DELETE FROM text_docs WHERE span_rowid IN {spans}", params)
    conn.execute(f"DELETE FROM text_docs WHERE log_id IN {logs}", params)
    conn.execute(f"DELETE FROM text_pending_logs WHERE log_id IN {logs}", params)


def lower_watermark(conn: sqlite3.Connection) -> None:
    """After a deletion: the next spans reuse the rowids of deleted newest ones, and must be
    pending, not taken for indexed."""
    conn.execute("UPDATE writer_state SET value = min(value, coalesce((SELECT max(rowid) FROM spans), 0)) "
                 "WHERE name = ?", (INDEXED_THROUGH,))


def clear_text_index(conn: sqlite3.Connection) -> None:
    """Empty the index at once (when everything is deleted)."""
    conn.execute("INSERT INTO text_index (text_index) VALUES ('delete-all')")
    conn.execute("DELETE FROM text_docs")
    conn.execute("DELETE FROM text_pending_logs")
    conn.execute("UPDATE writer_state SET value = 0 WHERE name = ?", (INDEXED_THROUGH,))


def merge_deleted(conn: sqlite3.Connection, pages: int = 500) -> None:
    """Fold the index's segments together a bounded amount: a contentless index only notes
    deletions, and the space of what was deleted comes back only when segments merge."""
    # negative: merge even where fewer segments than usual wait at a level
    conn.execute("INSERT INTO text_index (text_index, rank) VALUES ('merge', ?)", (-pages,))
