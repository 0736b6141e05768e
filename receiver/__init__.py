"""Tracepane's receiver: OTLP in, SQLite on disk, a read API out. Never imports Qt.

This is the public surface the app uses. Names load on first use (PEP 562), so a caller
that only reads (`tracepane stats`) never pays for grpc.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Receiver": "receiver.service",
    "ListenAddresses": "receiver.service",
    "ReceiverConfig": "receiver.config",
    "default_db_path": "receiver.config",
    "TraceStore": "receiver.storage.store",
    "QueryTimeout": "receiver.storage.store",
    "QueryCancelled": "receiver.storage.store",
    "QueryOnForbiddenThread": "receiver.storage.store",
    "StoreStats": "receiver.storage.stats",
    "UsageTotals": "receiver.storage.usage_query",
    "UsageSeries": "receiver.storage.usage_query",
    "SessionSummary": "receiver.storage.sessions",
    "AttributeCost": "receiver.storage.cost_by_attribute",
    "AttributeCosts": "receiver.storage.cost_by_attribute",
    "CostKeyInvalid": "receiver.storage.cost_attributes",
    "DEFAULT_COST_KEYS": "receiver.storage.cost_attributes",
    "DeletedCounts": "receiver.storage.deletion",
    "IngestEvent": "receiver.events",
    "Subscribers": "receiver.events",
    "IngestCounters": "receiver.ingest",
    "plain_attributes": "receiver.attributes",
    "plain_value": "receiver.attributes",
    **{name: "receiver.records" for name in (
        "StoredSpan", "StoredLog", "StoredResource", "StoredScope", "TraceSummary", "TraceDetail", "TraceFacets",
        "TraceFilter", "TracePage", "SPAN_KIND_NAMES", "STATUS_CODE_NAMES")},
    **{name: "receiver.errors" for name in (
        "ReceiverError", "BadPayload", "UnsupportedMediaType", "PayloadTooLarge", "AtCapacity",
        "StorageFailed", "StoreClosed", "PortInUse", "DatabaseInUse", "TraceNotFound", "DatabaseMissing")},
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'receiver' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:  # for type checkers and editors; nothing is imported at run time
    from receiver.attributes import plain_attributes, plain_value  # noqa: F401
    from receiver.config import ReceiverConfig, default_db_path  # noqa: F401
    from receiver.errors import (  # noqa: F401
        AtCapacity,
        BadPayload,
        DatabaseInUse,
        DatabaseMissing,
        PayloadTooLarge,
        PortInUse,
        ReceiverError,
        StorageFailed,
        StoreClosed,
        TraceNotFound,
        UnsupportedMediaType,
    )
    from receiver.events import IngestEvent, Subscribers  # noqa: F401
    from receiver.ingest import IngestCounters  # noqa: F401
    from receiver.records import (  # noqa: F401
        SPAN_KIND_NAMES,
        STATUS_CODE_NAMES,
        StoredLog,
        StoredResource,
        StoredScope,
        StoredSpan,
        TraceDetail,
        TraceFacets,
        TraceFilter,
        TracePage,
        TraceSummary,
    )
    from receiver.service import ListenAddresses, Receiver  # noqa: F401
    from receiver.storage.cost_attributes import DEFAULT_COST_KEYS, CostKeyInvalid  # noqa: F401
    from receiver.storage.cost_by_attribute import AttributeCost, AttributeCosts  # noqa: F401
    from receiver.storage.deletion import DeletedCounts  # noqa: F401
    from receiver.storage.sessions import SessionSummary  # noqa: F401
    from receiver.storage.stats import StoreStats  # noqa: F401
    from receiver.storage.store import (  # noqa: F401
        QueryCancelled,
        QueryOnForbiddenThread,
        QueryTimeout,
        TraceStore,
    )
    from receiver.storage.usage_query import UsageSeries, UsageTotals  # noqa: F401
