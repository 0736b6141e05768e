"""The Overview's data without Qt: cost arithmetic per bucket with exact figures, rates and
totals formatted so the terms visibly add up, rows only for values the span has."""

from __future__ import annotations

import dataclasses

from app.reproducibility import CostLine, cost_lines, format_rate, format_usd_exact, overview_sections, price_source

BREAKDOWN = {"tokens": {"uncached_input": 412, "cache_read": 0, "cache_write": 0, "output": 24, "reasoning": 0},
             "rates_per_mtok": {"input": 0.15, "output": 0.6, "cache_read": 0.075, "cache_write": None},
             "usd": {"uncached_input": 6.18e-05, "cache_read": 0.0, "cache_write": 0.0, "output": 1.44e-05},
             "total_usd": 7.62e-05, "source": "genai-prices 0.2.3", "model_ref": "gpt-4o-mini", "provider": "openai",
             "price_date": "2026-11-27"}


def test_cost_lines_are_tokens_times_rate_per_bucket():
    assert [line.text for line in cost_lines(BREAKDOWN)] == ["412 input × $0.15/M = $0.0000618",
                                                             "24 output × $0.60/M = $0.0000144"]
    assert price_source(BREAKDOWN) == "genai-prices 0.2.3 · gpt-4o-mini (openai) · 2026-11-27"


def test_a_cache_bucket_without_its_own_rate_is_billed_at_the_input_rate():
    breakdown = {**BREAKDOWN, "tokens": {**BREAKDOWN["tokens"], "uncached_input": 100, "cache_write": 2000},
                 "usd": {**BREAKDOWN["usd"], "uncached_input": 1.5e-05, "cache_write": 0.0003}}
    lines = cost_lines(breakdown)
    assert lines[0].text == "100 uncached input × $0.15/M = $0.000015"
    assert lines[1] == CostLine(2000, "cache write", 0.15, 0.0003, "input rate")
    assert lines[1].text == "2,000 cache write × $0.15/M (input rate) = $0.0003"


def test_unpriced_breakdowns_have_no_terms():
    assert cost_lines(None) == () and cost_lines({"no_price": True}) == ()


def test_money_formats_keep_every_digit_that_matters():
    assert format_usd_exact(0.0018257999999999998) == "$0.0018258"  # float noise rounded off
    assert format_usd_exact(2.4599999999999998e-05) == "$0.0000246"
    assert format_usd_exact(0) == "$0"
    assert format_usd_exact(12.5) == "$12.50"
    assert [format_rate(r) for r in (0.15, 3.0, 0.075, 15)] == ["$0.15/M", "$3.00/M", "$0.075/M", "$15.00/M"]


def test_rows_appear_only_for_values_the_span_has(first_turn):
    chat = min((s for s in first_turn.spans if s.genai.get("operation") == "chat"),
               key=lambda s: s.start_time_unix_nano)
    bare = dataclasses.replace(chat, genai={**chat.genai, "temperature": None, "top_p": None, "seed": None})
    rows = {row.label: row for section in overview_sections(bare) for row in section.rows}
    assert "Temperature" not in rows and "Top p" not in rows  # absent: no fake default
    assert rows["Seed"].value == "— not set" and rows["Seed"].clipboard_text == ""  # a key field: seen missing
    titles = [section.title for section in overview_sections(chat)]
    assert titles == ["Model call", "Tokens", "Cost", "Timing", "Status", "Identity"]
