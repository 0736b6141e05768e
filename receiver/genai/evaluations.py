"""Evaluation results (issue 13): what an evaluator — or a person — said of a model's answer.

Three ways in, one row shape (`EVALUATION_COLUMNS`, the `evaluations` table):

* the OpenTelemetry event `gen_ai.evaluation.result`, as a log record (where the conventions
  now put events) or a span event: `gen_ai.evaluation.name`, `.score.value`, `.score.label`,
  `.explanation`, and the evaluated `gen_ai.response.id` when the record has no span ids;
* OpenInference-style span attributes: `evaluation.name` / `.score` / `.label` /
  `.explanation` for one result, or `eval.NAME.score` / `.label` / `.explanation` for several;
* annotations made in Tracepane (`source` "human"), exported as `gen_ai.evaluation.result`
  log records marked with `tracepane.annotation`, so that an import reads them back as such.

A result passes or fails (`verdict`) from its label when the label says so (pass, correct,
relevant, factual…), else from a score between 0 and 1 (0.5 and up passes; for evaluators
whose score measures the fault — hallucination, toxicity, bias — below 0.5 passes). A score on
another scale with an unknown label has no verdict. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from receiver.genai.coerce import as_float
from receiver.records import content_id

__all__ = [
    "ANNOTATION_ATTRIBUTE", "ANNOTATION_NAME", "ANNOTATION_PASSED", "EVALUATION_COLUMNS", "EVALUATION_EVENT",
    "FLAGGING_NAME_SQL", "HUMAN", "annotation_id", "evaluation_row", "has_span_results", "is_flagging",
    "span_evaluation_rows", "verdict",
]

EVALUATION_EVENT = "gen_ai.evaluation.result"
ANNOTATION_ATTRIBUTE = "tracepane.annotation"  # true on a log record Tracepane exported from an annotation
HUMAN = "human"
ANNOTATION_NAME = "human"  # an annotation's evaluation name unless the person gives one
ANNOTATION_PASSED = "tracepane.annotation.passed"  # its good / bad, whatever its label says

# Column order of the `evaluations` table (migration m014).
EVALUATION_COLUMNS = (
    "evaluation_id", "trace_id", "span_id", "response_id", "name", "score", "label", "explanation",
    "passed", "source", "time_unix_nano", "service_name",
)

_PASS_LABELS = frozenset({
    "pass", "passed", "correct", "relevant", "good", "yes", "true", "factual", "grounded", "faithful",
    "safe", "ok", "success", "accurate", "helpful", "supported", "consistent", "thumbs_up",
})
_FAIL_LABELS = frozenset({
    "fail", "failed", "incorrect", "not_relevant", "irrelevant", "unrelated", "bad", "no", "false",
    "hallucinated", "hallucination", "ungrounded", "not_grounded", "unfaithful", "unsafe", "toxic",
    "inaccurate", "unhelpful", "unsupported", "inconsistent", "thumbs_down",
})
# Evaluators whose score grows with the fault.
_FAULT_SCORED = re.compile(r"hallucinat|toxic|bias|harm", re.IGNORECASE)
# Evaluators whose failures are answers to distrust: the meters' "flagged answers".
_FLAGGING = re.compile(r"hallucinat|grounded|faithful|factual", re.IGNORECASE)
# SQL (SQLite LIKE is ASCII case-insensitive): the same names, for counting in the database.
FLAGGING_NAME_SQL = ("(name LIKE '%hallucinat%' OR name LIKE '%grounded%' OR name LIKE '%faithful%' "
                     "OR name LIKE '%factual%')")

# OpenInference-style span attributes
_ONE_PREFIX = "evaluation."
_MANY = re.compile(r"^eval\.(?P<name>.+)\.(?P<field>score|label|explanation)$")


def verdict(name: str, score: float | None, label: str | None) -> int | None:
    """1 passed, 0 failed, None: nothing says."""
    if label:
        word = re.sub(r"[\s\-]+", "_", label.strip().lower())
        if word in _PASS_LABELS:
            return 1
        if word in _FAIL_LABELS:
            return 0
    if score is None or not 0 <= score <= 1:
        return None
    good = score < 0.5 if _FAULT_SCORED.search(name) else score >= 0.5
    return int(good)


def is_flagging(name: str) -> bool:
    """Whether a failed result of this evaluator flags the answer (hallucination, groundedness…)."""
    return bool(_FLAGGING.search(name))


def annotation_id(trace_id: str, span_id: str | None) -> int:
    """One annotation per span (or per trace, without a span): marking again replaces it."""
    return content_id(b"annotation", trace_id.encode(), (span_id or "").encode())


def evaluation_row(attributes: dict[str, Any], *, evaluation_id: int, trace_id: str | None,
                   span_id: str | None, time_unix_nano: int, service_name: str | None,
                   source: str) -> tuple | None:
    """A `gen_ai.evaluation.result` event's attributes (plain) as a row; None without a name."""
    name = _text(attributes.get("gen_ai.evaluation.name"))
    if not name:
        return None
    if attributes.get(ANNOTATION_ATTRIBUTE) is True and trace_id:
        source, evaluation_id = HUMAN, annotation_id(trace_id, span_id)
    score = as_float(attributes.get("gen_ai.evaluation.score.value"))
    label = _text(attributes.get("gen_ai.evaluation.score.label"))
    response_id = _text(attributes.get("gen_ai.response.id"))
    passed = attributes.get(ANNOTATION_PASSED) if source == HUMAN else None
    judged = int(passed) if isinstance(passed, bool) else verdict(name, score, label)
    return (evaluation_id, trace_id, span_id, response_id, name, score, label,
            _text(attributes.get("gen_ai.evaluation.explanation")), judged, source,
            time_unix_nano, service_name)


def span_evaluation_rows(attributes: dict[str, Any], events: list[dict[str, Any]], *, trace_id: str,
                         span_id: str, end_unix_nano: int, service_name: str | None,
                         event_attributes: Any) -> list[tuple]:
    """The results a span carries: `gen_ai.evaluation.result` span events and OpenInference
    attributes. `event_attributes` turns an event's stored attributes into a plain dict."""
    rows: list[tuple] = []
    for index, event in enumerate(events):
        if event.get("name") != EVALUATION_EVENT:
            continue
        row = evaluation_row(event_attributes(event.get("attributes")),
                             evaluation_id=_derived_id(trace_id, span_id, f"event{index}"),
                             trace_id=trace_id, span_id=span_id,
                             time_unix_nano=int(event.get("timeUnixNano") or end_unix_nano),
                             service_name=service_name, source="span_event")
        if row is not None:
            rows.append(row)
    for name, fields in _attribute_results(attributes).items():
        score, label = as_float(fields.get("score")), _text(fields.get("label"))
        rows.append((_derived_id(trace_id, span_id, "attribute:" + name), trace_id, span_id, None, name, score,
                     label, _text(fields.get("explanation")), verdict(name, score, label), "span_attribute",
                     end_unix_nano, service_name))
    return rows


def has_span_results(attributes: dict[str, Any], events: list[dict[str, Any]]) -> bool:
    """Cheap test before `span_evaluation_rows`: most spans carry none."""
    # one join and a substring search: a quarter of the cost of testing each key (it runs for every span)
    return (any(event.get("name") == EVALUATION_EVENT for event in events)
            or "\x00eval" in "\x00" + "\x00".join(attributes))


def _attribute_results(attributes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    one = _text(attributes.get(_ONE_PREFIX + "name"))
    if one:
        results[one] = {field: attributes.get(_ONE_PREFIX + field) for field in ("score", "label", "explanation")}
    for key, value in attributes.items():
        match = _MANY.match(key) if key.startswith("eval.") else None
        if match:
            results.setdefault(match.group("name"), {})[match.group("field")] = value
    return {name: fields for name, fields in results.items()
            if fields.get("score") is not None or fields.get("label") is not None}


def _derived_id(trace_id: str, span_id: str, what: str) -> int:
    return content_id(b"evaluation", trace_id.encode(), span_id.encode(), what.encode())


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None
