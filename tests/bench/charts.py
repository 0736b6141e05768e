"""The charts page on a big database: how long the series of 24 hours of traffic take to read
from the rollups and to draw.

Takes a copy of a database (default: the 1,000,000-span one `trace_list.py` builds) and
spreads its per-minute rollups over the 24 hours before now, as a day of the same traffic
(the rollups are all the charts read; the spans stay as they are). Then times, median of
--repeat runs: reading the series (`TraceStore.usage_series`, 15-minute steps), and drawing
them on the real charts page offscreen until painted; the same for cost by a kept attribute
key; and cost by a key not kept, computed from every stored span.

    .venv/bin/python -m tests.bench.charts --db /tmp/bench1m.db [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from receiver import TraceStore  # noqa: E402

DAY_MINUTES = 24 * 60
ATTRIBUTE_KEY = "user.id"  # kept at ingestion; the workload has 5,000 users
UNKEPT_KEY = "gen_ai.agent.id"  # not kept: computed from the spans with progress


def spread_over_a_day(db: Path, now_minute: int) -> tuple[int, int, int]:
    """Copy the usage and latency rollups' minutes, in turn, onto every minute of the last 24
    hours (a day of the same traffic); stretch the cost-by-attribute minutes over the day (the
    stored traces, each counted once, as one day's); return the rows of each table."""
    conn = sqlite3.connect(db)
    with conn:
        (first, last) = conn.execute("SELECT min(minute), max(minute) FROM cost_minutes").fetchone()
        conn.execute("UPDATE cost_minutes SET minute = :start + (minute - :first) * :day / :length",
                     {"start": now_minute - DAY_MINUTES + 1, "first": first, "day": DAY_MINUTES,
                      "length": last - first + 1})
        for table in ("usage_minutes", "latency_minutes"):
            columns = ", ".join(f"s.{name}" for _, name, *_ in conn.execute(f"PRAGMA table_info({table})")
                                if name != "minute")
            conn.execute(f"CREATE TEMP TABLE source AS SELECT * FROM {table}")
            (first, last) = conn.execute("SELECT min(minute), max(minute) FROM source").fetchone()
            conn.execute(f"DELETE FROM {table}")
            conn.execute(f"""INSERT INTO {table} (minute, {columns.replace('s.', '')})
                WITH RECURSIVE d(value) AS (SELECT 0 UNION ALL SELECT value + 1 FROM d WHERE value < {DAY_MINUTES - 1})
                SELECT :start + d.value, {columns} FROM d JOIN temp.source AS s
                ON s.minute - :first = d.value % :length""",
                         {"start": now_minute - DAY_MINUTES + 1, "first": first, "length": last - first + 1})
            conn.execute("DROP TABLE temp.source")
    rows = tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("usage_minutes", "latency_minutes", "cost_minutes"))
    conn.close()
    return rows


def measure(source: Path, repeat: int) -> dict[str, float]:
    """Median ms to read 24 hours of series and to draw them, on a copy of `source`."""
    tmp = Path(tempfile.mkdtemp())
    db = tmp / "charts.db"
    shutil.copyfile(source, db)
    now_minute = time.time_ns() // 60_000_000_000
    usage_rows, latency_rows, cost_rows = spread_over_a_day(db, now_minute)
    store = TraceStore(db)
    print(f"charts: {store.stats().spans:,} spans stored; rollups of 24 h: {usage_rows:,} usage rows, "
          f"{latency_rows:,} histogram rows, {cost_rows:,} cost-by-attribute rows")

    from app.widgets.charts_page import ChartsPage

    app = QApplication.instance() or QApplication(sys.argv[:1])
    page = ChartsPage()
    page.resize(1440, 860)
    page.show()
    reads, draws, attribute_reads, attribute_draws = [], [], [], []
    day_ns = ((now_minute + 1 - DAY_MINUTES) * 60_000_000_000, (now_minute + 1) * 60_000_000_000)
    for _ in range(repeat):
        started = time.perf_counter()
        costs = store.attribute_costs(ATTRIBUTE_KEY, *day_ns)
        attribute_reads.append(time.perf_counter() - started)
        started = time.perf_counter()
        page.attributes.show_costs(costs)
        page.repaint()
        app.processEvents()
        attribute_draws.append(time.perf_counter() - started)
        started = time.perf_counter()
        series = store.usage_series(now_minute + 1 - DAY_MINUTES, now_minute + 1, 15)
        reads.append(time.perf_counter() - started)
        started = time.perf_counter()
        page.show_series(series)
        page.repaint()
        app.processEvents()
        draws.append(time.perf_counter() - started)
    page.close()
    started = time.perf_counter()
    scanned = store.attribute_costs(UNKEPT_KEY, progress=lambda done, total: None)
    scan = time.perf_counter() - started
    values = len(costs.values) + (int(costs.others.value.split()[0]) if costs.others else 0)
    print(f"cost by {ATTRIBUTE_KEY}, 24 h: {values:,} values; by {UNKEPT_KEY} (not kept), every trace: "
          f"{sum(v.traces for v in scanned.values) + (scanned.others.traces if scanned.others else 0):,} traces")
    store.close()
    shutil.rmtree(tmp)
    read, draw = statistics.median(reads) * 1000, statistics.median(draws) * 1000
    attribute_read = statistics.median(attribute_reads) * 1000
    attribute_draw = statistics.median(attribute_draws) * 1000
    return {"charts, 24 h: read the series (ms)": read, "charts, 24 h: draw all eight until painted (ms)": draw,
            "charts, 24 h: together (ms)": read + draw,
            f"cost by {ATTRIBUTE_KEY}, 24 h: read (ms)": attribute_read,
            f"cost by {ATTRIBUTE_KEY}, 24 h: draw until painted (ms)": attribute_draw,
            f"cost by {UNKEPT_KEY} (not kept), every trace, from the spans (ms)": scan * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for name, value in measure(args.db, args.repeat).items():
        print(f"{name:50} {value:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
