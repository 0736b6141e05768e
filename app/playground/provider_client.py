"""Send a model call to the provider and read its answer: OpenAI's chat completions (OpenAI
and any OpenAI-compatible server: vLLM, Ollama, LiteLLM, Azure's v1 endpoint…) and
Anthropic's messages, over plain HTTPS with the standard library. Where to send and the key
come from the environment (`OPENAI_BASE_URL`, `OPENAI_API_KEY`; `ANTHROPIC_BASE_URL`,
`ANTHROPIC_API_KEY`) or else the OS keyring (service "tracepane", user "openai" or
"anthropic"); neither is ever written to the database or an export. Pure (no Qt): the
playground window calls `send` off the GUI thread, only when the user presses Run."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.playground.answer_diff import answer_text
from app.provider_payloads import ANTHROPIC, OPENAI, ModelCall, anthropic_body, openai_body

__all__ = ["Answer", "Endpoint", "KEYRING_SERVICE", "ProviderError", "endpoint_for", "missing_key_message", "send"]

KEYRING_SERVICE = "tracepane"
DEFAULT_BASE_URLS = {OPENAI: "https://api.openai.com/v1", ANTHROPIC: "https://api.anthropic.com"}
ANTHROPIC_VERSION = "2023-06-01"
TIMEOUT_S = 120.0
_ENVIRONMENT = {OPENAI: ("OPENAI_BASE_URL", "OPENAI_API_KEY"), ANTHROPIC: ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY")}


class ProviderError(Exception):
    """The call did not give an answer: no key, the server unreachable, or its error said."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    api: str
    base_url: str
    api_key: str | None = field(repr=False)  # never shown, logged or stored
    key_source: str  # where the key came from, for the window: "OPENAI_API_KEY", "the OS keyring", ""

    @property
    def url(self) -> str:
        base = self.base_url.rstrip("/")
        return f"{base}/chat/completions" if self.api == OPENAI else f"{base}/v1/messages"


@dataclass(slots=True)
class Answer:
    """What came back, in the canonical (OpenTelemetry) shape."""

    text: str
    output_messages: list[dict[str, Any]]
    finish_reason: str | None
    response_id: str | None
    response_model: str | None
    input_tokens: int | None
    output_tokens: int | None
    start_ns: int
    end_ns: int
    request_body: dict[str, Any]


def _keyring_password(service: str, user: str) -> str | None:
    """The key stored with `keyring set tracepane openai`; None when there is no keyring here
    (a headless Linux box has no backend: that is not an error, the environment may have it)."""
    try:
        import keyring

        return keyring.get_password(service, user)
    except Exception:  # noqa: BLE001 - any backend failure means "no key from the keyring"
        return None


def endpoint_for(api: str, environ: Mapping[str, str] | None = None,
                 keyring_get: Callable[[str, str], str | None] | None = None) -> Endpoint:
    environ = os.environ if environ is None else environ
    url_name, key_name = _ENVIRONMENT[api]
    base_url = environ.get(url_name) or DEFAULT_BASE_URLS[api]
    if key := environ.get(key_name):
        return Endpoint(api, base_url, key, key_name)
    key = (keyring_get or _keyring_password)(KEYRING_SERVICE, api)
    return Endpoint(api, base_url, key, "the OS keyring" if key else "")


def missing_key_message(api: str) -> str:
    return f"No API key: set {_ENVIRONMENT[api][1]}, or store one with `keyring set {KEYRING_SERVICE} {api}`"


def send(call: ModelCall, endpoint: Endpoint, timeout: float = TIMEOUT_S) -> Answer:
    """One request, one answer (not streamed). Raises ProviderError with a sentence to show."""
    if not endpoint.api_key:
        raise ProviderError(missing_key_message(endpoint.api))
    body = openai_body(call) if endpoint.api == OPENAI else anthropic_body(call)
    headers = {"content-type": "application/json"}
    if endpoint.api == OPENAI:
        headers["authorization"] = f"Bearer {endpoint.api_key}"
    else:
        headers.update({"x-api-key": endpoint.api_key, "anthropic-version": ANTHROPIC_VERSION})
    request = urllib.request.Request(endpoint.url, data=json.dumps(body).encode(), headers=headers, method="POST")
    start = time.time_ns()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's own URL
            raw = response.read()
    except urllib.error.HTTPError as error:
        raise ProviderError(f"{endpoint.url} answered {error.code}: {_error_message(error.read())}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ProviderError(f"Could not reach {endpoint.url}: {reason}") from None
    end = time.time_ns()
    try:
        reply = json.loads(raw)
        read = _read_openai if endpoint.api == OPENAI else _read_anthropic
        return read(reply, body, start, end)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        raise ProviderError(f"{endpoint.url} sent an answer that is not a {endpoint.api} reply: {error}") from None


def _error_message(raw: bytes) -> str:
    """The provider's own words when it sent JSON ({"error": {"message": …}}), else the text."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        error = json.loads(text).get("error")
        message = error.get("message") if isinstance(error, dict) else error
        return str(message) if message else text[:500]
    except (ValueError, AttributeError):
        return text[:500] or "no message"


def _read_openai(reply: dict, body: dict, start: int, end: int) -> Answer:
    choice = reply["choices"][0]
    message = choice["message"]
    parts: list[dict[str, Any]] = []
    if message.get("content"):
        parts.append({"type": "text", "content": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        parts.append({"type": "tool_call", "id": call.get("id"), "name": function.get("name"),
                      "arguments": function.get("arguments")})
    usage = reply.get("usage") or {}
    reason = choice.get("finish_reason")
    messages = [{"role": "assistant", "parts": parts, "finish_reason": reason}]
    return Answer(answer_text(messages), messages, reason,
                  reply.get("id"), reply.get("model"), usage.get("prompt_tokens"), usage.get("completion_tokens"),
                  start, end, body)


def _read_anthropic(reply: dict, body: dict, start: int, end: int) -> Answer:
    parts: list[dict[str, Any]] = []
    for block in reply["content"]:
        if block.get("type") == "text":
            parts.append({"type": "text", "content": block.get("text", "")})
        elif block.get("type") == "tool_use":
            parts.append({"type": "tool_call", "id": block.get("id"), "name": block.get("name"),
                          "arguments": block.get("input")})
    usage = reply.get("usage") or {}
    cached = (usage.get("cache_read_input_tokens") or 0) + (usage.get("cache_creation_input_tokens") or 0)
    input_tokens = usage.get("input_tokens")
    reason = reply.get("stop_reason")
    messages = [{"role": "assistant", "parts": parts, "finish_reason": reason}]
    return Answer(answer_text(messages), messages, reason,
                  reply.get("id"), reply.get("model"), None if input_tokens is None else input_tokens + cached,
                  usage.get("output_tokens"), start, end, body)

