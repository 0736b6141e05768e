"""One big agent trace (10,000 spans by default) as OTLP export requests: an orchestrator
whose worker agents run chat + tool loops, some tools handing work to nested agents, and one
chain of agents nested `DEEP_CHAIN` levels down. Spans are the benchmark's shapes
(`tests.bench.workload`: gen_ai.* and OpenInference attributes, whole conversations in the
message attributes). Deterministic for a seed.

Two words are planted for find-in-trace: `MESSAGE_WORD` in the output message of one chat at
the bottom of the deep chain (and nowhere else), `ATTRIBUTE_WORD` in an attribute value of
`ATTRIBUTE_WORD_SPANS` tool spans."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.bench.workload import MS, _chat_span, _export_request, _set_attributes, _tool_span, _words

SPAN_COUNT = 10_000
DEEP_CHAIN = 12  # agent levels under the orchestrator on the deep path
RANDOM_NESTING = 4  # other agents nest at most this deep
NEST_CHANCE = 0.15  # that a tool hands its work to a nested agent
MESSAGE_WORD = "zanzibar"
ATTRIBUTE_WORD = "quokka"
ATTRIBUTE_WORD_SPANS = 7
START_NS = 1_780_000_000_000_000_000


@dataclass(frozen=True)
class BigTrace:
    bodies: list[bytes]  # serialized ExportTraceServiceRequests
    trace_id: str
    span_count: int
    root_span_id: str
    deep_span_id: str  # the chat whose output message holds MESSAGE_WORD
    deep_path: list[str]  # span ids from the root down to the deep span
    attribute_span_ids: list[str]  # the spans with ATTRIBUTE_WORD in an attribute value


class _Builder:
    def __init__(self, rng: random.Random, trace_id: bytes) -> None:
        self.rng, self.trace_id = rng, trace_id
        self.spans: list[Span] = []  # in pre-order: a prefix is a whole tree
        self.parents: dict[bytes, bytes] = {}

    def add(self, span: Span) -> Span:
        self.spans.append(span)
        self.parents[span.span_id] = span.parent_span_id
        return span

    def agent(self, parent: bytes, start_ns: int, depth: int, nest_to: int, label: str) -> Span:
        rng = self.rng
        agent = self.add(Span(trace_id=self.trace_id, span_id=rng.randbytes(8), parent_span_id=parent,
                              name=f"invoke_agent {label}", kind=Span.SPAN_KIND_INTERNAL,
                              start_time_unix_nano=start_ns))
        question = f"{_words(rng, 6, 14)}? My order is A{rng.randint(100000, 999999)}."
        _set_attributes(agent, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": label,
                                "gen_ai.provider.name": "openai", "openinference.span.kind": "AGENT",
                                "input.value": question})
        history: list[dict] = [{"role": "user", "parts": [{"type": "text", "content": question}]}]
        clock = start_ns + MS
        for round_ in range(rng.randint(2, 4)):
            chat = self.add(_chat_span(rng, self.trace_id, agent.span_id, clock, history, final=False))
            tool = self.add(_tool_span(rng, self.trace_id, agent.span_id, chat.end_time_unix_nano + MS, history))
            nest = (depth < nest_to and round_ == 0) or (depth < RANDOM_NESTING and rng.random() < NEST_CHANCE)
            if nest:
                child = self.agent(tool.span_id, tool.start_time_unix_nano + MS, depth + 1, nest_to,
                                   f"{label}.{round_}")
                tool.end_time_unix_nano = max(tool.end_time_unix_nano, child.end_time_unix_nano + MS)
            clock = tool.end_time_unix_nano + MS
        final = self.add(_chat_span(rng, self.trace_id, agent.span_id, clock, history, final=True))
        agent.end_time_unix_nano = final.end_time_unix_nano + 2 * MS
        return agent


def build_big_trace(span_count: int = SPAN_COUNT, *, seed: int = 10, batch: int = 500) -> BigTrace:
    rng = random.Random(seed)
    builder = _Builder(rng, rng.randbytes(16))
    root = builder.add(Span(trace_id=builder.trace_id, span_id=rng.randbytes(8), name="invoke_agent orchestrator",
                            kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=START_NS))
    _set_attributes(root, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "orchestrator"})
    start, worker = START_NS + MS, 0
    while len(builder.spans) < span_count:
        builder.agent(root.span_id, start, 1, DEEP_CHAIN if worker == 0 else 0, f"worker-{worker}")
        start += rng.randint(50, 400) * MS  # workers overlap: they run in parallel
        worker += 1
    spans = builder.spans[:span_count]
    root.end_time_unix_nano = max(span.end_time_unix_nano for span in spans) + MS

    deep = max((s for s in spans if s.name.startswith("chat") and _output_is_text(s)),
               key=lambda s: (_depth(builder.parents, s.span_id), -s.start_time_unix_nano))
    _set_string(deep, "gen_ai.output.messages", json.dumps([{"role": "assistant", "finish_reason": "stop", "parts": [
        {"type": "text", "content": f"Your parcel went through the {MESSAGE_WORD.capitalize()} depot yesterday."}]}]))
    tools = [s for s in spans if s.name.startswith("execute_tool")]
    marked = rng.sample(tools, ATTRIBUTE_WORD_SPANS)
    for span in marked:
        _set_attributes(span, {"order.note": f"customer mentions a {ATTRIBUTE_WORD} plush in the parcel"})
    bodies = [_export_request(spans[first:first + batch]).SerializeToString()
              for first in range(0, len(spans), batch)]
    path, walker = [], deep.span_id
    while walker:
        path.append(walker.hex())
        walker = builder.parents[walker]
    return BigTrace(bodies, builder.trace_id.hex(), len(spans), root.span_id.hex(), deep.span_id.hex(),
                    path[::-1], [s.span_id.hex() for s in marked])


def _depth(parents: dict[bytes, bytes], span_id: bytes) -> int:
    depth = 0
    while parents.get(span_id):
        span_id, depth = parents[span_id], depth + 1
    return depth


def _output_is_text(span: Span) -> bool:
    return any(kv.key == "gen_ai.output.messages" and '"type": "text"' in kv.value.string_value
               for kv in span.attributes)


def _set_string(span: Span, key: str, value: str) -> None:
    for kv in span.attributes:
        if kv.key == key:
            kv.value.string_value = value
            return
    raise KeyError(key)
