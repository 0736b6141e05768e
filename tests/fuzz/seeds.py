"""Fuzzing seeds: the OTLP/JSON requests captured from real instrumentation (the shared
fixtures), each also as protobuf; OTLP/JSON ids; the attribute keys the seeds use.

`parse_json_request` is also the oracle's reader of OTLP/JSON (tests/fuzz/target.py).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from tests.fuzz.wire import REQUEST

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("TRACEPANE_FIXTURES", REPO.parent / "shared" / "fixtures"))

_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


class Seed:
    """One captured request. Not a dataclass: hypothesis prints a dataclass field by field in
    a failing example, and the name says enough."""

    __slots__ = ("signal", "name", "document", "protobuf")

    def __init__(self, signal: str, name: str, document: dict, protobuf: bytes) -> None:
        self.signal = signal
        self.name = name  # file:line
        self.document = document  # OTLP/JSON, hex ids, as captured; never changed
        self.protobuf = protobuf

    def __repr__(self) -> str:
        return f"Seed({self.name!r})"

    @property
    def json_bytes(self) -> bytes:
        return json.dumps(self.document).encode()


def load_seeds(directory: Path = FIXTURES) -> list[Seed]:
    seeds = []
    for path in sorted(directory.glob("*.jsonl")):
        signal = path.name.rsplit(".", 2)[-2]
        if signal not in REQUEST:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                document = json.loads(line)
                message = parse_json_request(copy.deepcopy(document), signal)
                seeds.append(Seed(signal, f"{path.name}:{number}", document, message.SerializeToString()))
    return seeds


def json_id_bytes(text: str) -> bytes:
    """An OTLP/JSON id: hex per the specification, else base64 (protobuf's own JSON mapping),
    else something no valid id is (one zero byte)."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b"\x00"


def _ids_to_base64(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64encode(json_id_bytes(value)).decode()
            elif isinstance(value, (dict, list)) and key not in ("attributes", "body", "value"):
                _ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _ids_to_base64(item)


def parse_json_request(document: Any, signal: str) -> Message:
    """OTLP/JSON (hex ids) -> the request message; raises on anything not one."""
    if not isinstance(document, dict):
        raise ValueError("not an object")
    _ids_to_base64(document)
    message = REQUEST[signal]()
    json_format.ParseDict(document, message, ignore_unknown_fields=True)
    return message


def seed_keys(seeds: list[Seed]) -> list[str]:
    """Every attribute key the real instrumentation used: hostile values go under these, so
    the GenAI analysis (tokens, models, messages JSON) meets them too."""
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "attributes" and isinstance(v, list):
                    keys.update(kv["key"] for kv in v if isinstance(kv, dict) and isinstance(kv.get("key"), str))
                walk(v)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for seed in seeds:
        walk(seed.document)
    return sorted(keys)
