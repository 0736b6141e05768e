"""`SpanAnalyser`: normalise and price one span, giving its stored GenAI columns (runs on the
ingest path, once per span received: kept to plain tuple work)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from receiver.genai.coerce import Memo
from receiver.genai.normalise import normalise
from receiver.genai.pricing import NO_PRICE_MARKER, PriceBook
from receiver.genai.span_view import SpanView
from receiver.otlp.values import JSON
from receiver.records import PriceRecord

__all__ = ["SpanAnalyser"]


class SpanAnalyser:
    """Normalises and prices spans. One per receiver; safe to share between threads (the
    caches only ever add entries)."""

    def __init__(self, *, price_file: Path | None = None, store_content: bool = True) -> None:
        self.price_book = PriceBook(price_file)
        self.store_content = store_content

    def analyse(self, span: SpanView) -> tuple[tuple, PriceRecord | None]:
        """The span's GenAI columns (`records.GENAI_FIELDS`, then `price_id`) and the price its
        cost came from. A priced span stores its cost and a reference to the price; its
        breakdown is derived when read (tokens x rates: the same arithmetic), which keeps a few
        hundred bytes of text per model call out of the database. A model call with tokens but
        no known price stores the "no price" marker instead."""
        f = normalise(span, content=False)  # content is derived when the span is read
        cost = price = breakdown = None
        if f.input_tokens is not None or f.output_tokens is not None:
            priced = None
            if f.response_model or f.request_model:
                priced = self.price_book.stored_cost(
                    f.provider, f.response_model, f.request_model, f.input_tokens, f.output_tokens,
                    f.cache_read_tokens, f.cache_write_tokens, span.start_time_unix_nano or None)
            if priced is None:
                breakdown = NO_PRICE_MARKER
            else:
                cost, price = priced
        return (
            f.operation, f.provider, f.request_model, f.response_model, f.input_tokens, f.output_tokens,
            f.cache_read_tokens, f.cache_write_tokens, f.reasoning_tokens, f.temperature, f.top_p, f.seed,
            f.max_tokens, _str_list_json(f.finish_reasons), f.response_id, f.tool_name, f.tool_call_id,
            None if f.is_streaming is None else int(f.is_streaming), f.agent_name, f.session_id, f.user_id,
            f.ttft_ms, f.error_type, f.display_name, _json_or_none(f.extras) if f.extras else None,
            cost, breakdown,
            None,  # duplicate_of: set by the writer, which knows the stored spans (storage.response_ids)
            None if price is None else price.price_id,
        ), price


def _str_list_json(items: list[str] | None) -> str | None:
    """Finish reasons as JSON: a handful of distinct lists, each encoded once."""
    return None if items is None else _FINISH_LISTS_JSON[tuple(items)]


def _json_or_none(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return JSON.encode(value)
    except (TypeError, ValueError):  # NaN or an odd type in a sender's JSON: keep it readable
        return JSON.encode(str(value))


_FINISH_LISTS_JSON = Memo(_json_or_none)  # tuple of reasons -> its JSON array
