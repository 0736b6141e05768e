"""Which stored span first carried each response id, per service: how the writer finds a model
call reported twice (a provider SDK's own tracing beside an instrumentation library). The
later copy gets `duplicate_of` (the first one's span id) before it is inserted.

An index over response ids, which are random, cost the writer one B-tree page per model call
per commit, about a third of the WAL it wrote. So the newest ids live in memory and reach the
table `response_ids` in sorted bulk merges (every `MERGE_AT` ids, when the writer idles and
when it closes), where each page of the table is written once per merge. After an unclean
stop, the ids past the last merge are read back from the spans themselves: the merge records
the highest span rowid it covered (`writer_state`).

Almost every response id is new, so asking the table about each one cost the writer a query
per transaction that nearly always found nothing. A one-hash Bloom filter of the table's keys
(`TableKeys`, built when the writer starts) answers "certainly not there" for most of them;
only the rest are looked up.

Whatever deletes spans (retention) must delete their rows here too, or a later copy would
point at a span that is gone (the filter may keep their bits: that only costs a lookup).
The writer thread owns an instance; nothing here is thread-safe.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable

import orjson

from receiver.records import SPAN_COLUMNS

log = logging.getLogger(__name__)

MERGE_AT = 16_384  # ids held in memory before a merge (a few MiB)
MERGED_THROUGH = "response_ids_merged_through"  # writer_state: spans up to this rowid are merged

_TRACE_ID, _SPAN_ID = SPAN_COLUMNS.index("trace_id"), SPAN_COLUMNS.index("span_id")
_DUPLICATE_OF = SPAN_COLUMNS.index("duplicate_of")

# By response id alone (a flat JSON list is cheaper to build and read than pairs); the few
# rows of other services are dropped in Python.
_LOOKUP = ("SELECT response_id, service_key, span_id FROM response_ids "
           "WHERE response_id IN (SELECT value FROM json_each(?))")
# From the in-memory map's items as they are, [[[response id, service name], span id], ...]:
# SQLite makes the service keys and sorts (with the GIL released), not the writer's Python.
_MERGE = ("INSERT INTO response_ids (response_id, service_key, span_id) "
          "SELECT json_extract(value, '$[0][0]'), coalesce('=' || json_extract(value, '$[0][1]'), ''), "
          "json_extract(value, '$[1]') FROM json_each(?) WHERE true ORDER BY 1, 2 ON CONFLICT DO NOTHING")
_MERGE_ROW = "INSERT INTO response_ids (response_id, service_key, span_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_SET_MERGED_THROUGH = ("INSERT INTO writer_state (name, value) VALUES (?, ?) "
                       "ON CONFLICT (name) DO UPDATE SET value = excluded.value")
# First copies only: a span already marked as a duplicate points at one that is in the set.
_UNMERGED = ("SELECT response_id, service_name, span_id FROM spans "
             "WHERE rowid > ? AND response_id IS NOT NULL AND duplicate_of IS NULL ORDER BY rowid")
_STORED_RESPONSE = "SELECT response_id, service_name FROM spans WHERE trace_id = ? AND span_id = ?"

Key = tuple[str, str | None]  # (response id, service name): in memory, names as they are
ResponseKeys = tuple[tuple[int, Key], ...]  # (row index, key) of a batch's span rows with a response id


FILTER_BITS = 2**24  # 2 MiB; about 3 % of lookups pass it in vain with 500,000 ids stored


class TableKeys:
    """Which keys the `response_ids` table may hold: no false "absent", a few false "maybe"."""

    def __init__(self) -> None:
        self._bits = bytearray(FILTER_BITS // 8)

    def add_all(self, keys: Iterable[Key]) -> None:
        """Note each key (a merge's thousands, so no call per key)."""
        bits = self._bits
        for key in keys:
            bit = hash(key) & (FILTER_BITS - 1)
            bits[bit >> 3] |= 1 << (bit & 7)

    def may_hold(self, key: Key) -> bool:
        bit = hash(key) & (FILTER_BITS - 1)
        return bool(self._bits[bit >> 3] & (1 << (bit & 7)))


def service_key(service_name: str | None) -> str:
    """A service as part of the table's key: "" for none, distinct from a service named ""."""
    return "" if service_name is None else "=" + service_name


def service_name_of(key: str) -> str | None:
    """`service_key` undone."""
    return key[1:] if key else None


class ResponseIds:
    def __init__(self) -> None:
        self._merged: dict[Key, str] = {}  # committed, not yet in the table
        self._pending: dict[Key, str] = {}  # claimed by the open transaction, in claim order
        self._claims: list[tuple[Key, str, str]] = []  # (key, trace id, span id) of the open request
        self._stored: dict[Key, str] = {}  # the table's answers for the open transaction (`look_up`)
        self._table_keys = TableKeys()

    def load(self, conn: sqlite3.Connection) -> None:
        """Note the table's keys, and read back the ids that spans stored after the last merge carry."""
        self._table_keys.add_all((response_id, service_name_of(service)) for response_id, service
                                 in conn.execute("SELECT response_id, service_key FROM response_ids"))
        row = conn.execute("SELECT value FROM writer_state WHERE name = ?", (MERGED_THROUGH,)).fetchone()
        through = row[0] if row else 0
        # Only deleting the newest spans could bring rowids back under the mark: start over then.
        if through > (conn.execute("SELECT max(rowid) FROM spans").fetchone()[0] or 0):
            through = 0
        for response_id, service_name, span_id in conn.execute(_UNMERGED, (through,)):
            self._merged.setdefault((response_id, service_name), span_id)

    def look_up(self, conn: sqlite3.Connection, key_groups: list[ResponseKeys]) -> None:
        """Before a transaction's requests (their `WriteBatch.response_keys`): find in the
        table, in one query for them all, the first reports of the response ids that memory
        does not hold (each query gives up the GIL, which the writer may then wait for, so one
        per transaction rather than per request)."""
        merged, pending, may_hold = self._merged, self._pending, self._table_keys.may_hold
        unseen = {key for keys in key_groups for _, key in keys
                  if key not in merged and key not in pending and may_hold(key)}
        self._stored = self._stored_first_reports(conn, unseen) if unseen else {}

    def mark_duplicates(self, rows: tuple[tuple, ...], keys: ResponseKeys) -> tuple[tuple, ...]:
        """`rows` with `duplicate_of` set on each span whose response id (in its service) an
        earlier span carries; the others' ids are claimed for the open transaction. `keys` are
        the rows' `WriteBatch.response_keys`, which `look_up` saw first. Returns the same tuple
        when no row changed."""
        merged, pending, stored, claims = self._merged, self._pending, self._stored, self._claims
        changed: list[tuple] | None = None
        for i, key in keys:
            row = rows[i]
            span_id = row[_SPAN_ID]
            first = merged.get(key) or pending.get(key) or stored.get(key)
            if first is None:
                pending[key] = span_id
                claims.append((key, row[_TRACE_ID], span_id))
            elif first != span_id:  # (the same span id: a re-sent span, which the insert skips)
                changed = changed or list(rows)
                changed[i] = row[:_DUPLICATE_OF] + (first,) + row[_DUPLICATE_OF + 1:]
        return rows if changed is None else tuple(changed)

    def begin_request(self) -> None:
        """A request's rows are next: what `forget_request` undoes starts here."""
        self._claims = []

    def confirm(self, conn: sqlite3.Connection) -> None:
        """After an insert that skipped rows (re-sent spans): release each claim whose span is
        stored without that response id, so no later span is pointed at it."""
        for key, trace_id, span_id in self._claims:
            stored = conn.execute(_STORED_RESPONSE, (trace_id, span_id)).fetchone()  # (id, service) or None
            if stored != key:
                self._pending.pop(key, None)

    def forget_request(self) -> None:
        """The open request's rows were rolled back."""
        for key, _, _ in self._claims:
            self._pending.pop(key, None)
        self._claims = []

    def commit(self) -> None:
        self._merged.update(self._pending)
        self._pending.clear()
        self._claims = []
        self._stored = {}

    def rollback(self) -> None:
        self._pending.clear()
        self._claims = []
        self._stored = {}

    def forget_first_reports(self, reports: dict[Key, str]) -> None:
        """These first reports (key -> span id) were deleted: point no later copy at them.
        (Between transactions; the filter keeps their bits, which only costs a lookup.)"""
        for key, span_id in reports.items():
            if self._merged.get(key) == span_id:
                del self._merged[key]

    def note_stored(self, keys: Iterable[Key]) -> None:
        """These keys were written to the table by someone else (a deletion's new first reports)."""
        self._table_keys.add_all(keys)

    def clear(self) -> None:
        """The table and every span were deleted: start over, knowing nothing."""
        self.rollback()
        self._merged.clear()
        self._table_keys = TableKeys()

    @property
    def unmerged(self) -> int:
        return len(self._merged)

    def merge(self, conn: sqlite3.Connection) -> None:
        """Write the in-memory ids to the table, sorted, in a transaction of their own."""
        if not self._merged:
            return
        through = conn.execute("SELECT max(rowid) FROM spans").fetchone()[0] or 0
        payload = orjson.dumps(list(self._merged.items()))
        conn.execute("BEGIN")
        try:
            if b"\\u0000" in payload:  # SQLite's JSON functions would cut such an id short
                conn.executemany(_MERGE_ROW, sorted((response_id, service_key(service), span_id)
                                                    for (response_id, service), span_id in self._merged.items()))
            else:
                conn.execute(_MERGE, (payload,))
            conn.execute(_SET_MERGED_THROUGH, (MERGED_THROUGH, through))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._table_keys.add_all(self._merged)
        self._merged.clear()

    @staticmethod
    def _stored_first_reports(conn: sqlite3.Connection, keys: set[Key]) -> dict[Key, str]:
        found = conn.execute(_LOOKUP, (orjson.dumps([response_id for response_id, _ in keys]),)).fetchall()
        return {(response_id, service_name_of(service)): span_id for response_id, service, span_id in found}
