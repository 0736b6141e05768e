"""Receiver ▸ Storage budgets…: the dialog shows the budgets in force, and what is chosen
there is remembered and kept to at once by the running receiver; pinned traces filling the
budget show in the status bar."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox

from app.settings import AppSettings
from receiver.storage.retention_budget import MIB, NS_PER_DAY
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id

WAIT_MS = 20_000


def test_the_budgets_chosen_in_the_dialog_are_remembered_and_kept_to_at_once(qtbot, window, settings_path):
    window.retention.choose()
    qtbot.waitUntil(lambda: window.retention.dialog is not None and window.retention.dialog.isVisible(),
                    timeout=WAIT_MS)
    dialog = window.retention.dialog
    assert dialog.budget() == (2048, 30.0)  # the defaults, in force
    dialog.size_box.setValue(512)
    dialog.age_box.setValue(7)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()

    writer = window.host.receiver._writer
    qtbot.waitUntil(lambda: writer.retention.budget.max_bytes == 512 * MIB, timeout=WAIT_MS)
    assert writer.retention.budget.max_age_ns == 7 * NS_PER_DAY
    assert AppSettings(settings_path).retention_budget() == (512, 7.0)
    assert (window.host.config.max_db_mb, window.host.config.max_age_days) == (512, 7.0)  # kept over a restart


def test_pinned_traces_filling_the_budget_show_in_the_status_bar(qtbot, window):
    receiver = window.host.receiver
    trace_ids = []
    for _ in range(150):  # ~1.2 MiB of prompts
        trace_id = new_trace_id()
        span = make_span(trace_id=trace_id, name="agent run", attributes={"gen_ai.prompt": "lorem ipsum " * 700})
        assert post(receiver.addresses.http_port, make_request(span).SerializeToString()).status == 200
        trace_ids.append(trace_id.hex())
    receiver.set_pinned(trace_ids)
    window.retention.apply(1, 0)

    label = window.status.storage_label
    qtbot.waitUntil(lambda: not label.isHidden(), timeout=WAIT_MS)
    assert "Pinned traces alone fill the 1 MiB database budget" in label.text() and "Unpin some" in label.text()
    window.retention.apply(0, 0)  # no size budget: nothing to say
    qtbot.waitUntil(lambda: label.isHidden(), timeout=WAIT_MS)
