"""A model provider on loopback for the playground's tests: an HTTP server speaking OpenAI's
chat completions (`POST /v1/chat/completions`) and Anthropic's messages (`POST /v1/messages`)
wire formats, answering with a fixed text and recording every request it gets — so a test
can prove what was sent, and that nothing was sent before Run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = "Return R-2207 is not started yet: I will hand you over to a colleague who can start it."


@dataclass
class ProviderRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class MockProvider:
    port: int = 0
    requests: list[ProviderRequest] = field(default_factory=list)
    fail_with: tuple[int, str] | None = None  # (status, message): answer with a provider error
    answer: str = ANSWER
    arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _openai_reply(body: dict, answer: str) -> dict:
    return {"id": "chatcmpl-mock-1", "object": "chat.completion", "created": 1, "model": f"{body['model']}-2024",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": 321, "completion_tokens": 21, "total_tokens": 342}}


def _anthropic_reply(body: dict, answer: str) -> dict:
    return {"id": "msg_mock_1", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 300, "output_tokens": 22, "cache_read_input_tokens": 20}}


@contextmanager
def mock_provider() -> Iterator[MockProvider]:
    provider = MockProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            provider.requests.append(ProviderRequest(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                     body))
            if provider.fail_with is not None:
                status, message = provider.fail_with
                reply, code = {"error": {"message": message, "type": "invalid_request_error"}}, status
            elif self.path == "/v1/chat/completions":
                reply, code = _openai_reply(body, provider.answer), 200
            elif self.path == "/v1/messages":
                reply, code = _anthropic_reply(body, provider.answer), 200
            else:
                reply, code = {"error": {"message": f"no route {self.path}"}}, 404
            data = json.dumps(reply).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            provider.arrived.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
