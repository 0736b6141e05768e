"""Pricing from genai-prices' bundled data (offline) plus a user price file.

Rates used below, as bundled in genai-prices 0.2.3 (USD per million tokens):
  openai gpt-4o-mini           input 0.15, output 0.60, cache read 0.075, no cache-write rate
  anthropic claude-sonnet-4-5  input 3.00, output 15.00, cache read 0.30, cache write 3.75 (base tier)
  mistral mistral-large        input 2.00, output 6.00, no cache rates
  deepseek deepseek-chat       off-peak input 0.135 / output 0.55; 00:30-16:30 UTC input 0.27 / output 1.10
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import platformdirs
import pytest

from receiver.genai import pricing
from receiver.genai.pricing import (
    CostBreakdown,
    ModelPrice,
    PriceBook,
    PriceFileError,
    default_price_file,
    stored_price,
)

M = 1_000_000


def ns(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 10**9


WHEN = ns(2025, 6, 1)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def test_uncached_gpt_4o_mini(book):
    cost = book.cost("openai", "gpt-4o-mini", "gpt-4o-mini", input_tokens=1000, output_tokens=200, when_unix_nano=WHEN)
    assert cost is not None
    assert (cost.uncached_input_tokens, cost.cache_read_tokens, cost.cache_write_tokens) == (1000, 0, 0)
    assert cost.uncached_input_usd == pytest.approx(1000 * 0.15 / M)
    assert cost.output_usd == pytest.approx(200 * 0.60 / M)
    assert cost.total_usd == pytest.approx(1000 * 0.15 / M + 200 * 0.60 / M)  # $0.00027
    assert cost.price == ModelPrice(0.15, 0.6, 0.075, None, "genai-prices 0.2.3", "gpt-4o-mini", "openai")


def test_cached_gpt_4o_mini_reasoning_is_part_of_output(book):
    cost = book.cost("openai", "gpt-4o-mini", None, input_tokens=2000, output_tokens=100, cache_read_tokens=1536,
                     reasoning_tokens=40, when_unix_nano=WHEN)
    assert (cost.uncached_input_tokens, cost.cache_read_tokens, cost.output_tokens, cost.reasoning_tokens) == (
        464, 1536, 100, 40)  # 2000 - 1536 = 464 uncached
    assert cost.cache_read_usd == pytest.approx(1536 * 0.075 / M)
    assert cost.total_usd == pytest.approx(464 * 0.15 / M + 1536 * 0.075 / M + 100 * 0.60 / M)


def test_anthropic_cache_read(book):
    # 1201 input = 177 uncached + 1024 read from cache
    cost = book.cost("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5", input_tokens=1201,
                     output_tokens=300, cache_read_tokens=1024, cache_write_tokens=0, when_unix_nano=WHEN)
    assert cost.uncached_input_tokens == 177
    assert cost.price.model_ref == "claude-sonnet-4-5"
    assert cost.total_usd == pytest.approx(177 * 3.00 / M + 1024 * 0.30 / M + 300 * 15.00 / M)


def test_anthropic_cache_write(book):
    # 588 input = 76 uncached + 512 written to the cache
    cost = book.cost("anthropic", "claude-sonnet-4-5", None, input_tokens=588, output_tokens=50,
                     cache_write_tokens=512, when_unix_nano=WHEN)
    assert (cost.uncached_input_tokens, cost.cache_write_tokens) == (76, 512)
    assert cost.cache_write_usd == pytest.approx(512 * 3.75 / M)
    assert cost.total_usd == pytest.approx(76 * 3.00 / M + 512 * 3.75 / M + 50 * 15.00 / M)


def test_missing_cache_rate_uses_the_input_rate(book):
    cost = book.cost("openai", "gpt-4o-mini", None, input_tokens=1000, output_tokens=0, cache_write_tokens=400,
                     when_unix_nano=WHEN)
    assert cost.total_usd == pytest.approx(600 * 0.15 / M + 400 * 0.15 / M)
    cost = book.cost("mistral_ai", "mistral-large-latest", None, input_tokens=1000, output_tokens=10,
                     cache_read_tokens=300, when_unix_nano=WHEN)
    assert cost.total_usd == pytest.approx(700 * 2.00 / M + 300 * 2.00 / M + 10 * 6.00 / M)


def test_uncached_input_is_never_negative(book):
    cost = book.cost("openai", "gpt-4o-mini", None, input_tokens=100, output_tokens=10, cache_read_tokens=150,
                     when_unix_nano=WHEN)
    assert cost.uncached_input_tokens == 0
    assert cost.total_usd == pytest.approx(150 * 0.075 / M + 10 * 0.60 / M)


def test_missing_counts_are_zero_but_no_tokens_at_all_is_no_cost(book):
    only_output = book.cost("openai", "gpt-4o-mini", None, input_tokens=None, output_tokens=10, when_unix_nano=WHEN)
    assert only_output.total_usd == pytest.approx(10 * 0.60 / M)
    assert book.cost("openai", "gpt-4o-mini", None, input_tokens=None, output_tokens=None) is None


def test_response_model_falls_back_to_request_model(book):
    dated = book.cost("openai", "gpt-4o-mini-2024-07-18", None, input_tokens=1000, output_tokens=0,
                      when_unix_nano=WHEN)
    assert dated.price.model_ref == "gpt-4o-mini"
    fallback = book.cost("openai", "my-deployment-7", "gpt-4o-mini", input_tokens=1000, output_tokens=0,
                         when_unix_nano=WHEN)
    assert fallback.price.model_ref == "gpt-4o-mini"
    assert fallback.total_usd == pytest.approx(1000 * 0.15 / M)
    no_response = book.cost("openai", None, "gpt-4o-mini", input_tokens=1000, output_tokens=0, when_unix_nano=WHEN)
    assert no_response.total_usd == pytest.approx(1000 * 0.15 / M)


def test_unknown_model_has_no_price(book):
    assert book.lookup("openai", "totally-unknown-model-xyz") is None
    assert book.lookup(None, "totally-unknown-model-xyz") is None
    assert book.lookup("openai", None) is None
    assert book.cost("openai", "unknown-a", "unknown-b", input_tokens=10, output_tokens=10) is None
    # A known provider that does not sell the model: no guess from another provider's price list.
    assert book.lookup("openai", "llama3.2") is None


@pytest.mark.parametrize(("provider", "model", "gp_provider", "model_ref"), [
    ("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", "aws",
     "regional.anthropic.claude-3-5-sonnet-20240620-v1:0"),
    ("azure.ai.openai", "gpt-4o-mini", "azure", "gpt-4o-mini"),  # Azure falls back to OpenAI's models
    ("gcp.vertex_ai", "gemini-2.5-flash", "google", "gemini-2.5-flash"),
    ("gcp.gemini", "gemini-2.5-flash", "google", "gemini-2.5-flash"),
    ("mistral_ai", "mistral-large-latest", "mistral", "mistral-large"),
    ("x_ai", "grok-3", "x-ai", "grok-3"),
    ("OpenAI", "GPT-4o-mini", "openai", "gpt-4o-mini"),
    (None, "gpt-4o-mini", "openai", "gpt-4o-mini"),  # no provider: found by model name
    ("some.gateway", "claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),  # unknown provider: by name
])
def test_provider_names_map_to_genai_prices(book, provider, model, gp_provider, model_ref):
    price = book.lookup(provider, model, WHEN)
    assert price is not None
    assert (price.provider, price.model_ref) == (gp_provider, model_ref)


def test_time_dependent_prices_follow_the_call_time(book):
    peak = book.lookup("deepseek", "deepseek-chat", ns(2025, 6, 1, hour=12))
    off_peak = book.lookup("deepseek", "deepseek-chat", ns(2025, 6, 1, hour=20))
    assert (peak.input_mtok, peak.output_mtok) == (0.27, 1.10)
    assert (off_peak.input_mtok, off_peak.output_mtok) == (0.135, 0.55)


def test_breakdown_round_trips_through_json(book):
    cost = book.cost("anthropic", "claude-sonnet-4-5", None, input_tokens=1201, output_tokens=300,
                     cache_read_tokens=1024, reasoning_tokens=20, when_unix_nano=WHEN)
    stored = json.loads(json.dumps(cost.to_json()))
    assert stored["tokens"] == {"uncached_input": 177, "cache_read": 1024, "cache_write": 0, "output": 300,
                                "reasoning": 20}
    assert stored["rates_per_mtok"] == {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75}
    assert (stored["source"], stored["model_ref"], stored["provider"]) == (
        "genai-prices 0.2.3", "claude-sonnet-4-5", "anthropic")
    assert stored["total_usd"] == cost.total_usd
    assert CostBreakdown.from_json(stored) == cost


PRICE_FILE = """
[[model]]
match = "gpt-4o-mini"           # overrides genai-prices, any provider
input_mtok = 1.0
output_mtok = 2.0
cache_read_mtok = 0.5

[[model]]
provider = "openai"
match = "my-finetune-*"
input_mtok = 3.0
output_mtok = 12.0
cache_write_mtok = 3.75

[[model]]
provider = "anthropic"
match = "house-model"
input_mtok = 4
output_mtok = 8
"""


@pytest.fixture
def user_book(tmp_path: Path) -> tuple[PriceBook, Path]:
    path = tmp_path / "price_overrides.toml"
    path.write_text(PRICE_FILE)
    return PriceBook(path), path


def test_user_file_overrides_a_known_model(user_book):
    book, path = user_book
    cost = book.cost("openai", "gpt-4o-mini", None, input_tokens=1000, output_tokens=100, cache_read_tokens=400,
                     when_unix_nano=WHEN)
    assert cost.price.source == f"user price file {path}"
    assert cost.total_usd == pytest.approx(600 * 1.0 / M + 400 * 0.5 / M + 100 * 2.0 / M)


def test_user_file_adds_models_by_glob_and_provider(user_book):
    book, _ = user_book
    cost = book.cost("openai", "my-finetune-2025-06", None, input_tokens=1000, output_tokens=100,
                     cache_read_tokens=200, cache_write_tokens=300, when_unix_nano=WHEN)
    # no cache-read rate in the file: the input rate applies
    assert cost.total_usd == pytest.approx(500 * 3.0 / M + 200 * 3.0 / M + 300 * 3.75 / M + 100 * 12.0 / M)
    assert cost.price.model_ref == "my-finetune-*"
    assert book.lookup("anthropic", "my-finetune-2025-06") is None  # entry is for openai only
    assert book.lookup("anthropic", "house-model").input_mtok == 4.0
    assert book.lookup("openai", "house-model") is None
    assert book.lookup("openai", "claude-sonnet-4-5") is None  # other models still come from genai-prices
    assert book.lookup("anthropic", "claude-sonnet-4-5").source == "genai-prices 0.2.3"


def test_missing_user_file_means_no_overrides(tmp_path):
    book = PriceBook(tmp_path / "absent.toml")
    assert book.lookup("openai", "gpt-4o-mini", WHEN).input_mtok == 0.15


@pytest.mark.parametrize(("text", "problem"), [
    ("[[model]\nmatch = 'x'", "cannot read"),
    ("[[model]]\nmatch = 'x'\ninput_mtok = 1.0\n", "'output_mtok'"),
    ("[[model]]\nmatch = 'x'\ninput_mtok = -1\noutput_mtok = 1\n", "'input_mtok'"),
    ("[[model]]\nmatch = 'x'\ninput_mtok = '1'\noutput_mtok = 1\n", "'input_mtok'"),
    ("[[model]]\ninput_mtok = 1\noutput_mtok = 1\n", "'match'"),
    ("[[model]]\nmatch = 'x'\ninput_mtok = 1\noutput_mtok = 1\ncache_read = 1\n", "unknown keys ['cache_read']"),
    ("model = 'gpt-4o'\n", "[[model]] tables"),
    ("[[models]]\nmatch = 'x'\n", "unknown top-level keys ['models']"),
])
def test_malformed_user_file_names_the_file_and_problem(tmp_path, text, problem):
    path = tmp_path / "bad_prices.toml"
    path.write_text(text)
    with pytest.raises(PriceFileError) as raised:
        PriceBook(path)
    assert str(path) in str(raised.value)
    assert problem in str(raised.value)


def test_the_stored_cost_is_the_breakdowns_total_for_every_kind_of_price(user_book):
    # The ingest path stores a total computed apart from the breakdown the inspector shows:
    # they must agree to the last bit, whatever priced the call (or that nothing did).
    book, _ = user_book
    calls = [
        ("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini", 2000, 100, 1536, None, WHEN),
        ("openai", "my-deployment-7", "gpt-4o-mini", 1000, 0, None, None, WHEN),  # request model's price
        ("anthropic", "claude-sonnet-4-5", None, 1201, 300, 1024, 64, WHEN),
        ("openai", "my-finetune-2025-06", None, 1000, 100, 200, 300, WHEN),  # user file
        ("deepseek", "deepseek-chat", None, 1000, 500, 100, None, ns(2025, 6, 1, hour=12)),  # peak hours
        ("deepseek", "deepseek-chat", None, 1000, 500, 100, None, ns(2025, 6, 1, hour=20)),  # off peak
        ("openai", "gpt-4o-mini", None, 10, 20, 500, None, WHEN),  # more cached than input
        ("openai", "gpt-4o-mini", None, None, 20, None, None, WHEN),
        ("openai", "unknown-a", "unknown-b", 10, 10, None, None, WHEN),
        ("openai", "gpt-4o-mini", None, None, None, None, None, WHEN),
    ]
    for _ in range(2):  # the first call resolves the rates, the second finds them cached
        for provider, response, request, tokens_in, tokens_out, read, write, when in calls:
            breakdown = book.cost(provider, response, request, input_tokens=tokens_in, output_tokens=tokens_out,
                                  cache_read_tokens=read, cache_write_tokens=write, when_unix_nano=when)
            stored = book.stored_cost(provider, response, request, tokens_in, tokens_out, read, write, when)
            if breakdown is None:
                assert stored is None
            else:
                assert stored is not None and stored[0] == breakdown.total_usd
                assert stored_price(stored[1]) == (breakdown.price, breakdown.price_date)
    peak, off_peak = (book.stored_cost("deepseek", "deepseek-chat", None, M, 0, None, None, ns(2025, 6, 1, hour=h))
                      for h in (12, 20))
    assert (peak[0], off_peak[0]) == (pytest.approx(0.27), pytest.approx(0.135))


def test_prices_are_looked_up_once_per_model_and_day(monkeypatch):
    book = PriceBook()
    snapshot = pricing._snapshot()
    calls: list[str] = []
    real = snapshot.find_provider_model

    def counting(model_ref, *args):
        calls.append(model_ref)
        return real(model_ref, *args)

    monkeypatch.setattr(snapshot, "find_provider_model", counting)
    days = [ns(2025, 6, 1, hour=h) for h in (1, 9, 23)] + [ns(2025, 6, 2, hour=h) for h in (1, 9, 23)]
    for i in range(10_000):
        model = ("gpt-4o-mini", "claude-sonnet-4-5")[i % 2]
        provider = ("openai", "anthropic")[i % 2]
        assert book.cost(provider, model, model, input_tokens=100 + i, output_tokens=10,
                         when_unix_nano=days[i % len(days)]) is not None
    assert len(calls) == 4  # 2 models x 2 days
    assert book._resolve.cache_info().misses == 4


def test_default_price_file_sits_beside_the_database():
    path = default_price_file()
    assert path.name == "price_overrides.toml"
    assert path.parent == platformdirs.user_data_path("tracepane", appauthor=False)


def test_user_entry_provider_may_be_the_otel_name_or_the_genai_prices_id(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text('[[model]]\nprovider = "aws"\nmatch = "house-model"\ninput_mtok = 1\noutput_mtok = 1\n'
                    '[[model]]\nprovider = "gcp.vertex_ai"\nmatch = "house-model"\ninput_mtok = 2\noutput_mtok = 2\n')
    book = PriceBook(path)
    assert book.lookup("aws.bedrock", "house-model").input_mtok == 1.0
    assert book.lookup("gcp.vertex_ai", "house-model").input_mtok == 2.0
    assert book.lookup("gcp.gemini", "house-model") is None  # same genai-prices id, but the entry names vertex
