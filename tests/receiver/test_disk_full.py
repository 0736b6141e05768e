"""A database that cannot grow: exporters are told to retry (503 + Retry-After / UNAVAILABLE),
nothing of the refused request is kept, the user hears of it once, what was stored before is
intact, and storing resumes by itself once there is room.

The full disk is SQLite's page limit on the writer's connection (`PRAGMA max_page_count`: the
same SQLITE_FULL a full disk gives), set through `Receiver.run_job`. The last test fills a real
2 MiB file system where one can be mounted (a private mount namespace)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from receiver.errors import TraceNotFound
from receiver.storage.text_index import INDEXED_THROUGH
from tests.conftest import TRACEPANE, post
from tests.genai.test_genai_ingest import chat_span
from tests.otlp_builders import make_request, make_span, new_trace_id
from tests.serve_process import ServeProcess

NO_LIMIT = 4_294_967_294  # SQLite's largest max_page_count


def cap_growth(receiver) -> None:
    """From now on the writer's connection cannot add a page to the file: a full disk."""
    receiver.run_job(lambda conn: conn.execute(
        f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}").fetchone())


def uncap_growth(receiver) -> None:
    receiver.run_job(lambda conn: conn.execute(f"PRAGMA max_page_count = {NO_LIMIT}").fetchone())


def big_request(trace_id: bytes, name: str = "big"):
    """A span of 200 kB: far more than the free pages a small database has."""
    return make_request(make_span(trace_id=trace_id, name=name, attributes={"blob": os.urandom(100_000).hex()}))


def test_http_gets_503_to_retry_the_user_hears_once_and_storing_resumes(receiver, store):
    kept = new_trace_id()
    assert post(receiver.addresses.http_port, big_request(kept, "stored before").SerializeToString()).status == 200
    before = store.get_trace(kept.hex())
    heard: list[str] = []
    receiver.subscribe_storage_problem(heard.append)
    cap_growth(receiver)

    refused = new_trace_id()
    for _ in range(3):  # an exporter retrying: told each time, the user only once
        answer = post(receiver.addresses.http_port, big_request(refused).SerializeToString())
        assert answer.status == 503 and answer.headers["Retry-After"] == "1"
        assert b"the disk is full" in answer.body
    problem = receiver.storage_problem()
    assert re.match(r"disk full since \d\d:\d\d: the database .+ cannot grow\. Free some space", problem)
    assert str(receiver.config.db_path) in problem and "retry" in problem
    assert heard == [problem]
    with pytest.raises(TraceNotFound):  # nothing of the refused request was committed
        store.get_trace(refused.hex())
    assert store.get_trace(kept.hex()) == before

    uncap_growth(receiver)  # space is back: the next retry goes through
    answer = post(receiver.addresses.http_port, big_request(refused).SerializeToString())
    assert answer.status == 200, answer.body
    assert receiver.storage_problem() == "" and heard == [problem, ""]
    assert [s.name for s in store.get_trace(refused.hex()).spans] == ["big"]
    assert store.get_trace(kept.hex()) == before
    with sqlite3.connect(f"file:{receiver.config.db_path}?mode=ro", uri=True) as check:
        assert check.execute("PRAGMA quick_check").fetchone() == ("ok",)


def test_grpc_gets_unavailable(receiver):
    cap_growth(receiver)
    with grpc.insecure_channel(f"127.0.0.1:{receiver.addresses.grpc_port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Export(big_request(new_trace_id()), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "the disk is full" in caught.value.details()
        assert receiver.storage_problem().startswith("disk full since")
        uncap_growth(receiver)
        trace_id = new_trace_id()
        stub.Export(big_request(trace_id), timeout=10)
    assert receiver.storage_problem() == ""


def _sdk_spans(blob: str) -> list:
    provider = TracerProvider(resource=Resource.create({"service.name": "disk-full"}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("tests").start_as_current_span("agent run") as span:
        span.set_attribute("blob", blob)
    return list(memory.get_finished_spans())


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_sdk_exporters_retry_until_there_is_room_again(receiver, store, protocol):
    ports = receiver.addresses
    exporter = (GrpcExporter(endpoint=f"127.0.0.1:{ports.grpc_port}", insecure=True) if protocol == "grpc"
                else HttpExporter(endpoint=f"http://127.0.0.1:{ports.http_port}/v1/traces"))
    spans = _sdk_spans(os.urandom(100_000).hex())
    cap_growth(receiver)
    results: list[SpanExportResult] = []
    exporting = threading.Thread(target=lambda: results.append(exporter.export(spans)))
    exporting.start()
    try:
        assert receiver.wait_for_counters(lambda c: c.requests_failed >= 1, timeout=10)  # refused once
        uncap_growth(receiver)
    finally:
        exporting.join(30)
        exporter.shutdown()
    assert results == [SpanExportResult.SUCCESS]  # its own retry got through
    trace_id = format(spans[0].context.trace_id, "032x")
    assert [s.name for s in store.get_trace(trace_id).spans] == ["agent run"]
    assert receiver.storage_problem() == ""


class _Heard(logging.Handler):
    """Sets an event per message fragment once a log record holding it arrives."""

    def __init__(self, *fragments: str) -> None:
        super().__init__()
        self.events = {fragment: threading.Event() for fragment in fragments}
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        for fragment, event in self.events.items():
            if fragment in record.getMessage():
                event.set()


def test_indexing_and_merging_wait_out_a_full_disk_and_catch_up(receiver):
    """The writer's background work (full-text index, response-id merge) fails on a full disk
    like a write does: noted in a line (info: the user hears of a full disk from the writes),
    retried later, never ending the writer thread."""
    heard = _Heard("full-text indexing failed", "merging response ids failed")
    writer_log = logging.getLogger("receiver.storage.writer")
    writer_log.addHandler(heard)
    level = writer_log.level
    writer_log.setLevel(logging.INFO)
    # The page limit must come between the commit and the indexing that follows it: a
    # subscriber runs on the writer thread right after the commit, with its connection.
    conn = receiver.run_job(lambda c: c)
    capped = threading.Event()

    def cap_after_commit(_event) -> None:
        if not capped.is_set():
            conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}").fetchone()
            capped.set()

    unsubscribe = receiver.subscribe(cap_after_commit)
    trace_id = new_trace_id()
    words = " ".join(os.urandom(6).hex() for _ in range(4000))  # a large index entry
    calls = [chat_span(trace_id, response_id=f"resp-{n}-{'x' * 200}", **({"prompt": words} if n == 0 else {}))
             for n in range(300)]  # and many response ids to merge
    try:
        assert post(receiver.addresses.http_port, make_request(*calls).SerializeToString()).status == 200
        for fragment, event in heard.events.items():
            assert event.wait(10), fragment
        assert all(r.levelno == logging.INFO and r.exc_info is None and "database or disk is full" in r.getMessage()
                   for r in heard.records)
    finally:
        unsubscribe()
        writer_log.removeHandler(heard)
        writer_log.setLevel(level)
    uncap_growth(receiver)
    later = new_trace_id()
    assert post(receiver.addresses.http_port, make_request(chat_span(later, response_id="resp-later"))
                .SerializeToString()).status == 200
    assert receiver.wait_indexed(10)
    receiver.stop()  # merges what is left
    with sqlite3.connect(f"file:{receiver.config.db_path}?mode=ro", uri=True) as check:
        last_span = check.execute("SELECT max(rowid) FROM spans").fetchone()[0]
        indexed = check.execute("SELECT value FROM writer_state WHERE name = ?", (INDEXED_THROUGH,)).fetchone()[0]
        assert indexed == last_span
        assert check.execute("SELECT count(*) FROM response_ids").fetchone()[0] == 301
        assert check.execute("SELECT count(*) FROM text_index WHERE text_index MATCH ?",
                             (f'"{words.split()[123]}"',)).fetchone()[0] == 1


def _mount_namespace_serve(mount: Path) -> list[str]:
    """`tracepane serve`, run in a private mount namespace where `mount` is a 2 MiB tmpfs that a
    1 MiB file (`filler`) half fills. Deleting the filler (through /proc/PID/root) frees space;
    the database is read from inside the namespace (`nsenter`): SQLite resolves /proc/PID/root
    as a plain symbolic link, to this namespace's empty directory."""
    script = ('mount -t tmpfs -o size=2m tracepane-test "$1" && head -c 1048576 /dev/zero > "$1/filler" '
              '&& shift && exec "$@"')
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh", str(mount),
            str(TRACEPANE), "serve"]


@pytest.mark.timeout(120)
def test_a_real_full_file_system(tmp_path):
    if not (shutil.which("unshare") and shutil.which("nsenter")):
        pytest.skip("needs util-linux's unshare and nsenter to mount a small file system")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            f"mount -t tmpfs -o size=2m tracepane-test {tmp_path}"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {probe.stderr.strip()}")
    mount = tmp_path / "small"
    mount.mkdir()
    server = ServeProcess(mount / "tracepane.db", command=_mount_namespace_serve(mount))
    server.wait_listening()
    seen_from_here = Path(f"/proc/{server.proc.pid}/root") / mount.relative_to("/")
    try:
        stored = []
        for _ in range(60):  # 200 kB each: the 1 MiB left is full long before the last
            trace_id = new_trace_id()
            answer = post(server.http_port, big_request(trace_id).SerializeToString())
            if answer.status != 200:
                break
            stored.append(trace_id.hex())
        assert answer.status == 503 and answer.headers["Retry-After"] == "1", answer.body
        assert stored, "nothing fitted at all"
        said = server.proc.stderr.readline()
        assert said.startswith("tracepane: warning: disk full since") and "cannot grow" in said, said

        (seen_from_here / "filler").unlink()  # space is back
        late = new_trace_id()
        answer = post(server.http_port, big_request(late).SerializeToString())
        assert answer.status == 200, answer.body
        assert server.proc.stderr.readline() == "tracepane: the database can grow again: storing resumed\n"
        listed = subprocess.run(["nsenter", "--target", str(server.proc.pid), "--user", "--mount", str(TRACEPANE),
                                 "traces", "--db", str(mount / "tracepane.db"), "--json", "--limit", "1000"],
                                capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert {t["trace_id"] for t in json.loads(listed.stdout)} == {*stored, late.hex()}
    finally:
        assert server.stop() == 0
