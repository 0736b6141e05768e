"""The trace list's full-text search (FTS5, kept by the writer): whole words in any case,
pages in exact newest-first order however the spans arrived, rows not indexed yet found
too, deleted text gone from the index, an older database indexed when opened, and message
text found in every convention family's fixtures."""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from receiver.config import ReceiverConfig
from receiver.records import TraceFilter
from receiver.service import Receiver
from receiver.storage import text_search
from receiver.storage.text_index import INDEXED_THROUGH
from tests.conftest import fixture_files, fixture_requests, post
from tests.genai.test_genai_ingest import send
from tests.otlp_builders import BASE_NS, make_span, new_trace_id
from tests.receiver.test_deletion import send_logs, span_log

SECOND = 1_000_000_000


def _found(store, text: str, **filters) -> list[str]:
    return [t.trace_id for t in store.list_traces(TraceFilter(text=text, **filters), limit=50).traces]


def _all_pages(store, text: str, page: int, **filters) -> list[str]:
    ids, after = [], None
    while True:
        result = store.list_traces(TraceFilter(text=text, **filters), limit=page, after=after)
        ids += [t.trace_id for t in result.traces]
        if result.next_cursor is None:
            return ids
        after = result.next_cursor


def _unindex_everything(db_path) -> None:
    """Put the database back to 'nothing indexed yet' (as a writer stopped mid-burst leaves it)."""
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO text_index (text_index) VALUES ('delete-all')")
        conn.execute("DELETE FROM text_docs")
        conn.execute("INSERT INTO text_pending_logs SELECT log_id FROM logs WHERE trace_id IS NOT NULL")
        conn.execute("UPDATE writer_state SET value = 0 WHERE name = ?", (INDEXED_THROUGH,))


def test_words_match_in_any_case_and_accent_as_whole_words(receiver, store):
    trace = new_trace_id()
    send(receiver, make_span(trace_id=trace, name="chat", attributes={"prompt": "Où est le Café? Refunds: GPT-4o"}))
    assert receiver.wait_indexed()
    for text in ("cafe", "CAFÉ", "où", "refunds", "gpt-4o", "GPT 4o", "refunds café"):
        assert _found(store, text) == [trace.hex()], text
    for text in ("refund", "caf", "gpt-4", "café missing", "prompt"):  # part of a word; a word not there; a key
        assert _found(store, text) == [], text
    assert _found(store, "?!") == []  # no word at all: a substring scan, which finds none here
    assert _found(store, "?") == [trace.hex()]
    assert _found(store, "Café?") == [trace.hex()]


@pytest.mark.parametrize("filters_first", [False, True], ids=["from the index", "filters first"])
@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "not indexed yet"])
def test_pages_hold_every_match_once_newest_first_however_spans_arrived(receiver, store, monkeypatch, indexed,
                                                                         filters_first):
    # 40 traces, 0.4 s apart, whose starts are shuffled against their arrival; each sends a
    # child first and its root later, so a trace's start moves back after it was indexed.
    # The words are in the child, which starts up to 90 s after its root: the index meets
    # a trace well before its start's turn, and must read on for traces that started later.
    monkeypatch.setattr(text_search, "_FIRST_BATCH", 2)  # many small reads: the stopping rule is exercised
    monkeypatch.setattr(text_search, "_MAX_BATCH", 4)
    if filters_first:  # with other filters (the cursor of a later page is one), the traces first, in threes
        monkeypatch.setattr(text_search, "_STREAM_FIRST_DOCS", 0)
        monkeypatch.setattr(text_search, "_FILTERS_FIRST_CHUNK", 3)
        monkeypatch.setattr(text_search, "_FILTERS_FIRST_TRACES", 300)
    else:
        monkeypatch.setattr(text_search, "_STREAM_FIRST_DOCS", 10**9)
    rng = random.Random(7)
    starts = [BASE_NS + i * SECOND * 2 // 5 for i in range(40)]
    rng.shuffle(starts)
    traces = [(new_trace_id(), start) for start in starts]
    words = {trace: ("kiwi" if i % 3 else "kiwi mango") for i, (trace, _) in enumerate(traces)}
    errors = {trace for i, (trace, _) in enumerate(traces) if i % 4 == 0}
    for trace, start in traces:
        send(receiver, make_span(trace_id=trace, name="tool", start_ns=start + rng.choice((0, 1, 30, 90)) * SECOND,
                                 attributes={"note": words[trace]}, error=trace in errors))
    if indexed:
        assert receiver.wait_indexed()
    for trace, start in traces:
        send(receiver, make_span(trace_id=trace, name="agent", start_ns=start))
    if indexed:
        assert receiver.wait_indexed()
    else:
        _unindex_everything(receiver.config.db_path)

    newest_first = [trace.hex() for trace, _ in sorted(traces, key=lambda t: t[1], reverse=True)]
    mango = [t for t in newest_first if "mango" in words[bytes.fromhex(t)]]
    assert _all_pages(store, "kiwi", 7) == newest_first
    assert _all_pages(store, "MANGO kiwi", 3) == mango
    assert _all_pages(store, "kiwi", 5, errors_only=True) == [t for t in newest_first
                                                             if bytes.fromhex(t) in errors]
    middle = sorted(starts)[20]
    assert _all_pages(store, "kiwi", 4, start_after_unix_nano=middle) == newest_first[:20]


def test_deleted_and_cleared_text_is_gone_from_the_index(receiver, store):
    kept, doomed = new_trace_id(), new_trace_id()
    send(receiver, make_span(trace_id=kept, name="alpha"))
    send(receiver, make_span(trace_id=doomed, name="bravo"))  # the newest rows: their rowids are reused
    assert receiver.wait_indexed()
    receiver.delete_traces([doomed.hex()])
    after = new_trace_id()
    send(receiver, make_span(trace_id=after, name="charlie"))
    assert receiver.wait_indexed()
    assert _found(store, "bravo") == []
    assert _found(store, "charlie") == [after.hex()] and _found(store, "alpha") == [kept.hex()]
    assert _indexed_words(receiver.config.db_path) >= {"alpha", "charlie"}
    assert "bravo" not in _indexed_words(receiver.config.db_path)

    receiver.clear_all()
    assert _indexed_words(receiver.config.db_path) == set()
    again = new_trace_id()
    send(receiver, make_span(trace_id=again, name="alpha"))
    assert receiver.wait_indexed()
    assert _found(store, "alpha") == [again.hex()]


def test_log_records_are_searched_and_unindexed_with_their_trace(receiver, store):
    trace = new_trace_id()
    root = make_span(trace_id=trace, name="agent")
    send(receiver, root)
    send_logs(receiver, span_log(root, "the user asked about a Zebra"))
    assert _found(store, "zebra") == [trace.hex()]  # not indexed yet, or indexed: found
    assert receiver.wait_indexed()
    assert _found(store, "zebra") == [trace.hex()]
    receiver.delete_traces([trace.hex()])
    assert "zebra" not in _indexed_words(receiver.config.db_path)


def test_a_database_from_before_the_index_is_indexed_when_opened(db_path):
    trace = new_trace_id()
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)) as receiver:
        send(receiver, make_span(trace_id=trace, name="chat", attributes={"prompt": "what about pelicans"}))
    with sqlite3.connect(db_path) as conn:  # undo migration m007
        for table in ("text_index", "text_docs", "text_pending_logs"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP TRIGGER logs_text_pending")
        conn.execute("DELETE FROM writer_state WHERE name = ?", (INDEXED_THROUGH,))
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm007_text_index'")
    with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)) as receiver:
        assert receiver.wait_indexed()
        store = receiver.store()
        assert _found(store, "pelicans") == [trace.hex()]
        assert "pelicans" in _indexed_words(db_path)
        store.close()


@pytest.mark.parametrize("family", ["anthropic", "openinference-instrumentation-langchain",
                                    "openinference-instrumentation-openai", "openlit",
                                    "opentelemetry-instrumentation-openai-v2-2.0b0",
                                    "opentelemetry-instrumentation-openai-v2-2.4b0", "pydantic-ai"])
def test_message_text_is_found_in_every_convention_family(receiver, store, family):
    # The tool's answer ("sunny") travels in the messages of the agent run's second chat: as
    # JSON in a string attribute, structured values, or (older OpenAI v2) only in log records.
    for path in fixture_files(f"{family}*.traces.jsonl") + sorted(fixture_files(f"{family}*")[0].parent.glob(
            f"{family}*.logs.jsonl")):
        signal = "logs" if path.name.endswith(".logs.jsonl") else "traces"
        for request in fixture_requests(path):
            answer = post(receiver.addresses.http_port, json.dumps(request).encode(), "application/json",
                          path=f"/v1/{signal}")
            assert answer.status == 200, answer.body
    assert receiver.wait_indexed()
    found = store.list_traces(TraceFilter(text="Sunny")).traces
    assert found and all(t.span_count >= 1 for t in found)
    agent_run = max(store.list_traces().traces, key=lambda t: t.span_count)  # trace 1: the most spans
    assert agent_run.trace_id in {t.trace_id for t in found}


def test_the_query_is_safe_from_fts_syntax():
    terms = text_search.search_terms('say "hi there" OR NOT near( -> * a"b')
    assert terms == ['say', 'hi there', 'OR', 'NOT', 'near(', 'a"b']  # a quoted phrase is one term
    assert text_search.match_expression(terms) == '"say" "hi there" "OR" "NOT" "near(" "a""b"'


def _indexed_words(db_path) -> set[str]:
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, text_index, row)")
        return {term for (term,) in conn.execute("SELECT term FROM temp.words")}
    finally:
        conn.close()
