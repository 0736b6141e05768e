"""Typed errors raised inside the receiver.

Library code raises these; each edge (HTTP handler, gRPC servicer, command line, UI)
translates them exactly once. The two tables at the bottom are the translations for the
transports, so the OTLP status contract lives in one place.
"""

from __future__ import annotations

from http import HTTPStatus


class ReceiverError(Exception):
    """Base class of every error the receiver raises on purpose."""


class BadPayload(ReceiverError):
    """The request body could not be decoded as OTLP (not retryable: 400 / INVALID_ARGUMENT)."""


class UnsupportedMediaType(ReceiverError):
    """Content-Type or Content-Encoding the receiver does not speak (415)."""


class PayloadTooLarge(ReceiverError):
    """The body, after decompression, is larger than the configured limit (413)."""


class Unauthenticated(ReceiverError):
    """The receiver wants a bearer token (`--auth-token`) and the request has none, or another
    (401 / UNAUTHENTICATED: exporters do not retry it)."""


class AtCapacity(ReceiverError):
    """The writer's queue is full; the exporter should retry later (503 / UNAVAILABLE)."""


class StorageFailed(ReceiverError):
    """The database refused a write (disk full, I/O error); nothing of the request was kept."""


class DiskFull(StorageFailed):
    """The database cannot grow (the disk is full, or SQLite's page limit is reached); nothing
    of the request was kept. Retryable: storing resumes by itself once there is room."""


class DecodeBug(ReceiverError):
    """Decoding a request failed in a way Tracepane did not foresee (a bug, logged with its
    traceback): that request is refused (500 / INTERNAL, not retried), the receiver goes on."""


class StoreClosed(ReceiverError):
    """The writer has been closed; no more writes are accepted."""


class ConfigError(ReceiverError):
    """A setting or settings file is unusable (e.g. a malformed price file)."""


class PortInUse(ReceiverError):
    """A listening port could not be bound."""


class DatabaseInUse(ReceiverError):
    """Another Tracepane holds the database's writer lock (storage.writer_lock); nothing was
    changed. Raised only when a writer starts: transports never see it."""


class TraceNotFound(ReceiverError):
    """No trace with that id is stored."""


class DatabaseMissing(ReceiverError):
    """A reading command was pointed at a database file that does not exist."""


# Exception type -> HTTP status. Anything not listed is an internal error (500).
HTTP_STATUS: dict[type[ReceiverError], HTTPStatus] = {
    BadPayload: HTTPStatus.BAD_REQUEST,
    UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    AtCapacity: HTTPStatus.SERVICE_UNAVAILABLE,
    StorageFailed: HTTPStatus.SERVICE_UNAVAILABLE,
    StoreClosed: HTTPStatus.SERVICE_UNAVAILABLE,
}

# Exception type -> gRPC status code name (a name, so that reading commands that import
# this module never load grpc). UNAVAILABLE is what OTLP exporters retry.
GRPC_STATUS: dict[type[ReceiverError], str] = {
    BadPayload: "INVALID_ARGUMENT",
    UnsupportedMediaType: "INVALID_ARGUMENT",
    PayloadTooLarge: "RESOURCE_EXHAUSTED",
    Unauthenticated: "UNAUTHENTICATED",
    AtCapacity: "UNAVAILABLE",
    StorageFailed: "UNAVAILABLE",
    StoreClosed: "UNAVAILABLE",
}


# gRPC code numbers, for the `google.rpc.Status` body of HTTP error answers.
GRPC_CODE_NUMBERS = {"INVALID_ARGUMENT": 3, "NOT_FOUND": 5, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8,
                     "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
                     "UNAUTHENTICATED": 16}


def http_status_for(error: Exception) -> HTTPStatus:
    return _lookup(HTTP_STATUS, error, HTTPStatus.INTERNAL_SERVER_ERROR)


def grpc_status_name_for(error: Exception) -> str:
    return _lookup(GRPC_STATUS, error, "INTERNAL")


def _lookup(table: dict, error: Exception, default):
    for cls in type(error).__mro__:  # subclasses (e.g. a transport's own kinds) map as their base
        if cls in table:
            return table[cls]
    return default
