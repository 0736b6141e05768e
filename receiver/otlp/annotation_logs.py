"""Annotations leave with their trace as `gen_ai.evaluation.result` log records, so another
tool reads them as evaluation results and Tracepane reads them back as annotations (marked
with `tracepane.annotation`; `receiver.genai.evaluations.evaluation_row`)."""

from __future__ import annotations

from typing import Any

from receiver.attributes import plain_attributes
from receiver.genai.evaluations import ANNOTATION_ATTRIBUTE, ANNOTATION_PASSED, EVALUATION_EVENT
from receiver.records import StoredEvaluation, StoredLog, StoredResource, StoredScope

__all__ = ["ANNOTATIONS_SCOPE", "annotation_logs", "without_annotation_logs"]

ANNOTATIONS_SCOPE = StoredScope("tracepane.annotations", "")
_RESOURCE = StoredResource({"service.name": "tracepane"})
_INFO = 9


def annotation_logs(evaluations: list[StoredEvaluation]) -> list[StoredLog]:
    """A log record for each annotation among the results, linked to its span (or trace)."""
    return [_record(e) for e in evaluations if e.is_human and e.trace_id]


def without_annotation_logs(logs: list[StoredLog]) -> list[StoredLog]:
    """The records less those an import of annotations left: the annotations themselves (as
    they are now, perhaps changed since) go instead."""
    return [record for record in logs
            if record.resolved_event_name != EVALUATION_EVENT
            or plain_attributes(record.attributes).get(ANNOTATION_ATTRIBUTE) is not True]


def _record(evaluation: StoredEvaluation) -> StoredLog:
    attributes: dict[str, Any] = {"gen_ai.evaluation.name": evaluation.name, ANNOTATION_ATTRIBUTE: True}
    if evaluation.score is not None:
        attributes["gen_ai.evaluation.score.value"] = evaluation.score
    if evaluation.label:
        attributes["gen_ai.evaluation.score.label"] = evaluation.label
    if evaluation.explanation:
        attributes["gen_ai.evaluation.explanation"] = evaluation.explanation
    if evaluation.passed is not None:
        attributes[ANNOTATION_PASSED] = bool(evaluation.passed)
    return StoredLog(evaluation.trace_id, evaluation.span_id, evaluation.time_unix_nano, evaluation.time_unix_nano,
                     _INFO, "INFO", EVALUATION_EVENT, None, attributes, 0, 0, "tracepane", _RESOURCE,
                     ANNOTATIONS_SCOPE)
