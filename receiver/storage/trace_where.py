"""The trace list's filters (`TraceFilter`) as SQL conditions on the `traces` rollup.

Each condition reads the rollup row or goes through an index, except two that read spans: an
attribute key whose values are not kept, and free text without words. The list reads traces
newest first and stops at a page, so a filter that matches often costs a page's worth of rows,
and one that matches rarely a scan of the rollup.
"""

from __future__ import annotations

import time
from typing import Any

from receiver.records import TraceFilter
from receiver.storage.cost_by_attribute import trace_value_sql
from receiver.storage.evaluation_query import evaluation_match
from receiver.storage.pins import PINNED_SQL
from receiver.storage.text_search import log_has, quick_scan_finds, span_has

__all__ = ["trace_where"]

_OPERATORS = (">", ">=", "<", "<=")


def trace_where(filters: TraceFilter, *, scan_text: bool,
                kept_keys: set[str] | frozenset[str] = frozenset()) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on `traces` for the filters, and their parameters; the free text only
    with `scan_text` (text without words, which the full-text index cannot look for).
    `kept_keys`: the attribute keys whose values are kept at ingestion (the cost keys)."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if filters.service_name:
        where.append("service_name = :service")
        params["service"] = filters.service_name
    if filters.errors_only:
        where.append("error_count > 0")
    if filters.name_contains:
        where.append("instr(lower(root_name), lower(:name)) > 0")
        params["name"] = filters.name_contains
    if filters.start_after_unix_nano is not None:
        where.append("start_time_unix_nano >= :start_after")
        params["start_after"] = filters.start_after_unix_nano
    if filters.start_before_unix_nano is not None:
        where.append("start_time_unix_nano < :start_before")
        params["start_before"] = filters.start_before_unix_nano
    if filters.end_after_unix_nano is not None:
        where.append("end_time_unix_nano >= :end_after")
        params["end_after"] = filters.end_after_unix_nano
    if filters.model:
        where.append("EXISTS (SELECT 1 FROM json_each(traces.models) WHERE value = :model)")
        params["model"] = filters.model
    if filters.tool:
        # one probe of the index per trace read: a common tool fills the page at once
        where.append("EXISTS (SELECT 1 FROM spans WHERE tool_name = :tool AND spans.trace_id = traces.trace_id)")
        params["tool"] = filters.tool
    if filters.session_id:
        where.append("session_id = :session")
        params["session"] = filters.session_id
    for i, (operator, dollars) in enumerate(filters.cost_usd):
        where.append(f"coalesce(cost_usd, 0) {_checked(operator)} :cost{i}")  # no model call: $0
        params[f"cost{i}"] = dollars
    for i, (operator, nanoseconds) in enumerate(filters.duration_ns):
        where.append(f"end_time_unix_nano - start_time_unix_nano {_checked(operator)} :duration{i}")
        params[f"duration{i}"] = nanoseconds
    for i, (key, value) in enumerate(filters.attributes):
        where.append(_attribute_match(key, i, kept=key in kept_keys))
        params.update({f"attribute_key{i}": key, f"attribute_value{i}": value})
    if filters.pinned_only:
        where.append(PINNED_SQL)
    if filters.broken_only:
        # quiet for the grace period: children arrive before their parents all the time
        where.append("(has_root = 0 OR orphan_spans > 0) AND updated_unix_nano <= :settled_before")
        params["settled_before"] = time.time_ns() - filters.broken_grace_ns
    for i, (name, operator, value) in enumerate(filters.evaluations):
        condition, condition_params = evaluation_match(i, name, operator, value)
        where.append(condition)
        params.update(condition_params)
    if filters.text and scan_text:
        where.append(_TEXT_MATCH)
        params.update(text=filters.text, quick=quick_scan_finds(filters.text))
    return where, params


def _checked(operator: str) -> str:
    if operator not in _OPERATORS:
        raise ValueError(f"not a comparison: {operator!r}")
    return operator


def _attribute_match(key: str, i: int, *, kept: bool) -> str:
    """The trace's value of `key` is `:attribute_value{i}` ("" = it has none), as cost by
    attribute counts it: a kept key's from the values kept at ingestion (the set of traces
    with the value, from an index), any other computed from the trace's spans."""
    if not kept:
        return f"coalesce({trace_value_sql(key)}, '') = :attribute_value{i}"
    return (f"CASE WHEN :attribute_value{i} = '' THEN NOT EXISTS (SELECT 1 FROM trace_attribute_values AS v "
            f"WHERE v.trace_id = traces.trace_id AND v.key = :attribute_key{i}) "
            f"ELSE trace_id IN (SELECT trace_id FROM trace_attribute_values "
            f"WHERE key = :attribute_key{i} AND value = :attribute_value{i}) END")


_LOG_HAS = log_has("l")
# Free text without words (punctuation only), a scan: span names and status messages, string
# values of attributes and events, the trace's log records.
_TEXT_MATCH = (f"(EXISTS (SELECT 1 FROM spans AS s WHERE s.trace_id = traces.trace_id AND {span_has('s')})"
               f" OR EXISTS (SELECT 1 FROM logs AS l WHERE l.trace_id = traces.trace_id AND {_LOG_HAS}))")
