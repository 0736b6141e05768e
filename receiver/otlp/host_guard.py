"""The OTLP/HTTP endpoint's DNS-rebinding guard: a web page on an attacker's domain can make
the browser resolve that domain to 127.0.0.1 and post to the receiver, but the request still
names the attacker's domain in its `Host` header. Only the names the receiver is reached by
are served: localhost, 127.0.0.1 and [::1] (any port), the address it was told to bind
(`--host`), and names the user adds (`--allow-host`); anything else gets 421. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["LOOPBACK_NAMES", "allowed_host_names", "host_name"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_ANY_ADDRESS = frozenset({"", "0.0.0.0", "::"})  # binding everywhere names no host


def host_name(header: str) -> str:
    """The name in a Host header, without the port, brackets or a trailing dot, lower case:
    `[::1]:4318` -> `::1`, `LocalHost.:80` -> `localhost`."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        value = value[1:end] if end > 0 else value
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def allowed_host_names(bind_host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The names a request may give in its Host header."""
    names = set(LOOPBACK_NAMES) | {host_name(name) for name in extra if name.strip()}
    if bind_host.strip() not in _ANY_ADDRESS:
        names.add(host_name(bind_host))
    return frozenset(names)
