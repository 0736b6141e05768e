"""Annotations (issue 13): the user marks the selected span — or the trace, when no span is
selected — good (G) or bad (B), or opens the annotation dialog (N, the inspector's Annotate…,
the trace list's "Annotate trace…") for a verdict, label, score and note on the span or the
whole trace. The receiver's writer stores it (`Receiver.set_annotation`, run on the query
worker's thread as pins are); it tells its subscribers of the trace like of new data, so the
open trace is read again and the waterfall's badges and the inspector's Evaluations tab show it.

The controller also hands the inspector the open trace's results each time the trace is read."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QStatusBar, QWidget

from app.models.span_tree import first_root_id
from app.open_trace import OpenTrace
from app.receiver_host import ReceiverHost
from app.shortcuts import ANNOTATE, MARK_BAD, MARK_GOOD, widget_action
from app.widgets.annotation_dialog import AnnotationDialog, AnnotationTarget, AnnotationValues
from app.widgets.inspector import InspectorPanel
from app.widgets.waterfall import WaterfallView
from app.workers import QueryWorker
from receiver import TraceDetail
from receiver.records import StoredEvaluation

__all__ = ["AnnotationController"]

STATUS_MS = 5000


class AnnotationController(QObject):
    def __init__(self, host: ReceiverHost, worker: QueryWorker, open_trace: OpenTrace, waterfall: WaterfallView,
                 inspector: InspectorPanel, status: QStatusBar, window: QWidget,
                 show_failure: Callable[[str], None]) -> None:
        super().__init__(window)
        self.host, self.worker, self.open_trace = host, worker, open_trace
        self.waterfall, self.inspector, self.status, self._window = waterfall, inspector, status, window
        self._show_failure = show_failure
        self.dialog: AnnotationDialog | None = None
        tree = waterfall.tree
        self.good_action = widget_action(tree, MARK_GOOD, lambda: self.mark(True), "Mark good")
        self.bad_action = widget_action(tree, MARK_BAD, lambda: self.mark(False), "Mark bad")
        self.annotate_action = widget_action(tree, ANNOTATE, self.annotate, "Annotate…")
        self.trace_action = QAction("Annotate trace…", self)
        self.trace_action.setToolTip("Your verdict, label, score and note on the whole open trace")
        self.trace_action.triggered.connect(lambda: self.annotate(whole_trace=True))
        tab = inspector.evaluations
        tab.sig_marked.connect(self.mark)
        tab.sig_annotate_wanted.connect(self.annotate)
        tab.sig_remove_wanted.connect(self.remove_selected)
        open_trace.sig_loaded.connect(self._trace_loaded)
        open_trace.sig_closed.connect(lambda: inspector.set_trace_evaluations((), None))

    # --- what keys, buttons and tests call ----------------------------------------------

    def mark(self, good: bool) -> None:
        """The selected span (no span: the open trace) good or bad, keeping its label, score and note."""
        target = self._target()
        if target is None:
            return
        existing = target.span_annotation if target.span_id is not None else target.trace_annotation
        keep = existing is not None and existing.label not in ("good", "bad")
        self.save(AnnotationValues(target.trace_id, target.span_id, good,
                                   existing.label if keep else None,
                                   existing.score if existing is not None else None,
                                   existing.explanation if existing is not None else None))

    def annotate(self, whole_trace: bool = False) -> AnnotationDialog | None:
        """Open the annotation dialog for the selected span (or the whole trace)."""
        target = self._target()
        if target is None:
            return None
        if self.dialog is not None:
            self.dialog.close()
        dialog = self.dialog = AnnotationDialog(target, self._window, whole_trace=whole_trace or target.span_id is None)
        dialog.sig_saved.connect(self.save)
        dialog.sig_removed.connect(self.remove)
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        dialog.open()  # window-modal, not blocking: the trace keeps updating behind it
        return dialog

    def save(self, values: AnnotationValues) -> None:
        what = "the trace" if values.span_id is None else "the span"
        verdict = {True: f"Marked {what} good", False: f"Marked {what} bad"}.get(values.passed,  # type: ignore
                                                                                 f"Annotated {what}")
        self._write(lambda receiver: receiver.set_annotation(
            values.trace_id, values.span_id, passed=values.passed, label=values.label, score=values.score,
            note=values.note), verdict)

    def remove(self, trace_id: str, span_id: str | None) -> None:
        what = "the trace" if span_id is None else "the span"
        self._write(lambda receiver: receiver.remove_annotation(trace_id, span_id),
                    f"Removed your annotation of {what}")

    def remove_selected(self) -> None:
        target = self._target()
        if target is not None:
            self.remove(target.trace_id, target.span_id)

    # --- internals ----------------------------------------------------------------------

    def _dialog_closed(self, dialog: AnnotationDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def _target(self) -> AnnotationTarget | None:
        """The selected span and its trace (a span shown with other traces keeps its own), with
        the annotations already on them; None when no trace is open."""
        trace_id = self.open_trace.trace_id
        if trace_id is None:
            self.status.showMessage("Open a trace to annotate it", STATUS_MS)
            return None
        span = self.waterfall.selected_span()
        detail = self.open_trace.detail
        results = detail.evaluations if detail is not None else []
        if span is None:
            return AnnotationTarget(trace_id, None, None, None, _annotation(results, trace_id, None))
        return AnnotationTarget(span.trace_id, span.span_id, span.name, _annotation(results, span.trace_id,
                                                                                     span.span_id),
                                _annotation(results, span.trace_id, None))

    def _write(self, job: Callable, done: str) -> None:
        receiver = self.host.receiver
        if receiver is None:
            self._show_failure("Could not annotate: the receiver is not running")
            return
        self.worker.ask(lambda _store: job(receiver), lambda _: self.status.showMessage(done, STATUS_MS),
                        on_failed=lambda message: self._show_failure(f"Could not annotate: {message}"))

    def _trace_loaded(self, detail: TraceDetail) -> None:
        self.inspector.set_trace_evaluations(detail.evaluations, first_root_id(detail.spans))


def _annotation(results: list[StoredEvaluation], trace_id: str, span_id: str | None) -> StoredEvaluation | None:
    return next((r for r in results if r.is_human and r.trace_id == trace_id and r.span_id == span_id), None)
