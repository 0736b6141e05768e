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
