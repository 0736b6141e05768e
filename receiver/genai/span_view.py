"""What the normaliser reads of a span: plain values only, no protobuf, no storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


# Not frozen: one of each is built per span (and event) on the ingest path, and a frozen
# dataclass takes several times longer to build. Nothing changes them once built.
@dataclass(slots=True)
class SpanEvent:
    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class SpanView:
    name: str
    attributes: dict[str, Any]  # plain values (receiver.attributes)
    events: tuple[SpanEvent, ...] = ()
    start_time_unix_nano: int = 0
    status_code: int = 0  # 2 = error
    status_message: str = ""
    scope_name: str = ""
    kind: int = 0  # OTLP SpanKind (2 server, 3 client)
