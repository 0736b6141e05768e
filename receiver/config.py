"""Receiver settings, resolved in one place: explicit argument, then `TRACEPANE_*`
environment variable, then default. An invalid environment value is warned about and
replaced by the default, so a typo never stops the receiver from starting.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"  # loopback: prompts and user data never leave the machine
DEFAULT_GRPC_PORT = 4317  # the OTLP defaults, so exporters work without configuration
DEFAULT_HTTP_PORT = 4318
DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024  # decompressed; same limit on both transports
DEFAULT_QUEUE_SPANS = 50_000  # spans waiting for the writer before exporters are told to retry
DEFAULT_BATCH_SPANS = 5_000  # spans per transaction: large enough to amortise the commit
DEFAULT_WRITE_TIMEOUT_S = 30.0  # how long a request waits for its commit before 503
# Limits on one attribute value and list (receiver.otlp.limits): far above what instrumentation
# sends (a long prompt is ~1 MB), low enough that one hostile span cannot bloat the database.
DEFAULT_MAX_VALUE_BYTES = 4 * 1024 * 1024  # a longer string or bytes value is truncated
DEFAULT_MAX_VALUE_DEPTH = 32  # arrays / key-value lists nested deeper are cut at this depth
DEFAULT_MAX_ATTRIBUTES = 10_000  # per span, event, link, log record, point; the rest are dropped and counted
# Retention (receiver.storage.retention_budget): 0 turns either budget off. Two gigabytes hold
# about a million GenAI spans with their prompts: weeks of a developer's agent runs.
DEFAULT_MAX_DB_MB = 2048
DEFAULT_MAX_AGE_DAYS = 30.0


def default_db_path() -> Path:
    """The per-user data directory (never beside the executable: bundles unpack to temp)."""
    import platformdirs

    return platformdirs.user_data_path("tracepane", appauthor=False) / "tracepane.db"


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    db_path: Path
    host: str = DEFAULT_HOST
    grpc_port: int = DEFAULT_GRPC_PORT
    http_port: int = DEFAULT_HTTP_PORT
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    queue_spans: int = DEFAULT_QUEUE_SPANS
    batch_spans: int = DEFAULT_BATCH_SPANS
    write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S
    # Web origins whose pages may export here (browser-side OTLP exporters); none by default.
    cors_origins: tuple[str, ...] = ()
    # Host names OTLP/HTTP requests may give besides localhost, 127.0.0.1, [::1] and the
    # listen address (the DNS-rebinding guard, receiver.otlp.host_guard).
    allowed_hosts: tuple[str, ...] = ()
    # False: keep spans, tokens and costs but no prompts, completions or tool arguments.
    store_content: bool = True
    # User prices (TOML) that override or add models; default: price_overrides.toml beside the database.
    price_file: Path | None = None
    # False: store spans as received, without canonical GenAI fields or cost (measures what they cost).
    genai_analysis: bool = True
    # When set, both transports require `Authorization: Bearer <token>` (receiver.otlp.auth).
    auth_token: str | None = field(default=None, repr=False)  # never in a log line
    # False: store credential-looking values (API keys, bearer tokens) as received, unmasked.
    mask_credentials: bool = True
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES
    max_value_depth: int = DEFAULT_MAX_VALUE_DEPTH
    max_attributes: int = DEFAULT_MAX_ATTRIBUTES
    max_db_mb: int = DEFAULT_MAX_DB_MB  # database file and its log, in MiB; 0: no size budget
    max_age_days: float = DEFAULT_MAX_AGE_DAYS  # 0: traces are never too old
    # Upstream OTLP endpoints that get a copy of everything stored (receiver.forwarding):
    # grpc://HOST:PORT, http(s)://HOST:PORT[/prefix].
    forward_to: tuple[str, ...] = ()
    # Headers sent upstream with each forwarded request ("key=value"): an API key, say.
    forward_headers: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, **explicit: Any) -> ReceiverConfig:
        """Build a config from explicit values (None = not given), the environment, defaults."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            given = explicit.get(f.name)
            if given is not None:
                values[f.name] = given
                continue
            raw = env.get(env_name(f.name))
            if raw:
                parsed = _parse(f.name, raw)
                if parsed is not None:
                    values[f.name] = parsed
        values.setdefault("db_path", default_db_path())
        for name in ("cors_origins", "allowed_hosts", "forward_to", "forward_headers"):
            if name in values:
                values[name] = tuple(values[name])
        values["db_path"] = Path(values["db_path"]).expanduser()
        price_file = values.get("price_file") or values["db_path"].parent / "price_overrides.toml"
        values["price_file"] = Path(price_file).expanduser()
        return cls(**values)


def env_name(field_name: str) -> str:
    return "TRACEPANE_" + ("DB" if field_name == "db_path" else field_name.upper())


def _port(raw: str) -> int:
    port = int(raw)
    if not 0 <= port <= 65535:
        raise ValueError("out of range")
    return port


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _non_negative(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parsed(raw: str) -> Any:
        value = parse(raw)
        if value < 0:
            raise ValueError("must be 0 or more")
        return value
    return parsed


def _comma_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be positive")
    return value


_PARSERS: dict[str, Callable[[str], Any]] = {
    "db_path": Path,
    "host": str,
    "grpc_port": _port,
    "http_port": _port,
    "max_request_bytes": _positive_int,
    "queue_spans": _positive_int,
    "batch_spans": _positive_int,
    "write_timeout_s": _positive_float,
    "cors_origins": lambda raw: tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip()),
    "allowed_hosts": _comma_list,
    "store_content": lambda raw: _boolean(raw),
    "price_file": Path,
    "genai_analysis": lambda raw: _boolean(raw),
    "auth_token": lambda raw: raw.strip() or None,
    "mask_credentials": lambda raw: _boolean(raw),
    "max_value_bytes": _positive_int,
    "max_value_depth": _positive_int,
    "max_attributes": _positive_int,
    "max_db_mb": _non_negative(int),
    "max_age_days": _non_negative(float),
    "forward_to": _comma_list,
    "forward_headers": _comma_list,
}


def _boolean(raw: str) -> bool:
    text = raw.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _parse(name: str, raw: str) -> Any:
    try:
        return _PARSERS[name](raw)
    except ValueError as exc:
        log.warning("ignoring %s=%r (%s); using the default", env_name(name), raw, exc)
        return None
