"""`tracepane --self-test`: does this build work on this machine? With a temporary database
(never the user's) it starts the receiver on free loopback ports, sends one span over real
OTLP/gRPC and one over OTLP/HTTP, opens the main window offscreen, and waits until the list
shows both. The receiver requires a bearer token made up for the run (`--auth-token`), so the
token check is proven too; the user's TRACEPANE_* settings play no part. Exit 0, or 1 with
what failed. Needs nothing but what the app itself ships: the spans are built with
opentelemetry-proto and sent with grpcio and http.client.
"""

from __future__ import annotations

import http.client
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["run_self_test"]

TIMEOUT_S = 60
EXIT_OK, EXIT_FAILURE = 0, 1


class SelfTestFailed(Exception):
    """A step of the self-test did not work; the message says which."""


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a window that needs no display
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tracepane-self-test-") as tmp:
        try:
            shown = _run(Path(tmp))
        except SelfTestFailed as exc:
            print(f"tracepane self-test: FAILED: {exc}", file=sys.stderr)
            return EXIT_FAILURE
    print(f"tracepane self-test: OK in {time.perf_counter() - started:.1f} s: a span over OTLP/gRPC and one "
          f"over OTLP/HTTP, each with a bearer token, stored and shown in the window ({', '.join(shown)})")
    return EXIT_OK


def _run(tmp: Path) -> list[str]:
    import PySide6.QtWidgets  # noqa: F401 - before pyqtgraph, so it binds to PySide6
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.models.trace_list_model import Column
    from app.receiver_host import ReceiverHost
    from app.settings import AppSettings
    from app.widgets.main_window import MainWindow
    from app.workers import QueryWorker
    from receiver import ReceiverConfig

    app = QApplication.instance() or QApplication([sys.argv[0]])
    token = secrets.token_urlsafe(16)
    host = ReceiverHost(ReceiverConfig(db_path=tmp / "self-test.db", grpc_port=0, http_port=0, auth_token=token))
    host.start()
    if host.addresses is None:
        raise SelfTestFailed(f"the receiver did not start: {host.problem}")
    worker = QueryWorker(host.config.db_path)
    window = MainWindow(host, worker, AppSettings(tmp / "settings.ini"), remember_layout=False)
    try:
        window.show()
        names = {"self-test over gRPC": _send_grpc, "self-test over HTTP": _send_http}
        failures: list[str] = []

        def send_all() -> None:  # off the GUI thread, as an app's exporter would be
            for name, send in names.items():
                try:
                    send(host.addresses, name, token)
                except Exception as exc:  # noqa: BLE001 - every way a send fails is the answer
                    failures.append(f"{name}: {type(exc).__name__}: {exc}")

        sender = threading.Thread(target=send_all, name="tracepane-self-test")
        sender.start()
        model = window.list_model

        def shown() -> list[str]:
            return sorted(model.data(model.index(row, Column.ROOT)) for row in range(model.rowCount()))

        loop, poll = QEventLoop(), QTimer(interval=20)
        poll.timeout.connect(lambda: loop.quit() if failures or (not sender.is_alive()
                                                                  and shown() == sorted(names)) else None)
        poll.start()
        QTimer.singleShot(TIMEOUT_S * 1000, loop.quit)
        loop.exec()
        poll.stop()
        sender.join(TIMEOUT_S)
        if failures:
            raise SelfTestFailed("; ".join(failures))
        if shown() != sorted(names):
            raise SelfTestFailed(f"the window did not show both spans within {TIMEOUT_S} s "
                                 f"(it shows {shown() or 'nothing'})")
        return shown()
    finally:
        window.close()
        worker.shutdown()
        host.stop()
        app.processEvents()


def _request(name: str):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    now = time.time_ns()
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(KeyValue(key="service.name",
                                                       value=AnyValue(string_value="tracepane-self-test")))
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = os.urandom(16), os.urandom(8), name
    span.start_time_unix_nano, span.end_time_unix_nano = now - 1_000_000, now
    return request


def _send_grpc(addresses, name: str, token: str) -> None:
    import grpc
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

    with grpc.insecure_channel(f"127.0.0.1:{addresses.grpc_port}") as channel:
        TraceServiceStub(channel).Export(_request(name), timeout=30, metadata=[("authorization", f"Bearer {token}")])


def _send_http(addresses, name: str, token: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", addresses.http_port, timeout=30)
    try:
        connection.request("POST", "/v1/traces", _request(name).SerializeToString(),
                           {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {token}"})
        answer = connection.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise SelfTestFailed(f"OTLP/HTTP answered {answer.status}: {body[:200]!r}")
    finally:
        connection.close()
