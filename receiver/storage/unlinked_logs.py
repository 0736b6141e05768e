"""Log records linked to no span, for the logs page: sent without a trace id (application
logs, events emitted after their span closed) and not naming a stored model call by its
response id (such a record shows in that span's inspector, `store._ORPHAN_LOG_QUERY`).

Newest first by time, or by observed time when the sender left time unset (0). Both orders
come from the partial index `logs_unlinked` (schema m009): records with a time are read in
index order and the scan stops once `limit` of them pass the filters; those without one
are the index's `time = 0` range, sorted by observed time. Free text is a substring scan
(unlinked records are not in the full-text index), blind to the case of ASCII letters (LIKE).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from receiver.records import StoredLog
from receiver.storage.response_ids import MERGED_THROUGH
from receiver.storage.row_records import stored_log

__all__ = ["count_unlinked_logs", "unlinked_logs", "unlinked_plan"]

# As `adopt_orphan_logs` links them: a record names a span by (response id, service), and
# `response_ids` holds every such key but those of spans written after its last merge,
# which are read from the spans (a few at most; the subquery runs once).
_SERVICE_KEY = "coalesce('=' || l.service_name, '')"  # response_ids.service_key of the record's service
_LINKED = (
    "(l.response_id IS NOT NULL AND ("
    "EXISTS (SELECT 1 FROM response_ids AS r WHERE r.response_id = l.response_id "
    f"AND r.service_key = {_SERVICE_KEY})"
    f" OR (l.response_id, {_SERVICE_KEY}) IN (SELECT s.response_id, coalesce('=' || s.service_name, '') "
    "FROM spans AS s WHERE s.rowid > coalesce((SELECT value FROM writer_state WHERE name = :merged), 0) "
    "AND s.response_id IS NOT NULL AND s.duplicate_of IS NULL)))"
)


def _values_have(column: str) -> str:
    """SQL: a string or number in JSON `column` contains the text. Keys do not count: neither
    object keys (plain attribute names, the body's "stringValue") nor the names in typed JSON's
    key-value lists (`{"key": name, "value": ...}` items of a list). LIKE over the raw JSON
    (:in_json, the text as JSON writes it) rules most rows out before `json_tree` runs."""
    return (f"({column} LIKE :in_json ESCAPE '\\' AND EXISTS (SELECT 1 FROM json_tree({column}) "
            "WHERE type IN ('text', 'integer', 'real') AND value LIKE :pattern ESCAPE '\\' "
            "AND NOT (key = 'key' AND path LIKE '%]')))")


# LIKE, not lower() and instr(): as case-blind (ASCII only), and it copies nothing, which made
# a search through 200,000 records about twice as quick. The event name is the field as sent
# or the `event.name` attribute older SDKs used (an attribute value).
_TEXT_MATCH = ("(l.event_name LIKE :pattern ESCAPE '\\' OR l.severity_text LIKE :pattern ESCAPE '\\' "
               "OR l.service_name LIKE :pattern ESCAPE '\\' "
               f"OR {_values_have('l.body')} OR {_values_have('l.attributes')})")


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere (its own % and _ taken literally)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _as_in_json(text: str) -> str:
    """The text as it appears inside a stored JSON string: orjson escapes only quotes,
    backslashes and control characters. With the last (written more than one way), every
    row goes to `json_tree`."""
    if not all(ch.isprintable() for ch in text):
        return "%"
    return _like(text.replace("\\", "\\\\").replace('"', '\\"'))


_COLUMNS = """l.trace_id, l.span_id, l.time_unix_nano, l.observed_time_unix_nano, l.severity_number,
       l.severity_text, l.event_name, l.body, l.attributes, l.dropped_attributes_count, l.flags,
       l.service_name,
       r.attributes, r.dropped_attributes_count, r.entity_refs, r.schema_url,
       c.name, c.version, c.attributes, c.dropped_attributes_count, c.schema_url"""

# Each branch stops after `limit` matches; only the ids travel until the page is known.
_PAGE = """
WITH picked AS (
    SELECT * FROM (SELECT l.log_id, l.time_unix_nano AS t FROM logs AS l
                   WHERE l.trace_id IS NULL AND l.time_unix_nano > 0 AND {where}
                   ORDER BY l.time_unix_nano DESC LIMIT :limit)
    UNION ALL
    SELECT * FROM (SELECT l.log_id, l.observed_time_unix_nano AS t FROM logs AS l
                   WHERE l.trace_id IS NULL AND l.time_unix_nano = 0 AND {where}
                   ORDER BY l.observed_time_unix_nano DESC LIMIT :limit)
)
SELECT {columns}
FROM picked JOIN logs AS l ON l.log_id = picked.log_id
LEFT JOIN resources r ON r.resource_id = l.resource_id
LEFT JOIN scopes c ON c.scope_id = l.scope_id
ORDER BY picked.t DESC, l.log_id
LIMIT :limit
"""


def _where(text: str | None, min_severity: int) -> str:
    conditions = [f"NOT {_LINKED}"]
    if min_severity > 0:
        conditions.append("l.severity_number >= :min_severity")
    if text:
        conditions.append(_TEXT_MATCH)
    return " AND ".join(conditions)


def _params(text: str | None, min_severity: int, limit: int) -> dict[str, Any]:
    return {"merged": MERGED_THROUGH, "limit": max(0, limit), "min_severity": min_severity,
            "pattern": _like(text or ""), "in_json": _as_in_json(text or "")}


def unlinked_logs(conn: sqlite3.Connection, text: str | None = None, *, min_severity: int = 0,
                  limit: int = 500) -> list[StoredLog]:
    """Up to `limit` unlinked log records, newest first. `text` (a substring, any case) is
    looked for in the body, the event name (field or `event.name` attribute), the severity
    text, the service name and the attribute values; `min_severity` is an OTLP severity
    number (9 INFO, 13 WARN, 17 ERROR): records below it, or with none (0), are left out."""
    sql = _PAGE.format(where=_where(text, min_severity), columns=_COLUMNS)
    return [stored_log(row) for row in conn.execute(sql, _params(text, min_severity, limit)).fetchall()]


def unlinked_plan(conn: sqlite3.Connection, text: str | None = None, *, min_severity: int = 0) -> list[str]:
    """SQLite's plan for `unlinked_logs` (EXPLAIN QUERY PLAN, one step a line), for tests."""
    sql = "EXPLAIN QUERY PLAN " + _PAGE.format(where=_where(text, min_severity), columns=_COLUMNS)
    return [row[3] for row in conn.execute(sql, _params(text, min_severity, 500))]


def count_unlinked_logs(conn: sqlite3.Connection) -> int:
    """How many log records are linked to no span (unfiltered). The records without a trace id
    are counted from the partial index alone; the table is read only for those among them
    that carry a response id, to take away the linked ones."""
    (without_ids,) = conn.execute("SELECT count(*) FROM logs WHERE trace_id IS NULL").fetchone()
    (linked,) = conn.execute("SELECT count(*) FROM logs AS l WHERE l.response_id IS NOT NULL "
                             f"AND l.trace_id IS NULL AND {_LINKED}", {"merged": MERGED_THROUGH}).fetchone()
    return without_ids - linked
