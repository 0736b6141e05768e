"""The recorded answer beside the new one: each as text (its words, then each tool call it
asked for), and a word-level diff between them. Pure (no Qt)."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

__all__ = ["DELETED", "INSERTED", "SAME", "answer_text", "word_diff"]

SAME, DELETED, INSERTED = "same", "deleted", "inserted"
_WORDS = re.compile(r"\s+|[^\s\w]|\w+")  # words, runs of space and single punctuation marks


def answer_text(messages: list[dict[str, Any]] | None) -> str:
    """The text of an answer's messages (OpenTelemetry shape): text parts, then tool calls."""
    parts = [p for message in messages or [] if isinstance(message, dict)
             for p in message.get("parts") or [] if isinstance(p, dict)]
    lines = [str(p.get("content", "")) for p in parts if p.get("type") == "text"]
    for p in parts:
        if p.get("type") == "tool_call":
            arguments = p.get("arguments")
            arguments = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
            lines.append(f"→ tool call {p.get('name')}({arguments})")
    return "\n".join(lines)


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """(SAME | DELETED | INSERTED, text) runs that turn `before` into `after`, in order; a
    replaced run is its deletion then its insertion."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    runs: list[tuple[str, str]] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append((SAME, "".join(old[a1:a2])))
            continue
        if a2 > a1:
            runs.append((DELETED, "".join(old[a1:a2])))
        if b2 > b1:
            runs.append((INSERTED, "".join(new[b1:b2])))
    return runs
