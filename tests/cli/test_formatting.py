"""What people read: costs exact even when tiny, unknown never shown as zero."""

from __future__ import annotations

import pytest

from app.formatting import format_cost_usd, format_tokens


@pytest.mark.parametrize(("usd", "unpriced", "shown"), [
    (0.000028, 0, "$0.000028"), (1.55e-05, 0, "$0.0000155"), (0.0039162, 0, "$0.00392"),
    (0.0215, 0, "$0.0215"), (12.5, 0, "$12.50"), (0.0, 0, "$0"),
    (None, 0, "—"), (None, 2, "no price"), (0.004, 1, "$0.004+?"),
])
def test_costs_are_exact_and_unknown_is_not_zero(usd, unpriced, shown):
    assert format_cost_usd(usd, unpriced=unpriced) == shown


def test_tokens_show_unknown_apart_from_zero():
    assert format_tokens(None, None) == "—"
    assert format_tokens(75, None) == "75/?"
    assert format_tokens(0, 15) == "0/15"
    assert format_tokens(12_345, 17) == "12.3k/17"


def test_list_times_are_compact_today_and_carry_the_day_otherwise():
    from datetime import date, datetime

    from app.formatting import format_clock_ns

    moment = datetime(2026, 11, 27, 15, 49, 46, 648_000)
    ns = int(moment.timestamp()) * 1_000_000_000 + 648_000_000
    assert format_clock_ns(ns, today=date(2026, 11, 27)) == "15:49:46.648"
    assert format_clock_ns(ns, today=date(2026, 11, 28)) == "Nov 27 15:49:46"
    assert format_clock_ns(ns, today=date(2027, 1, 2)) == "2026-11-27 15:49"
    assert format_clock_ns(0) == "—"
