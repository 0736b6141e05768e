"""The README stays true: every setting, command and JSON key it promises is documented."""

from __future__ import annotations

import dataclasses
import re

import pytest

from app.cli import build_parser
from receiver.config import ReceiverConfig, env_name
from tests.cli.test_cli import SPAN_KEYS, TRACE_KEYS
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(ReceiverConfig)])
def test_every_receiver_setting_has_its_environment_variable_documented(field):
    assert f"`{env_name(field)}`" in README


def test_every_command_is_documented():
    subparsers = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for command in subparsers.choices:
        assert f"`tracepane {command}" in README, command


LOG_KEYS = {"trace_id", "span_id", "time_unix_nano", "observed_time_unix_nano", "severity", "severity_number",
            "event_name", "body", "attributes", "scope", "service_name", "resource"}
STATS_KEYS = {"spans", "traces", "logs", "metric_points", "db_bytes", "db_path"}


@pytest.mark.parametrize("key", sorted(TRACE_KEYS | SPAN_KEYS | LOG_KEYS | STATS_KEYS))
def test_every_json_key_is_documented(key):
    assert re.search(rf"`{key}`", README), key


def test_readme_opens_with_the_two_setup_commands():
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    commands = [ln for ln in first_block.splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(commands) == 2
    assert commands[0].endswith("/tracepane") and "pytest" in commands[1]  # the window
    ci = (REPO / ".ci" / "run").read_text()
    assert commands[1].replace("pip install -e", "pip install -q -e") in ci


def test_settings_table_defaults_match_the_code():
    defaults = ReceiverConfig(db_path=REPO)
    assert f"`{defaults.grpc_port}`" in README and f"`{defaults.http_port}`" in README
    assert f"`{defaults.host}`" in README
    assert f"{defaults.max_request_bytes // 2**20} MiB" in README
    assert f"{defaults.queue_spans:,} spans" in README and f"{defaults.batch_spans:,}" in README
