"""One real MCP session, traced by the `mcp` SDK's own OpenTelemetry spans and exported over
OTLP/gRPC: a client process calls tools of a server process over stdio (a real process
boundary, so only the W3C traceparent in `params._meta` can join their traces).

    python tests/mcp_session.py client GRPC_PORT propagated|unpropagated
    python tests/mcp_session.py server GRPC_PORT   (started by the client over stdio)

The SDK writes to the *global* tracer provider and propagator, which a process sets once:
hence a process per scenario. "unpropagated" installs an empty propagator in the client, so
it injects nothing and the server's spans start traces of their own. The client prints the
trace ids of its `tools/call` spans as JSON on its last line.
"""

from __future__ import annotations

import json
import sys

from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

CLIENT_SERVICE = "weather-agent"
SERVER_SERVICE = "weather-mcp-server"


class _CountingExporter(OTLPSpanExporter):
    failures = 0

    def export(self, spans):  # noqa: ANN001, ANN201 - the SDK's signature
        result = super().export(spans)
        if result != SpanExportResult.SUCCESS:
            _CountingExporter.failures += 1
        return result


def _tracing(port: int, service: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    # one export per span, finished before the process goes on: nothing is lost at exit
    provider.add_span_processor(SimpleSpanProcessor(_CountingExporter(endpoint=f"127.0.0.1:{port}", insecure=True)))
    trace.set_tracer_provider(provider)
    return provider


def run_server(port: int) -> None:
    provider = _tracing(port, SERVER_SERVICE)
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("weather")

    @server.tool()
    def get_weather(city: str) -> str:
        """Today's weather in a city."""
        return f"sunny in {city}"

    @server.tool()
    def get_forecast(city: str) -> str:
        """Tomorrow's weather (always fails)."""
        raise ValueError(f"no forecast for {city}")

    try:
        server.run("stdio")
    finally:
        provider.shutdown()


def run_client(port: int, mode: str) -> None:
    provider = _tracing(port, CLIENT_SERVICE)
    if mode == "unpropagated":
        propagate.set_global_textmap(CompositePropagator([]))
    import anyio
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=sys.executable, args=[__file__, "server", str(port)])
    tracer = trace.get_tracer("weather-agent")
    trace_ids = []

    async def session() -> None:
        async with Client(params) as client:
            for tool in ("get_weather", "get_forecast"):
                with tracer.start_as_current_span(f"agent step {tool}") as step:
                    trace_ids.append(format(step.get_span_context().trace_id, "032x"))
                    await client.call_tool(tool, {"city": "Paris"})

    anyio.run(session)
    provider.shutdown()
    if _CountingExporter.failures:
        sys.exit(f"{_CountingExporter.failures} exports failed")
    print(json.dumps({"trace_ids": trace_ids}))


def run_session(grpc_port: int, mode: str, timeout_s: float = 120) -> list[str]:
    """Run the scenario in a fresh client process (which starts its server); returns the trace
    ids of the client's two agent steps (get_weather, then get_forecast). Every span has been
    exported when it returns: each process exports a span as it ends, before going on."""
    import subprocess

    done = subprocess.run([sys.executable, __file__, "client", str(grpc_port), mode], capture_output=True, text=True,
                          timeout=timeout_s)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["trace_ids"]


if __name__ == "__main__":
    role, grpc_port = sys.argv[1], int(sys.argv[2])
    if role == "server":
        run_server(grpc_port)
    else:
        run_client(grpc_port, sys.argv[3])
