"""`SpanAnalyser`: normalise and price one span (runs on the ingest path)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from receiver.genai.fields import GenAiFields
from receiver.genai.normalise import normalise
from receiver.genai.pricing import PriceBook
from receiver.genai.span_view import SpanView
from receiver.records import PriceRecord


@dataclass(slots=True)
class SpanAnalysis:
    fields: GenAiFields
    cost_usd: float | None
    price: PriceRecord | None  # the price the cost came from (its breakdown is derived when read)
    unpriced: bool  # a model call with tokens whose model has no known price


class SpanAnalyser:
    """Normalises and prices spans. One per receiver; safe to share between threads (the
    price book's caches only ever add entries)."""

    def __init__(self, *, price_file: Path | None = None, store_content: bool = True) -> None:
        self.price_book = PriceBook(price_file)
        self.store_content = store_content

    def analyse(self, span: SpanView) -> SpanAnalysis:
        fields = normalise(span, content=False)  # content is derived when the span is read
        cost = None
        has_usage = fields.input_tokens is not None or fields.output_tokens is not None
        if has_usage and (fields.response_model or fields.request_model):
            cost = self.price_book.stored_cost(
                fields.provider, fields.response_model, fields.request_model,
                input_tokens=fields.input_tokens, output_tokens=fields.output_tokens,
                cache_read_tokens=fields.cache_read_tokens, cache_write_tokens=fields.cache_write_tokens,
                when_unix_nano=span.start_time_unix_nano or None)
        if cost is None:
            return SpanAnalysis(fields, None, None, unpriced=has_usage)
        return SpanAnalysis(fields, *cost, unpriced=False)
