"""Recompute stored costs after prices change (a new genai-prices release, or an edited
price file): `tracepane reprice`. Works in chunks, one transaction each, so a receiver
writing to the same file waits at most one chunk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from receiver.genai.pricing import NO_PRICE_MARKER, PriceBook
from receiver.records import PriceRecord
from receiver.storage import cost_attributes
from receiver.storage.batch_rows import INSERT_PRICE, refresh_trace_rollups
from receiver.storage.schema import open_write_db
from receiver.storage.usage import rebuild as rebuild_usage

CHUNK_SPANS = 2_000


@dataclass(frozen=True, slots=True)
class RepriceResult:
    spans_priced: int
    spans_changed: int
    traces_updated: int


def reprice(db_path: Path, price_book: PriceBook) -> RepriceResult:
    db = open_write_db(db_path)
    priced = changed = 0
    touched: set[str] = set()
    last_rowid = 0
    try:
        while True:
            rows = db.execute(
                "SELECT rowid, trace_id, provider, response_model, request_model, input_tokens, output_tokens, "
                "cache_read_tokens, cache_write_tokens, start_time_unix_nano, cost_usd, "
                "cost_breakdown, price_id FROM spans "
                "WHERE rowid > ? AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL) "
                "ORDER BY rowid LIMIT ?", [last_rowid, CHUNK_SPANS]).fetchall()
            if not rows:
                break
            updates = []
            prices: dict[int, PriceRecord] = {}
            for (rowid, trace_id, provider, response_model, request_model, tokens_in, tokens_out, cache_read,
                 cache_write, start, old_cost, old_breakdown, old_price_id) in rows:
                cost = price_book.stored_cost(provider, response_model, request_model, tokens_in, tokens_out,
                                              cache_read, cache_write, start or None)
                # as the ingest path stores it: a priced span refers to its price, an unpriced one says so
                new_cost, price = cost if cost else (None, None)
                breakdown = None if cost else NO_PRICE_MARKER
                price_id = price.price_id if price else None
                priced += cost is not None
                if (new_cost, breakdown, price_id) != (old_cost, old_breakdown, old_price_id):
                    if price:
                        prices[price.price_id] = price
                    updates.append((new_cost, breakdown, price_id, rowid))
                    touched.add(trace_id)
            with db.atomic():
                db.conn.executemany(INSERT_PRICE, prices.values())
                db.conn.executemany("UPDATE spans SET cost_usd = ?, cost_breakdown = ?, price_id = ? WHERE rowid = ?",
                                    updates)
            changed += len(updates)
            last_rowid = rows[-1][0]
        ordered = sorted(touched)
        for start in range(0, len(ordered), CHUNK_SPANS):
            with db.atomic():
                refresh_trace_rollups(db.conn, ordered[start:start + CHUNK_SPANS])
        if changed:
            with db.atomic():
                rebuild_usage(db.conn)
                cost_attributes.rebuild(db.conn)
    finally:
        db.close()
    return RepriceResult(priced, changed, len(touched))
