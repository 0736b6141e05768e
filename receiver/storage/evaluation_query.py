"""Reading evaluation results and annotations (`evaluation_rows` writes them): one trace's,
each evaluator's roll-up and its course over time, the meters' flagged answers, and the trace
list's `eval:` filter."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from receiver.genai.evaluations import FLAGGING_NAME_SQL
from receiver.records import EvaluatorSummary, StoredEvaluation

__all__ = ["EVALUATION_COUNTS_SQL", "evaluation_match", "evaluation_series", "evaluator_summaries",
           "flagged_answers", "trace_evaluations"]

_COLUMNS = ("evaluation_id, trace_id, span_id, response_id, name, score, label, explanation, passed, source, "
            "time_unix_nano, service_name")
# Results linked to the trace, and those known by response id alone whose model call is in it.
_TRACE_QUERY = (f"SELECT {_COLUMNS} FROM evaluations WHERE trace_id = ? "
                f"UNION ALL SELECT {_COLUMNS} FROM evaluations WHERE trace_id IS NULL "
                "AND response_id IN (SELECT value FROM json_each(?)) ORDER BY time_unix_nano, evaluation_id")
# SQL: a trace row's results "count passed failed" (`traces` in scope), for the list's column.
EVALUATION_COUNTS_SQL = ("(SELECT printf('%d %d %d', count(*), sum(passed = 1), sum(passed = 0)) "
                         "FROM evaluations AS e WHERE e.trace_id = traces.trace_id)")
_OPERATORS = {"=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_VERDICT_WORDS = {"pass": 1, "passed": 1, "good": 1, "fail": 0, "failed": 0, "bad": 0}


def trace_evaluations(conn: sqlite3.Connection, trace_id: str) -> list[StoredEvaluation]:
    """The trace's results in time order; one known by response id alone gets its call's span."""
    calls = dict(conn.execute("SELECT response_id, span_id FROM spans WHERE trace_id = ? "
                              "AND response_id IS NOT NULL AND duplicate_of IS NULL", (trace_id,)).fetchall())
    out = []
    for row in conn.execute(_TRACE_QUERY, (trace_id, json.dumps(sorted(calls)))):
        evaluation = StoredEvaluation(*row)
        if evaluation.trace_id is None:
            evaluation = StoredEvaluation(*row[:1], trace_id, calls.get(evaluation.response_id), *row[3:])
        out.append(evaluation)
    return out


def evaluator_summaries(conn: sqlite3.Connection, start_ns: int | None = None,
                        end_ns: int | None = None) -> list[EvaluatorSummary]:
    """Per evaluator name (in any case: "Relevance" is "relevance"): how many results, passed,
    failed, the mean score; most results first."""
    where, params = _window(start_ns, end_ns)
    rows = conn.execute(
        "SELECT name, count(*), total(passed = 1), total(passed = 0), avg(score), total(source = 'human') "
        f"FROM evaluations {where} GROUP BY name COLLATE NOCASE ORDER BY count(*) DESC, name", params).fetchall()
    return [EvaluatorSummary(name, n, int(passed), int(failed), mean, int(human))
            for name, n, passed, failed, mean, human in rows]


def evaluation_series(conn: sqlite3.Connection, start_ns: int, end_ns: int,
                      step_ns: int) -> dict[str, list[tuple[int, int, float | None, float | None]]]:
    """Per evaluator, per step from `start_ns`: (step start, results, pass rate of those with a
    verdict, mean score); steps without results are left out."""
    series: dict[str, list[tuple[int, int, float | None, float | None]]] = {}
    for name, step, n, passed, judged, mean in conn.execute(
            "SELECT name, (time_unix_nano - :start) / :step, count(*), total(passed = 1), count(passed), avg(score) "
            "FROM evaluations WHERE time_unix_nano >= :start AND time_unix_nano < :end "
            "GROUP BY name COLLATE NOCASE, 2 ORDER BY 1, 2",
            {"start": start_ns, "end": end_ns, "step": max(1, step_ns)}):
        series.setdefault(name, []).append((start_ns + step * step_ns, n, passed / judged if judged else None, mean))
    return series


def flagged_answers(conn: sqlite3.Connection, start_ns: int | None = None, end_ns: int | None = None) -> int:
    """Answers a hallucination or groundedness evaluator (or a person under such a name) failed,
    each counted once however many said so."""
    where, params = _window(start_ns, end_ns)
    where = (where + " AND" if where else "WHERE") + f" passed = 0 AND {FLAGGING_NAME_SQL}"
    (count,) = conn.execute(
        "SELECT count(DISTINCT coalesce(trace_id || span_id, trace_id, response_id, evaluation_id)) "
        f"FROM evaluations {where}", params).fetchone()
    return count


def evaluation_match(i: int, name: str, operator: str, value: str) -> tuple[str, dict[str, Any]]:
    """SQL on `traces`: a result of evaluator `name` (case-insensitive; "" any) in the trace
    compares so — a number against its score; pass / fail (good / bad) against its verdict;
    other text against its label (case-insensitive); no operator: any result at all."""
    params: dict[str, Any] = {f"eval_name{i}": name}
    condition = f"(:eval_name{i} = '' OR e.name = :eval_name{i} COLLATE NOCASE)"
    if operator:
        sql_operator = _OPERATORS[operator]
        number = _number(value)
        word = value.lower()
        if number is not None:
            condition += f" AND e.score {sql_operator} :eval_value{i}"
            params[f"eval_value{i}"] = number
        elif word in _VERDICT_WORDS and operator in ("=", "!="):
            condition += f" AND e.passed {sql_operator} :eval_value{i}"
            params[f"eval_value{i}"] = _VERDICT_WORDS[word]
        elif operator in ("=", "!="):
            condition += f" AND lower(e.label) {sql_operator} :eval_value{i}"
            params[f"eval_value{i}"] = word
        else:
            raise ValueError(f"eval:{name}{operator}{value}: compare a score with a number")
    return f"EXISTS (SELECT 1 FROM evaluations AS e WHERE e.trace_id = traces.trace_id AND {condition})", params


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _window(start_ns: int | None, end_ns: int | None) -> tuple[str, dict[str, int]]:
    conditions, params = [], {}
    if start_ns is not None:
        conditions.append("time_unix_nano >= :start")
        params["start"] = start_ns
    if end_ns is not None:
        conditions.append("time_unix_nano < :end")
        params["end"] = end_ns
    return ("WHERE " + " AND ".join(conditions)) if conditions else "", params
