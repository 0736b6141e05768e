"""Shared fixtures: a real receiver on loopback port 0 with a real SQLite file, helpers to
speak OTLP to it, and the installed `tracepane` command."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything can import Qt

import gzip  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from receiver.config import ReceiverConfig  # noqa: E402
from receiver.service import Receiver  # noqa: E402
from receiver.storage.store import TraceStore  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# The shared fixtures folder sits beside the checkout (../shared/fixtures); CI gets a copy
# in the same place. TRACEPANE_FIXTURES overrides.
FIXTURES = Path(os.environ.get("TRACEPANE_FIXTURES", REPO.parent / "shared" / "fixtures"))
TRACEPANE = Path(sys.executable).parent / "tracepane"


def fixture_files(pattern: str) -> list[Path]:
    files = sorted(FIXTURES.glob(pattern))
    if not files:
        pytest.skip(f"no fixtures matching {pattern} in {FIXTURES}")
    return files


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tracepane.db"


@pytest.fixture
def receiver_config(db_path: Path) -> ReceiverConfig:
    return ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)


@pytest.fixture
def receiver(receiver_config: ReceiverConfig) -> Iterator[Receiver]:
    with Receiver(receiver_config) as running:
        yield running


@pytest.fixture
def store(receiver: Receiver) -> Iterator[TraceStore]:
    reader = receiver.store()
    yield reader
    reader.close()


@dataclass
class HttpAnswer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> dict:
        return json.loads(self.body)


def post(port: int, body: bytes, content_type: str = "application/x-protobuf", *,
         path: str = "/v1/traces", encoding: str | None = None, chunked: bool = False,
         headers: dict[str, str] | None = None, conn: http.client.HTTPConnection | None = None) -> HttpAnswer:
    """POST over a real socket. `chunked` sends Transfer-Encoding: chunked with no length,
    as the OpenTelemetry JavaScript exporter does."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    all_headers = {"Content-Type": content_type, **(headers or {})}
    if encoding:
        all_headers["Content-Encoding"] = encoding
    try:
        if chunked:
            conn.putrequest("POST", path)
            for name, value in all_headers.items():
                conn.putheader(name, value)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for start in range(0, len(body), 1000):
                piece = body[start:start + 1000]
                conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.request("POST", path, body=body, headers=all_headers)
        response = conn.getresponse()
        return HttpAnswer(response.status, response.read(), dict(response.headers))
    finally:
        if own:
            conn.close()


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


def run_tracepane(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(TRACEPANE), *args], capture_output=True, text=True, timeout=timeout)


def show_json(db: Path, trace_id: str) -> dict:
    done = run_tracepane("show", trace_id, "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def fixture_requests(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
