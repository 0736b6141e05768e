"""The way back along OpenTelemetry span links (`TraceStore.linking_spans`): the spans of one
service that link into a trace, by the span they link to — what lists a call's playground
runs. Sent with the real SDK over OTLP/gRPC."""

from __future__ import annotations

from opentelemetry.trace import Link

from tests.sdk_logs import sdk_tracer


def _ids(context) -> tuple[str, str]:
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def test_spans_of_a_service_linking_into_a_trace_are_found_by_the_span_they_link_to(receiver, store):
    port = receiver.addresses.grpc_port
    with sdk_tracer(port, {"service.name": "agent"}) as tracer:
        with tracer.start_as_current_span("agent") as root, tracer.start_as_current_span("chat") as chat:
            original_root, original_chat = root.get_span_context(), chat.get_span_context()
    runs = []
    with sdk_tracer(port, {"service.name": "playground"}) as tracer:
        for _ in range(2):
            with tracer.start_as_current_span("chat gpt-4o-mini", context=None, links=[Link(original_chat)]) as run:
                runs.append(_ids(run.get_span_context()))
        with tracer.start_as_current_span("other", context=None, links=[Link(original_root)]) as other:
            on_root = _ids(other.get_span_context())
    with sdk_tracer(port, {"service.name": "batch"}) as tracer:  # another service's link is not asked for
        with tracer.start_as_current_span("consumer", context=None, links=[Link(original_chat)]):
            pass
    assert receiver.flush(10)
    trace_id, chat_id = _ids(original_chat)
    found = store.linking_spans(trace_id, "playground")
    assert [(s.trace_id, s.span_id) for s in found[chat_id]] == runs  # oldest first
    assert [(s.trace_id, s.span_id) for s in found[_ids(original_root)[1]]] == [on_root]
    assert set(found) == {chat_id, _ids(original_root)[1]}
    assert store.linking_spans(trace_id, "nobody") == {}
    assert store.linking_spans(runs[0][0], "playground") == {}  # nothing links into a run
