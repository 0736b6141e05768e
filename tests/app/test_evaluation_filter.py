"""The filter language's `eval:` terms end to end: typed as a user types them, read by
`ListFilter`, answered by the store, over model calls and their `gen_ai.evaluation.result`
log records sent with the real OpenTelemetry SDK to the real receiver; the same text given
to `tracepane traces --filter`."""

from __future__ import annotations

import json

import pytest

from app.list_filter import ListFilter
from tests.app.evaluated_calls import send_evaluated_calls
from tests.conftest import run_tracepane

CALLS = {
    "made-up": [("hallucination", 0.9, None), ("relevance", 0.8, None)],
    "off-topic": [("hallucination", 0.1, None), ("relevance", 0.2, None), ("tone", None, "rude")],
    "good": [("hallucination", None, "factual"), ("relevance", 0.9, None), ("tone", None, "polite")],
    "both-bad": [("hallucination", None, "hallucinated"), ("relevance", 0.3, None)],
    "quality": [("answer quality", 0.4, None)],
    "unjudged": [],
}


@pytest.fixture
def evaluated(receiver) -> dict[str, tuple[str, str]]:
    """Each call's (trace id, span id); a person marked the good answer bad."""
    sent = send_evaluated_calls(receiver.addresses, list(CALLS.values()))
    assert receiver.flush(10)
    ids = dict(zip(CALLS, sent, strict=True))
    receiver.set_annotation(*ids["good"], passed=False, note="polite, but the wrong order number")
    return ids


def found(store, evaluated, text: str) -> set[str]:
    chosen = ListFilter(text=text)
    assert chosen.query.is_valid, chosen.query.error
    listed = {t.trace_id for t in store.list_traces(chosen.to_trace_filter(0)).traces}
    return {name for name, (trace_id, _span) in evaluated.items() if trace_id in listed}


@pytest.mark.parametrize(("text", "expected"), [
    ("eval:hallucination=fail", {"made-up", "both-bad"}),  # a score (fault-scored) or a label said so
    ("eval:relevance<0.5", {"off-topic", "both-bad"}),
    ("eval:hallucination=fail eval:relevance<0.5", {"both-bad"}),  # both hold
    ("eval:relevance>=0.8", {"made-up", "good"}),
    ("eval:Hallucination=PASS", {"off-topic", "good"}),  # names and verdicts in any case
    ("eval:hallucination=hallucinated", {"both-bad"}),  # other text: the label
    ("eval:tone!=rude", {"good"}),  # of the traces with a tone result
    ("eval:tone=Rude", {"off-topic"}),
    ("eval:hallucination", {"made-up", "off-topic", "good", "both-bad"}),  # any result of it
    ("eval:groundedness", set()),
    ("eval:fail", {"made-up", "off-topic", "both-bad", "quality", "good"}),  # any evaluator (or person) failed
    ('eval:"answer quality"<0.5', {"quality"}),
    ("eval:human=bad", {"good"}),  # the person's annotation
    ("eval:human=good", set()),
    ("", set(CALLS)),
])
def test_each_evaluation_term_finds_its_traces(evaluated, store, text, expected):
    assert found(store, evaluated, text) == expected


def test_the_list_filter_passes_the_terms_to_the_store():
    chosen = ListFilter(text='eval:hallucination=fail eval:"answer quality"<0.5', model="gpt-4o")
    assert chosen.to_trace_filter(0).evaluations == (("hallucination", "=", "fail"), ("answer quality", "<", "0.5"))


def test_a_mistake_keeps_the_terms_before_it(evaluated, store):
    chosen = ListFilter(text="eval:hallucination=fail eval:relevance<low")
    assert chosen.query.error.startswith("eval:relevance<low: comparing a score needs a number")
    listed = {t.trace_id for t in store.list_traces(chosen.to_trace_filter(0)).traces}  # and nothing raises
    assert listed == {evaluated["made-up"][0], evaluated["both-bad"][0]}


def test_the_command_line_filter_reads_eval_terms(evaluated, receiver, db_path):
    done = run_tracepane("traces", "--db", str(db_path), "--json", "--filter",
                         "eval:hallucination=fail eval:relevance<0.5")
    assert done.returncode == 0, done.stderr
    assert [t["trace_id"] for t in json.loads(done.stdout)] == [evaluated["both-bad"][0]]
    wrong = run_tracepane("traces", "--db", str(db_path), "--filter", "eval:relevance<")
    assert wrong.returncode == 2 and "needs a value, e.g. eval:relevance<0.5" in wrong.stderr
