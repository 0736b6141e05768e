"""Pure formatting for people: durations, times, counts. No Qt, no I/O."""

from __future__ import annotations

import math
from datetime import date, datetime


def format_duration_ns(ns: int) -> str:
    """12 µs, 3.45 ms, 1.23 s, 2 m 05 s: three significant figures where it matters."""
    if ns < 1_000:
        return f"{ns} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.3g} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.3g} ms"
    seconds = ns / 1_000_000_000
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


def format_time_ns(ns: int) -> str:
    """Local wall-clock time with milliseconds, as a developer reads log timestamps."""
    if ns <= 0:
        return "—"
    moment = datetime.fromtimestamp(ns / 1e9)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def format_clock_ns(ns: int, today: date | None = None) -> str:
    """Compact for lists: the time alone today ("15:49:46.648"), else the day too ("Nov 26 15:49:46")."""
    if ns <= 0:
        return "—"
    moment = datetime.fromtimestamp(ns / 1e9)
    if moment.date() == (today or date.today()):
        return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    if moment.year == (today or date.today()).year:
        return moment.strftime("%b %d %H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M")


def ns_to_ms(ns: int) -> float:
    """Milliseconds with nanosecond precision kept (6 decimals)."""
    return round(ns / 1_000_000, 6)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def format_cost_usd(usd: float | None, *, unpriced: int = 0) -> str:
    """Exact even when tiny ($0.000028, not <$0.01): local iteration lives in fractions of a cent."""
    if usd is None:
        return "no price" if unpriced else "—"
    if usd >= 1:
        text = f"${usd:.2f}"
    else:  # three significant digits, never scientific notation
        decimals = max(2, 2 - math.floor(math.log10(usd))) if usd > 0 else 2
        text = "$" + f"{usd:.{decimals}f}".rstrip("0").rstrip(".")
    return text + ("+?" if unpriced else "")  # some calls could not be priced


def format_tokens(input_tokens: int | None, output_tokens: int | None) -> str:
    if input_tokens is None and output_tokens is None:
        return "—"
    return f"{_short(input_tokens)}/{_short(output_tokens)}"


def _short(count: int | None) -> str:
    if count is None:
        return "?"
    return f"{count / 1000:.1f}k" if count >= 10_000 else str(count)
