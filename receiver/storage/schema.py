"""The database file: append-only migrations, connection settings, and how to open it.

Never edit a migration that has shipped; add a new one. Spans keep every OTLP field:
scalar fields as columns, attribute lists, events and links as typed OTLP/JSON (see
`receiver.attributes`), resources and scopes in their own tables keyed by a content hash.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from receiver.errors import StorageFailed
from receiver.storage.batch_rows import ORPHAN_SPANS_SQL
from receiver.storage.cost_attributes import create_cost_tables
from receiver.storage.evaluation_rows import create_evaluations_table, fill_evaluations
from receiver.storage.pins import create_pins_table
from receiver.storage.text_index import create_text_index
from receiver.storage.usage import create_usage_tables, register_functions

MIGRATIONS = Migrations("tracepane")
# The writer inserts span rows from one JSON array through a MATERIALIZED CTE (SQLite 3.35).
MIN_SQLITE = (3, 35, 0)

# Settings of the one write connection, each with its reason.
WRITE_PRAGMAS = (
    # Readers never block the writer and the writer never blocks readers; the UI and
    # `tracepane traces` read while spans stream in.
    "PRAGMA journal_mode = WAL",
    # In WAL mode a commit survives a crash of this process (SIGKILL included); only an OS
    # crash or power cut can lose the newest commits. A per-commit fsync would buy little
    # for a local viewer and cost every batch.
    "PRAGMA synchronous = NORMAL",
    # Wait out a checkpoint or another opener instead of failing with SQLITE_BUSY.
    "PRAGMA busy_timeout = 10000",
    # Children arrive before parents and some parents never arrive: no foreign keys.
    "PRAGMA foreign_keys = OFF",
    # Never EXCLUSIVE: that would lock out every reader.
    "PRAGMA locking_mode = NORMAL",
    # 64 MiB page cache (negative = KiB) keeps the trace rollup lookups in memory.
    "PRAGMA cache_size = -65536",
    # Checkpoints copy the WAL back into the database file. SQLite's default runs one inline
    # every 4 MiB, which under load costs the writer a third of its time; a thread of its own
    # does the copying instead (storage.checkpointer), and the writer's inline one past 64 MiB
    # is only the backstop that lets the log start over.
    "PRAGMA wal_autocheckpoint = 16384",
    # ...after which the WAL file is truncated back to at most 64 MiB.
    "PRAGMA journal_size_limit = 67108864",
)

@MIGRATIONS()
def m001_spans(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE resources (
            resource_id INTEGER PRIMARY KEY,  -- content hash of the resource + schema URL
            service_name TEXT,
            attributes TEXT NOT NULL,
            dropped_attributes_count INTEGER NOT NULL,
            entity_refs TEXT NOT NULL,
            schema_url TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE scopes (
            scope_id INTEGER PRIMARY KEY,  -- content hash of the scope + ScopeSpans schema URL
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            attributes TEXT NOT NULL,
            dropped_attributes_count INTEGER NOT NULL,
            schema_url TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE spans (
            trace_id TEXT NOT NULL,
            span_id TEXT NOT NULL,
            parent_span_id TEXT,
            name TEXT NOT NULL,
            kind INTEGER NOT NULL,
            start_time_unix_nano INTEGER NOT NULL,
            end_time_unix_nano INTEGER NOT NULL,
            status_code INTEGER NOT NULL,
            status_message TEXT NOT NULL,
            trace_state TEXT NOT NULL,
            flags INTEGER NOT NULL,
            attributes TEXT NOT NULL,
            events TEXT NOT NULL,
            links TEXT NOT NULL,
            dropped_attributes_count INTEGER NOT NULL,
            dropped_events_count INTEGER NOT NULL,
            dropped_links_count INTEGER NOT NULL,
            service_name TEXT,
            resource_id INTEGER NOT NULL,
            scope_id INTEGER NOT NULL,
            PRIMARY KEY (trace_id, span_id)
        )"""
    )
    db.execute(
        """
        CREATE TABLE traces (
            trace_id TEXT PRIMARY KEY,
            root_span_id TEXT,
            root_name TEXT,
            has_root INTEGER NOT NULL,
            service_name TEXT,
            start_time_unix_nano INTEGER NOT NULL,
            end_time_unix_nano INTEGER NOT NULL,
            span_count INTEGER NOT NULL,
            error_count INTEGER NOT NULL,
            updated_unix_nano INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX traces_by_start ON traces (start_time_unix_nano DESC, trace_id DESC)")
    db.execute("CREATE INDEX traces_by_service ON traces (service_name, start_time_unix_nano DESC)")


@MIGRATIONS()
def m002_logs_and_metrics(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE logs (
            log_id INTEGER PRIMARY KEY,  -- content hash: a record sent twice is stored once
            trace_id TEXT,
            span_id TEXT,
            time_unix_nano INTEGER NOT NULL,
            observed_time_unix_nano INTEGER NOT NULL,
            severity_number INTEGER NOT NULL,
            severity_text TEXT NOT NULL,
            event_name TEXT NOT NULL,  -- the OTLP field as sent; readers fall back to event.name
            body TEXT NOT NULL,  -- typed OTLP/JSON AnyValue, or null
            attributes TEXT NOT NULL,
            dropped_attributes_count INTEGER NOT NULL,
            flags INTEGER NOT NULL,
            service_name TEXT,
            resource_id INTEGER NOT NULL,
            scope_id INTEGER NOT NULL
        )"""
    )
    # Joined to spans when read, so records arriving before their span need nothing special.
    db.execute("CREATE INDEX logs_by_trace ON logs (trace_id, time_unix_nano) WHERE trace_id IS NOT NULL")
    db.execute(
        """
        CREATE TABLE metric_points (
            point_id INTEGER PRIMARY KEY,  -- content hash: a point sent twice is stored once
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            unit TEXT NOT NULL,
            kind TEXT NOT NULL,  -- gauge | sum | histogram | exponential_histogram | summary
            aggregation_temporality INTEGER,
            is_monotonic INTEGER,
            start_time_unix_nano INTEGER NOT NULL,
            time_unix_nano INTEGER NOT NULL,
            value,  -- no type affinity: an int stays an int, a double a double
            count INTEGER,
            sum REAL,
            min REAL,
            max REAL,
            data TEXT NOT NULL,  -- the whole point as protobuf JSON (buckets, exemplars, …)
            attributes TEXT NOT NULL,
            flags INTEGER NOT NULL,
            metadata TEXT NOT NULL,
            service_name TEXT,
            resource_id INTEGER NOT NULL,
            scope_id INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX metric_points_by_name ON metric_points (name, time_unix_nano)")


# The canonical GenAI fields of a span (receiver.genai), in column order, with their types.
GENAI_SPAN_COLUMNS = (
    ("operation", "TEXT"), ("provider", "TEXT"), ("request_model", "TEXT"), ("response_model", "TEXT"),
    ("input_tokens", "INTEGER"), ("output_tokens", "INTEGER"), ("cache_read_tokens", "INTEGER"),
    ("cache_write_tokens", "INTEGER"), ("reasoning_tokens", "INTEGER"), ("temperature", "REAL"),
    ("top_p", "REAL"), ("seed", "INTEGER"), ("max_tokens", "INTEGER"), ("finish_reasons", "TEXT"),
    ("response_id", "TEXT"), ("tool_name", "TEXT"), ("tool_call_id", "TEXT"), ("is_streaming", "INTEGER"),
    ("agent_name", "TEXT"), ("session_id", "TEXT"), ("user_id", "TEXT"), ("ttft_ms", "REAL"),
    ("error_type", "TEXT"), ("display_name", "TEXT"), ("genai_extras", "TEXT"),
    ("cost_usd", "REAL"), ("cost_breakdown", "TEXT"), ("duplicate_of", "TEXT"),
)


@MIGRATIONS()
def m003_genai(db: Database) -> None:
    for name, sql_type in GENAI_SPAN_COLUMNS:
        db.execute(f"ALTER TABLE spans ADD COLUMN {name} {sql_type}")
    # The same model call reported twice (a provider SDK's own tracing beside an instrumentation)
    # is found by response id within one service.
    db.execute("CREATE INDEX spans_by_response ON spans (response_id, service_name) WHERE response_id IS NOT NULL")
    # Log records emitted after their span closed carry no ids: they join by response id.
    db.execute("ALTER TABLE logs ADD COLUMN response_id TEXT")
    db.execute("CREATE INDEX logs_by_response ON logs (response_id) WHERE response_id IS NOT NULL")
    for name, sql_type in (("input_tokens", "INTEGER"), ("output_tokens", "INTEGER"),
                           ("cache_read_tokens", "INTEGER"), ("cache_write_tokens", "INTEGER"),
                           ("cost_usd", "REAL"), ("llm_calls", "INTEGER NOT NULL DEFAULT 0"),
                           ("unpriced_calls", "INTEGER NOT NULL DEFAULT 0"), ("models", "TEXT"),
                           ("session_id", "TEXT")):
        db.execute(f"ALTER TABLE traces ADD COLUMN {name} {sql_type}")
    db.execute("CREATE INDEX traces_by_session ON traces (session_id, start_time_unix_nano) "
               "WHERE session_id IS NOT NULL")


@MIGRATIONS()
def m004_mark_duplicates_on_insert(db: Database) -> None:
    # A model call reported twice (a provider SDK's own tracing beside an instrumentation
    # library) has one response id in one service: a later copy points at the first and stays
    # out of totals. A trigger does it inside the INSERT, where it costs one index probe per
    # span with a response id and no extra statement.
    db.execute("""
        CREATE TRIGGER spans_mark_duplicate AFTER INSERT ON spans
        WHEN NEW.response_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM spans AS earlier
            WHERE earlier.response_id = NEW.response_id AND earlier.service_name IS NEW.service_name
              AND earlier.rowid < NEW.rowid)
        BEGIN
            UPDATE spans SET duplicate_of = (
                SELECT earlier.span_id FROM spans AS earlier
                WHERE earlier.response_id = NEW.response_id AND earlier.service_name IS NEW.service_name
                  AND earlier.rowid < NEW.rowid
                ORDER BY earlier.rowid LIMIT 1)
            WHERE rowid = NEW.rowid;
        END""")


@MIGRATIONS()
def m005_prices(db: Database) -> None:
    # A priced span refers to the price it was costed at; its breakdown (tokens x rates) is
    # derived when read. Before this, each span carried the breakdown as text (kept as is).
    db.execute("""
        CREATE TABLE prices (
            price_id INTEGER PRIMARY KEY,  -- content hash: one row per price and UTC day
            input_mtok REAL NOT NULL,
            output_mtok REAL NOT NULL,
            cache_read_mtok REAL,
            cache_write_mtok REAL,
            source TEXT NOT NULL,
            model_ref TEXT NOT NULL,
            provider TEXT,
            price_date TEXT
        )""")
    db.execute("ALTER TABLE spans ADD COLUMN price_id INTEGER")


@MIGRATIONS()
def m006_response_ids_table(db: Database) -> None:
    # Duplicates are now found by the writer (receiver.storage.response_ids) against this table,
    # filled in sorted bulk merges, instead of a trigger probing an index kept on every insert.
    # service_key: "" for a span without a service, "=" + the name otherwise.
    db.execute("""
        CREATE TABLE response_ids (
            response_id TEXT NOT NULL,
            service_key TEXT NOT NULL,
            span_id TEXT NOT NULL,  -- the first span stored with this response id in this service
            PRIMARY KEY (response_id, service_key)
        ) WITHOUT ROWID""")
    db.execute("CREATE TABLE writer_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID")
    db.execute("""
        INSERT INTO response_ids (response_id, service_key, span_id)
        SELECT response_id, coalesce('=' || service_name, ''), span_id FROM spans
        WHERE response_id IS NOT NULL AND duplicate_of IS NULL ORDER BY rowid
        ON CONFLICT DO NOTHING""")
    db.execute("INSERT INTO writer_state (name, value) SELECT 'response_ids_merged_through', "
               "coalesce(max(rowid), 0) FROM spans")
    db.execute("DROP TRIGGER spans_mark_duplicate")
    db.execute("DROP INDEX spans_by_response")


@MIGRATIONS()
def m007_text_index(db: Database) -> None:
    # Full-text search over span and log text (receiver.storage.text_index): indexes what is
    # stored already, so a large database takes a while once (about 40 µs per span).
    create_text_index(db.conn)


@MIGRATIONS()
def m008_usage_rollups(db: Database) -> None:
    # Per-minute usage and latency histograms for meters and charts (receiver.storage.usage),
    # filled from what is stored.
    create_usage_tables(db.conn)


@MIGRATIONS()
def m009_unlinked_logs(db: Database) -> None:
    # The logs page lists log records linked to no span (app logs, events sent without ids),
    # newest first.
    db.execute("CREATE INDEX logs_unlinked ON logs (time_unix_nano DESC) WHERE trace_id IS NULL")


@MIGRATIONS()
def m010_cost_by_attribute(db: Database) -> None:
    # Cost by attribute for the configured keys (receiver.storage.cost_attributes), filled from
    # what is stored.
    create_cost_tables(db.conn)


@MIGRATIONS()
def m011_pins_and_propagation(db: Database) -> None:
    # Pinned traces (receiver.storage.pins): kept by retention, listed by a filter.
    create_pins_table(db.conn)
    # Spans whose parent is not stored: a trace broken by lost context propagation shows it
    # in the list. Filled from what is stored (one index probe per span).
    db.execute("ALTER TABLE traces ADD COLUMN orphan_spans INTEGER NOT NULL DEFAULT 0")
    db.execute(f"UPDATE traces SET orphan_spans = ({ORPHAN_SPANS_SQL.format(trace='traces.trace_id')})")
    # `tool:NAME` in the filter bar: the traces that called a tool, without reading every span.
    db.execute("CREATE INDEX spans_by_tool ON spans (tool_name, trace_id) WHERE tool_name IS NOT NULL")


@MIGRATIONS()
def m012_attribute_value_index(db: Database) -> None:
    # `attr.KEY=value` in the filter bar, for a kept (cost) key: the traces with the value,
    # from an index, instead of a probe per trace of the whole list.
    db.execute("CREATE INDEX trace_attribute_values_by_value ON trace_attribute_values (key, value)")


@MIGRATIONS()
def m013_retention_indexes(db: Database) -> None:
    # Retention (receiver.storage.retention_runner) finds the traces nothing has arrived for
    # since the age budget's cutoff, and the oldest metric points, without a scan.
    db.execute("CREATE INDEX traces_by_update ON traces (updated_unix_nano)")
    db.execute("CREATE INDEX metric_points_by_time ON metric_points (time_unix_nano)")


@MIGRATIONS()
def m014_evaluations(db: Database) -> None:
    # Evaluation results and annotations (receiver.storage.evaluation_rows), filled from the
    # log records and spans stored.
    create_evaluations_table(db.conn)
    fill_evaluations(db.conn)


@MIGRATIONS()
def m015_evaluation_time_indexes(db: Database) -> None:
    # The charts' evaluator summaries and series read a time window, and the meters' flagged
    # answers the failed results of one, on every refresh: without these, a scan of the table.
    db.execute("CREATE INDEX evaluations_by_time ON evaluations (time_unix_nano)")
    db.execute("CREATE INDEX evaluations_failed_by_time ON evaluations (time_unix_nano) WHERE passed = 0")


def open_write_db(path: Path) -> Database:
    """Open (creating if needed) and migrate the database for the one writer thread."""
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise StorageFailed(f"SQLite {sqlite3.sqlite_version} is too old: Tracepane needs "
                            f"{'.'.join(map(str, MIN_SQLITE))} or newer (Python's sqlite3 module uses "
                            "the SQLite library it was built with)")
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=True)
    # A new file gives back the pages retention frees (retention_budget.shrink); on an existing
    # one this changes nothing until a VACUUM (the writer's, when half the file is free).
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    for pragma in WRITE_PRAGMAS:
        conn.execute(pragma)
    register_functions(conn)
    db = Database(conn, execute_plugins=False)
    MIGRATIONS.apply(db)
    return db
