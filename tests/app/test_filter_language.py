"""The filter language (issue 9, first part): every operator, quoting, combinations, and the
mistakes a user makes, answered with a message and a position — never an exception."""

from __future__ import annotations

import pytest

from app.filter_language import parse_filter


def test_the_issue_example_parses_into_every_part():
    query = parse_filter('model:gpt-4o cost>0.01 error tool:web_search "refund policy" service:checkout '
                         'duration>2s attr.feature_name=chat session:conv-1')
    assert query.is_valid, query.error
    assert (query.model, query.tool, query.service, query.session) == ("gpt-4o", "web_search", "checkout", "conv-1")
    assert query.cost_usd == {">": 0.01} and query.duration_ns == {">": 2_000_000_000}
    assert query.errors_only and query.attributes == {"feature_name": "chat"}
    assert query.text == ["refund policy"]


@pytest.mark.parametrize(("text", "durations"), [
    ("duration>500ms", {">": 500_000_000}), ("duration<=1.5s", {"<=": 1_500_000_000}),
    ("duration>=2m", {">=": 120_000_000_000}), ("duration<3", {"<": 3_000_000_000}),
    ("duration>1s duration<5s", {">": 1_000_000_000, "<": 5_000_000_000}),
])
def test_durations_take_units_and_operators(text, durations):
    assert parse_filter(text).duration_ns == durations


@pytest.mark.parametrize(("text", "costs"), [("cost>0.01", {">": 0.01}), ("cost<=$2", {"<=": 2.0}),
                                             ("cost>=0 cost<1", {">=": 0.0, "<": 1.0})])
def test_costs_are_dollars(text, costs):
    assert parse_filter(text).cost_usd == costs


def test_quoting_keeps_spaces_in_phrases_and_values():
    query = parse_filter('"refund policy" model:"gpt 4o" attr.user.plan="pro plus" words here')
    assert query.text == ["refund policy", "words", "here"]
    assert query.model == "gpt 4o" and query.attributes == {"user.plan": "pro plus"}


def test_plain_words_and_urls_are_text():
    query = parse_filter("timeout https://api.example.com/v1 Errors")
    assert query.text == ["timeout", "https://api.example.com/v1"] and query.errors_only


@pytest.mark.parametrize(("text", "message", "at"), [
    ('model:gpt "refund policy', "a quote is not closed", 10),
    ("cost>cheap", "cost>cheap: not an amount of dollars", 0),
    ("error duration>soon", "duration>soon: not a duration", 6),
    ("model:", "model: needs a value", 0),
    ("attr.plan", "'attr.plan': write attr.NAME=value", 0),
    ("colour:red", "unknown filter colour:", 0),
])
def test_mistakes_are_said_with_their_place(text, message, at):
    query = parse_filter(text)
    assert not query.is_valid and query.error.startswith(message) and query.error_at == at


def test_empty_and_blank_text_is_an_empty_query():
    for text in ("", "   ", '""'):
        query = parse_filter(text)
        assert query.is_valid and query.text == [] and not query.errors_only


@pytest.mark.parametrize(("text", "evaluations"), [
    ("eval:hallucination=fail", [("hallucination", "=", "fail")]),
    ("eval:relevance<0.5", [("relevance", "<", "0.5")]),
    ("eval:relevance>=0.8 eval:relevance<=1", [("relevance", ">=", "0.8"), ("relevance", "<=", "1")]),
    ("eval:human=bad", [("human", "=", "bad")]),
    ("eval:tone!=rude", [("tone", "!=", "rude")]),
    ("eval:groundedness", [("groundedness", "", "")]),  # any result of it
    ("eval:fail", [("", "=", "fail")]),  # any evaluator's verdict
    ("EVAL:Passed", [("", "=", "pass")]),
    ('eval:"fail"', [("fail", "", "")]),  # quoted: an evaluator of that name
    ("eval:<0.2", [("", "<", "0.2")]),  # any evaluator's score
    ('eval:"answer quality"<0.5', [("answer quality", "<", "0.5")]),
    ('eval:"answer quality"="very good"', [("answer quality", "=", "very good")]),
    ('eval:tone="very rude"', [("tone", "=", "very rude")]),
    ("eval:ragas.faithfulness>0.7", [("ragas.faithfulness", ">", "0.7")]),
])
def test_evaluation_terms(text, evaluations):
    query = parse_filter(text)
    assert query.is_valid, query.error
    assert query.evaluations == evaluations and query.text == []


def test_evaluation_terms_combine_with_the_others():
    query = parse_filter('model:gpt-4o eval:hallucination=fail refund eval:"answer quality"<0.5 error')
    assert query.is_valid, query.error
    assert query.model == "gpt-4o" and query.errors_only and query.text == ["refund"]
    assert query.evaluations == [("hallucination", "=", "fail"), ("answer quality", "<", "0.5")]


@pytest.mark.parametrize(("text", "message", "at"), [
    ("eval:relevance<", "eval:relevance<: needs a value, e.g. eval:relevance<0.5", 0),
    ("eval:hallucination=", "eval:hallucination=: needs a value, e.g. eval:hallucination=fail", 0),
    ("error eval:relevance<abc", "eval:relevance<abc: comparing a score needs a number, e.g. eval:relevance<0.5", 6),
    ("eval:relevance>=high", "eval:relevance>=high: comparing a score needs a number", 0),
    ('eval:"answer quality"<', 'eval:"answer quality"<: needs a value, e.g. eval:"answer quality"<0.5', 0),
    ("eval:", "eval: needs an evaluator, e.g. eval:hallucination=fail", 0),
    ("eval:relevance=<0.5", "eval:relevance=<0.5: write one operator (= != < <= > >=)", 0),
    ("eval:tone!rude", "eval:tone!rude: write one operator", 0),
    ('eval:"answer quality', "a quote is not closed", 0),
])
def test_evaluation_mistakes_are_said_with_their_place(text, message, at):
    query = parse_filter(text)
    assert not query.is_valid and query.error.startswith(message), query.error
    assert query.error_at == at and query.evaluations == []


def test_the_unknown_filter_hint_names_eval():
    assert "eval:" in parse_filter("colour:red").error
