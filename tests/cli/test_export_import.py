"""`tracepane export` and `tracepane import`: every fixture library's traces survive import →
export → import unchanged; the export parses back to the very protobuf messages received;
its lines sent to a receiver over OTLP/HTTP JSON store the same; redaction keeps structure,
tokens and timings but no text; bad lines are reported as FILE:LINE and skipped."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.cli import main
from app.cli_output import trace_json
from receiver import TraceStore
from receiver.otlp.otlp_file import SIGNAL_KEYS
from receiver.otlp.otlp_json import parse_otlp_dict
from tests.conftest import FIXTURES, post, run_tracepane

LIBRARIES = sorted({path.name.split(".traces.")[0] for path in FIXTURES.glob("*.traces.jsonl")})
DERIVED = ("duplicate_of",)  # from other traces: which report of a model call came first


def _files(library: str) -> list[str]:
    return [str(path) for path in sorted(FIXTURES.glob(f"{library}.*.jsonl")) if "metrics" not in path.name]


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _shown(db: Path, trace_id: str) -> dict:
    store = TraceStore(db)
    try:
        shown = trace_json(store.get_trace(trace_id))
    finally:
        store.close()
    for span in shown["spans"]:
        for key in DERIVED:
            span.pop(key, None)
    return shown


def _trace_ids(db: Path) -> list[str]:
    store = TraceStore(db)
    try:
        return sorted(t.trace_id for t in store.list_traces(limit=1000).traces)
    finally:
        store.close()


@pytest.mark.parametrize("library", LIBRARIES)
def test_each_fixture_trace_survives_export_and_import(capsys, tmp_path, library):
    first = tmp_path / "first.db"
    code, _, err = _cli(capsys, "import", "--db", str(first), *_files(library))
    assert code == 0, err
    trace_ids = _trace_ids(first)
    assert trace_ids
    for trace_id in trace_ids:
        exported = tmp_path / f"{trace_id}.jsonl"
        assert _cli(capsys, "export", trace_id, "-o", str(exported), "--db", str(first))[0] == 0
        again = tmp_path / f"{trace_id}.db"
        code, _, err = _cli(capsys, "import", "--db", str(again), str(exported))
        assert code == 0, err
        assert _shown(again, trace_id) == _shown(first, trace_id)


def _fixture_spans(library: str) -> dict[str, set[bytes]]:
    """The spans received, by trace: each with its resource and scope, serialized."""
    by_trace: dict[str, set[bytes]] = defaultdict(set)
    for line in (FIXTURES / f"{library}.traces.jsonl").read_text().splitlines():
        request = parse_otlp_dict(json.loads(line), ExportTraceServiceRequest)
        _collect(request, by_trace)
    return by_trace


def _collect(request: ExportTraceServiceRequest, by_trace: dict[str, set[bytes]]) -> None:
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                by_trace[span.trace_id.hex()].add(resource_spans.resource.SerializeToString(deterministic=True)
                                                  + scope_spans.scope.SerializeToString(deterministic=True)
                                                  + span.SerializeToString(deterministic=True))


@pytest.mark.parametrize("library", LIBRARIES)
def test_the_export_parses_back_to_the_messages_received(capsys, tmp_path, library):
    db = tmp_path / "t.db"
    assert _cli(capsys, "import", "--db", str(db), *_files(library))[0] == 0
    received = _fixture_spans(library)
    for trace_id in _trace_ids(db):
        assert _cli(capsys, "export", trace_id, "-o", str(tmp_path / "out.jsonl"), "--db", str(db))[0] == 0
        exported: dict[str, set[bytes]] = defaultdict(set)
        for line in (tmp_path / "out.jsonl").read_text().splitlines():
            document = json.loads(line)
            if "resourceSpans" in document:
                _collect(parse_otlp_dict(document, ExportTraceServiceRequest), exported)
            else:
                assert set(document) == {"resourceLogs"}
                parse_otlp_dict(document, ExportLogsServiceRequest)
        assert exported[trace_id] == received[trace_id]


@pytest.mark.parametrize("library", LIBRARIES)
def test_the_exported_lines_sent_over_otlp_http_json_store_the_same(capsys, tmp_path, receiver, db_path, library):
    first = tmp_path / "first.db"
    assert _cli(capsys, "import", "--db", str(first), *_files(library))[0] == 0
    for trace_id in _trace_ids(first):
        exported = tmp_path / "out.jsonl"
        assert _cli(capsys, "export", trace_id, "-o", str(exported), "--db", str(first))[0] == 0
        for line in exported.read_text().splitlines():
            (key,) = json.loads(line)
            answer = post(receiver.addresses.http_port, line.encode(), "application/json",
                          path=f"/v1/{SIGNAL_KEYS[key]}")
            assert answer.status == 200, answer.body
        assert receiver.flush(10)
        assert _shown(db_path, trace_id) == _shown(first, trace_id)


def test_redacting_keeps_structure_tokens_and_timings_but_no_text(capsys, tmp_path):
    library = "opentelemetry-instrumentation-openai-v2-2.4b0"
    db = tmp_path / "t.db"
    assert _cli(capsys, "import", "--db", str(db), *_files(library))[0] == 0
    for trace_id in _trace_ids(db):
        plain, redacted = tmp_path / "plain.jsonl", tmp_path / "redacted.jsonl"
        assert _cli(capsys, "export", trace_id, "-o", str(plain), "--db", str(db))[0] == 0
        assert _cli(capsys, "export", trace_id, "-o", str(redacted), "--redact", "--db", str(db))[0] == 0
        again = tmp_path / f"{trace_id}.db"
        assert _cli(capsys, "import", "--db", str(again), str(redacted))[0] == 0
        before, after = _shown(db, trace_id), _shown(again, trace_id)
        for old, new in zip(before["spans"], after["spans"], strict=True):
            for key in ("name", "start_time_unix_nano", "end_time_unix_nano", "input_tokens", "output_tokens",
                        "request_model", "response_model", "cost_usd", "finish_reasons", "tool_name"):
                assert new[key] == old[key], key
            for message, original in zip(new["input_messages"] or [], old["input_messages"] or [], strict=True):
                assert message["role"] == original["role"]
    text = (tmp_path / "redacted.jsonl").read_text()
    assert "Paris" in (tmp_path / "plain.jsonl").read_text() or "weather" in (tmp_path / "plain.jsonl").read_text()
    assert "Paris" not in text and "sunny" not in text
    assert "[redacted: " in text


def test_bad_lines_are_reported_with_their_line_and_skipped(capsys, tmp_path, db_path):
    good = (FIXTURES / "opentelemetry-instrumentation-openai-v2-2.4b0.traces.jsonl").read_text().splitlines()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join([good[0], "{not json", "[1, 2]", '{"resourceThings": []}', "",
                                '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "01"}]}]}]}',
                                *good[1:]]) + "\n")
    code, _, err = _cli(capsys, "import", "--db", str(db_path), str(mixed))
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith(f"{mixed}:2: not JSON")
    assert lines[1] == f"{mixed}:3: an OTLP/JSON request is an object, not list"
    assert lines[2].startswith(f"{mixed}:4: expected one of resourceSpans, resourceLogs, resourceMetrics")
    assert lines[3].startswith(f"{mixed}:6: ")
    assert "4 lines skipped" in lines[-1]
    assert len(_trace_ids(db_path)) == 4  # every good line imported


def test_gzip_and_one_pretty_printed_document_are_read(capsys, tmp_path, db_path):
    lines = (FIXTURES / "opentelemetry-instrumentation-openai-v2-2.4b0.traces.jsonl").read_text().splitlines()
    compressed = tmp_path / "spans.jsonl.gz"
    compressed.write_bytes(gzip.compress("\n".join(lines[:1]).encode()))
    pretty = tmp_path / "one.json"
    pretty.write_text(json.dumps(json.loads(lines[1]), indent=2))
    code, _, err = _cli(capsys, "import", "--db", str(db_path), str(compressed), str(pretty))
    assert code == 0, err
    assert "imported" in err and "skipped" not in err
    assert len(_trace_ids(db_path)) == 4


def test_export_to_stdout_gzip_and_the_errors(capsys, tmp_path, db_path):
    assert _cli(capsys, "import", "--db", str(db_path), *_files("anthropic-2.14.0"))[0] == 0
    trace_id = _trace_ids(db_path)[0]
    code, out, _ = _cli(capsys, "export", trace_id[:8], "-o", "-", "--db", str(db_path))
    assert code == 0 and all(set(json.loads(line)) <= set(SIGNAL_KEYS) for line in out.splitlines())
    assert _cli(capsys, "export", trace_id, "-o", str(tmp_path / "t.jsonl.gz"), "--db", str(db_path))[0] == 0
    assert gzip.decompress((tmp_path / "t.jsonl.gz").read_bytes()).decode().splitlines() == out.splitlines()
    assert _cli(capsys, "export", "f" * 32, "-o", "-", "--db", str(db_path))[0] == 1
    assert _cli(capsys, "export", "not-hex", "-o", "-", "--db", str(db_path))[0] == 2


def test_the_installed_command_round_trips_a_trace(tmp_path):
    first, again = tmp_path / "a.db", tmp_path / "b.db"
    done = run_tracepane("import", "--db", str(first), *_files("anthropic-2.14.0"))
    assert done.returncode == 0, done.stderr
    trace_id = _trace_ids(first)[0]
    out = tmp_path / "t.jsonl"
    assert run_tracepane("export", trace_id, "-o", str(out), "--db", str(first)).returncode == 0
    assert run_tracepane("import", str(out), "--db", str(again)).returncode == 0
    assert _shown(again, trace_id) == _shown(first, trace_id)


def test_metric_lines_are_imported_too(capsys, db_path):
    files = sorted(FIXTURES.glob("*.metrics.jsonl"))
    points = sum(len(m.get("histogram", m.get("sum", m.get("gauge", {}))).get("dataPoints", []))
                 for path in files for line in path.read_text().splitlines() if line.strip()
                 for r in json.loads(line)["resourceMetrics"] for sm in r["scopeMetrics"] for m in sm["metrics"])
    code, _, err = _cli(capsys, "import", "--db", str(db_path), *map(str, files))
    assert code == 0, err
    assert f"and {points} metric points" in err
    store = TraceStore(db_path)
    try:
        assert store.stats().metric_points == points
    finally:
        store.close()
