"""What `--forward-to` and `--forward-header` say, checked once at start: an upstream URL
becomes an `Endpoint` (transport, host, port, TLS, path prefix) and each "key=value" a header.
A bad value raises `ConfigError` naming the flag, the value and the forms accepted, before
the receiver opens its database or listens. Pure; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from receiver.errors import ConfigError
from receiver.otlp.ports import host_port

__all__ = ["ACCEPTED_FORMS", "Endpoint", "parse_endpoint", "parse_endpoints", "parse_headers"]

ACCEPTED_FORMS = ("grpc://HOST:PORT, grpcs://HOST:PORT (TLS), http://HOST:PORT[/prefix] or "
                  "https://HOST[:PORT][/prefix]")

# scheme -> (transport, TLS, port when none is given). gRPC has no port of its own in URLs:
# OTLP's 4317. HTTP(S) keep their URL meaning (80, 443), as a collector behind a proxy expects.
_SCHEMES: dict[str, tuple[str, bool, int]] = {
    "grpc": ("grpc", False, 4317),
    "grpcs": ("grpc", True, 4317),
    "http": ("http", False, 80),
    "https": ("http", True, 443),
}
_SIGNAL_PATHS = ("/v1/traces", "/v1/logs", "/v1/metrics")
# RFC 9110 token characters: what an HTTP header name (and a gRPC metadata key) may hold.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_USERINFO = re.compile(r"(//)[^/?#]*@")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One upstream. `url` is what the status shows: scheme, host, port and prefix; never a
    header or a password."""

    url: str
    transport: str  # "grpc" or "http"
    host: str
    port: int
    tls: bool
    path_prefix: str = ""  # HTTP only: requests go to {path_prefix}/v1/traces and so on

    @property
    def address(self) -> str:
        return host_port(self.host, self.port)


def parse_endpoint(url: str) -> Endpoint:
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _bad_url(url, str(exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise _bad_url(url, f"unknown scheme {parts.scheme + '://' if parts.scheme else '(none)'}")
    if not parts.hostname:
        raise _bad_url(url, "no host")
    if parts.username is not None or parts.password is not None:
        # a URL is shown in the status bar and the banner; a password in it would be too
        raise _bad_url(url, "credentials do not go in the URL; give them with --forward-header KEY=VALUE")
    if parts.query or parts.fragment:
        raise _bad_url(url, "a query or fragment has no meaning here")
    transport, tls, default_port = _SCHEMES[scheme]
    port = default_port if port is None else port
    if not 0 < port < 65536:
        raise _bad_url(url, f"port {port} is out of range")
    prefix = parts.path.rstrip("/")
    if transport == "grpc" and prefix:
        raise _bad_url(url, "a gRPC endpoint takes no path")
    if prefix.endswith(_SIGNAL_PATHS):
        raise _bad_url(url, "give the base URL without /v1/traces, /v1/logs or /v1/metrics: all three "
                            "signals are forwarded")
    host = parts.hostname
    return Endpoint(url=f"{scheme}://{host_port(host, port)}{prefix}", transport=transport, host=host,
                    port=port, tls=tls, path_prefix=prefix)


def parse_endpoints(urls: Iterable[str]) -> tuple[Endpoint, ...]:
    endpoints: list[Endpoint] = []
    for url in urls:
        endpoint = parse_endpoint(url)
        if any(e.url == endpoint.url for e in endpoints):
            raise _bad_url(url, "given twice")
        endpoints.append(endpoint)
    return tuple(endpoints)


def parse_headers(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """"key=value" strings -> (key, value) pairs. Values may be percent-encoded as in
    OTEL_EXPORTER_OTLP_HEADERS (`Authorization=Bearer%20T`), which is how a comma gets into
    the comma-separated TRACEPANE_FORWARD_HEADERS. Messages name the key, never the value:
    it is usually a secret."""
    headers: list[tuple[str, str]] = []
    for item in items:
        key, sep, raw_value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("--forward-header: expected KEY=VALUE (e.g. authorization=Bearer%20<token>), got "
                              "something without a key and '=' (not shown: it may be a secret)")
        if not _HEADER_NAME.fullmatch(key):
            raise ConfigError(f"--forward-header: {key!r} cannot be a header name (letters, digits and "
                              "!#$%&'*+.^_`|~- only)")
        value = unquote(raw_value.strip())
        # gRPC metadata values are printable ASCII; HTTP forbids line breaks: one rule for both
        if not _PRINTABLE_ASCII.fullmatch(value):
            raise ConfigError(f"--forward-header: the value of {key!r} must be printable ASCII (percent-encode "
                              "anything else)")
        headers.append((key, value))
    return tuple(headers)


def _bad_url(url: str, why: str) -> ConfigError:
    url = _USERINFO.sub(r"\1<credentials>@", url)  # the message is printed: never a password
    return ConfigError(f"--forward-to: {url!r} is not an upstream OTLP endpoint ({why}); use {ACCEPTED_FORMS}")
