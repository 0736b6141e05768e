"""The benchmark's workload: agent-shaped GenAI traces (an `invoke_agent` root, chats with
realistic gen_ai.* and OpenInference-style attributes, tool calls), generated
deterministically and serialized into OTLP export requests."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

BASE_TIME_NS = 1_760_000_000_000_000_000  # a fixed start, so that the bodies are reproducible
MS = 1_000_000
SERVICE_NAME = "support-agent"
AGENT_SCOPE = ("opentelemetry.instrumentation.openai_agents", "0.1.0")
WORDS = (
    "the order shipping refund customer account invoice delivery address payment card warehouse "
    "status update request policy return item package tracking number week days late damaged "
    "replacement store credit email confirm check please thanks could you help me with my latest "
    "which when where why how was is are will should would can not yet already today tomorrow"
).split()
SYSTEM_PROMPT = (
    "You are a customer support agent for an online store. Look up orders, shipments and refunds "
    "with the tools before answering; never invent an order number, a date or an amount."
)
TOOLS = ("lookup_order", "track_shipment", "issue_refund", "search_policy")

# Attribute values are scalars only: the floor reads them with `getattr(value, WhichOneof(...))`
# and `json.dumps`, which an ArrayValue would not survive.
Attributes = dict[str, str | bool | int | float]


@dataclass(frozen=True)
class SpanSet:
    """Serialized export requests, and what they hold."""

    bodies: list[bytes]
    spans: int
    traces: int
    attribute_bytes: int  # protobuf size of all spans' attributes

    @property
    def body_bytes(self) -> int:
        return sum(map(len, self.bodies))


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def _set_attributes(span: Span, attributes: Attributes) -> None:
    for key, value in attributes.items():
        any_value = span.attributes.add(key=key).value
        if isinstance(value, bool):  # before int: bool is an int
            any_value.bool_value = value
        elif isinstance(value, int):
            any_value.int_value = value
        elif isinstance(value, float):
            any_value.double_value = value
        else:
            any_value.string_value = value


def _new_span(rng: random.Random, trace_id: bytes, parent_id: bytes, name: str, kind: int,
              start_ns: int, duration_ns: int, attributes: Attributes) -> Span:
    span = Span(trace_id=trace_id, span_id=rng.randbytes(8), parent_span_id=parent_id, name=name, kind=kind,
                start_time_unix_nano=start_ns, end_time_unix_nano=start_ns + duration_ns)
    _set_attributes(span, attributes)
    return span


def _chat_span(rng: random.Random, trace_id: bytes, parent_id: bytes, start_ns: int,
               history: list[dict], final: bool) -> Span:
    """A `chat gpt-4o-mini` call: the whole conversation so far in, a tool call or the answer out."""
    if final:
        output = {"role": "assistant", "parts": [{"type": "text", "content": _words(rng, 10, 35)}],
                  "finish_reason": "stop"}
    else:
        call = {"type": "tool_call", "id": f"call_{rng.randbytes(12).hex()}", "name": rng.choice(TOOLS),
                "arguments": {"order_id": f"A{rng.randint(100000, 999999)}"}}
        output = {"role": "assistant", "parts": [call], "finish_reason": "tool_call"}
    input_tokens = 40 * len(history) + rng.randint(150, 400)
    output_tokens = rng.randint(15, 120)
    attributes: Attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.request.temperature": rng.choice((0.0, 0.2, 0.7)),
        "gen_ai.request.max_tokens": 1024,
        "gen_ai.response.id": f"chatcmpl-{rng.randbytes(15).hex()}",
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.usage.cache_read.input_tokens": rng.choice((0, 0, 128, 256)),
        "gen_ai.input.messages": json.dumps(history),
        "gen_ai.output.messages": json.dumps([output]),
        "server.address": "api.openai.com",
        "server.port": 443,
        # OpenInference-style keys, as a second instrumentation on the same call would add
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.token_count.prompt": input_tokens,
        "llm.token_count.completion": output_tokens,
        "llm.token_count.total": input_tokens + output_tokens,
    }
    history.append(output)
    return _new_span(rng, trace_id, parent_id, "chat gpt-4o-mini", Span.SPAN_KIND_CLIENT, start_ns,
                     rng.randint(300, 2500) * MS, attributes)


def _tool_span(rng: random.Random, trace_id: bytes, parent_id: bytes, start_ns: int,
               history: list[dict]) -> Span:
    """Runs the tool call the last chat asked for, and adds its result to the conversation."""
    call = history[-1]["parts"][0]
    result = {"status": rng.choice(("shipped", "delivered", "pending", "refunded")), "note": _words(rng, 3, 8)}
    history.append({"role": "tool", "parts": [{"type": "tool_call_response", "id": call["id"], "response": result}]})
    attributes: Attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": call["name"],
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": call["id"],
        "gen_ai.tool.call.arguments": json.dumps(call["arguments"]),
        "gen_ai.tool.call.result": json.dumps(result),
        "openinference.span.kind": "TOOL",
    }
    span = _new_span(rng, trace_id, parent_id, f"execute_tool {call['name']}", Span.SPAN_KIND_INTERNAL, start_ns,
                     rng.randint(5, 400) * MS, attributes)
    if rng.random() < 0.02:  # the occasional failing tool, so some traces carry an error
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="upstream timed out"))
    return span


def _agent_trace(rng: random.Random, start_ns: int) -> list[Span]:
    """One agent run, ~8 spans: `invoke_agent` root; 2-4 rounds of chat + tool; a final chat.

    Spans are listed in the order they end, children before the root, as an SDK exports them.
    """
    trace_id, root_id = rng.randbytes(16), rng.randbytes(8)
    question = f"Hi, {_words(rng, 6, 14)}? My order is A{rng.randint(100000, 999999)}."
    history: list[dict] = [{"role": "system", "parts": [{"type": "text", "content": SYSTEM_PROMPT}]},
                           {"role": "user", "parts": [{"type": "text", "content": question}]}]
    children: list[Span] = []
    clock = start_ns + rng.randint(1, 5) * MS
    for _ in range(rng.randint(2, 4)):
        chat = _chat_span(rng, trace_id, root_id, clock, history, final=False)
        tool = _tool_span(rng, trace_id, root_id, chat.end_time_unix_nano + rng.randint(1, 3) * MS, history)
        children += [chat, tool]
        clock = tool.end_time_unix_nano + rng.randint(1, 3) * MS
    children.append(_chat_span(rng, trace_id, root_id, clock, history, final=True))
    root = Span(trace_id=trace_id, span_id=root_id, name=f"invoke_agent {SERVICE_NAME}", kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=start_ns, end_time_unix_nano=children[-1].end_time_unix_nano + 2 * MS)
    _set_attributes(root, {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "openai",
        "gen_ai.agent.name": SERVICE_NAME,
        "gen_ai.agent.id": "asst_5j66UpCpwteGg4YSxUnt7lPY",
        "gen_ai.conversation.id": f"conv_{rng.randbytes(12).hex()}",
        "gen_ai.request.model": "gpt-4o-mini",
        "openinference.span.kind": "AGENT",
        "session.id": rng.randbytes(8).hex(),
        "user.id": f"user-{rng.randint(1, 5000)}",
        "input.value": question,
    })
    return [*children, root]


def _spans(rng: random.Random) -> Iterator[Span]:
    """An endless stream of agent traces, each starting a little after the previous one."""
    start_ns = BASE_TIME_NS
    while True:
        yield from _agent_trace(rng, start_ns)
        start_ns += rng.randint(50, 2000) * MS


def _export_request(spans: list[Span]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in (("service.name", SERVICE_NAME), ("telemetry.sdk.language", "python"),
                       ("telemetry.sdk.name", "opentelemetry"), ("telemetry.sdk.version", "1.38.0")):
        resource_spans.resource.attributes.add(key=key).value.string_value = value
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name, scope_spans.scope.version = AGENT_SCOPE
    scope_spans.spans.extend(spans)
    return request


def build_span_set(rng: random.Random, span_count: int, batch: int) -> SpanSet:
    """`span_count` spans (the last trace may be cut short) in requests of `batch` spans."""
    stream = _spans(rng)
    bodies: list[bytes] = []
    trace_ids: set[bytes] = set()
    attribute_bytes = 0
    for first in range(0, span_count, batch):
        spans = [next(stream) for _ in range(min(batch, span_count - first))]
        trace_ids.update(span.trace_id for span in spans)
        attribute_bytes += sum(kv.ByteSize() for span in spans for kv in span.attributes)
        bodies.append(_export_request(spans).SerializeToString())
    return SpanSet(bodies=bodies, spans=span_count, traces=len(trace_ids), attribute_bytes=attribute_bytes)


# --- the receiver under test ------------------------------------------------------------------


