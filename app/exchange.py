"""Sharing runs from the window: export the selected trace as OTLP/JSON lines (File ▸ Export
trace…, Ctrl+E, the list's context menu; redacted or not), copy it as a Markdown outline,
and import OTLP/JSON files (File ▸
Open…, Ctrl+O, or dropped on the window) through the running receiver's ingest path, off the
GUI thread. Problems are said in the status bar, and lines skipped on import in a dialog
listing FILE:LINE: reason."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMessageBox, QStatusBar, QWidget

from app.formatting import plural
from app.receiver_host import ReceiverHost
from app.shortcuts import EXPORT_TRACE, OPEN_FILES, key_sequences
from app.workers import QueryWorker
from receiver import TraceStore
from receiver.file_import import ImportOutcome, import_files

__all__ = ["TraceExchange"]

OTLP_FILES = "OTLP/JSON (*.jsonl *.json *.jsonl.gz *.json.gz *.gz);;All files (*)"


class TraceExchange(QObject):
    sig_exported = Signal(str)  # the file written ("" when it failed)
    sig_markdown_copied = Signal(str)  # the outline put on the clipboard
    sig_imported = Signal(object)  # ImportOutcome, on the GUI thread
    _sig_import_done = Signal(object)  # from the import thread

    def __init__(self, host: ReceiverHost, worker: QueryWorker, status: QStatusBar, window: QWidget, *,
                 current_trace: Callable[[], str | None]) -> None:
        super().__init__(window)
        self.host, self.worker, self.status, self.window = host, worker, status, window
        self.importing = False
        self.problems_box: QMessageBox | None = None
        self._sig_import_done.connect(self._import_done)
        self.open_action = QAction("Open OTLP/JSON files…", self)
        self.open_action.setShortcuts(key_sequences(OPEN_FILES))
        self.open_action.setToolTip("Import OTLP/JSON or JSON lines files (gzip too): a shared run, a Collector's "
                                    "file exporter output. Files dropped on the window are imported too.")
        self.open_action.triggered.connect(self.ask_import)
        self.export_action = QAction("Export trace…", self)
        self.export_action.setShortcuts(key_sequences(EXPORT_TRACE))
        self.export_action.setToolTip("Write the selected trace as OTLP/JSON lines, to share or import anywhere")
        self.export_action.triggered.connect(lambda: self.ask_export(current_trace()))
        self.export_redacted_action = QAction("Export trace, message content redacted…", self)
        self.export_redacted_action.triggered.connect(lambda: self.ask_export(current_trace(), redact=True))
        self.markdown_action = QAction("Copy trace as Markdown", self)
        self.markdown_action.setToolTip("An outline of the agent path with prompts, tool calls and results, for an "
                                        "issue or an LLM chat")
        self.markdown_action.triggered.connect(lambda: self.copy_markdown(current_trace()))

    # --- export -------------------------------------------------------------------------

    def ask_export(self, trace_id: str | None, *, redact: bool = False) -> None:
        """Ask where, then export (the file dialog names the trace)."""
        if not trace_id:
            self.status.showMessage("Select a trace to export", 5000)
            return
        suggested = f"trace-{trace_id[:12]}{'-redacted' if redact else ''}.jsonl"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export trace" + (" (redacted)" if redact else ""),
                                              suggested, OTLP_FILES)
        if path:
            self.export_to(trace_id, Path(path), redact=redact)

    def export_to(self, trace_id: str, path: Path, *, redact: bool = False) -> None:
        """Write the trace to `path` (gzip when it ends .gz), on the worker thread."""
        def write(store: TraceStore) -> str:
            from receiver.otlp.otlp_file import write_trace

            detail = store.get_trace(trace_id)
            write_trace(detail, path, redact=redact)
            return f"Exported trace {trace_id[:12]}… ({plural(len(detail.spans), 'span')}, " \
                   f"{plural(len(detail.logs), 'log record')}) to {path}"

        self.worker.ask(write, lambda message: self._exported(message, path), key=None,
                        on_failed=lambda message: self._export_failed(path, message))

    def _exported(self, message: str, path: Path) -> None:
        self.status.showMessage(message, 10_000)
        self.sig_exported.emit(str(path))

    def _export_failed(self, path: Path, message: str) -> None:
        self.status.showMessage(f"Could not export to {path}: {message}", 15_000)
        self.sig_exported.emit("")

    def copy_markdown(self, trace_id: str | None) -> None:
        """The trace as a Markdown outline (`app.trace_markdown`), to the clipboard."""
        if not trace_id:
            self.status.showMessage("Select a trace to copy", 5000)
            return

        def outline(store: TraceStore) -> str:
            from app.trace_markdown import trace_markdown

            return trace_markdown(store.get_trace(trace_id))

        self.worker.ask(outline, self._markdown_ready, key="markdown",
                        on_failed=lambda message: self.status.showMessage(f"Could not copy: {message}", 10_000))

    def _markdown_ready(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.status.showMessage(f"Copied the trace as Markdown ({len(text.splitlines())} lines)", 5000)
        self.sig_markdown_copied.emit(text)

    # --- import -------------------------------------------------------------------------

    def ask_import(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Open OTLP/JSON files", "", OTLP_FILES)
        if paths:
            self.import_files([Path(p) for p in paths])

    def import_files(self, paths: list[Path]) -> bool:
        """Import in a thread of its own (each request waits for the writer); False when the
        receiver is not running or an import is under way."""
        receiver = self.host.receiver
        if receiver is None or self.importing or not paths:
            if receiver is None:
                self.status.showMessage("Cannot import: the receiver is not running", 10_000)
            return False
        self.importing = True
        self.status.showMessage(f"Importing {plural(len(paths), 'file')}…")
        threading.Thread(target=lambda: self._sig_import_done.emit(_imported(receiver, paths)),
                         name="tracepane-import", daemon=True).start()
        return True

    def _import_done(self, outcome: ImportOutcome) -> None:
        self.importing = False
        summary = outcome.summary()
        summary = summary[:1].upper() + summary[1:]
        self.status.showMessage(summary, 15_000)
        if outcome.problems:
            shown = outcome.problems[:50] + ([f"… and {len(outcome.problems) - 50} more"]
                                             if len(outcome.problems) > 50 else [])
            self.problems_box = QMessageBox(QMessageBox.Icon.Warning, "Import", summary + ".",
                                            QMessageBox.StandardButton.Ok, self.window)
            self.problems_box.setInformativeText("The other lines were imported.")
            self.problems_box.setDetailedText("\n".join(shown))
            self.problems_box.open()
        self.sig_imported.emit(outcome)


def _imported(receiver, paths: list[Path]) -> ImportOutcome:
    """(The import thread.) Whatever goes wrong is an outcome to show, never a dead thread."""
    try:
        return import_files(receiver, paths)
    except Exception as exc:  # noqa: BLE001 - the GUI must hear of it
        return ImportOutcome(problems=[f"the import stopped: {type(exc).__name__}: {exc}"])
