"""Reading an HTTP request body within limits, and undoing its Content-Encoding.

The standard library's server reads neither chunked bodies nor compressed ones. Both are
done here, with the size limit applied while reading and while inflating, so no body can
make the receiver hold more than the limit in memory (a gzip bomb stops at limit + 1 byte).
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from receiver.errors import BadPayload, PayloadTooLarge, UnsupportedMediaType

READ_BLOCK_BYTES = 1 << 16
DISCARD_FACTOR = 4  # an oversize body is read and dropped (so keep-alive survives) up to 4x the limit
MAX_CHUNK_LINE_BYTES = 1024


class Oversize(PayloadTooLarge):
    """Too large; `drained` says whether the body was read to its end (connection reusable)."""

    def __init__(self, message: str, *, drained: bool) -> None:
        super().__init__(message)
        self.drained = drained


class BrokenFraming(BadPayload):
    """The body's framing is wrong (bad chunk size, early end): the connection is unusable."""


def read_sized_body(stream: BinaryIO, length: int, limit: int) -> bytes:
    if length > limit * DISCARD_FACTOR:
        raise Oversize(_too_large(length, limit), drained=False)
    if length > limit:
        _discard(stream, length)
        raise Oversize(_too_large(length, limit), drained=True)
    body = stream.read(length)
    if len(body) != length:
        raise BrokenFraming(f"body ended after {len(body)} of {length} bytes")
    return body


def read_chunked_body(stream: BinaryIO, limit: int) -> bytes:
    """Decode `Transfer-Encoding: chunked`, keeping at most `limit` bytes."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = stream.readline(MAX_CHUNK_LINE_BYTES)
        if not line.endswith(b"\n"):
            raise BrokenFraming("chunk size line missing or too long")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BrokenFraming(f"invalid chunk size {size_text[:20]!r}") from None
        if size == 0:
            break
        total += size
        if total > limit * DISCARD_FACTOR:
            raise Oversize(_too_large(total, limit, at_least=True), drained=False)
        if total > limit:
            _discard(stream, size)
            parts.clear()
        else:
            chunk = stream.read(size)
            if len(chunk) != size:
                raise BrokenFraming("body ended inside a chunk")
            parts.append(chunk)
        if stream.read(2) != b"\r\n":
            raise BrokenFraming("chunk not followed by CRLF")
    while True:  # trailer section, ended by an empty line
        line = stream.readline(MAX_CHUNK_LINE_BYTES)
        if line in (b"\r\n", b"\n", b""):
            break
    if total > limit:
        raise Oversize(_too_large(total, limit), drained=True)
    return b"".join(parts)


def decode_content(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo Content-Encoding (identity, gzip, deflate), never producing more than `limit`."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return _inflate(body, zlib.MAX_WBITS | 16, limit, "gzip")
    if encoding == "deflate":
        try:
            return _inflate(body, zlib.MAX_WBITS, limit, "deflate")
        except BadPayload:  # some clients send raw deflate without the zlib header
            return _inflate(body, -zlib.MAX_WBITS, limit, "deflate")
    raise UnsupportedMediaType(f"unsupported Content-Encoding {encoding!r}; use gzip, deflate or none")


def _inflate(data: bytes, wbits: int, limit: int, name: str) -> bytes:
    out: list[bytes] = []
    size = 0
    try:
        while data:  # a gzip body may hold several members back to back
            inflater = zlib.decompressobj(wbits)
            piece = inflater.decompress(data, limit + 1 - size)
            size += len(piece)
            out.append(piece)
            if size > limit or inflater.unconsumed_tail:
                raise Oversize(f"body is larger than {limit} bytes once decompressed", drained=True)
            piece = inflater.flush()
            size += len(piece)
            out.append(piece)
            if size > limit:
                raise Oversize(f"body is larger than {limit} bytes once decompressed", drained=True)
            if not inflater.eof:
                raise BadPayload(f"{name} body is truncated")
            data = inflater.unused_data
    except zlib.error as exc:
        raise BadPayload(f"body is not valid {name}: {exc}") from None
    return b"".join(out)


def _discard(stream: BinaryIO, length: int) -> None:
    remaining = length
    while remaining > 0:
        block = stream.read(min(READ_BLOCK_BYTES, remaining))
        if not block:
            raise BrokenFraming("body ended early")
        remaining -= len(block)


def _too_large(length: int, limit: int, *, at_least: bool = False) -> str:
    more = "at least " if at_least else ""
    return f"body of {more}{length} bytes is over the {limit}-byte limit"
