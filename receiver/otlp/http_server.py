"""OTLP/HTTP on the standard library's threading server: `POST /v1/traces`.

Protobuf (`application/x-protobuf`) and OTLP/JSON (`application/json`) bodies; gzip or
deflate; `Content-Length` or chunked; HTTP/1.1 keep-alive. Answers come in the request's
content type: the export response on success, a `google.rpc.Status` on errors, as the
OTLP specification asks. Every exception is mapped through `receiver.errors` here, once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format

from receiver.errors import (
    GRPC_CODE_NUMBERS,
    PortInUse,
    ReceiverError,
    UnsupportedMediaType,
    grpc_status_name_for,
    http_status_for,
)
from receiver.ingest import Ingestor, IngestResult, PayloadFormat, Signal
from receiver.otlp.auth import BearerAuth
from receiver.otlp.grpc_server import SERVICES
from receiver.otlp.host_guard import allowed_host_names, host_name
from receiver.otlp.http_body import BrokenFraming, Oversize, decode_content, read_chunked_body, read_sized_body
from receiver.otlp.ports import address_family, describe_bind_error, host_port, ipv6_companion

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 60  # a keep-alive connection (or a stalled sender) is dropped after this
RETRY_AFTER_S = 1  # asked of exporters when the writer's queue is full

MEDIA_TYPES = {
    "application/x-protobuf": PayloadFormat.PROTOBUF,
    "application/protobuf": PayloadFormat.PROTOBUF,
    "application/json": PayloadFormat.JSON,
}

ROUTES = {f"/v1/{signal.value}": signal for signal in Signal}  # /v1/traces, /v1/logs, /v1/metrics


class OtlpHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # SO_REUSEADDR lets a restart bind while old connections sit in TIME_WAIT; on Linux it
    # does not let two listeners share a port (SO_REUSEPORT would, and stays off).
    allow_reuse_address = True
    allow_reuse_port = False

    def __init__(self, address: tuple[str, int], ingestor: Ingestor, max_request_bytes: int,
                 cors_origins: tuple[str, ...] = (), allowed_hosts: tuple[str, ...] = (),
                 auth: BearerAuth | None = None) -> None:
        self.address_family = address_family(address[0])
        self.ingestor = ingestor
        self.auth = auth
        self.max_request_bytes = max_request_bytes
        self.cors_origins = frozenset(cors_origins)
        self.host_names = allowed_host_names(address[0], allowed_hosts)
        super().__init__(address, OtlpRequestHandler)

    def origin_allowed(self, origin: str) -> bool:
        return origin in self.cors_origins or "*" in self.cors_origins


class OtlpRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; the stdlib default (1.0) closes every request
    timeout = IDLE_TIMEOUT_S
    server: OtlpHttpServer

    def version_string(self) -> str:
        return "Tracepane"  # not the Python version: nobody needs it, attackers like it

    def do_POST(self) -> None:  # noqa: N802 (stdlib naming)
        path = self.path.split("?", 1)[0]
        signal = ROUTES.get(path)
        media = MEDIA_TYPES.get(self.headers.get_content_type())
        reply_json = media is not PayloadFormat.PROTOBUF
        if not self._host_allowed(reply_json) or not self._cross_origin_allowed() or not self._authorized(reply_json):
            return
        if signal is None:
            self.close_connection = True  # body left unread
            self._reply_error(HTTPStatus.NOT_FOUND, f"no OTLP endpoint at {path}; use {', '.join(ROUTES)}",
                              "NOT_FOUND", reply_json)
            return
        try:
            body = self._read_wire_body(media)
        except ReceiverError as exc:
            self.server.ingestor.note_failed_request()
            self._reply_error(http_status_for(exc), str(exc), grpc_status_name_for(exc), reply_json)
            return
        try:
            result = self.server.ingestor.export(signal, body, media)
        except ReceiverError as exc:  # counted by the ingestor
            self._reply_error(http_status_for(exc), str(exc), grpc_status_name_for(exc), reply_json)
            return
        self._reply_ok(result, signal, reply_json)

    def do_OPTIONS(self) -> None:  # noqa: N802
        """CORS preflight of a browser-side exporter: answered only for allowed origins."""
        self._cors_headers = {}
        origin = self.headers.get("Origin")
        if not self._host_allowed(True):
            return
        if self.path.split("?", 1)[0] not in ROUTES:
            self._reply_error(HTTPStatus.NOT_FOUND, "no OTLP endpoint here", "NOT_FOUND", True)
        elif not origin or not self.server.origin_allowed(origin):
            self._reply_error(HTTPStatus.FORBIDDEN, f"origin {origin!r} is not allowed; start Tracepane with "
                              "--allow-origin ORIGIN to accept a browser exporter", "PERMISSION_DENIED", True)
        else:
            requested = self.headers.get("Access-Control-Request-Headers", "content-type, content-encoding")
            self._send(HTTPStatus.NO_CONTENT, b"", True, {
                "Access-Control-Allow-Origin": origin, "Vary": "Origin",
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": requested, "Access-Control-Max-Age": "86400"})

    def do_GET(self) -> None:  # noqa: N802
        self._method_not_allowed()

    do_PUT = do_DELETE = do_PATCH = do_GET

    def _method_not_allowed(self) -> None:
        self.close_connection = True
        self._reply_error(HTTPStatus.METHOD_NOT_ALLOWED, "OTLP/HTTP takes POST", "UNIMPLEMENTED",
                          True, extra_headers={"Allow": "POST"})

    def _host_allowed(self, reply_json: bool) -> bool:
        """The DNS-rebinding guard (`host_guard`): a request naming another host gets 421.
        A request without a Host header (no browser sends one) is served."""
        header = self.headers.get("Host")
        if header is None or host_name(header) in self.server.host_names:
            return True
        self.close_connection = True  # body left unread
        self.server.ingestor.note_failed_request()
        self._reply_error(HTTPStatus.MISDIRECTED_REQUEST,
                          f"Host {header!r} is not a name of this receiver (a guard against DNS rebinding); "
                          "start Tracepane with --allow-host NAME to accept it", "PERMISSION_DENIED", reply_json)
        return False

    def _cross_origin_allowed(self) -> bool:
        """A request from a web page (it carries Origin) is served only for allowed origins,
        so no page the developer happens to visit can write into their traces."""
        self._cors_headers = {}
        origin = self.headers.get("Origin")
        if origin is None:  # SDK exporters and other non-browser clients
            return True
        if self.server.origin_allowed(origin):
            self._cors_headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
            return True
        self.close_connection = True  # body left unread
        self.server.ingestor.note_failed_request()
        self._reply_error(HTTPStatus.FORBIDDEN, f"origin {origin!r} is not allowed", "PERMISSION_DENIED", True)
        return False

    def _authorized(self, reply_json: bool) -> bool:
        """With `--auth-token`, a request without `Authorization: Bearer <token>` gets 401 (a
        CORS preflight never reaches here: browsers send it without credentials)."""
        if self.server.auth is None:
            return True
        try:
            self.server.auth.check(self.headers.get("Authorization"))
        except ReceiverError as exc:
            self.close_connection = True  # body left unread
            self.server.ingestor.note_failed_request()
            self._reply_error(http_status_for(exc), str(exc), grpc_status_name_for(exc), reply_json,
                              extra_headers={"WWW-Authenticate": "Bearer"})
            return False
        return True

    def _read_wire_body(self, media: PayloadFormat | None) -> bytes:
        """The body as the ingestor wants it: read within limits, checked, decompressed."""
        try:
            body = self._read_body()
        except (Oversize, BrokenFraming) as exc:
            if isinstance(exc, BrokenFraming) or not exc.drained:
                self.close_connection = True  # the rest of the stream cannot be trusted
            raise
        if media is None:
            raise UnsupportedMediaType(
                f"unsupported Content-Type {self.headers.get('Content-Type')!r}; "
                "use application/x-protobuf or application/json")
        return decode_content(body, self.headers.get("Content-Encoding", ""), self.server.max_request_bytes)

    def _read_body(self) -> bytes:
        limit = self.server.max_request_bytes
        transfer_encoding = self.headers.get("Transfer-Encoding", "").strip().lower()
        if transfer_encoding:
            if transfer_encoding.split(",")[-1].strip() != "chunked":
                self.close_connection = True
                raise BrokenFraming(f"unsupported Transfer-Encoding {transfer_encoding!r}")
            return read_chunked_body(self.rfile, limit)
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            # Neither a length nor chunking: the body cannot be delimited, and treating it
            # as empty could acknowledge a lost export.
            raise BrokenFraming("request has neither Content-Length nor Transfer-Encoding: chunked")
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            raise BrokenFraming(f"invalid Content-Length {length_text!r}") from None
        return read_sized_body(self.rfile, length, limit)

    def _reply_ok(self, result: IngestResult, signal: Signal, reply_json: bool) -> None:
        _, response_type, rejected_field = SERVICES[signal]
        response = response_type()
        if result.rejected or result.message:  # a message alone is a warning (what a limit cut)
            setattr(response.partial_success, rejected_field, result.rejected)
            response.partial_success.error_message = result.message
        if reply_json:
            body = json.dumps(json_format.MessageToDict(response)).encode()
        else:
            body = response.SerializeToString()
        self._send(HTTPStatus.OK, body, reply_json)

    def _reply_error(self, status: HTTPStatus, message: str, grpc_code: str, reply_json: bool,
                     extra_headers: dict[str, str] | None = None) -> None:
        code = GRPC_CODE_NUMBERS.get(grpc_code, GRPC_CODE_NUMBERS["INTERNAL"])
        if reply_json:
            body = json.dumps({"code": code, "message": message}).encode()
        else:
            body = encode_rpc_status(code, message)
        headers = dict(extra_headers or {})
        if status == HTTPStatus.SERVICE_UNAVAILABLE:
            headers["Retry-After"] = str(RETRY_AFTER_S)
        self._send(status, body, reply_json, headers)

    def _send(self, status: HTTPStatus, body: bytes, as_json: bool,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if as_json else "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**getattr(self, "_cors_headers", {}), **(headers or {})}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s %s", self.address_string(), format % args)


def encode_rpc_status(code: int, message: str) -> bytes:
    """`google.rpc.Status{code, message}` in protobuf wire format (two fields: not worth a
    dependency on googleapis-common-protos)."""
    text = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def start_http_server(ingestor: Ingestor, host: str, port: int, *, max_request_bytes: int,
                      cors_origins: tuple[str, ...] = (), allowed_hosts: tuple[str, ...] = (),
                      auth: BearerAuth | None = None) -> tuple[OtlpHttpServer, int, Callable[[], None]]:
    """Start serving on a thread; return the server, the bound port and a stop function. With
    `auth`, every POST must carry its bearer token."""
    try:
        server = OtlpHttpServer((host, port), ingestor, max_request_bytes, cors_origins, allowed_hosts, auth)
    except OSError as exc:
        raise PortInUse(f"cannot listen for OTLP/HTTP on {host_port(host, port)}: "
                        f"{describe_bind_error(exc, port)}") from None
    bound = server.server_address[1]
    servers = [server]
    companion = ipv6_companion(host)
    if companion:
        try:
            servers.append(OtlpHttpServer((companion, bound), ingestor, max_request_bytes, cors_origins,
                                          allowed_hosts, auth))
        except OSError as exc:  # best effort: a machine without IPv6 serves IPv4 alone
            log.info("OTLP/HTTP not listening on %s: %s", host_port(companion, bound), exc)
    threads = [threading.Thread(target=each.serve_forever, name="tracepane-http", daemon=True) for each in servers]
    for thread in threads:
        thread.start()
    log.info("OTLP/HTTP listening on %s", ", ".join(host_port(each.server_address[0], bound) for each in servers))

    def stop() -> None:
        for each in servers:
            each.shutdown()
            each.server_close()
        for thread in threads:
            thread.join(5)

    return server, bound, stop


__all__ = ["start_http_server", "encode_rpc_status", "OtlpHttpServer"]
