"""The meters strip, over calls made with the real OpenTelemetry SDK and exported over
OTLP/gRPC: all traffic, one trace, one session; numbers that follow new spans; the errors
meter narrowing the list to error traces; the flagged answers of evaluation results."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from PySide6.QtCore import Qt

from app.formatting import format_cost_usd
from app.span_category import ERROR_COLOUR
from app.widgets.meters_strip import MeterScope
from tests.app.evaluated_calls import send_evaluated_calls

WAIT_MS = 15_000


def _calls(*plans: dict) -> list:
    """One trace per plan: an agent span around a chat call with the plan's usage."""
    provider = TracerProvider(resource=Resource.create({"service.name": "meters"}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests")
    for plan in plans:
        with tracer.start_as_current_span("invoke_agent helper") as agent:
            if plan.get("session"):
                agent.set_attribute("gen_ai.conversation.id", plan["session"])
            if plan.get("feature"):
                agent.set_attribute("feature.name", plan["feature"])
            model = plan.get("model", "gpt-4o-mini")
            with tracer.start_as_current_span(f"chat {model}") as chat:
                chat.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                     "gen_ai.request.model": model,
                                     "gen_ai.usage.input_tokens": plan["input"],
                                     "gen_ai.usage.output_tokens": plan["output"]})
                if "cached" in plan:
                    chat.set_attribute("gen_ai.usage.cache_read.input_tokens", plan["cached"])
                if plan.get("error"):
                    chat.set_attribute("error.type", plan["error"])
                    chat.set_status(Status(StatusCode.ERROR, "rejected"))
    return list(memory.get_finished_spans())


def _export(window, spans) -> None:
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{window.host.addresses.grpc_port}", insecure=True)
    try:
        assert exporter.export(spans).name == "SUCCESS"
    finally:
        exporter.shutdown()


def _meters(window) -> dict[str, str]:
    return {name: window.meters.value_text(name) for name in window.meters.meters}


def _wait_for(qtbot, window, **expected: str) -> None:
    qtbot.waitUntil(lambda: all(_meters(window)[k] == v for k, v in expected.items()), timeout=WAIT_MS)


def _cost(window, trace_ids) -> float:
    store = window.worker.store
    store.forbid_queries_on(None)  # the test reads the stored costs it compares with
    return sum(store.get_trace_summary(t).cost_usd or 0.0 for t in trace_ids)


def test_the_meters_count_all_traffic_and_follow_new_spans(qtbot, window):
    _export(window, _calls({"input": 1000, "output": 100, "cached": 400}, {"input": 500, "output": 50}))
    _wait_for(qtbot, window, input="1,500", output="150", cached="400", calls="2", errors="0")
    assert _meters(window)["hit"] == "40%"  # 400 / 1,000: the call without a cache count is unknown, not 0
    traces = [window.list_model.trace_at(row).trace_id for row in range(window.list_model.rowCount())]
    assert _meters(window)["cost"] == format_cost_usd(_cost(window, traces))
    assert _meters(window)["rate"] == format_cost_usd(_cost(window, traces)) + "/h"  # all within the last hour

    _export(window, _calls({"input": 3000, "output": 300, "cached": 0, "error": "openai.RateLimitError"}))
    _wait_for(qtbot, window, input="4,500", output="450", calls="3", errors="1", hit="10%")
    assert window.meters.errors_button.toolTip() == "4xx / policy: 1"


def test_the_meters_count_one_trace_or_its_session(qtbot, window):
    _export(window, _calls({"input": 100, "output": 10, "session": "conv-1"},
                           {"input": 200, "output": 20, "session": "conv-1"},
                           {"input": 400, "output": 40}))
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 3, timeout=WAIT_MS)
    by_input = {window.list_model.trace_at(row).input_tokens: window.list_model.trace_at(row)
                for row in range(3)}
    window.trace_list.select_trace(by_input[100].trace_id)
    window.meters.scope_box.setCurrentText(MeterScope.TRACE)
    _wait_for(qtbot, window, input="100", output="10", calls="1")
    window.meters.scope_box.setCurrentText(MeterScope.SESSION)
    _wait_for(qtbot, window, input="300", output="30", calls="2")

    window.trace_list.select_trace(by_input[400].trace_id)  # no session: that scope is not offered
    qtbot.waitUntil(lambda: window.meters.scope == MeterScope.TRAFFIC, timeout=WAIT_MS)
    _wait_for(qtbot, window, input="700", calls="3")
    box = window.meters.scope_box
    assert not box.model().item(box.findText(MeterScope.SESSION)).isEnabled()
    assert box.model().item(box.findText(MeterScope.TRACE)).isEnabled()


def test_clicking_the_errors_meter_lists_only_traces_with_errors(qtbot, window):
    _export(window, _calls({"input": 10, "output": 1}, {"input": 20, "output": 2, "error": "TimeoutError"}))
    _wait_for(qtbot, window, errors="1", calls="2")
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2, timeout=WAIT_MS)
    with qtbot.waitSignal(window.list_controller.sig_loaded, timeout=WAIT_MS):
        qtbot.mouseClick(window.meters.errors_button, Qt.MouseButton.LeftButton)
    assert window.filter_bar.value().errors_only
    assert window.list_model.rowCount() == 1 and window.list_model.trace_at(0).error_count == 1


def test_the_spend_alert_colours_the_rate_and_says_so_once_per_crossing(qtbot, window, caplog):
    crossings = []
    window.meters.sig_alert_crossed.connect(lambda rate, alert: crossings.append((rate, alert)))
    window.spend_alert.set_threshold(0.000001)  # $/h: any priced call reaches it
    assert window.settings.spend_alert() == 0.000001  # remembered
    _export(window, _calls({"input": 1000, "output": 100}))
    qtbot.waitUntil(lambda: len(crossings) == 1, timeout=WAIT_MS)
    assert "color" in window.meters.meters["rate"].value.styleSheet()
    assert "reached your alert" in window.status.currentMessage()  # no notification area offscreen
    assert any("reached your alert" in record.getMessage() for record in caplog.records)
    _export(window, _calls({"input": 10, "output": 1}))
    _wait_for(qtbot, window, calls="2")
    assert len(crossings) == 1  # still over: not said again

    window.spend_alert.set_threshold(None)  # off
    assert window.meters.meters["rate"].value.styleSheet() == "" and window.settings.spend_alert() is None


def _attribute_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Spend rate of ")]


def test_an_attribute_alert_names_the_value_that_crossed_once(qtbot, window, caplog):
    window.spend_alert.set_attribute_thresholds({"feature.name": 0.0005})  # $/h for any one feature
    assert window.settings.attribute_spend_alerts() == {"feature.name": 0.0005}  # remembered
    # search: 4,000 in + 400 out = $0.00084 in the last hour; chat: 1,000 + 100 = $0.00021
    _export(window, _calls({"input": 4000, "output": 400, "feature": "search"},
                           {"input": 1000, "output": 100, "feature": "chat"}))
    qtbot.waitUntil(lambda: len(window.meters.attribute_alerts) == 1, timeout=WAIT_MS)
    assert window.meters.attribute_alerts[0].startswith("feature.name = search: $0.00084/h")
    assert "color" in window.meters.meters["rate"].value.styleSheet()  # no overall alert set
    assert "feature.name = search" in window.meters.meters["rate"].toolTip()
    assert _attribute_warnings(caplog) == [
        "Spend rate of feature.name = search: $0.00084/h reached your alert of $0.0005/h"]
    assert "feature.name = search" in window.status.currentMessage()

    _export(window, _calls({"input": 1000, "output": 100, "feature": "chat"},
                           {"input": 1000, "output": 100, "feature": "chat"}))  # chat: $0.00063 now
    qtbot.waitUntil(lambda: len(window.meters.attribute_alerts) == 2, timeout=WAIT_MS)
    assert len(_attribute_warnings(caplog)) == 2  # chat said once; search, still over, not again
    assert "feature.name = chat" in _attribute_warnings(caplog)[1]

    window.spend_alert.set_attribute_thresholds({})
    assert window.meters.attribute_alerts == [] and window.meters.meters["rate"].value.styleSheet() == ""


def test_the_spend_alert_dialog_sets_both_kinds_of_threshold(qtbot, window):
    window.spend_alert.action.trigger()
    qtbot.waitUntil(lambda: window.spend_alert.dialog is not None and window.spend_alert.dialog.isVisible(),
                    timeout=WAIT_MS)
    dialog = window.spend_alert.dialog
    assert set(dialog.key_boxes) == {"feature.name", "user.id", "deployment.environment", "session.id"}
    dialog.overall_box.setValue(2.5)
    dialog.key_boxes["user.id"].setValue(0.75)
    dialog.accept()
    assert window.settings.spend_alert() == 2.5 and window.meters.spend_alert == 2.5
    assert window.settings.attribute_spend_alerts() == {"user.id": 0.75}


def test_the_flagged_meter_counts_answers_an_evaluator_found_made_up(qtbot, window):
    _export(window, _calls({"input": 10, "output": 1}))
    _wait_for(qtbot, window, calls="1", flagged="0")
    flagged = window.meters.meters["flagged"]
    assert not flagged.value.isEnabled() and flagged.value.styleSheet() == ""  # muted at none
    assert "hallucination/groundedness" in flagged.toolTip()

    # one answer two flagging evaluators failed (counted once), one a relevance evaluator failed,
    # one found grounded
    made_up, off_topic, grounded = send_evaluated_calls(window.host.addresses, [
        [("hallucination", 0.9, None), ("groundedness", None, "ungrounded")],
        [("relevance", 0.1, None)],
        [("groundedness", None, "grounded")]])
    _wait_for(qtbot, window, flagged="1", calls="4")
    assert flagged.value.isEnabled() and ERROR_COLOUR in flagged.value.styleSheet()  # red

    window.trace_list.select_trace(made_up[0])
    window.meters.scope_box.setCurrentText(MeterScope.TRACE)
    _wait_for(qtbot, window, flagged="1", calls="1")
    window.trace_list.select_trace(off_topic[0])
    _wait_for(qtbot, window, flagged="0")
    assert not flagged.value.isEnabled()
    window.host.receiver.set_annotation(*off_topic, passed=False, name="groundedness", note="made up")
    _wait_for(qtbot, window, flagged="1")  # a person's mark under such a name flags it too
