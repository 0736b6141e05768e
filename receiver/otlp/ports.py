"""Small helpers for listening sockets shared by both transports."""

from __future__ import annotations

import errno
import ipaddress
import socket


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


IPV6_LOOPBACK = "::1"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def exposure_warning(host: str, *, token_required: bool) -> str | None:
    """What to tell the user who made the receiver listen beyond this machine."""
    if is_loopback(host):
        return None
    who = ("machines with the bearer token can send telemetry here (it travels unencrypted)" if token_required
           else "machines can send telemetry here (there is no authentication; see --auth-token)")
    return f"listening on {host}, not loopback: other {who}"


def ipv6_companion(host: str) -> str | None:
    """The IPv6 loopback address to listen on beside an IPv4 loopback `host`: `localhost`
    resolves to ::1 first for many runtimes (Node.js 17+, some Java and Go setups), and an
    exporter told `localhost:4318` must not get "connection refused". None for other hosts."""
    return IPV6_LOOPBACK if host in ("127.0.0.1", "localhost") and socket.has_ipv6 else None


def address_family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bind_failure_reason(host: str, port: int) -> str | None:
    """Why `host:port` cannot be bound, in words, or None if a plain socket can bind it."""
    with socket.socket(address_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is fine
        try:
            probe.bind((host, port))
        except OSError as exc:
            return describe_bind_error(exc, port)
    return None


def describe_bind_error(exc: OSError, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is already in use (another Tracepane or an OpenTelemetry Collector?)"
    if exc.errno == errno.EACCES:
        return f"no permission to use port {port}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "that address does not belong to this machine"
    return exc.strerror or str(exc)
