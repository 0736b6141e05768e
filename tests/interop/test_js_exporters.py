"""Spans sent by the official OpenTelemetry JavaScript exporters (`@opentelemetry/exporter-trace-
otlp-http` for OTLP/HTTP JSON, `-otlp-proto` for OTLP/HTTP protobuf), run with node from
tests/js/send_spans.mjs, come back from `tracepane show --json` with their structure and
attribute types intact. No waiting: the script exits only after its exporter got the
receiver's acknowledgement, and acknowledging means the spans are committed."""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import subprocess
import threading
import time

import pytest

from tests.conftest import REPO, show_json

JS_DIR = REPO / "tests" / "js"
SEND_SPANS = JS_DIR / "send_spans.mjs"
SPANS = 10
MAX_SAFE_JS_INTEGER = 2**53 - 1  # 9007199254740991, Number.MAX_SAFE_INTEGER
CONTENT_TYPES = {"json": "application/json", "proto": "application/x-protobuf"}


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with tests/js's locked dependencies installed (`npm ci`) if missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found on PATH: the JavaScript exporter tests need Node.js (20+) and npm")
    if not (JS_DIR / "node_modules").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"node is installed but npm is not: cannot install {JS_DIR}/node_modules")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            pytest.fail(f"`npm ci` in {JS_DIR} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return node


def send_spans(node: str, port: int, encoding: str) -> str:
    """Run the JS exporter against 127.0.0.1:port; returns the trace id it sent."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}  # no stray exporter settings
    done = subprocess.run([node, str(SEND_SPANS), f"http://127.0.0.1:{port}/v1/traces", encoding, str(SPANS)],
                          cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"send_spans.mjs exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout.splitlines()[-1]


def typed(value):
    """The value with the Python type of every leaf beside it: 9007199254740991.0 == 9007199254740991
    and True == 1 in Python, so plain equality would not notice a type lost on the way."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return type(value).__name__, value


def chat_attributes(i: int) -> dict:
    """What send_spans.mjs sets on its i-th chat span."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.25,
        "gen_ai.usage.input_tokens": 100 + i,
        "gen_ai.usage.output_tokens": 20 + i,
        "gen_ai.response.finish_reasons": ["stop", "length"],
        "app.stream": True,
        "app.cached": False,
        "big.int": MAX_SAFE_JS_INTEGER,
        "chat.index": i,
    }


@pytest.mark.parametrize("encoding", ["json", "proto"])
def test_js_exporter_trace_is_stored_with_structure_and_types_intact(encoding, node, receiver, db_path):
    before_ms = time.time_ns() // 1_000_000 * 1_000_000  # the JS SDK stamps span starts with Date.now()
    trace_id = send_spans(node, receiver.addresses.http_port, encoding)
    after = time.time_ns()

    shown = show_json(db_path, trace_id)

    spans = shown["spans"]
    assert len(spans) == SPANS and len({s["span_id"] for s in spans}) == SPANS
    assert {s["trace_id"] for s in spans} == {trace_id}
    assert {s["service_name"] for s in spans} == {f"js-agent-{encoding}"}
    assert {s["resource"]["telemetry.sdk.language"] for s in spans} == {"nodejs"}
    assert {(s["scope"]["name"], s["scope"]["version"]) for s in spans} == {("tracepane-interop", "1.0.0")}

    [root] = [s for s in spans if s["parent_span_id"] is None]
    chats = [s for s in spans if s is not root]
    assert (root["name"], root["kind"], root["status_code"]) == ("invoke_agent js-agent", "server", "unset")
    assert typed(root["attributes"]) == typed({"gen_ai.operation.name": "invoke_agent",
                                               "gen_ai.agent.name": "js-agent"})
    assert [c["parent_span_id"] for c in chats] == [root["span_id"]] * (SPANS - 1)
    assert {(c["name"], c["kind"]) for c in chats} == {("chat gpt-4o-mini", "client")}

    # Nanosecond timestamps (strings in OTLP/JSON, fixed64 in protobuf) are the real wall-clock times.
    for span in spans:
        assert before_ms <= span["start_time_unix_nano"] <= span["end_time_unix_nano"] <= after, span["name"]

    chats.sort(key=lambda c: c["attributes"]["chat.index"])
    for i, chat in enumerate(chats, start=1):
        assert typed(chat["attributes"]) == typed(chat_attributes(i))
        assert chat["attributes"]["big.int"] == 9007199254740991 and type(chat["attributes"]["big.int"]) is int
        [event] = chat["events"]
        assert (event["name"], event["dropped_attributes_count"]) == ("gen_ai.content.completion.chunk", 0)
        assert typed(event["attributes"]) == typed({"gen_ai.completion.chunk": f"Sunny, 2{i} °C", "chunk.index": i})
        assert chat["start_time_unix_nano"] <= event["time_unix_nano"] <= chat["end_time_unix_nano"]
    assert [(c["status_code"], c["status_message"]) for c in chats] == (
        [("unset", "")] * (SPANS - 2) + [("error", "rate limited")])


class _Forward(socketserver.BaseRequestHandler):
    """One client connection: pass bytes both ways to the receiver, keeping what the client sent."""

    def handle(self):
        sent = bytearray()
        self.server.connections.append(sent)
        with socket.create_connection(("127.0.0.1", self.server.upstream_port), timeout=30) as upstream:
            back = threading.Thread(target=self._pump, args=(upstream, self.request, None))
            back.start()
            self._pump(self.request, upstream, sent)
            back.join(30)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, keep: bytearray | None) -> None:
        try:
            while data := source.recv(65536):
                if keep is not None:
                    keep += data  # before forwarding: kept before the receiver can answer
                target.sendall(data)
        except OSError:
            pass
        finally:
            try:
                target.shutdown(socket.SHUT_WR)
            except OSError:
                pass


class RecordingProxy(socketserver.ThreadingTCPServer):
    """A TCP pass-through on a loopback port in front of the receiver; the receiver is untouched."""

    def __init__(self, upstream_port: int):
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream_port = upstream_port
        self.connections: list[bytearray] = []
        self.port = self.server_address[1]


@pytest.fixture
def proxy(receiver):
    server = RecordingProxy(receiver.addresses.http_port)
    serving = threading.Thread(target=server.serve_forever)
    serving.start()
    yield server
    server.shutdown()
    serving.join()
    server.server_close()  # joins the connection threads


def request_head(raw: bytes) -> tuple[str, dict[str, str]]:
    head, _, _ = bytes(raw).partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    return request_line, {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}


@pytest.mark.parametrize("encoding", ["json", "proto"])
def test_js_exporter_chunked_request_without_length_is_stored(encoding, node, proxy, db_path):
    """The JS exporter streams its body with Transfer-Encoding: chunked and no Content-Length,
    which a receiver reading only Content-Length would take for an empty export."""
    trace_id = send_spans(node, proxy.port, encoding)

    assert proxy.connections, "the exporter never connected"
    for raw in proxy.connections:
        request_line, headers = request_head(raw)
        assert request_line == "POST /v1/traces HTTP/1.1"
        assert headers["content-type"] == CONTENT_TYPES[encoding]
        assert headers.get("transfer-encoding") == "chunked" and "content-length" not in headers, headers
    assert len(show_json(db_path, trace_id)["spans"]) == SPANS
