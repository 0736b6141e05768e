"""The playground window: a recorded model call in an editor — API, model, parameters, system
instructions, messages and tools — and Run, which sends it to the provider; the answer appears
beside the recorded one, with a word diff. Nothing is sent until Run is pressed. The window
only edits and shows: `PlaygroundController` sends and records."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.playground.answer_diff import DELETED, INSERTED, answer_text, word_diff
from app.playground.edits import EditError, call_from_edits, json_text, parameter_text
from app.playground.provider_client import Answer, Endpoint, missing_key_message
from app.provider_payloads import ANTHROPIC, OPENAI, PARAMETERS, ModelCall
from app.shortcuts import RUN_PLAYGROUND, key_sequences
from app.widgets.inspector.common import fixed_font, muted_label, scaled_font

__all__ = ["PlaygroundWindow"]

API_NAMES = {OPENAI: "OpenAI-compatible (chat completions)", ANTHROPIC: "Anthropic (messages)"}
_PARAMETER_LABELS = {"temperature": "Temperature", "top_p": "Top p", "max_tokens": "Max tokens", "seed": "Seed"}
NOT_SENT = "Not sent. Nothing leaves this computer until you press Run."


class PlaygroundWindow(QWidget):
    sig_run = Signal(object)  # ModelCall: the user pressed Run on a valid call
    sig_api_changed = Signal(str)  # the endpoint line must be said again
    sig_open_run = Signal(str, str)  # (trace id, span id) of the recorded run
    sig_closed = Signal()

    def __init__(self, call: ModelCall, original_answer: list | None, source: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(f"Playground — {source}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(1280, 800)
        self.api = QComboBox()
        for api, name in API_NAMES.items():
            self.api.addItem(name, api)
        self.api.setCurrentIndex(self.api.findData(call.api))
        self.api.currentIndexChanged.connect(lambda _: self.sig_api_changed.emit(self.current_api()))
        self.model = QLineEdit(call.model)
        self.parameters = {name: QLineEdit(parameter_text(call.parameters.get(name)), placeholderText="not set")
                           for name in PARAMETERS}
        self.endpoint_label = muted_label()
        self.system = self._editor(call.system or "", "No system instructions")
        self.messages = self._editor(json_text(call.messages), "")
        self.tools = self._editor(json_text(call.tools) if call.tools else "", "No tools")
        self.run_button = QPushButton("Run", default=True)
        self.run_button.setToolTip("Send this call to the provider (Ctrl+Enter)")
        self.run_button.clicked.connect(self.run)
        for keys in key_sequences(RUN_PLAYGROUND):
            QShortcut(keys, self, activated=self.run)
        self.status = QLabel(NOT_SENT, wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.status.linkActivated.connect(self._open_run)
        self.recorded = self._reader(answer_text(original_answer) or "(no answer was recorded)")
        self.new_answer = self._reader("")
        self.diff = QTextBrowser()
        self.diff.setPlaceholderText("The differences appear here after Run")
        self._run_ids: tuple[str, str] | None = None
        self.edit_error: QMessageBox | None = None  # the last "Cannot run this call" message
        self._layout(source)

    # --- what the controller and tests use -------------------------------------------------

    def current_api(self) -> str:
        return self.api.currentData()

    def set_endpoint(self, endpoint: Endpoint) -> None:
        key = f"key from {endpoint.key_source}" if endpoint.api_key else missing_key_message(endpoint.api)
        self.endpoint_label.setText(f"Run sends to {endpoint.url} · {key}")

    def run(self) -> None:
        if not self.run_button.isEnabled():
            return
        try:
            call = call_from_edits(self.current_api(), self.model.text(), self.system.toPlainText(),
                                   self.messages.toPlainText(), self.tools.toPlainText(),
                                   {name: field.text() for name, field in self.parameters.items()})
        except EditError as error:
            self._complain(str(error))
            return
        self.run_button.setEnabled(False)
        self.status.setText(f"Running {html.escape(call.model)}…")
        self.new_answer.setPlainText("")
        self.diff.clear()
        self.sig_run.emit(call)

    def show_answer(self, answer: Answer) -> None:
        self.run_button.setEnabled(True)
        self.new_answer.setPlainText(answer.text)
        self.diff.setHtml(_diff_html(self.recorded.toPlainText(), answer.text))
        seconds = (answer.end_ns - answer.start_ns) / 1e9
        tokens = (f" · {answer.input_tokens or 0:,} → {answer.output_tokens or 0:,} tokens"
                  if answer.input_tokens is not None or answer.output_tokens is not None else "")
        self.status.setText(f"Answered in {seconds:.2f} s{tokens} · {html.escape(answer.finish_reason or '')} · "
                            f"response {html.escape(answer.response_id or 'without an id')}")

    def show_failure(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(f'<span style="color:#d1242f"><b>Failed:</b> {html.escape(message)}</span>')

    def show_recorded(self, trace_id: str, span_id: str) -> None:
        """The run is stored as a trace: a link to it joins the status line."""
        self._run_ids = (trace_id, span_id)
        self.status.setText(self.status.text() + f' · recorded as trace <a href="run">{trace_id[:8]}…</a>')

    def diff_text(self) -> str:
        return self.diff.toPlainText()

    # --- building ---------------------------------------------------------------------------

    def _layout(self, source: str) -> None:
        choice = QHBoxLayout()
        choice.addWidget(QLabel("API"))
        choice.addWidget(self.api)
        choice.addSpacing(12)
        choice.addWidget(QLabel("Model"))
        choice.addWidget(self.model, 1)
        parameters = QHBoxLayout()
        for name in ("temperature", "top_p", "max_tokens", "seed"):
            parameters.addWidget(QLabel(_PARAMETER_LABELS[name]))
            parameters.addWidget(self.parameters[name], 1)
            parameters.addSpacing(8)
        inputs = QTabWidget(documentMode=True)
        inputs.addTab(self.messages, "Messages")
        inputs.addTab(self.system, "System")
        inputs.addTab(self.tools, "Tools")
        editor = QWidget()
        left = QVBoxLayout(editor)
        left.setContentsMargins(0, 0, 0, 0)
        title = QLabel(f"Re-run of {source}")
        title.setFont(scaled_font(self.font(), 1.15, bold=True))
        left.addWidget(title)
        left.addLayout(choice)
        left.addLayout(parameters)
        left.addWidget(inputs, 1)
        answers = QSplitter(Qt.Orientation.Vertical)
        pair = QSplitter(Qt.Orientation.Horizontal)
        pair.addWidget(_titled("Recorded answer", self.recorded))
        pair.addWidget(_titled("This run", self.new_answer))
        answers.addWidget(pair)
        answers.addWidget(_titled("Differences (struck out: only in the recorded answer; underlined: only in "
                                  "this run)", self.diff))
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(editor)
        body.addWidget(answers)
        body.setSizes([600, 680])
        footer = QHBoxLayout()
        footer.addWidget(self.status, 1)
        footer.addWidget(self.run_button)
        outer = QVBoxLayout(self)
        outer.addWidget(body, 1)
        outer.addWidget(self.endpoint_label)
        outer.addLayout(footer)

    def _editor(self, text: str, placeholder: str) -> QPlainTextEdit:
        editor = QPlainTextEdit(text, placeholderText=placeholder)
        editor.setFont(fixed_font(self.font()))
        return editor

    def _reader(self, text: str) -> QPlainTextEdit:
        reader = QPlainTextEdit(text, readOnly=True)
        reader.setPlaceholderText("The answer appears here after Run")
        return reader

    def _complain(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot run this call", message, QMessageBox.StandardButton.Ok,
                          self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.edit_error = box
        box.open()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.sig_closed.emit()
        super().closeEvent(event)

    def _open_run(self, _href: str) -> None:
        if self._run_ids is not None:
            self.sig_open_run.emit(*self._run_ids)


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 4, 0, 0)
    layout.addWidget(muted_label(title))
    layout.addWidget(widget, 1)
    return box


def _diff_html(before: str, after: str) -> str:
    spans = []
    for op, text in word_diff(before, after):
        text = html.escape(text).replace("\n", "<br>")
        if op == DELETED:
            spans.append(f'<span style="background:#ffd7d5;text-decoration:line-through">{text}</span>')
        elif op == INSERTED:
            spans.append(f'<span style="background:#ccffd8;text-decoration:underline">{text}</span>')
        else:
            spans.append(text)
    return "<div style='white-space:pre-wrap'>" + "".join(spans) + "</div>"
