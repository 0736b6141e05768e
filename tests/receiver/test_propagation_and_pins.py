"""Broken propagation and pins, through the real receiver: a span whose parent never arrived
and a trace whose root is missing are counted in the trace's rollup and flagged once the
grace period has passed; pinned traces are listed by a filter and survive retention."""

from __future__ import annotations

import sqlite3
import time

from receiver import Receiver, ReceiverConfig
from receiver.records import PROPAGATION_GRACE_NS, TraceFilter
from tests.conftest import post
from tests.otlp_builders import make_request, make_span, new_trace_id


def send(receiver, *spans) -> None:
    assert post(receiver.addresses.http_port, make_request(*spans).SerializeToString()).status == 200
    assert receiver.flush(10)


def summary(store, trace_id: bytes):
    return store.get_trace_summary(trace_id.hex())


def listed(store, **filters) -> set[str]:
    return {t.trace_id for t in store.list_traces(TraceFilter(**filters)).traces}


def test_a_span_whose_parent_never_arrived_is_counted_until_the_parent_comes(receiver, store):
    trace = new_trace_id()
    root, middle = make_span(trace_id=trace, name="agent"), make_span(trace_id=trace, name="tool call")
    middle.parent_span_id = root.span_id
    leaf = make_span(trace_id=trace, parent_span_id=middle.span_id, name="mcp server: tools/call")
    send(receiver, root, leaf)
    first = summary(store, trace)
    assert first.has_root and first.orphan_spans == 1

    send(receiver, middle)
    assert summary(store, trace).orphan_spans == 0


def test_a_missing_root_counts_its_children_and_clears_when_it_arrives(receiver, store):
    trace = new_trace_id()
    root = make_span(trace_id=trace, name="POST /chat")
    children = [make_span(trace_id=trace, parent_span_id=root.span_id, name=f"chat {i}") for i in range(2)]
    send(receiver, *children)
    broken = summary(store, trace)
    assert not broken.has_root and broken.orphan_spans == 2

    send(receiver, root)
    whole = summary(store, trace)
    assert whole.has_root and whole.orphan_spans == 0 and whole.root_name == "POST /chat"


def test_broken_traces_are_flagged_only_after_the_grace_period(receiver, store):
    whole, rootless = new_trace_id(), new_trace_id()
    send(receiver, make_span(trace_id=whole, name="ok"),
         make_span(trace_id=rootless, parent_span_id=b"\x01" * 8, name="server side"))
    now = time.time_ns()
    trace = summary(store, rootless)
    assert not trace.is_broken(now)  # its parent may still be on the way
    assert trace.is_broken(now + PROPAGATION_GRACE_NS)
    assert not summary(store, whole).is_broken(now + PROPAGATION_GRACE_NS)

    assert listed(store, broken_only=True) == set()
    assert listed(store, broken_only=True, broken_grace_ns=0) == {rootless.hex()}


def test_orphans_in_a_database_from_before_the_count_are_counted_when_it_opens(db_path):
    trace = new_trace_id()
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)) as receiver:
        send(receiver, make_span(trace_id=trace, parent_span_id=b"\x02" * 8, name="orphan"))
    with sqlite3.connect(db_path) as conn:  # undo migration m011
        conn.execute("DROP TABLE pins")
        conn.execute("DROP INDEX spans_by_tool")
        conn.execute("ALTER TABLE traces DROP COLUMN orphan_spans")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm011_pins_and_propagation'")
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)) as receiver:
        store = receiver.store()
        assert summary(store, trace).orphan_spans == 1
        store.close()


def test_pinned_traces_are_marked_listed_by_their_filter_and_unpinned(receiver, store):
    pinned, other = new_trace_id(), new_trace_id()
    send(receiver, make_span(trace_id=pinned, name="keep me"), make_span(trace_id=other, name="ordinary"))
    heard = []
    receiver.subscribe(heard.append)

    assert receiver.set_pinned([pinned.hex().upper(), "f" * 32]) == {pinned.hex()}  # unknown ids skipped
    assert receiver.set_pinned([pinned.hex()]) == frozenset()  # already pinned: nothing changed
    assert summary(store, pinned).pinned and not summary(store, other).pinned
    assert listed(store, pinned_only=True) == {pinned.hex()}
    assert any(pinned.hex() in event.trace_ids for event in heard)  # a live list redraws the row

    assert receiver.set_pinned([pinned.hex()], pinned=False) == {pinned.hex()}
    assert listed(store, pinned_only=True) == set()


def test_retention_deletes_old_traces_oldest_first_but_never_pinned_ones(receiver, store):
    traces = [new_trace_id() for _ in range(4)]
    send(receiver, *[make_span(trace_id=trace, name=f"run {i}", start_ns=1_700_000_000_000_000_000 + i * 10**9)
                     for i, trace in enumerate(traces)])
    receiver.set_pinned([traces[0].hex(), traces[2].hex()])

    deleted = receiver.delete_older_than(1_700_000_000_000_000_000 + 3 * 10**9)  # runs 0, 1 and 2 are older
    assert deleted.trace_ids == {traces[1].hex()}
    assert listed(store) == {traces[0].hex(), traces[2].hex(), traces[3].hex()}
    assert receiver.delete_older_than(2 * 10**18).traces == 1  # everything old: only run 3 was not pinned
    assert listed(store) == {traces[0].hex(), traces[2].hex()}

    receiver.set_pinned([traces[0].hex()], pinned=False)  # unpinned: an ordinary trace again
    assert receiver.delete_older_than(2 * 10**18).trace_ids == {traces[0].hex()}


def test_deleting_a_pinned_trace_by_hand_removes_its_pin(receiver, store, db_path):
    trace = new_trace_id()
    send(receiver, make_span(trace_id=trace, name="pinned, then deleted"))
    receiver.set_pinned([trace.hex()])
    receiver.delete_traces([trace.hex()])
    send(receiver, make_span(trace_id=trace, name="the same id, sent again"))
    assert not summary(store, trace).pinned
