"""Cost by attribute: per-minute rollups of traces' usage by the value of a configured list of
attribute keys (default `DEFAULT_COST_KEYS`), kept by the writer in the ingest transaction.

A trace has one value per key, so that a key set once on the agent's root span (where
applications put `feature.name` or `user.id`) also counts its model calls below:

* a span's value is its own attribute, else (for the keys the GenAI conventions spell other
  ways) the canonical session or user id, else its resource's attribute;
* the trace's value is its root span's, else that of the first stored span that has one.
  Roots usually arrive last (they end last), so a trace's value can change.

The writer keeps the rollups exact by taking a trace's contribution out and putting it back
whenever its totals change (`refreshing`, in the ingest transaction) or its values do
(`take_values`, in the pauses of the traffic, with the full-text index).

`cost_minutes` holds, per minute of the trace's start, key and value ('' = not set): traces,
model calls, traces with errors, tokens and cost. A key not in the list is computed on demand
from the spans (`receiver.storage.cost_by_attribute.scan_costs`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

import orjson

__all__ = ["DEFAULT_COST_KEYS", "CostKeyInvalid", "create_cost_tables", "refreshing", "span_value_sql", "take_values",
           "valid_cost_key"]

DEFAULT_COST_KEYS = ("feature.name", "user.id", "deployment.environment", "session.id")
_MAX_KEY_LENGTH = 200


class CostKeyInvalid(ValueError):
    """An attribute key that cannot be a cost key (empty, too long, or with a quote)."""


def valid_cost_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > _MAX_KEY_LENGTH or '"' in key or "\\" in key:
        raise CostKeyInvalid(f"not an attribute key: {key!r}")
    return key


# Where a key has other spellings: the GenAI conventions' canonical ids (`receiver.genai`,
# columns of the span), and the newer name of the environment attribute.
_CANONICAL = {"session.id": "session_id", "user.id": "user_id"}
_ALSO = {"deployment.environment": "deployment.environment.name"}


def _value_sql(key: str, read: Callable[[str, str], str], span: str) -> str:
    """The precedence of a key's value, written once: the span's attribute, its canonical id,
    the span's other spelling, then the resource's. `read(side, name)` is the SQL reading
    attribute `name` of "span" or "resource"; `span` prefixes the span's columns."""
    choices = [read("span", key)]
    choices += [f"{span}{_CANONICAL[key]}"] if key in _CANONICAL else []
    choices += [read("span", _ALSO[key])] if key in _ALSO else []
    choices += [read("resource", key)]
    choices += [read("resource", _ALSO[key])] if key in _ALSO else []
    return f"nullif(CAST(coalesce({', '.join(choices)}) AS TEXT), '')"


def _paths(keys: tuple[str, ...]) -> list[str]:
    """Every attribute name the keys are read from."""
    return [path for key in keys for path in (key, *([_ALSO[key]] if key in _ALSO else []))]


def span_value_sql(key: str) -> str:
    """SQL: the value of `key` for span `s` with resource `r`, as text, NULL when not set. The
    key is written into the statement (a literal JSON path: SQLite parses the attributes once
    for all the keys of a statement)."""
    def read(side: str, name: str) -> str:
        return f"json_extract({'s' if side == 'span' else 'r'}.attributes, {_literal(f'$.{_quoted(name)}')})"

    return _value_sql(key, read, "s.")


def _quoted(name: str) -> str:
    return '"' + name + '"'  # a JSON path member; `valid_cost_key` keeps quotes out of keys


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_ROLLUP_VALUES = ("traces", "calls", "error_traces", "input_tokens", "output_tokens", "cost_usd")


def create_cost_tables(conn: sqlite3.Connection) -> None:
    """The tables (a migration), with the default keys, filled from what is stored."""
    conn.execute("CREATE TABLE cost_keys (key TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.execute("""
        CREATE TABLE trace_attribute_values (
            trace_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            from_root INTEGER NOT NULL,  -- 1: the root span's value, which no other replaces
            PRIMARY KEY (trace_id, key)
        ) WITHOUT ROWID""")
    conn.execute(f"""
        CREATE TABLE cost_minutes (
            minute INTEGER NOT NULL,  -- of the trace's start
            key TEXT NOT NULL,
            value TEXT NOT NULL,  -- '' = the trace has no value for the key
            {', '.join(f"{name} {'REAL' if name == 'cost_usd' else 'INTEGER'} NOT NULL" for name in _ROLLUP_VALUES)},
            PRIMARY KEY (key, minute, value)
        ) WITHOUT ROWID""")
    conn.executemany("INSERT INTO cost_keys VALUES (?)", [(key,) for key in DEFAULT_COST_KEYS])
    add_keys(conn, list(DEFAULT_COST_KEYS))


@lru_cache(maxsize=16)
def _values_from_spans(keys: tuple[str, ...], where: str) -> str:
    """SQL: record the keys' values of the spans `s` matching `where` as their traces' values
    (a root span's replaces another's; otherwise the first stored stays), as `span_value_sql`
    reads them. Each JSON column is read by one `json_extract` with every path: SQLite keeps
    one parse per call site, so one call per key would parse a span's attributes (kilobytes
    of messages) once per key — measured, 7 µs a span for the four default keys against 2."""
    paths = _paths(keys)
    index = {path: i for i, path in enumerate(paths)}

    def read(side: str, path: str) -> str:  # from the array of every path's value (a lone path: the value)
        column = "sa" if side == "span" else "ra"
        return column if len(paths) == 1 else f"json_extract({column}, '$[{index[path]}]')"

    every_path = ", ".join(_literal(f"$.{_quoted(path)}") for path in paths)
    values = ", ".join(f"{_value_sql(key, read, '')} AS v{i}" for i, key in enumerate(keys))
    any_value = " OR ".join(f"v{i} IS NOT NULL" for i in range(len(keys)))
    each_key = " UNION ALL ".join(f"SELECT trace_id, {_literal(key)} AS key, v{i} AS value, from_root, n FROM found "
                                  f"WHERE v{i} IS NOT NULL" for i, key in enumerate(keys))
    return f"""
WITH read AS MATERIALIZED (
    SELECT s.trace_id, s.parent_span_id IS NULL AS from_root, s.rowid AS n, s.session_id, s.user_id,
           json_extract(s.attributes, {every_path}) AS sa, json_extract(r.attributes, {every_path}) AS ra
    FROM spans AS s LEFT JOIN resources AS r ON r.resource_id = s.resource_id WHERE {where}),
found AS MATERIALIZED (SELECT * FROM (SELECT trace_id, from_root, n, {values} FROM read) WHERE {any_value})
INSERT INTO trace_attribute_values (trace_id, key, value, from_root)
SELECT trace_id, key, value, from_root FROM ({each_key}) WHERE true ORDER BY n
ON CONFLICT (trace_id, key) DO UPDATE SET value = excluded.value, from_root = 1
    WHERE excluded.from_root AND NOT trace_attribute_values.from_root"""


def _contribution(traces_where: str) -> str:
    """Add (:sign 1) or take away (-1) the traces' usage to the rollups of `:keys`."""
    updates = ", ".join(f"{name} = {name} + excluded.{name}" for name in _ROLLUP_VALUES)
    return f"""
INSERT INTO cost_minutes (minute, key, value, {', '.join(_ROLLUP_VALUES)})
SELECT t.start_time_unix_nano / 60000000000, k.value, coalesce(v.value, ''), :sign * count(*),
       :sign * total(t.llm_calls), :sign * count(*) FILTER (WHERE t.error_count > 0),
       :sign * total(t.input_tokens), :sign * total(t.output_tokens), :sign * total(t.cost_usd)
FROM traces AS t JOIN json_each(:keys) AS k
LEFT JOIN trace_attribute_values AS v ON v.trace_id = t.trace_id AND v.key = k.value
WHERE {traces_where}
GROUP BY 1, 2, 3
ON CONFLICT (key, minute, value) DO UPDATE SET {updates}"""


_TOUCHED = "t.trace_id IN (SELECT value FROM json_each(:trace_ids))"


def _keys(conn: sqlite3.Connection) -> list[str]:
    return [key for (key,) in conn.execute("SELECT key FROM cost_keys ORDER BY key")]


@contextmanager
def refreshing(conn: sqlite3.Connection, trace_ids: list[str]) -> Iterator[None]:
    """Around the refresh of these traces' totals (in the caller's transaction): take their
    contribution out, let the caller refresh, put it back."""
    params = {"keys": orjson.dumps(_keys(conn)).decode(), "trace_ids": orjson.dumps(trace_ids).decode()}
    conn.execute(_contribution(_TOUCHED), {**params, "sign": -1})
    yield
    conn.execute(_contribution(_TOUCHED), {**params, "sign": 1})


def take_values(conn: sqlite3.Connection, after: int, through: int) -> None:
    """The keys' values of the spans with rowids in (after, through], in the caller's
    transaction: their traces counted again under them. The writer calls it in the pauses of
    the traffic, with the full-text index and over the same spans (`text_index.index_pending`):
    reading the values costs about as much per span as the rest of a commit's rollups, so
    ingest does not wait for it; until then a trace counts under the values known before."""
    configured = _keys(conn)
    if not configured:
        return
    bounds = {"after": after, "through": through}
    trace_ids = [trace_id for (trace_id,) in conn.execute(
        "SELECT DISTINCT trace_id FROM spans WHERE rowid > :after AND rowid <= :through", bounds)]
    with refreshing(conn, trace_ids):
        conn.execute(_values_from_spans(tuple(configured), "s.rowid > :after AND s.rowid <= :through"), bounds)


def remove_traces(conn: sqlite3.Connection, trace_ids_sql: str, params: dict) -> None:
    """Before these traces are deleted (inside the caller's transaction)."""
    keys = orjson.dumps(_keys(conn)).decode()
    conn.execute(_contribution(f"t.trace_id IN {trace_ids_sql}"), {**params, "keys": keys, "sign": -1})
    conn.execute(f"DELETE FROM trace_attribute_values WHERE trace_id IN {trace_ids_sql}", params)
    conn.execute("DELETE FROM cost_minutes WHERE traces = 0")


def add_keys(conn: sqlite3.Connection, keys: list[str]) -> None:
    """Fill the values and rollups of newly configured keys from every stored span (a full
    scan: about as long as the text index takes to build)."""
    if not keys:
        return
    conn.execute(_values_from_spans(tuple(keys), "true"))
    conn.execute(_contribution("true"), {"keys": orjson.dumps(keys).decode(), "sign": 1})


def set_keys(conn: sqlite3.Connection, keys: list[str]) -> None:
    """Make `keys` the configured list (inside the caller's transaction)."""
    wanted = list(dict.fromkeys(valid_cost_key(key) for key in keys))
    current = _keys(conn)
    dropped = [key for key in current if key not in wanted]
    added = [key for key in wanted if key not in current]
    for key in dropped:
        conn.execute("DELETE FROM cost_keys WHERE key = ?", (key,))
        conn.execute("DELETE FROM trace_attribute_values WHERE key = ?", (key,))
        conn.execute("DELETE FROM cost_minutes WHERE key = ?", (key,))
    conn.executemany("INSERT INTO cost_keys VALUES (?)", [(key,) for key in added])
    if added:
        add_keys(conn, added)


def rebuild(conn: sqlite3.Connection) -> None:
    """The rollups from the traces' totals (after costs were recomputed)."""
    conn.execute("DELETE FROM cost_minutes")
    conn.execute(_contribution("true"), {"keys": orjson.dumps(_keys(conn)).decode(), "sign": 1})


def clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM trace_attribute_values")
    conn.execute("DELETE FROM cost_minutes")
