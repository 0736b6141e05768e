"""Small helpers for listening sockets shared by both transports."""

from __future__ import annotations

import errno
import socket


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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
