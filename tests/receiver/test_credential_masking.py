"""Credentials are masked at ingestion (receiver.otlp.credentials, credential_scan,
credential_masking): the rules on text, the byte scan that decides whether a request is walked
(it must never miss what the rules would mask), and end to end through the real receiver and
SDK exporters, reading every byte of the SQLite file."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from receiver.config import ReceiverConfig
from receiver.genai.normalise import TABLES
from receiver.otlp.credential_masking import mask_credential_keys
from receiver.otlp.credential_scan import may_hold_credential_keys, may_hold_credentials, may_hold_known_formats
from receiver.otlp.credentials import KeyKind, key_kind, masked_header_text, masked_secret, masked_text
from receiver.records import WriteBatch
from receiver.service import Receiver
from tests.sdk_logs import sdk_tracer, send_logs

# Fake credentials, in the shapes of real ones.
OPENAI_KEY = "sk-proj-Q7xV2mTz9LrK4pW8sN1bY6cJ3hF5dG0a"
ANTHROPIC_KEY = "sk-ant-api03-Zr4Kq9Wm2Xv7Bn5Lp1Hs8Dt6Fg3Jc0Ya"
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
GOOGLE_KEY = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
SLACK_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
       ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
BEARER = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.mark.parametrize("secret", [OPENAI_KEY, ANTHROPIC_KEY, AWS_KEY_ID, GITHUB_TOKEN, GITHUB_PAT, GOOGLE_KEY,
                                    SLACK_TOKEN, HF_TOKEN, JWT, "sk-" + "a1b2c3d4" * 4])
def test_known_formats_are_masked_anywhere_in_text_keeping_a_hint(secret):
    text = f"Here is my key: {secret}, please use it."
    assert masked_text(text) == f"Here is my key: {secret[:4]}…[masked], please use it."


def test_a_bearer_token_in_free_text_keeps_its_scheme():
    assert masked_text(f"curl -H 'Authorization: Bearer {BEARER}'") == "curl -H 'Authorization: Bearer 9f8e…[masked]'"


@pytest.mark.parametrize("text", [
    "pip install sk-learn", "task-1 and task-2 are done", "sk-learn-is-a-great-library-for-ml",
    "disk-usage-report-for-production-servers-2024", "mask-rcnn-resnet50-fpn-coco-2017",
    "Bearer tokens are sent in the Authorization header", "AKIA is how AWS key ids start",
    "eyJ alone is not a token", "the hf_hub library", "xoxb- is a Slack prefix",
    "chatcmpl-9xKZ3vQ2mT7rL4pW8sN1bY6cJ3hF5", "call_5j66UpCpwteGg4YSxUnt7lPY",
])
def test_words_and_ids_that_only_resemble_keys_stay(text):
    assert masked_text(text) == text


@pytest.mark.parametrize("key", [
    "authorization", "Authorization", "proxy-authorization", "http.request.header.authorization",
    "http.request.header.x-api-key", "api-key", "x-api-key", "api_key", "openai.api_key", "OPENAI_API_KEY",
    "access_token", "refresh_token", "client_secret", "password", "db.password", "cookie", "set-cookie",
    "gcp.credentials", "aws.secret_access_key", "Ocp-Apim-Subscription-Key",
])
def test_keys_that_name_a_credential(key):
    assert key_kind(key) is KeyKind.SECRET


@pytest.mark.parametrize("key", [
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "llm.token_count.prompt", "llm.usage.total_tokens",
    "gen_ai.request.max_tokens", "gen_ai.token.type", "eos_token", "llm.request.pad_token",
    "gen_ai.server.time_to_first_token", "k8s.secret.name", "user.id", "session.id", "http.request.method",
])
def test_keys_that_do_not(key):
    assert key_kind(key) is KeyKind.PLAIN


def test_headers_and_query_keys():
    assert key_kind("llm.headers") is KeyKind.HEADERS
    assert key_kind("http.request_headers") is KeyKind.HEADERS
    assert key_kind("url.query") is KeyKind.QUERY


def test_a_credential_value_keeps_its_scheme_and_digits_stay():
    assert masked_secret(f"Bearer {BEARER}") == "Bearer 9f8e…[masked]"
    assert masked_secret("Basic dXNlcjpwYXNz") == "Basic [masked]"
    assert masked_secret("hunter2") == "[masked]"
    assert masked_secret("123") == "123"  # a count under a name like `max_token`
    assert masked_secret("Bearer 9f8e…[masked]") == "Bearer 9f8e…[masked]"  # masking twice changes nothing


@pytest.mark.parametrize(("text", "expected"), [
    (json.dumps({"Authorization": f"Bearer {BEARER}", "api-key": "azure0123456789abcdef", "Accept": "json"}),
     json.dumps({"Authorization": "Bearer 9f8e…[masked]", "api-key": "azur…[masked]", "Accept": "json"},
                ensure_ascii=False)),
    (str({"authorization": f"Bearer {BEARER}", "x-stainless-lang": "python"}),
     str({"authorization": "Bearer 9f8e…[masked]", "x-stainless-lang": "python"})),
    (f"Authorization: Bearer {BEARER}\r\nX-Api-Key: abc123\r\nAccept: */*",
     "Authorization: Bearer 9f8e…[masked]\r\nX-Api-Key: [masked]\r\nAccept: */*"),
])
def test_header_text_masks_credential_fields(text, expected):
    assert masked_header_text(text) == expected


def test_urls_keep_parameter_names_and_lose_passwords():
    url = "https://api.example.com/v1/search?q=cats&api_key=QUERYSECRET0123456789&X-Amz-Signature=abc&code=42"
    assert masked_text(f"GET {url} failed") == ("GET https://api.example.com/v1/search?q=cats&api_key=QUER…[masked]"
                                                "&X-Amz-Signature=[masked]&code=[masked] failed")
    assert masked_text("postgres://admin:hunter2@db:5432/app") == "postgres://admin:[masked]@db:5432/app"
    assert masked_text("https://example.com/?q=token") == "https://example.com/?q=token"


def _span_bytes(**attributes: str) -> bytes:
    span = Span(name="chat", trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    span.attributes.extend(KeyValue(key=key, value={"string_value": value}) for key, value in attributes.items())
    return span.SerializeToString()


@pytest.mark.parametrize("text", [
    f"key {OPENAI_KEY}", ANTHROPIC_KEY, AWS_KEY_ID, GOOGLE_KEY, GITHUB_TOKEN, GITHUB_PAT, HF_TOKEN, SLACK_TOKEN, JWT,
    f"Bearer {BEARER}", "mysql://root:hunter2@localhost/db", "https://x.io/a?b=1&access_token=zz",
])
def test_the_scan_sees_each_format(text):
    assert may_hold_known_formats(_span_bytes(prompt=text))


@pytest.mark.parametrize("key", ["http.request.header.authorization", "OPENAI_API_KEY", "Password", "llm.headers",
                                 "url.query", "x-api-key", "session_token"])
def test_the_scan_sees_each_credential_key(key):
    data = _span_bytes(**{key: "x"})
    assert may_hold_credential_keys(data) and not may_hold_known_formats(data)


def test_the_scan_lets_ordinary_genai_spans_through():
    assert not may_hold_credentials(_span_bytes(**{
        "gen_ai.usage.input_tokens": "120", "llm.token_count.prompt": "12",
        "gen_ai.request.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "chatcmpl-9xKZ3vQ2mT7rL4pW8sN1bY6cJ3hF5",
        "gen_ai.tool.call.id": "call_5j66UpCpwteGg4YSxUnt7lPY",
        "gen_ai.input.messages": json.dumps([{"role": "user", "content": "task-1 sk-learn"}]),
        "url.full": "https://api.openai.com/v1/chat/completions?stream=true"}))


_PIECES = [OPENAI_KEY, AWS_KEY_ID, GOOGLE_KEY, GITHUB_TOKEN, GITHUB_PAT, HF_TOKEN, SLACK_TOKEN, JWT, f"Bearer {BEARER}",
           "BEARER", "sk-", "eyJ", "://u:p@h", "://h/p?", "api_key=", "&token=v", "Authorization", "-", "_", "/",
           " ", ":", "@", "?", "#", "=", "a", "Z", "K", "J", "z", "B", "7", "é", "\n", "\x12", "*", '"', "'"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12), st.sampled_from(["prompt", "llm.headers", "url.query",
                                                                           "x-api-key", "gen_ai.input.messages"]))
def test_the_scan_never_misses_what_the_rules_mask(pieces, key):
    """The scan may say yes for nothing, never no for something: else a credential is stored."""
    text = "".join(pieces)
    kind = key_kind(key)
    data = _span_bytes(**{key: text})
    if text and masked_text(text) != text:  # formats: scanned for in every request
        assert may_hold_known_formats(data), text
    if text and kind is not KeyKind.PLAIN:  # keys: scanned for in logs and metrics, checked decoded in spans
        assert may_hold_credential_keys(data), text
    assert may_hold_credentials(data) or masked_text(text) == text


def test_the_genai_analysis_reads_no_credential_key():
    """Spans' credential keys are masked after decoding, so the analysis (during decoding) must
    not copy one of their values into a column."""
    read = {key for table in TABLES.values() for key in table}
    assert read
    assert [key for key in sorted(read) if key_kind(key) is not KeyKind.PLAIN] == []


def test_decoded_spans_have_credential_keys_masked_in_either_shape():
    plain = {"authorization": f"Bearer {BEARER}", "llm.headers": {"Api-Key": "abc", "Accept": "json"}, "n": 3}
    typed = [{"key": "x-api-key", "value": {"stringValue": "hunter2"}}, {"key": "x-api-key"},
             {"key": "q", "value": {"bytesValue": "AA=="}}]
    row = ("t", "s") + (None,) * 9 + (plain, [{"name": "e", "attributes": typed}], [])
    masked = mask_credential_keys(WriteBatch(span_rows=(row,)))
    attributes, events = masked.span_rows[0][11], masked.span_rows[0][12]
    assert attributes == {"authorization": "Bearer 9f8e…[masked]",
                          "llm.headers": {"Api-Key": "[masked]", "Accept": "json"}, "n": 3}
    assert events[0]["attributes"] == [{"key": "x-api-key", "value": {"stringValue": "[masked]"}}, {"key": "x-api-key"},
                                       {"key": "q", "value": {"bytesValue": "AA=="}}]
    clean = WriteBatch(span_rows=(("t", "s") + (None,) * 9 + ({"n": 3}, [], []),))
    assert mask_credential_keys(clean) is clean


# --- end to end --------------------------------------------------------------------------------------------

SECRETS = {  # what must appear nowhere in the file, and the hint that stands for it
    "authorization header": (BEARER, "Bearer 9f8e…[masked]"),
    "key in a prompt": (OPENAI_KEY, "sk-p…[masked]"),
    "key in llm.headers": ("azure0123456789abcdef", "azur…[masked]"),
    "url query": ("QUERYSECRET0123456789", "api_key=QUER…[masked]"),
    "password": ("hunter2-correct-horse", "hunt…[masked]"),
    "key in a log body": (AWS_KEY_ID, "AKIA…[masked]"),
    "log attribute": ("tok-0123456789abcdefXYZ", "tok-…[masked]"),
    "resource attribute": (GITHUB_TOKEN, "ghp_…[masked]"),
}


def _send(receiver: Receiver) -> str:
    """One chat span over OTLP/gRPC with the SDK, and two log records over OTLP/HTTP."""
    with sdk_tracer(receiver.addresses.grpc_port, {"service.name": "leaky", "deploy.token": GITHUB_TOKEN}) as tracer:
        messages = [{"role": "user", "parts": [{"type": "text", "content": f"Why does {OPENAI_KEY} not work?"}]}]
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attributes({
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 1234, "gen_ai.usage.output_tokens": 56, "llm.token_count.prompt": 1234,
                "gen_ai.input.messages": json.dumps(messages),
                "http.request.header.authorization": (f"Bearer {BEARER}",),
                "llm.headers": json.dumps({"api-key": "azure0123456789abcdef", "OpenAI-Beta": "assistants=v2"}),
                "url.full": "https://api.example.com/v1/search?q=cats&api_key=QUERYSECRET0123456789",
                "db.password": "hunter2-correct-horse",
            })
            trace_id = format(span.get_span_context().trace_id, "032x")
    send_logs(receiver.addresses.http_port, "leaky", [
        dict(timestamp=time.time_ns(), body=f"boto3 client made with {AWS_KEY_ID}"),
        dict(timestamp=time.time_ns(), body={"event": "login"},
             attributes={"session_token": "tok-0123456789abcdefXYZ"}),
    ])
    assert receiver.flush(10) and receiver.wait_indexed(10)
    return trace_id


def _stored_text(db: Path) -> str:
    """Every row of every table (the full-text index's too), text and blobs, as one string."""
    with sqlite3.connect(db) as conn:
        return "\n".join(conn.iterdump())


def _indexed(db: Path, word: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM text_index WHERE text_index MATCH ?", (f'"{word}"',)).fetchone()[0]


@pytest.fixture
def running(request, db_path: Path) -> Iterator[Receiver]:
    config = ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0, mask_credentials=request.param)
    with Receiver(config) as receiver:
        yield receiver


@pytest.mark.parametrize("running", [True], indirect=True)
def test_no_credential_reaches_the_database(running, db_path):
    trace_id = _send(running)
    stored = _stored_text(db_path)
    for what, (secret, hint) in SECRETS.items():
        assert secret not in stored, what
        assert hint in stored, what
    assert _indexed(db_path, OPENAI_KEY.rsplit("-", 1)[-1].lower()) == 0
    assert _indexed(db_path, BEARER) == 0
    with sqlite3.connect(db_path) as conn:  # counts and the GenAI columns are as sent
        row = conn.execute("SELECT input_tokens, output_tokens, request_model,"
                           " json_extract(attributes, '$.\"llm.token_count.prompt\"')"
                           " FROM spans WHERE trace_id = ?", (trace_id,)).fetchone()
    assert row == (1234, 56, "gpt-4o-mini", 1234)
    assert "hunt…[masked]" in stored and "cats" in stored  # the rest of the URL and the span stay


@pytest.mark.parametrize("running", [False], indirect=True)
def test_keep_credentials_stores_values_as_received(running, db_path):
    _send(running)
    stored = _stored_text(db_path)
    for what, (secret, _hint) in SECRETS.items():
        assert secret in stored, what
    assert "[masked]" not in stored
    assert _indexed(db_path, OPENAI_KEY.rsplit("-", 1)[-1].lower()) == 1


@pytest.mark.parametrize("running", [True], indirect=True)
def test_otlp_json_requests_are_masked_too(running, db_path):
    """`tracepane import` and OTLP/HTTP JSON: the request is scanned as its protobuf form."""
    span = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "call",
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
            "attributes": [{"key": "api_key", "value": {"stringValue": "jsonsecret0123456789"}},
                           {"key": "prompt", "value": {"stringValue": f"use {OPENAI_KEY}"}}]}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()
    assert running.import_request("traces", body).accepted == 1
    assert running.flush(10)
    stored = _stored_text(db_path)
    assert "jsonsecret0123456789" not in stored and OPENAI_KEY not in stored
    assert "json…[masked]" in stored and "sk-p…[masked]" in stored
