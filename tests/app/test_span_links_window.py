"""OpenTelemetry span links in the window: the Overview lists a span's links, and following
one opens the linked span's trace with that span selected. Spans are sent with the real SDK
over OTLP/gRPC to a receiver in the process."""

from __future__ import annotations

from opentelemetry.trace import Link

from app.widgets.main_window import MainWindow
from tests.sdk_logs import sdk_tracer

WAIT_MS = 10_000


def _send_linked_pair(window: MainWindow) -> tuple[tuple[str, str], tuple[str, str]]:
    """A batch job in one trace, and a consumer in another trace that links to it."""
    with sdk_tracer(window.host.addresses.grpc_port, {"service.name": "linker"}) as tracer:
        with tracer.start_as_current_span("enqueue"), tracer.start_as_current_span("produce") as produced:
            source = produced.get_span_context()
        with tracer.start_as_current_span("consume", context=None, links=[
                Link(source, {"messaging.operation": "receive"})]) as consumed:
            target = consumed.get_span_context()
    return ((format(source.trace_id, "032x"), format(source.span_id, "016x")),
            (format(target.trace_id, "032x"), format(target.span_id, "016x")))


def test_a_link_in_the_overview_opens_the_linked_span(qtbot, window):
    qtbot.waitUntil(lambda: window.host.addresses is not None, timeout=WAIT_MS)
    (source_trace, source_span), (consumer_trace, consumer_span) = _send_linked_pair(window)
    assert source_trace != consumer_trace
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2, timeout=WAIT_MS)

    window.open_trace_from_elsewhere(consumer_trace)
    qtbot.waitUntil(lambda: (span := window.inspector.span()) is not None and span.span_id == consumer_span,
                    timeout=WAIT_MS)
    overview = window.inspector.overview
    assert "Linked span" in overview.labels()
    value = overview.value_label("Linked span")
    assert value is not None and source_span in value.text() and "messaging.operation=receive" in value.text()

    value.linkActivated.emit(value.text())  # the link, clicked
    qtbot.waitUntil(lambda: window.waterfall.model.trace_id == source_trace, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: (span := window.waterfall.selected_span()) is not None and span.span_id == source_span,
                    timeout=WAIT_MS)
    assert window.inspector.span() is not None and window.inspector.span().span_id == source_span
    assert window.list_model.trace_at(window.trace_list.currentIndex().row()).trace_id == source_trace


def test_a_span_without_links_has_no_links_section(qtbot, window):
    qtbot.waitUntil(lambda: window.host.addresses is not None, timeout=WAIT_MS)
    (source_trace, source_span), _ = _send_linked_pair(window)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2, timeout=WAIT_MS)
    window.open_span_elsewhere(source_trace, source_span)
    qtbot.waitUntil(lambda: (span := window.inspector.span()) is not None and span.span_id == source_span,
                    timeout=WAIT_MS)
    assert window.inspector.overview.value_label("Linked span") is None
