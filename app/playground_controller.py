"""The playground (issue 14): "Open in playground" on a model call (the inspector's button, P
in the waterfall) opens it in a `PlaygroundWindow`; Run sends the edited call to the provider
on a thread of its own (the window stays responsive; several windows may run at once), shows
the answer beside the recorded one, and records the run through the receiver's ingest path as
a trace of the service `playground` linked to the original span (`app.playground.run_record`).
The key is read from the environment or the keyring when Run is pressed, and never stored."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.call_as_code import can_be_code
from app.playground.provider_client import ProviderError, endpoint_for, missing_key_message, send
from app.playground.run_record import run_document
from app.provider_payloads import ModelCall, model_call
from app.receiver_host import ReceiverHost
from app.shortcuts import OPEN_PLAYGROUND, widget_action
from app.widgets.inspector import InspectorPanel
from app.widgets.playground_window import PlaygroundWindow
from app.widgets.waterfall import WaterfallView
from receiver.records import StoredSpan

__all__ = ["PlaygroundController"]


class _Outcome(QObject):
    """Carries a run's outcome from its thread to the window's (queued signals)."""

    sig_answered = Signal(object)  # Answer
    sig_failed = Signal(str)
    sig_recorded = Signal(str, str)  # trace id, span id


class PlaygroundController(QObject):
    def __init__(self, host: ReceiverHost, inspector: InspectorPanel, waterfall: WaterfallView,
                 open_span: Callable[[str, str], None], run_recorded: Callable[[], None], window: QWidget) -> None:
        super().__init__(window)
        self.host, self.inspector, self._open_span, self._run_recorded = host, inspector, open_span, run_recorded
        self.windows: list[PlaygroundWindow] = []
        self._threads: list[threading.Thread] = []
        inspector.sig_playground_wanted.connect(self.open_playground)
        self.key_action = widget_action(waterfall.tree, OPEN_PLAYGROUND, self.open_selected, "Open in playground")

    def open_selected(self) -> PlaygroundWindow | None:
        """P in the waterfall: the span in the inspector (read in full), if it is a model call."""
        span = self.inspector.span()
        return self.open_playground(span) if can_be_code(span) else None

    def open_playground(self, span: StoredSpan) -> PlaygroundWindow:
        """A playground window on `span` (a model call read in full: its content is needed)."""
        call = model_call(span)
        window = PlaygroundWindow(call, span.content.get("output_messages"), f"{span.name} ({span.span_id[:8]}…)")
        window.set_endpoint(endpoint_for(call.api))
        window.sig_api_changed.connect(lambda api: window.set_endpoint(endpoint_for(api)))
        window.sig_run.connect(lambda edited: self._run(window, edited, (span.trace_id, span.span_id)))
        window.sig_open_run.connect(self._open_span)
        window.sig_closed.connect(lambda: self.windows.remove(window) if window in self.windows else None)
        self.windows.append(window)
        window.show()
        return window

    def wait_for_runs(self, timeout: float = 30.0) -> bool:
        """Every run's thread finished (what closing the app and the tests wait on)."""
        for thread in list(self._threads):
            thread.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]
        return not self._threads

    def _run(self, window: PlaygroundWindow, call: ModelCall, original: tuple[str, str]) -> None:
        endpoint = endpoint_for(call.api)
        window.set_endpoint(endpoint)
        if not endpoint.api_key:  # nothing to send with: said in the window, not recorded
            window.show_failure(missing_key_message(call.api))
            return
        outcome = _Outcome(window)  # deleted with the window: a late outcome then goes nowhere
        outcome.sig_answered.connect(window.show_answer)
        outcome.sig_failed.connect(window.show_failure)
        outcome.sig_recorded.connect(window.show_recorded)
        outcome.sig_recorded.connect(lambda *_: self._run_recorded())  # the original's Overview lists its runs
        receiver = self.host.receiver

        def work() -> None:
            start = time.time_ns()
            try:
                answer = send(call, endpoint)
                document, trace_id, span_id = run_document(call, endpoint, original, answer)
                _emit(outcome.sig_answered, answer)
            except ProviderError as error:
                document, trace_id, span_id = run_document(call, endpoint, original, failure=str(error),
                                                           start_ns=start, end_ns=time.time_ns())
                _emit(outcome.sig_failed, str(error))
            if receiver is None:
                return
            try:
                receiver.import_request("traces", json.dumps(document).encode())
            except Exception as error:  # noqa: BLE001 - the run happened; only its record failed
                _emit(outcome.sig_failed, f"the run could not be recorded: {error}")
                return
            _emit(outcome.sig_recorded, trace_id, span_id)

        thread = threading.Thread(target=work, name="playground-run", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()


def _emit(signal, *values) -> None:
    try:
        signal.emit(*values)
    except RuntimeError:  # the window (and its outcome carrier) was closed meanwhile
        pass

