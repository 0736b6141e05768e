"""The filter bar's small language (issue 9), parsed into a `FilterQuery`: pure, and never
raising on what a user types — a mistake comes back as a message and the position it is at.

    model:gpt-4o cost>0.01 error tool:web_search "refund policy" service:checkout
    duration>2s attr.feature_name=chat session:conv-1

* `key:value` for model, service, tool, session; `attr.NAME=value` for any attribute;
* `cost` (dollars, `$` optional) and `duration` (ms, s, m; a bare number is seconds) with
  `>`, `>=`, `<`, `<=`;
* `error` (or `errors`, `is:error`): only traces with an error;
* `is:pinned`: only pinned traces; `is:broken`: only traces with a span whose parent never
  arrived (context not propagated, or a span lost);
* `eval:NAME` with `=`, `!=`, `<`, `<=`, `>`, `>=`: a result of that evaluator (any case) in the
  trace compares so — a number against its score, pass / fail (good / bad) against its verdict,
  other text against its label: `eval:hallucination=fail`, `eval:relevance<0.5`,
  `eval:human=bad`, `eval:tone!=rude`; `eval:NAME` alone: any result of it; `eval:fail`,
  `eval:pass`: any evaluator's verdict; a name with spaces is quoted: `eval:"answer quality"<0.5`;
* anything else is free text — words, or a "quoted phrase" — all of which must be found.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = ["FilterQuery", "parse_filter"]

_NAMED = ("model", "service", "tool", "session")
_COMPARED = {"cost", "duration"}
_DURATION_UNITS = {"ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000}
_TOKEN = re.compile(r'\s*(?:(?P<head>[^\s"]*?)"(?P<quoted>[^"]*)(?P<closed>"?)|(?P<bare>[^\s"]+))')
_COMPARISON = re.compile(r"^(?P<key>[A-Za-z_]+)(?P<op>>=|<=|>|<)(?P<value>.*)$")
_EVAL = "eval:"
_EVAL_NAME = re.compile(r"^(?P<name>[^<>=!]*)(?P<rest>.*)$")
_EVAL_TAIL = re.compile(r'(?P<rest>[^\s"]*)(?:"(?P<value>[^"]*)")?')  # after a quoted name: <0.5, ="a b"
_EVAL_OPERATOR = re.compile(r"^(?P<op>!=|>=|<=|=|>|<)(?P<value>[^<>=!].*)?$")
_ORDERED = (">", ">=", "<", "<=")
_VERDICTS = {"pass": "pass", "passed": "pass", "fail": "fail", "failed": "fail"}  # eval:fail: any evaluator's


@dataclass
class FilterQuery:
    text: list[str] = field(default_factory=list)  # words and phrases, all to be found
    model: str = ""
    service: str = ""
    tool: str = ""
    session: str = ""
    errors_only: bool = False
    pinned_only: bool = False
    broken_only: bool = False
    cost_usd: dict[str, float] = field(default_factory=dict)  # operator -> dollars
    duration_ns: dict[str, int] = field(default_factory=dict)  # operator -> nanoseconds
    attributes: dict[str, str] = field(default_factory=dict)  # attribute name -> value
    # (evaluator name or "" for any, operator or "" for any result, value): `TraceFilter.evaluations`
    evaluations: list[tuple[str, str, str]] = field(default_factory=list)
    error: str = ""  # what is wrong with the text ("" when nothing is)
    error_at: int = -1  # where (a character offset)

    @property
    def is_valid(self) -> bool:
        return not self.error


def parse_filter(source: str) -> FilterQuery:
    query = FilterQuery()
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            break
        start = match.start() + (len(match.group(0)) - len(match.group(0).lstrip()))
        position = match.end()
        if match.group("bare") is not None:
            problem = _term(query, match.group("bare"))
        else:
            if not match.group("closed"):
                return _failed(query, "a quote is not closed", start)
            if match.group("head").lower() == _EVAL:  # a quoted evaluator name, then its comparison
                tail = _EVAL_TAIL.match(source, position)
                position = tail.end()
                problem = _evaluation(query, match.group("quoted"), tail.group("rest") + (tail.group("value") or ""))
            else:
                head = match.group("head")
                problem = _term(query, head + match.group("quoted"), quoted=bool(head), phrase=not head)
        if problem:
            return _failed(query, problem, start)
    return query


def _failed(query: FilterQuery, message: str, at: int) -> FilterQuery:
    query.error, query.error_at = message, at
    return query


def _term(query: FilterQuery, term: str, *, quoted: bool = False, phrase: bool = False) -> str:
    """Apply one term; return what is wrong with it, or ""."""
    if phrase:
        if term.strip():
            query.text.append(term)
        return ""
    if term.lower() in ("error", "errors"):
        query.errors_only = True
        return ""
    if term.startswith("attr."):
        name, equals, value = term[5:].partition("=")
        if not name or not equals or not value:
            return f"{term!r}: write attr.NAME=value"
        if "\\" in name:
            return f"{term!r}: an attribute name has no backslash"
        query.attributes[name] = value
        return ""
    if term[:len(_EVAL)].lower() == _EVAL:
        name_part = _EVAL_NAME.match(term[len(_EVAL):])
        name, rest = name_part.group("name"), name_part.group("rest")
        if not rest and name.lower() in _VERDICTS:
            query.evaluations.append(("", "=", _VERDICTS[name.lower()]))
            return ""
        if not name and not rest:
            return "eval: needs an evaluator, e.g. eval:hallucination=fail, eval:relevance<0.5 or eval:fail"
        return _evaluation(query, name, rest)
    comparison = _COMPARISON.match(term)
    if comparison and comparison.group("key").lower() in _COMPARED:
        return _compare(query, comparison.group("key").lower(), comparison.group("op"), comparison.group("value"))
    key, colon, value = term.partition(":")
    if colon and key.lower() == "is" and not quoted:
        flag = _IS.get(value.lower())
        if flag is None:
            return f"is:{value}: write is:pinned, is:broken or is:error"
        setattr(query, flag, True)
        return ""
    if colon and key.lower() in _NAMED:
        if not value:
            return f"{key}: needs a value, e.g. {key}:{_EXAMPLES[key.lower()]}"
        setattr(query, key.lower(), value)
        return ""
    if colon and key and not quoted and key.isidentifier() and not value.startswith("//"):  # a URL is text
        return (f"unknown filter {key}: (try model:, service:, tool:, session:, attr.NAME=, cost>, duration>, "
                "eval:NAME=fail, error, is:pinned, is:broken)")
    query.text.append(term)
    return ""


_IS = {"pinned": "pinned_only", "broken": "broken_only", "error": "errors_only", "errors": "errors_only"}
_EXAMPLES = {"model": "gpt-4o", "service": "checkout", "tool": "web_search", "session": "conv-1"}


def _evaluation(query: FilterQuery, name: str, rest: str) -> str:
    """`eval:` + `name` + `rest` (operator and value, or ""): one evaluation condition."""
    typed = f"eval:{_quoted(name)}{rest}"
    if not rest:
        query.evaluations.append((name, "", ""))
        return ""
    comparison = _EVAL_OPERATOR.match(rest)
    if comparison is None:
        return f"{typed}: write one operator (= != < <= > >=), e.g. eval:{_quoted(name) or 'relevance'}<0.5"
    operator, value = comparison.group("op"), comparison.group("value") or ""
    example = f"eval:{_quoted(name) or 'relevance'}{operator}{'0.5' if operator in _ORDERED else 'fail'}"
    if not value:
        return f"{typed}: needs a value, e.g. {example}"
    if operator in _ORDERED and not _is_number(value):
        return f"{typed}: comparing a score needs a number, e.g. {example}"
    query.evaluations.append((name, operator, value))
    return ""


def _quoted(name: str) -> str:
    return f'"{name}"' if any(ch.isspace() for ch in name) else name


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _compare(query: FilterQuery, key: str, operator: str, value: str) -> str:
    if key == "cost":
        try:
            query.cost_usd[operator] = float(value.removeprefix("$"))
        except ValueError:
            return f"cost{operator}{value}: not an amount of dollars (e.g. cost>0.01)"
        return ""
    number = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", value)
    if number is None:
        return f"duration{operator}{value}: not a duration (e.g. duration>2s, duration<500ms)"
    query.duration_ns[operator] = round(float(number.group(1)) * _DURATION_UNITS[number.group(2) or "s"])
    return ""
