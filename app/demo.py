"""`tracepane demo`: a few realistic agent runs, sent to a receiver over OTLP/gRPC like any
instrumented app would, so a new user sees every part of the screen at once.

The runs are one support conversation of three turns (one `gen_ai.conversation.id`):
an agent that calls a model, runs the tool the model asked for, retrieves documents
(with an embeddings call), hands over to a sub-agent on another provider (with cached
input tokens) and streams its answer; a turn whose first model call is rate-limited and
retried; and a short closing turn. Attributes follow the current OpenTelemetry GenAI
conventions, with the conversation in `gen_ai.input.messages` / `gen_ai.output.messages`.
Two answers carry an LLM judge's verdicts as `gen_ai.evaluation.result` span events: the
first turn's passes; the second turn's claims a return no tool opened (a hallucination).
Beside them, a few of the app's own log records, sent without trace ids (the logs page),
and the model calls' GenAI metrics (`demo_metrics`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, SeverityNumber
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from app.demo_metrics import demo_metrics_request

__all__ = ["DemoSent", "demo_logs_request", "demo_request", "send_demo"]

SERVICE = "support-agent"
SCOPE = "tracepane.demo"
CONVERSATION = "conv-demo-0001"
MS = 1_000_000
EXPORT_TIMEOUT_S = 10.0

SYSTEM = "You are Ada, the support agent of a small online shop. Be brief; use the tools you have."
TOOLS = [{"type": "function", "name": "lookup_order", "description": "An order's status by its id",
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}}}]


def _text(role: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": text}], **extra}


_VALUE_FIELDS = {bool: "bool_value", int: "int_value", float: "double_value", str: "string_value"}


def _any(value: Any) -> AnyValue:
    if isinstance(value, (list, dict)):
        value = json.dumps(value)  # how the Python instrumentations send structured values
    return AnyValue(**{_VALUE_FIELDS[type(value)]: value})


@dataclass
class _Run:
    """One trace being built: spans get ids, times and a parent from the caller."""

    start_ns: int
    trace_id: bytes = field(default_factory=lambda: os.urandom(16))
    spans: list[Span] = field(default_factory=list)

    def span(self, name: str, parent: Span | None, offset_ms: int, duration_ms: int, attributes: dict[str, Any],
             *, kind: int = Span.SPAN_KIND_INTERNAL, error: str | None = None) -> Span:
        start = self.start_ns + offset_ms * MS
        span = Span(trace_id=self.trace_id, span_id=os.urandom(8),
                    parent_span_id=parent.span_id if parent is not None else b"", name=name, kind=kind,
                    start_time_unix_nano=start, end_time_unix_nano=start + duration_ms * MS)
        span.attributes.extend(KeyValue(key=k, value=_any(v)) for k, v in attributes.items())
        if error is not None:
            span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=error))
        self.spans.append(span)
        return span

    def agent(self, name: str, parent: Span | None, offset_ms: int, duration_ms: int, question: str,
              provider: str = "openai", feature: str | None = None) -> Span:
        return self.span(f"invoke_agent {name}", parent, offset_ms, duration_ms, {
            "gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": provider, "gen_ai.agent.name": name,
            "gen_ai.conversation.id": CONVERSATION, "user.id": "customer-4711", "gen_ai.input.messages":
            [_text("user", question)], **({"feature.name": feature} if feature else {})})

    def chat(self, parent: Span, offset_ms: int, duration_ms: int, model: str, messages: list[dict],
             output: dict | None, usage: tuple[int, int], *, error: str | None = None, **extra: Any) -> Span:
        """A model call; `error` (the status message) for one that failed, with no output."""
        provider, response_model = MODELS[model]
        attributes = {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider, "gen_ai.request.model": model,
            "gen_ai.request.temperature": 0.2, "gen_ai.request.top_p": 1.0, "gen_ai.request.seed": 42,
            "gen_ai.request.max_tokens": 1024, "gen_ai.system_instructions": [{"type": "text", "content": SYSTEM}],
            "gen_ai.input.messages": messages, "gen_ai.tool.definitions": TOOLS,
            "server.address": SERVERS[provider], "server.port": 443}
        if output is not None:
            attributes |= {
                "gen_ai.response.model": response_model, "gen_ai.response.id": f"resp_{os.urandom(12).hex()}",
                "gen_ai.response.finish_reasons": [output["finish_reason"]],
                "gen_ai.usage.input_tokens": usage[0], "gen_ai.usage.output_tokens": usage[1],
                "gen_ai.output.messages": [output]}
        return self.span(f"chat {model}", parent, offset_ms, duration_ms, attributes | extra,
                         kind=Span.SPAN_KIND_CLIENT, error=error)


def _judge(span: Span, name: str, score: float, label: str, explanation: str | None = None) -> None:
    """An evaluator's result on a model call, as the span event the conventions define."""
    attributes = {"gen_ai.evaluation.name": name, "gen_ai.evaluation.score.value": score,
                  "gen_ai.evaluation.score.label": label}
    if explanation:
        attributes["gen_ai.evaluation.explanation"] = explanation
    event = span.events.add(time_unix_nano=span.end_time_unix_nano, name="gen_ai.evaluation.result")
    event.attributes.extend(KeyValue(key=k, value=_any(v)) for k, v in attributes.items())


MODELS = {"gpt-4o-mini": ("openai", "gpt-4o-mini-2024-07-18"),
          "claude-3-5-sonnet-20241022": ("anthropic", "claude-3-5-sonnet-20241022")}
SERVERS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com"}


def _first_turn(start_ns: int) -> _Run:
    run = _Run(start_ns)
    question = "Where is my order A1042? And can I still return it?"
    root = run.agent(SERVICE, None, 0, 9_400, question, feature="refunds")
    history = [_text("user", question)]
    call = {"type": "tool_call", "id": "call_7Qm2", "name": "lookup_order", "arguments": {"order_id": "A1042"}}
    ask = {"role": "assistant", "parts": [call], "finish_reason": "tool_call"}
    run.chat(root, 20, 1_150, "gpt-4o-mini", history, ask, (412, 24))
    result = {"status": "delivered", "delivered_on": "2026-11-20"}
    run.span("execute_tool lookup_order", root, 1_190, 140, {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_order", "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": call["id"], "gen_ai.tool.call.arguments": call["arguments"],
        "gen_ai.tool.call.result": result})
    history += [ask, {"role": "tool", "parts": [{"type": "tool_call_response", "id": call["id"], "response": result}]}]
    retrieval = run.span("retrieval refund-policy", root, 1_350, 420, {
        "gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": "shop-policies",
        "gen_ai.request.top_k": 3})
    run.span("embeddings text-embedding-3-small", retrieval, 1_360, 180, {
        "gen_ai.operation.name": "embeddings", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "text-embedding-3-small", "gen_ai.response.model": "text-embedding-3-small",
        "gen_ai.usage.input_tokens": 14}, kind=Span.SPAN_KIND_CLIENT)
    policy = "Returns are accepted within 30 days of delivery; refunds go back to the original payment."
    sub = run.agent("refund-agent", root, 1_800, 3_900, "Can order A1042 (delivered 2026-11-20) be returned?",
                    provider="anthropic")
    run.chat(sub, 1_820, 3_800, "claude-3-5-sonnet-20241022",
             [_text("user", f"Policy: {policy}\nOrder A1042 was delivered on 2026-11-20. Returnable today?")],
             _text("assistant", "Yes: it is within the 30-day window until 2026-12-20.", finish_reason="end_turn"),
             (1_836, 31), **{"gen_ai.usage.cache_read.input_tokens": 1_536})
    answer = _text("assistant", "Your order A1042 was delivered on Nov 20, and you can return it until Dec 20. "
                   "The refund goes back to your original payment.", finish_reason="stop")
    final = run.chat(root, 5_750, 3_600, "gpt-4o-mini", [*history, _text("user", f"Policy: {policy}")], answer,
                     (538, 41), **{"gen_ai.request.stream": True, "gen_ai.response.time_to_first_chunk": 0.412})
    _judge(final, "relevance", 0.94, "relevant")
    _judge(final, "groundedness", 0.9, "grounded", "Delivery date and return window match the order lookup "
           "and the retrieved policy.")
    return run


def _second_turn(start_ns: int) -> _Run:
    run = _Run(start_ns)
    question = "Great, please start the return."
    root = run.agent(SERVICE, None, 0, 3_700, question, feature="order-status")
    messages = [_text("user", question)]
    run.chat(root, 15, 610, "gpt-4o-mini", messages, None, (0, 0),
             error="Error code: 429 - Rate limit reached for gpt-4o-mini",
             **{"error.type": "openai.RateLimitError", "http.response.status_code": 429})
    answer = run.chat(root, 1_700, 1_900, "gpt-4o-mini", messages,
                      _text("assistant", "Done: return R-2207 is open; print the label from the email we just sent.",
                            finish_reason="stop"), (451, 29))
    _judge(answer, "relevance", 0.88, "relevant")
    _judge(answer, "hallucination", 0.83, "hallucinated", "Says return R-2207 is open, but no tool was called "
           "to start a return, and no email was sent.")
    return run


def _third_turn(start_ns: int) -> _Run:
    run = _Run(start_ns)
    question = "Thanks!"
    root = run.agent(SERVICE, None, 0, 900, question, feature="small-talk")
    run.chat(root, 10, 850, "gpt-4o-mini", [_text("user", question)],
             _text("assistant", "You're welcome. Anything else?", finish_reason="stop"), (470, 9))
    return run


def demo_request(now_ns: int | None = None) -> ExportTraceServiceRequest:
    """The demo runs as one export request: three turns over the last few minutes."""
    now = time.time_ns() if now_ns is None else now_ns
    runs = [_first_turn(now - 240_000 * MS), _second_turn(now - 120_000 * MS), _third_turn(now - 30_000 * MS)]
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend([KeyValue(key="service.name", value=AnyValue(string_value=SERVICE)),
                                               KeyValue(key="deployment.environment", value=AnyValue(
                                                   string_value="demo"))])
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = SCOPE
    for run in runs:
        scope_spans.spans.extend(run.spans)
    return request


# (seconds before now, severity, text, attributes): the app's own logs, linked to no span
APP_LOGS = (
    (300, SeverityNumber.SEVERITY_NUMBER_INFO, "support-agent started: 2 tools, model routing gpt-4o-mini → "
     "claude-3-5-sonnet for refunds", {"code.function": "main", "app.version": "1.8.2"}),
    (200, SeverityNumber.SEVERITY_NUMBER_INFO, "order cache warmed: 1,204 orders in 0.8 s",
     {"code.function": "warm_cache", "cache.entries": 1204}),
    (130, SeverityNumber.SEVERITY_NUMBER_WARN, "openai: 429 rate limited on gpt-4o-mini, retrying in 1.5 s",
     {"code.function": "call_model", "http.response.status_code": 429, "retry.attempt": 1}),
    (60, SeverityNumber.SEVERITY_NUMBER_ERROR, "feedback webhook failed: ConnectionRefusedError to "
     "hooks.example.com:443", {"code.function": "post_feedback", "error.type": "ConnectionRefusedError"}),
)


def demo_logs_request(now_ns: int | None = None) -> ExportLogsServiceRequest:
    """The app's log records of the demo, without trace ids."""
    now = time.time_ns() if now_ns is None else now_ns
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=SERVICE)))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = SERVICE
    for seconds_ago, severity, text, attributes in APP_LOGS:
        record = LogRecord(time_unix_nano=now - seconds_ago * 1000 * MS, observed_time_unix_nano=now,
                           severity_number=severity, severity_text=SeverityNumber.Name(severity).split("_")[-1],
                           body=AnyValue(string_value=text))
        record.attributes.extend(KeyValue(key=k, value=_any(v)) for k, v in attributes.items())
        scope_logs.log_records.append(record)
    return request


@dataclass(frozen=True)
class DemoSent:
    traces: int
    spans: int
    endpoint: str


class DemoFailed(Exception):
    """The receiver could not be reached or refused the demo."""


def send_demo(host: str, grpc_port: int, *, auth_token: str | None = None,
              timeout_s: float = EXPORT_TIMEOUT_S) -> DemoSent:
    """Send the demo runs to the OTLP/gRPC receiver at host:port, with its bearer token if
    it wants one (`--auth-token`)."""
    import grpc
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import MetricsServiceStub
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

    endpoint = f"{_connectable(host)}:{grpc_port}"
    request = demo_request()
    metadata = [("authorization", f"Bearer {auth_token}")] if auth_token else None
    with grpc.insecure_channel(endpoint) as channel:
        try:
            response = TraceServiceStub(channel).Export(request, timeout=timeout_s, metadata=metadata)
            LogsServiceStub(channel).Export(demo_logs_request(), timeout=timeout_s, metadata=metadata)
            MetricsServiceStub(channel).Export(demo_metrics_request(request), timeout=timeout_s, metadata=metadata)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:  # it answered: not a missing receiver
                raise DemoFailed(f"the receiver at {endpoint} refused the demo: {exc.details()}") from None
            raise DemoFailed(f"no OTLP/gRPC receiver answered at {endpoint} ({exc.code().name}: {exc.details()}); "
                             "start one with `tracepane` or `tracepane serve`") from None
    rejected = response.partial_success.rejected_spans
    if rejected:
        raise DemoFailed(f"the receiver at {endpoint} rejected {rejected} demo spans: "
                         f"{response.partial_success.error_message}")
    spans = request.resource_spans[0].scope_spans[0].spans
    return DemoSent(traces=len({s.trace_id for s in spans}), spans=len(spans), endpoint=endpoint)


def _connectable(host: str) -> str:
    """A receiver listening on every address is reached on loopback."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
