"""OTLP/JSON lines files, as the OpenTelemetry Collector's file exporter writes them: one
export request a line, `{"resourceSpans": …}`, `{"resourceLogs": …}` or
`{"resourceMetrics": …}`, protobuf's JSON mapping with hex trace and span ids.

`trace_lines` writes one stored trace that way (its spans, then its log records); `read_otlp_file`
reads such a file back — JSON lines, or one JSON document, either gzip-compressed — as the
request bodies to ingest, each with its line number, and the lines that are not one as
`BadLine`s. Pure: no database, no network.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from receiver.otlp.annotation_logs import annotation_logs, without_annotation_logs
from receiver.otlp.encode import encode_logs, encode_spans
from receiver.otlp.redact import redacted_logs, redacted_spans
from receiver.records import TraceDetail

__all__ = ["SIGNAL_KEYS", "BadLine", "FileLine", "UnreadableFile", "read_otlp_file", "trace_lines", "write_trace"]

SPANS_PER_LINE = 500  # a line stays well under a receiver's request size limit
LOGS_PER_LINE = 1000
# the top-level key of a line -> the signal (and the OTLP/HTTP path, /v1/<signal>)
SIGNAL_KEYS = {"resourceSpans": "traces", "resourceLogs": "logs", "resourceMetrics": "metrics"}
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})
_GZIP_MAGIC = b"\x1f\x8b"


def trace_lines(detail: TraceDetail, *, redact: bool = False) -> Iterator[str]:
    """The trace as JSON lines: its spans (in start order), then its log records, and its
    annotations as log records (`annotation_logs`). With `redact`, message content is replaced
    (`receiver.otlp.redact`); a person's notes are kept."""
    spans, logs = detail.spans, without_annotation_logs(detail.logs)
    if redact:
        spans, logs = redacted_spans(spans), redacted_logs(logs)
    for start in range(0, len(spans), SPANS_PER_LINE):
        yield _json_line(encode_spans(spans[start:start + SPANS_PER_LINE]))
    logs = logs + annotation_logs(detail.evaluations)
    for start in range(0, len(logs), LOGS_PER_LINE):
        yield _json_line(encode_logs(logs[start:start + LOGS_PER_LINE]))


def write_trace(detail: TraceDetail, path: Path, *, redact: bool = False) -> None:
    """The trace's lines into a file, gzip-compressed when its name ends .gz. Raises OSError."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:
        for line in trace_lines(detail, redact=redact):
            out.write(line + "\n")


def _json_line(message: Message) -> str:
    document = json_format.MessageToDict(message, use_integers_for_enums=True)
    _ids_to_hex(document)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _ids_to_hex(node: Any) -> None:
    """protobuf's base64 ids -> OTLP/JSON's hex, in place (never inside attributes or bodies)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            elif isinstance(value, (dict, list)) and key not in ("attributes", "body"):
                _ids_to_hex(value)
    elif isinstance(node, list):
        for item in node:
            _ids_to_hex(item)


@dataclass(frozen=True, slots=True)
class FileLine:
    """One export request read from a file: its signal ("traces", "logs", "metrics") and its
    OTLP/JSON body, at a 1-based line number."""

    line: int
    signal: str
    body: bytes


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    reason: str


class UnreadableFile(Exception):
    """The file cannot be read at all (missing, not gzip though it says so, not text)."""


def read_otlp_file(path: Path) -> Iterator[FileLine | BadLine]:
    """The requests in a file, in order; a line that is not one is a `BadLine` and the rest
    are still read. Raises `UnreadableFile`."""
    try:
        raw = path.read_bytes()
        if raw.startswith(_GZIP_MAGIC):
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableFile(f"cannot read {path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{path} is not UTF-8 text: {exc}") from None
    whole = _one_document(text)
    if whole is not None:
        yield _request(1, whole)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            yield BadLine(number, f"not JSON: {exc}")
            continue
        yield _request(number, document)


def _one_document(text: str) -> Any | None:
    """A file holding one pretty-printed JSON document (an `.json` OTLP file), else None."""
    stripped = text.strip()
    if not stripped.startswith("{") or "\n" not in stripped:
        return None
    try:
        json.loads(stripped.splitlines()[0])
        return None  # its first line is JSON by itself: JSON lines
    except json.JSONDecodeError:
        pass
    try:
        return json.loads(stripped)
    except (json.JSONDecodeError, RecursionError):
        return None


def _request(number: int, document: Any) -> FileLine | BadLine:
    if not isinstance(document, dict):
        return BadLine(number, f"an OTLP/JSON request is an object, not {type(document).__name__}")
    keys = [key for key in SIGNAL_KEYS if key in document]
    if len(keys) != 1:
        found = ", ".join(sorted(document)) or "nothing"
        return BadLine(number, "expected one of resourceSpans, resourceLogs, resourceMetrics; found " + found)
    try:
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate ("\\ud800"): no valid text holds it
        return BadLine(number, f"a string is not valid Unicode: {exc.reason} at character {exc.start}")
    return FileLine(number, SIGNAL_KEYS[keys[0]], body)
