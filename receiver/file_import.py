"""Importing OTLP/JSON files (`receiver.otlp.otlp_file`) through a running receiver's ingest
path — normalisation, cost, duplicates — as if each line had come over OTLP/HTTP JSON. A
line that is not a request, or that the receiver refuses, is noted as FILE:LINE: reason and
the rest still go in. Used by `tracepane import` and the window's File ▸ Open."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from receiver.errors import ReceiverError
from receiver.otlp.otlp_file import BadLine, UnreadableFile, read_otlp_file
from receiver.service import Receiver

__all__ = ["ImportOutcome", "import_files"]


@dataclass
class ImportOutcome:
    """Items imported per signal ("traces" counts spans), and the problems, a line each."""

    imported: dict[str, int] = field(default_factory=lambda: {"traces": 0, "logs": 0, "metrics": 0})
    problems: list[str] = field(default_factory=list)

    def summary(self, where: str = "") -> str:
        """"imported 8 spans, 5 log records and 0 metric points[ into WHERE][; 1 line skipped]"."""
        def counted(count: int, noun: str) -> str:
            return f"{count} {noun}" + ("" if count == 1 else "s")

        imported = self.imported
        text = (f"imported {counted(imported['traces'], 'span')}, {counted(imported['logs'], 'log record')} and "
                f"{counted(imported['metrics'], 'metric point')}" + (f" into {where}" if where else ""))
        return text + (f"; {counted(len(self.problems), 'line')} skipped" if self.problems else "")


def import_files(receiver: Receiver, paths: Iterable[Path]) -> ImportOutcome:
    outcome = ImportOutcome()
    for path in paths:
        try:
            for item in read_otlp_file(path):
                if isinstance(item, BadLine):
                    outcome.problems.append(f"{path}:{item.line}: {item.reason}")
                    continue
                try:
                    result = receiver.import_request(item.signal, item.body)
                except ReceiverError as exc:
                    outcome.problems.append(f"{path}:{item.line}: {exc}")
                    continue
                outcome.imported[item.signal] += result.accepted
                if result.rejected:
                    outcome.problems.append(f"{path}:{item.line}: {result.rejected} rejected: {result.message}")
        except UnreadableFile as exc:
            outcome.problems.append(f"{path}: {exc}")
    return outcome
