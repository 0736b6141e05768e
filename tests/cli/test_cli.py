"""The `tracepane` command line: exit codes, options on either side of the subcommand, the
documented JSON keys, and a port clash reported in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from receiver.records import GENAI_FIELDS
from tests.conftest import TRACEPANE, post, run_tracepane
from tests.otlp_builders import make_request, make_span, new_trace_id
from tests.serve_process import ServeProcess

TRACE_KEYS = {"trace_id", "root_name", "service_name", "start_time_unix_nano", "duration_ms",
              "span_count", "error_count", "input_tokens", "output_tokens", "cache_read_tokens",
              "cache_write_tokens", "cost_usd", "llm_calls", "unpriced_calls", "models", "session_id",
              "pinned", "orphan_spans", "broken", "evaluations"}
SPAN_KEYS = {"trace_id", "span_id", "parent_span_id", "name", "kind", "service_name", "scope",
             "start_time_unix_nano", "end_time_unix_nano", "duration_ms", "status_code", "status_message",
             "trace_state", "flags", "attributes", "events", "links", "dropped_attributes_count",
             "dropped_events_count", "dropped_links_count", "resource", *GENAI_FIELDS,
             "input_messages", "output_messages", "system_instructions", "tool_definitions", "tool_arguments",
             "tool_result", "evaluations"}


@pytest.fixture
def stored_trace(receiver):
    """One trace of three spans, one an error, whose root arrives last."""
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="invoke_agent planner", start_ns=1_790_000_000_000_000_000,
                     duration_ns=2_000_000_000)
    child = make_span(trace_id=trace_id, parent_span_id=root.span_id, name="chat gpt-4o",
                      start_ns=root.start_time_unix_nano + 1000, duration_ns=500_000_000, error=True)
    grandchild = make_span(trace_id=trace_id, parent_span_id=child.span_id, name="execute_tool search",
                           start_ns=root.start_time_unix_nano + 2000)
    port = receiver.addresses.http_port
    assert post(port, make_request(child, grandchild, service="planner-svc").SerializeToString()).status == 200
    assert post(port, make_request(root, service="planner-svc").SerializeToString()).status == 200
    return trace_id.hex()


def test_traces_json_lists_rollups_with_the_documented_keys(stored_trace, db_path):
    done = run_tracepane("traces", "--db", str(db_path), "--json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert set(row) == TRACE_KEYS
    assert row == {"trace_id": stored_trace, "root_name": "invoke_agent planner", "service_name": "planner-svc",
                   "start_time_unix_nano": 1_790_000_000_000_000_000, "duration_ms": 2000.0,
                   "span_count": 3, "error_count": 1, "input_tokens": None, "output_tokens": None,
                   "cache_read_tokens": None, "cache_write_tokens": None, "cost_usd": None, "llm_calls": 0,
                   "unpriced_calls": 0, "models": [], "session_id": None, "pinned": False, "orphan_spans": 0,
                   "broken": False, "evaluations": {"results": 0, "passed": 0, "failed": 0}}


def test_options_work_before_and_after_the_subcommand(stored_trace, db_path):
    before = run_tracepane("--db", str(db_path), "--json", "show", stored_trace)
    after = run_tracepane("show", stored_trace, "--json", "--db", str(db_path))
    assert before.returncode == after.returncode == 0
    assert json.loads(before.stdout) == json.loads(after.stdout)


def test_show_json_has_every_documented_span_key_and_null_parent_for_the_root(stored_trace, db_path):
    shown = json.loads(run_tracepane("show", stored_trace, "--db", str(db_path), "--json").stdout)
    assert set(shown) == {"trace_id", "spans", "logs", "evaluations"}
    assert all(set(span) == SPAN_KEYS for span in shown["spans"])
    roots = [s for s in shown["spans"] if s["parent_span_id"] is None]
    assert [r["name"] for r in roots] == ["invoke_agent planner"]
    assert {s["status_code"] for s in shown["spans"]} == {"unset", "error"}


def test_show_accepts_a_unique_prefix_and_prints_a_tree(stored_trace, db_path):
    done = run_tracepane("show", stored_trace[:8], "--db", str(db_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"trace {stored_trace}"
    tree = [ln for ln in lines if "[internal]" in ln]
    assert tree[0].strip().startswith("invoke_agent planner")
    assert "└─ chat gpt-4o" in tree[1] and "✗ boom" in tree[1]
    assert "└─ execute_tool search" in tree[2] and tree[2].index("└─") > tree[1].index("└─")


def test_unknown_trace_is_exit_1_and_bad_usage_is_exit_2(stored_trace, db_path):
    missing = run_tracepane("show", "0" * 32, "--db", str(db_path))
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert run_tracepane("show", "not-hex", "--db", str(db_path)).returncode == 2
    assert run_tracepane("traces", "--limit", "zero", "--db", str(db_path)).returncode == 2
    assert run_tracepane("frobnicate").returncode == 2


def test_reading_commands_on_a_missing_database_do_not_create_it(tmp_path):
    db = tmp_path / "absent.db"
    assert json.loads(run_tracepane("traces", "--db", str(db), "--json").stdout) == []
    stats = json.loads(run_tracepane("stats", "--db", str(db), "--json").stdout)
    assert stats["spans"] == 0 and stats["db_bytes"] == 0
    assert run_tracepane("show", "a" * 32, "--db", str(db)).returncode == 1
    assert not db.exists()


def test_stats_counts_and_stays_cheap(stored_trace, db_path):
    stats = json.loads(run_tracepane("stats", "--db", str(db_path), "--json").stdout)
    assert {k: stats[k] for k in ("spans", "traces", "logs", "metric_points")} == {
        "spans": 3, "traces": 1, "logs": 0, "metric_points": 0}
    assert stats["db_bytes"] > 0
    # Load tests poll `stats` several times a second, a new process each time: it must not load
    # the receiver, the GUI, prices or even the data model and settings.
    probe = ("import sys; from app.cli import main; main(['stats', '--db', sys.argv[1], '--json']); "
             "heavy = [m for m in ('grpc', 'PySide6', 'pyqtgraph', 'genai_prices', 'receiver.records', "
             "'receiver.config', 'dataclasses') if m in sys.modules]; "
             "print('HEAVY', heavy, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe, str(db_path)], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in done.stderr


def test_a_second_serve_on_the_same_ports_exits_1_with_one_line(db_path, tmp_path):
    first = ServeProcess(db_path)
    first.wait_listening()
    try:
        for grpc_port, http_port in ((first.grpc_port, 0), (0, first.http_port)):
            second = subprocess.run(
                [str(TRACEPANE), "serve", "--db", str(tmp_path / "other.db"), "--grpc-port", str(grpc_port),
                 "--http-port", str(http_port)], capture_output=True, text=True, timeout=60)
            assert second.returncode == 1
            assert len(second.stderr.strip().splitlines()) == 1, second.stderr
            assert "already in use" in second.stderr and "Traceback" not in second.stderr
    finally:
        assert first.stop() == 0


def test_serve_stops_cleanly_on_ctrl_c_and_reports(db_path):
    server = ServeProcess(db_path)
    server.wait_listening()
    trace_id = new_trace_id()
    assert post(server.http_port, make_request(make_span(trace_id=trace_id)).SerializeToString()).status == 200
    server.proc.send_signal(2)
    out, _ = server.proc.communicate(timeout=20)
    assert server.proc.returncode == 0
    assert "stopped: 1 spans, 0 log records and 0 metric points stored" in out


def test_traces_filter_takes_the_search_language_and_marks_a_mistake(stored_trace, receiver, db_path):
    other = new_trace_id()
    assert post(receiver.addresses.http_port, make_request(make_span(trace_id=other, name="quick one"),
                                                           service="other-svc").SerializeToString()).status == 200
    assert receiver.flush(10)

    def listed(expr: str) -> list[str]:
        done = run_tracepane("traces", "--db", str(db_path), "--json", "--filter", expr)
        assert done.returncode == 0, done.stderr
        return [row["trace_id"] for row in json.loads(done.stdout)]

    assert listed("error service:planner-svc duration>1s") == [stored_trace]
    assert listed('"execute_tool search"') == [stored_trace]
    assert listed("duration<1s") == [other.hex()]
    assert listed("error duration<1s") == []

    wrong = run_tracepane("traces", "--db", str(db_path), "--filter", "error duration>soon")
    assert wrong.returncode == 2
    assert "not a duration" in wrong.stderr and "(at character 7)" in wrong.stderr
    assert "\n        ^" in wrong.stderr  # under the mistake: two spaces, then six


def test_pin_and_unpin_change_what_is_pinned_filters_list(stored_trace, receiver, db_path):
    receiver.stop()  # the command writes the file itself
    pinned = run_tracepane("pin", stored_trace[:10], "--db", str(db_path))
    assert pinned.returncode == 0, pinned.stderr
    assert pinned.stdout.strip() == f"{stored_trace} pinned"
    again = json.loads(run_tracepane("pin", stored_trace, "--db", str(db_path), "--json").stdout)
    assert again == {"trace_ids": [stored_trace], "changed": [], "pinned": True}
    rows = json.loads(run_tracepane("traces", "--db", str(db_path), "--json", "--filter", "is:pinned").stdout)
    assert [(row["trace_id"], row["pinned"]) for row in rows] == [(stored_trace, True)]
    assert "[pinned] invoke_agent planner" in run_tracepane("traces", "--db", str(db_path)).stdout

    assert run_tracepane("unpin", stored_trace, "--db", str(db_path)).stdout.strip() == f"{stored_trace} unpinned"
    assert json.loads(run_tracepane("traces", "--db", str(db_path), "--json", "--filter", "is:pinned").stdout) == []
    assert run_tracepane("pin", "0" * 32, "--db", str(db_path)).returncode == 1


def test_prune_deletes_old_traces_but_keeps_pinned_ones(receiver, db_path):
    old, old_pinned, recent = new_trace_id(), new_trace_id(), new_trace_id()
    ten_days_ago = time.time_ns() - 10 * 86_400 * 10**9
    spans = [make_span(trace_id=old, name="old run", start_ns=ten_days_ago),
             make_span(trace_id=old_pinned, name="old run, pinned", start_ns=ten_days_ago + 10**9),
             make_span(trace_id=recent, name="today's run", start_ns=time.time_ns() - 10**9)]
    assert post(receiver.addresses.http_port, make_request(*spans).SerializeToString()).status == 200
    assert receiver.flush(10)
    receiver.set_pinned([old_pinned.hex()])
    receiver.stop()

    pruned = run_tracepane("prune", "--older-than", "7", "--db", str(db_path), "--json")
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout) == {"traces": 1, "spans": 1, "logs": 0}
    left = {row["trace_id"] for row in json.loads(run_tracepane("traces", "--db", str(db_path), "--json").stdout)}
    assert left == {old_pinned.hex(), recent.hex()}
    assert run_tracepane("prune", "--older-than", "soon", "--db", str(db_path)).returncode == 2
