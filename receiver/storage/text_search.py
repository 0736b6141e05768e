"""Free text: the trace list's search (from the full-text index, `receiver.storage.text_index`)
and the substring scans that find-in-trace and not-yet-indexed rows use.

A page of matching traces, newest first, is found without reading every match: matches
stream from the index in descending document id, which is ordered by (a bound on) the trace
start, and the stream stops once no document still unread can belong to a trace newer than
the page's last one. A common word fills the page from the first few hundred documents;
a rare word's matches are few to begin with. Rows the writer has not indexed yet (a moment's
worth, under load) are scanned, each term as a case-insensitive substring.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import orjson

from receiver.storage.text_index import DOC_SECOND_SHIFT, INDEXED_THROUGH, MAX_DOC_SECOND

_WORD = re.compile(r"[^\W_]")  # what the index's tokenizer keeps (letters and digits)
_TERM = re.compile(r'"([^"]+)"|(\S+)')
_FIRST_BATCH, _MAX_BATCH = 256, 16_384
_STREAM_FIRST_DOCS = 4096  # streamed before trying the filters first (~20 ms at 1M spans)
_FILTERS_FIRST_CHUNK, _FILTERS_FIRST_TRACES = 100, 600  # an index lookup costs ~0.2 ms
_NO_UPPER = (1 << 63) - 1

_IN_SECONDS = ("SELECT d.trace_id FROM text_index AS f JOIN text_docs AS d ON d.doc = f.rowid "
               "WHERE text_index MATCH :match AND f.rowid >= :low AND f.rowid < :high")
_STREAM = ("SELECT f.rowid, d.trace_id FROM text_index AS f JOIN text_docs AS d ON d.doc = f.rowid "
           "WHERE text_index MATCH :match AND f.rowid < :upper ORDER BY f.rowid DESC LIMIT :batch")


def search_terms(text: str) -> list[str]:
    """The terms of `text` that hold a word (the index finds nothing else): whitespace
    separates them, and a "quoted phrase" is one term."""
    terms = (quoted or bare for quoted, bare in _TERM.findall(text))
    return [term for term in terms if _WORD.search(term)]


def match_expression(terms: list[str]) -> str:
    """The FTS5 query: every term in one span or log record, as whole words (`gpt-4o` is the
    phrase "gpt 4o"); case and accents do not matter."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def quick_scan_finds(text: str) -> bool:
    """Whether a scan of the raw JSON finds `text` wherever a string value holds it: JSON
    escapes only `"`, `\\` and control characters, so without those it does, and a cheap
    `instr` over the whole column rules out most rows before `json_tree` runs."""
    return not any(ch in '"\\' or not ch.isprintable() for ch in text)


def json_has(column: str, text: str = "text", quick: str = "quick") -> str:
    """SQL: a string value of JSON `column` contains parameter `:text` (json_tree's 'text'
    leaves: not keys, not punctuation); with `:quick`, a scan of the raw JSON rules the row
    out cheaply first."""
    return (f"((NOT :{quick} OR instr(lower({column}), lower(:{text})) > 0) AND EXISTS (SELECT 1 FROM "
            f"json_tree({column}) WHERE type = 'text' AND instr(lower(value), lower(:{text})) > 0))")


def span_has(alias: str, text: str = "text", quick: str = "quick") -> str:
    """SQL: the span's name, status message, attribute or event strings contain `:text`."""
    return (f"(instr(lower({alias}.name), lower(:{text})) > 0"
            f" OR instr(lower({alias}.status_message), lower(:{text})) > 0"
            f" OR {json_has(alias + '.attributes', text, quick)} OR {json_has(alias + '.events', text, quick)})")


def log_has(alias: str, text: str = "text", quick: str = "quick") -> str:
    """SQL: the log record's body or attribute strings contain `:text`."""
    return f"({json_has(alias + '.body', text, quick)} OR {json_has(alias + '.attributes', text, quick)})"


def search_page(conn: sqlite3.Connection, terms: list[str], select: str, where: list[str],
                params: dict[str, Any], limit: int) -> list[tuple]:
    """Up to `limit` rows of `select` (trace columns, `start_time_unix_nano` and `trace_id`
    first) for the newest traces that match every term and pass `where`, newest first.

    Matches stream from the index newest first, each batch's traces checked against `where`.
    With other filters that pass few traces, a common word would stream for seconds: after
    `_STREAM_FIRST_DOCS` documents the other way round is tried — the traces that pass
    `where`, newest first, each looked up in the index (`_filters_first`) — and the stream
    goes on only if that finds the page too slowly as well (a rare word, common filters)."""
    # from the ids to the rows (CROSS JOIN keeps that order): by a filter's index instead, SQLite
    # would read every trace of the service
    summary_sql = (f"SELECT {select} FROM json_each(:ids) AS wanted CROSS JOIN traces "
                   "ON traces.trace_id = wanted.value" + "".join(f" AND {condition}" for condition in where))
    found: dict[str, tuple] = {}

    def add(trace_ids: set[str]) -> None:
        for row in conn.execute(summary_sql, {**params, "ids": orjson.dumps(sorted(trace_ids)).decode()}):
            found[row[1]] = row

    pending = _pending_matches(conn, terms)
    seen = set(pending)
    if seen:
        add(seen)
    match, start_after = match_expression(terms), params.get("start_after")
    upper, batch, streamed, tried_filters = _NO_UPPER, _FIRST_BATCH, 0, not where
    while True:
        docs = conn.execute(_STREAM, {"match": match, "upper": upper, "batch": batch}).fetchall()
        streamed += len(docs)
        new = {trace_id for _, trace_id in docs} - seen
        if new:
            seen |= new
            add(new)
        if len(docs) < batch:
            break  # every match read
        upper = docs[-1][0]
        # Every unread document's trace started before the end of the unread top second.
        unread_before_ns = (((upper - 1) >> DOC_SECOND_SHIFT) + 1) * 1_000_000_000
        if start_after is not None and unread_before_ns <= start_after:
            break
        if len(found) >= limit and _newest(found, limit)[-1][0] >= unread_before_ns:
            break
        if not tried_filters and streamed >= _STREAM_FIRST_DOCS:
            tried_filters = True
            page = _filters_first(conn, match, pending, select, where, params, limit)
            if page is not None:
                return page
        batch = min(batch * 4, _MAX_BATCH)
    return _newest(found, limit)


def _filters_first(conn: sqlite3.Connection, match: str, pending: set[str], select: str, where: list[str],
                   params: dict[str, Any], limit: int) -> list[tuple] | None:
    """The page read from the traces that pass `where`, newest first, a chunk at a time, each
    chunk's traces looked up in the index over the seconds they span (every document of a
    trace has an id in the seconds from its start to its end). None when
    `_FILTERS_FIRST_TRACES` traces did not fill the page: the text is rarer than the filters."""
    sql = (f"SELECT {select}, end_time_unix_nano FROM traces WHERE " + " AND ".join(
        [*where, "(start_time_unix_nano, trace_id) < (:chunk_start, :chunk_id)"])
        + " ORDER BY start_time_unix_nano DESC, trace_id DESC LIMIT :chunk")
    page: list[tuple] = []
    cursor: tuple[int, str] = (_NO_UPPER, "")
    for _ in range(_FILTERS_FIRST_TRACES // _FILTERS_FIRST_CHUNK):
        rows = conn.execute(sql, {**params, "chunk_start": cursor[0], "chunk_id": cursor[1],
                                  "chunk": _FILTERS_FIRST_CHUNK}).fetchall()
        matched = _indexed_among(conn, match, rows) | pending
        page += [row[:-1] for row in rows if row[1] in matched]
        if len(page) >= limit or len(rows) < _FILTERS_FIRST_CHUNK:
            return page[:limit]
        cursor = (rows[-1][0], rows[-1][1])
    return None


def _indexed_among(conn: sqlite3.Connection, match: str, rows: list[tuple]) -> set[str]:
    """Which of these traces (rows: start first, trace id second, end last) have a document
    matching `match`: one index lookup per run of overlapping seconds."""
    wanted = {row[1] for row in rows}
    spans = sorted((_second(row[0]), _second(row[-1])) for row in rows)
    merged: list[list[int]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    found: set[str] = set()
    for first, last in merged:
        found.update(trace_id for (trace_id,) in conn.execute(
            _IN_SECONDS, {"match": match, "low": first << DOC_SECOND_SHIFT,
                          "high": (last + 1) << DOC_SECOND_SHIFT}) if trace_id in wanted)
    return found


def _second(ns: int) -> int:
    return max(0, min(MAX_DOC_SECOND, ns // 1_000_000_000))


def _pending_matches(conn: sqlite3.Connection, terms: list[str]) -> set[str]:
    """Traces whose spans or records not indexed yet hold every term (as substrings)."""
    params: dict[str, Any] = {"through": conn.execute("SELECT value FROM writer_state WHERE name = ?",
                                                      (INDEXED_THROUGH,)).fetchone()[0]}
    for i, term in enumerate(terms):
        params[f"t{i}"], params[f"q{i}"] = term, quick_scan_finds(term)
    in_span = " AND ".join(span_has("s", f"t{i}", f"q{i}") for i in range(len(terms)))
    in_log = " AND ".join(log_has("l", f"t{i}", f"q{i}") for i in range(len(terms)))
    sql = (f"SELECT s.trace_id FROM spans AS s WHERE s.rowid > :through AND {in_span} UNION "
           f"SELECT l.trace_id FROM text_pending_logs AS p CROSS JOIN logs AS l ON l.log_id = p.log_id "
           f"WHERE {in_log}")  # CROSS: the few pending rows lead; SQLite would scan every log record
    return {trace_id for (trace_id,) in conn.execute(sql, params)}


def _newest(found: dict[str, tuple], count: int) -> list[tuple]:
    return sorted(found.values(), key=lambda row: (row[0], row[1]), reverse=True)[:count]
