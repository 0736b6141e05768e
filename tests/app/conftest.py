"""Fixtures for the app's tests: the demo traces, sent over real OTLP/gRPC to a real
receiver and read back from its SQLite file."""

from __future__ import annotations

import pytest

from app.demo import send_demo
from receiver import TraceDetail


@pytest.fixture
def demo_receiver(receiver):
    """The conftest's receiver (loopback, port 0) with the demo's three traces stored."""
    send_demo("127.0.0.1", receiver.addresses.grpc_port)
    assert receiver.flush(10)
    return receiver


@pytest.fixture
def demo_traces(demo_receiver, store) -> list[TraceDetail]:
    """The demo's traces, newest first: [0] the short third turn, [1] the rate-limited turn
    (an error span), [2] the first turn (agent → chat with a tool call → tool → retrieval →
    embeddings → sub-agent → chat with cached tokens → streamed chat)."""
    return [store.get_trace(t.trace_id) for t in store.list_traces().traces]


@pytest.fixture
def first_turn(demo_traces) -> TraceDetail:
    return demo_traces[2]
