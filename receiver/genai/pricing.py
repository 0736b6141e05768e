"""Cost of a model call, computed at ingestion from genai-prices' bundled (offline) price data
plus an optional user price file.

Token arithmetic (the OTel meaning, see `fields.py`): `input_tokens` counts ALL input tokens,
cache reads and writes included; `output_tokens` includes `reasoning_tokens`. So the cost is
    max(0, input - cache_read - cache_write) * input rate + cache_read * cache-read rate
    + cache_write * cache-write rate + output * output rate      (rates in USD per million tokens)
where a missing cache rate means the input rate. Missing counts are 0; a call with neither input
nor output tokens is not priced.

Prices are resolved once per (provider, model, UTC day) and cached; the per-span arithmetic is
ours. From genai-prices we take the standard per-million-token rates: input, output, cache read,
cache write (the 5-minute one; a 1-hour write is not told apart in telemetry). Tiered prices use
their base tier (calls above e.g. 200k input tokens are under-priced); price variants (batch,
priority), per-request fees and non-token units (audio hours, characters) are ignored, and a model
priced only in such units has no price. Date-based prices follow the call's day, time-of-day ones
(DeepSeek peak hours) its UTC time. The response model is tried first, then the request model.
An unknown provider (or none) finds well-known models by name; a known provider lacking the
model, or an unknown model, gives no price, never a guess.

User price file (TOML), overriding or adding models; entries win over genai-prices, the first
matching entry wins, a missing file means no overrides:

    [[model]]
    provider = "openai"          # optional, any provider when absent; OTel name or genai-prices id
    match = "my-finetune-*"      # exact name, or a glob (case-insensitive)
    input_mtok = 3.0             # USD per million input tokens
    output_mtok = 12.0
    cache_read_mtok = 1.5        # optional
    cache_write_mtok = 3.75      # optional
"""

from __future__ import annotations

import fnmatch
import functools
import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import time_ns
from typing import Any

import genai_prices
from genai_prices import types as gp
from genai_prices.data_snapshot import DataSnapshot, find_provider_by_id

from receiver.records import PriceRecord, content_id

_NS_PER_DAY = 86_400 * 10**9
# OTel `gen_ai.provider.name` values whose genai-prices id differs (the rest are identical).
# Azure's provider in genai-prices falls back to OpenAI/Anthropic/... models; Google's to Anthropic.
PROVIDER_IDS = {
    "aws.bedrock": "aws", "azure.ai.openai": "azure", "azure.ai.inference": "azure", "gcp.gemini": "google",
    "gcp.vertex_ai": "google", "gcp.gen_ai": "google", "mistral_ai": "mistral", "x_ai": "x-ai",
    "moonshot_ai": "moonshotai",
}
# The stored breakdown of a model call with tokens whose model has no known price.
NO_PRICE_MARKER = '{"no_price":true}'
_USER_KEYS = {"provider", "match", "input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"}


@functools.lru_cache(maxsize=1024)
def _day_text_of(day: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date().isoformat()


class PriceFileError(Exception):
    """The user price file cannot be read or is malformed."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input_mtok: float  # USD per million tokens
    output_mtok: float
    cache_read_mtok: float | None  # None: no separate rate, the input rate applies
    cache_write_mtok: float | None
    source: str  # "genai-prices 0.2.3" or "user price file /path"
    model_ref: str  # matched model id (or the user entry's `match`)
    provider: str | None


@dataclass(slots=True)  # not frozen: a frozen dataclass is slow to build, and one is built per priced span
class CostBreakdown:
    uncached_input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int  # part of output_tokens, shown for information
    uncached_input_usd: float
    cache_read_usd: float
    cache_write_usd: float
    output_usd: float
    total_usd: float
    price: ModelPrice
    price_date: str | None = None  # the UTC day whose price applied (prices change over time)

    def to_json(self) -> dict[str, Any]:
        p = self.price
        return {
            "tokens": {"uncached_input": self.uncached_input_tokens, "cache_read": self.cache_read_tokens,
                       "cache_write": self.cache_write_tokens, "output": self.output_tokens,
                       "reasoning": self.reasoning_tokens},
            "rates_per_mtok": {"input": p.input_mtok, "output": p.output_mtok, "cache_read": p.cache_read_mtok,
                               "cache_write": p.cache_write_mtok},
            "usd": {"uncached_input": self.uncached_input_usd, "cache_read": self.cache_read_usd,
                    "cache_write": self.cache_write_usd, "output": self.output_usd},
            "total_usd": self.total_usd, "source": p.source, "model_ref": p.model_ref, "provider": p.provider,
            "price_date": self.price_date,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CostBreakdown:
        t, r, u = data["tokens"], data["rates_per_mtok"], data["usd"]
        price = ModelPrice(r["input"], r["output"], r["cache_read"], r["cache_write"], data["source"],
                           data["model_ref"], data["provider"])
        return cls(t["uncached_input"], t["cache_read"], t["cache_write"], t["output"], t["reasoning"],
                   u["uncached_input"], u["cache_read"], u["cache_write"], u["output"], data["total_usd"], price,
                   data.get("price_date"))


def price_tokens(price: ModelPrice, price_date: str | None, *, input_tokens: int | None,
                 output_tokens: int | None, cache_read_tokens: int | None, cache_write_tokens: int | None,
                 reasoning_tokens: int | None) -> CostBreakdown:
    """The breakdown of one call's cost, as shown when a stored span is read (spans keep their
    tokens and a reference to the price, not the breakdown's text)."""
    tokens = _token_parts(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
    usd = _usd(_Rates.of(price), *tokens)
    return CostBreakdown(*tokens, reasoning_tokens or 0, *usd, sum(usd), price, price_date)


def _token_parts(input_tokens: int | None, output_tokens: int | None, cache_read_tokens: int | None,
                 cache_write_tokens: int | None) -> tuple[int, int, int, int]:
    """Uncached input, cache reads, cache writes and output; missing counts are 0."""
    read, write = cache_read_tokens or 0, cache_write_tokens or 0
    uncached = max(0, (input_tokens or 0) - read - write)  # the caller fixes senders that exclude cache
    return uncached, read, write, output_tokens or 0


@dataclass(frozen=True, slots=True)
class _Rates:
    """A price's rates per part of `_token_parts` (USD per million tokens)."""

    input_mtok: float
    output_mtok: float
    read_mtok: float
    write_mtok: float

    @classmethod
    def of(cls, price: ModelPrice) -> _Rates:  # a missing cache rate is the input rate
        return cls(price.input_mtok, price.output_mtok,
                   price.input_mtok if price.cache_read_mtok is None else price.cache_read_mtok,
                   price.input_mtok if price.cache_write_mtok is None else price.cache_write_mtok)


def _usd(rates: _Rates, uncached: int, read: int, write: int, out: int) -> tuple[float, float, float, float]:
    """USD for each part of `_token_parts`: the one arithmetic of cost."""
    return (uncached * rates.input_mtok / 1e6, read * rates.read_mtok / 1e6, write * rates.write_mtok / 1e6,
            out * rates.output_mtok / 1e6)


def _price_row(price: ModelPrice, price_date: str | None) -> PriceRecord:
    """The stored row of a price on a day (built once per model and day: see `_with_row`)."""
    identity = json.dumps([price.input_mtok, price.output_mtok, price.cache_read_mtok, price.cache_write_mtok,
                           price.source, price.model_ref, price.provider, price_date]).encode()
    return PriceRecord(content_id(identity), price.input_mtok, price.output_mtok, price.cache_read_mtok,
                       price.cache_write_mtok, price.source, price.model_ref, price.provider, price_date)


def stored_price(record: PriceRecord) -> tuple[ModelPrice, str | None]:
    """A `prices` row back as the price it was (and its day)."""
    _, input_mtok, output_mtok, cache_read, cache_write, source, model_ref, provider, price_date = record
    return ModelPrice(input_mtok, output_mtok, cache_read, cache_write, source, model_ref, provider), price_date


# A price and its stored row on one day: built together once, so pricing a span hashes nothing.
_Priced = tuple[ModelPrice, PriceRecord]


@dataclass(frozen=True, slots=True)
class _DayPrices:  # a model's price on one UTC day; time-of-day windows (UTC seconds, first wins) override it
    default: _Priced | None
    windows: tuple[tuple[int, int, _Priced | None], ...] = ()

    def at(self, second: int) -> _Priced | None:
        for start, end, priced in self.windows:
            if (start <= second < end) if start <= end else not (end <= second < start):  # may wrap midnight
                return priced
        return self.default


def _with_row(price: ModelPrice | None, day_text: str) -> _Priced | None:
    return None if price is None else (price, _price_row(price, day_text))


@functools.cache
def _snapshot() -> DataSnapshot:
    # Our own snapshot of the bundled data, so an UpdatePrices elsewhere in the process can't switch us online.
    from genai_prices.data import providers
    return DataSnapshot(providers=providers, from_auto_update=False)


def default_price_file() -> Path:
    import platformdirs
    return platformdirs.user_data_path("tracepane", appauthor=False) / "price_overrides.toml"


_CallRates = tuple[_Rates, PriceRecord]  # what a call is costed at, and the stored row of that price
_NO_RATES = object()  # cached: no price for the call
_BY_TIME_OF_DAY = object()  # cached: a model priced by time of day, resolved per call
_MAX_CALL_RATES = 4096


class PriceBook:
    """Prices model calls. Safe to share between threads; lookups are cached per instance."""

    def __init__(self, user_price_file: Path | None = None) -> None:
        self._user = _read_price_file(user_price_file) if user_price_file is not None else []
        self._resolve = functools.lru_cache(maxsize=4096)(self._resolve_day)
        # (provider, response model, request model, UTC day) -> _CallRates | _NO_RATES | _BY_TIME_OF_DAY;
        # a plain dict shared by the decoding threads: a race only computes an entry twice
        self._call_rates: dict[tuple, _CallRates | object] = {}
        _snapshot()  # load the bundled price data now (~20 ms), not in the first request that has tokens

    def lookup(self, provider: str | None, model: str | None, when_unix_nano: int | None = None) -> ModelPrice | None:
        priced = self._priced(provider, model, when_unix_nano)
        return None if priced is None else priced[0]

    def cost(self, provider: str | None, response_model: str | None, request_model: str | None, *,
             input_tokens: int | None, output_tokens: int | None, cache_read_tokens: int | None = None,
             cache_write_tokens: int | None = None, reasoning_tokens: int | None = None,
             when_unix_nano: int | None = None) -> CostBreakdown | None:
        """A call's cost with its breakdown (None: no tokens, or no known price)."""
        priced = self._call_price(provider, response_model, request_model, input_tokens, output_tokens,
                                  when_unix_nano)
        if priced is None:
            return None
        price, record = priced
        return price_tokens(price, record.price_date, input_tokens=input_tokens, output_tokens=output_tokens,
                            cache_read_tokens=cache_read_tokens, cache_write_tokens=cache_write_tokens,
                            reasoning_tokens=reasoning_tokens)

    def stored_cost(self, provider: str | None, response_model: str | None, request_model: str | None,
                    input_tokens: int | None, output_tokens: int | None, cache_read_tokens: int | None,
                    cache_write_tokens: int | None, when_unix_nano: int | None) -> tuple[float, PriceRecord] | None:
        """What a span stores of its cost: the total and the price row it came from (the
        breakdown is derived when read). Runs for every model call received: one dict lookup
        per call gives its rates, then `_usd`'s arithmetic, inlined."""
        if input_tokens is None and output_tokens is None:
            return None
        when = time_ns() if when_unix_nano is None else when_unix_nano
        key = (provider, response_model, request_model, when // _NS_PER_DAY)
        call_rates = self._call_rates.get(key)
        if call_rates is None:
            call_rates = self._call_rates_of(*key)
        if call_rates is _BY_TIME_OF_DAY:
            priced = self._call_price(provider, response_model, request_model, input_tokens, output_tokens, when)
            call_rates = None if priced is None else (_Rates.of(priced[0]), priced[1])
        if call_rates is None or call_rates is _NO_RATES:  # (None: no price at this time of day)
            return None
        rates, record = call_rates
        read, write = cache_read_tokens or 0, cache_write_tokens or 0
        uncached = (input_tokens or 0) - read - write
        # term by term as `_usd` and `sum` do it, so the stored total equals the breakdown's
        return ((uncached if uncached > 0 else 0) * rates.input_mtok / 1e6 + read * rates.read_mtok / 1e6
                + write * rates.write_mtok / 1e6 + (output_tokens or 0) * rates.output_mtok / 1e6, record)

    def _call_rates_of(self, provider: str | None, response_model: str | None, request_model: str | None,
                       day: int) -> _CallRates | object:
        days = [self._resolve(provider, model, day) for model in (response_model, request_model) if model]
        if any(d.windows for d in days):
            call_rates: _CallRates | object = _BY_TIME_OF_DAY
        else:
            priced = next((d.default for d in days if d.default is not None), None)
            call_rates = _NO_RATES if priced is None else (_Rates.of(priced[0]), priced[1])
        if len(self._call_rates) >= _MAX_CALL_RATES:  # free-form model names: start over, never grow
            self._call_rates.clear()
        self._call_rates[provider, response_model, request_model, day] = call_rates
        return call_rates

    def _call_price(self, provider: str | None, response_model: str | None, request_model: str | None,
                    input_tokens: int | None, output_tokens: int | None, when_unix_nano: int | None
                    ) -> _Priced | None:
        """The price of a call with tokens: the response model's, else the request model's."""
        if input_tokens is None and output_tokens is None:
            return None
        return (self._priced(provider, response_model, when_unix_nano)
                or self._priced(provider, request_model, when_unix_nano))

    def _priced(self, provider: str | None, model: str | None, when_unix_nano: int | None) -> _Priced | None:
        if not model:
            return None
        when = time_ns() if when_unix_nano is None else when_unix_nano
        day, ns_of_day = divmod(when, _NS_PER_DAY)
        return self._resolve(provider, model, day).at(ns_of_day // 10**9)

    def _resolve_day(self, provider: str | None, model: str, day: int) -> _DayPrices:
        """The one (cached) lookup: user entries first, then genai-prices for that UTC day."""
        provider_key = provider.strip().lower() if provider else None
        gp_id = PROVIDER_IDS.get(provider_key, provider_key) if provider_key else None
        name = model.strip().lower()
        day_text = _day_text_of(day)
        for entry in self._user:
            if entry.provider in (None, provider_key, gp_id) and fnmatch.fnmatchcase(name, entry.model_ref.lower()):
                return _DayPrices(_with_row(entry, day_text))
        snapshot = _snapshot()
        # An unknown provider (or none) lets genai-prices find the model by name across providers.
        known = find_provider_by_id(snapshot.providers, gp_id) if gp_id else None
        try:
            found_provider, info = snapshot.find_provider_model(name, known, None, None)
        except LookupError:
            return _DayPrices(None)
        return _day_prices(info, found_provider.id, datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day), day_text)


def _day_prices(info: gp.ModelInfo, provider_id: str, day: datetime, day_text: str) -> _DayPrices:
    """Mirror ModelInfo.get_prices (last active conditional price wins, else the first) for one day."""
    def convert(prices: gp.ModelPrice) -> _Priced | None:
        return _with_row(_from_genai(prices, info.id, provider_id), day_text)

    if isinstance(info.prices, gp.ModelPrice):
        return _DayPrices(convert(info.prices))
    windows: list[tuple[int, int, _Priced | None]] = []
    default = info.prices[0].prices
    for conditional in reversed(info.prices):
        constraint = conditional.constraint
        if isinstance(constraint, gp.TimeOfDateConstraint):
            windows.append((_utc_second(constraint.start_time), _utc_second(constraint.end_time),
                            convert(conditional.prices)))
        elif constraint is None or constraint.active(day):
            default = conditional.prices
            break
    return _DayPrices(convert(default), tuple(windows))


def _utc_second(at: time) -> int:  # genai-prices' times are UTC; a naive one means UTC too
    offset = at.utcoffset() if at.tzinfo else None
    return (at.hour * 3600 + at.minute * 60 + at.second - int(offset.total_seconds() if offset else 0)) % 86_400


def _from_genai(prices: gp.ModelPrice, model_id: str, provider_id: str) -> ModelPrice | None:
    def rate(key: str) -> float | None:
        value = getattr(prices, key, None)
        if isinstance(value, gp.TieredPrices):
            value = value.base  # base tier only: see the module docstring
        return None if value is None else float(value)

    input_mtok, output_mtok = rate("input_mtok"), rate("output_mtok")
    if input_mtok is None and output_mtok is None and any(v is not None for v in vars(prices).values()):
        return None  # priced in other units only (audio hours, characters, requests): not by tokens
    # An entry with no prices at all is a free model; a missing side (embeddings' output) costs nothing.
    return ModelPrice(input_mtok or 0.0, output_mtok or 0.0, rate("cache_read_mtok"), rate("cache_write_mtok"),
                      f"genai-prices {genai_prices.__version__}", model_id, provider_id)


def _read_price_file(path: Path) -> list[ModelPrice]:
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise PriceFileError(f"price file {path}: cannot read it: {e}") from e
    entries = data.pop("model", [])
    if data:
        raise PriceFileError(f"price file {path}: unknown top-level keys {sorted(data)} (expected [[model]] tables)")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise PriceFileError(f"price file {path}: 'model' must be [[model]] tables")
    return [_user_entry(path, i, entry) for i, entry in enumerate(entries, 1)]


def _user_entry(path: Path, index: int, entry: dict[str, Any]) -> ModelPrice:
    where = f"price file {path}: [[model]] entry {index}"
    if unknown := set(entry) - _USER_KEYS:
        raise PriceFileError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_USER_KEYS)})")
    match, provider = entry.get("match"), entry.get("provider", "")
    if not isinstance(match, str) or not match.strip():
        raise PriceFileError(f"{where}: 'match' must be a non-empty model name or glob")
    if not isinstance(provider, str):
        raise PriceFileError(f"{where}: 'provider' must be a string")

    def rate(key: str) -> float | None:
        value = entry.get(key)
        if value is None and key.startswith("cache_"):
            return None  # optional: the input rate applies
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
            raise PriceFileError(f"{where}: '{key}' must be a non-negative number (USD per million tokens)")
        return float(value)

    return ModelPrice(rate("input_mtok") or 0.0, rate("output_mtok") or 0.0, rate("cache_read_mtok"),
                      rate("cache_write_mtok"), f"user price file {path}", match.strip(),
                      provider.strip().lower() or None)
