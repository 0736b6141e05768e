"""A playground run as a trace of its own: one model-call span in OpenTelemetry's `gen_ai.*`
conventions (model, parameters, messages, tools, answer, usage, response id), of the service
`playground`, tagged `tracepane.tag=playground`, with a span link to the call it re-ran. It
goes through the receiver's own ingest path (`Receiver.import_request`), so it is priced,
searchable and exported like any other trace. The endpoint's key is never part of it; its
base URL is (`server.address`), as an HTTP client span records it. Pure (no Qt)."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit

from app.playground.provider_client import Answer, Endpoint
from app.provider_payloads import ANTHROPIC, ModelCall
from receiver.attributes import typed_attributes

__all__ = ["PLAYGROUND_RUNS", "PLAYGROUND_SERVICE", "PLAYGROUND_TAG", "run_document"]

PLAYGROUND_SERVICE = "playground"
PLAYGROUND_TAG = "playground"
PLAYGROUND_RUNS = "playground_runs"  # key of a re-run call's runs (receiver LinkingSpan list) in its span's genai
SPAN_KIND_CLIENT, STATUS_ERROR = 3, 2
_PARAMETER_KEYS = {"temperature": "gen_ai.request.temperature", "top_p": "gen_ai.request.top_p",
                   "seed": "gen_ai.request.seed", "max_tokens": "gen_ai.request.max_tokens"}


def run_document(call: ModelCall, endpoint: Endpoint, original: tuple[str, str], answer: Answer | None = None,
                 *, failure: str = "", start_ns: int = 0, end_ns: int = 0) -> tuple[dict[str, Any], str, str]:
    """The OTLP/JSON traces request for one run (an answer, or a `failure` between `start_ns`
    and `end_ns`), and the new trace's and span's ids."""
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    provider = "anthropic" if call.api == ANTHROPIC else "openai"
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider, "gen_ai.request.model": call.model,
        "server.address": urlsplit(endpoint.base_url).hostname or endpoint.base_url,
        "tracepane.tag": PLAYGROUND_TAG,
        "tracepane.playground.original_trace_id": original[0],
        "tracepane.playground.original_span_id": original[1],
    }
    attributes.update({key: call.parameters[name] for name, key in _PARAMETER_KEYS.items()
                       if call.parameters.get(name) is not None})
    if call.system:
        attributes["gen_ai.system_instructions"] = json.dumps([{"type": "text", "content": call.system}])
    attributes["gen_ai.input.messages"] = json.dumps(call.messages, ensure_ascii=False)
    if call.tools:
        attributes["gen_ai.tool.definitions"] = json.dumps(call.tools, ensure_ascii=False)
    status: dict[str, Any] = {}
    if answer is not None:
        start_ns, end_ns = answer.start_ns, answer.end_ns
        attributes["gen_ai.output.messages"] = json.dumps(answer.output_messages, ensure_ascii=False)
        for key, value in (("gen_ai.response.id", answer.response_id), ("gen_ai.response.model", answer.response_model),
                           ("gen_ai.usage.input_tokens", answer.input_tokens),
                           ("gen_ai.usage.output_tokens", answer.output_tokens)):
            if value is not None:
                attributes[key] = value
        if answer.finish_reason:
            attributes["gen_ai.response.finish_reasons"] = [answer.finish_reason]
    else:
        attributes["error.type"] = "provider_error"
        status = {"code": STATUS_ERROR, "message": failure}
    span = {"traceId": trace_id, "spanId": span_id, "name": f"chat {call.model}", "kind": SPAN_KIND_CLIENT,
            "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(max(end_ns, start_ns)),
            "attributes": typed_attributes(attributes), "status": status,
            "links": [{"traceId": original[0], "spanId": original[1],
                       "attributes": typed_attributes({"tracepane.link": "playground original"})}]}
    resource = {"attributes": typed_attributes({"service.name": PLAYGROUND_SERVICE})}
    document = {"resourceSpans": [{"resource": resource, "scopeSpans": [
        {"scope": {"name": "tracepane.playground"}, "spans": [span]}]}]}
    return document, trace_id, span_id
