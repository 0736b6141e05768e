"""What a new user sees before any trace arrives: exactly how to send traces here (the
environment variables for their app, for the addresses the receiver really bound, ready to
copy) and a button that loads the demo traces."""

from __future__ import annotations

from urllib.parse import quote

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from receiver import ListenAddresses

__all__ = ["EmptyState", "exporter_settings"]

SHELLS = ("bash / zsh", "PowerShell", ".env file")
PROTOCOLS = ("OTLP/HTTP", "OTLP/gRPC")


def exporter_settings(addresses: ListenAddresses, protocol: str = "OTLP/HTTP", shell: str = "bash / zsh",
                      auth_token: str | None = None) -> str:
    """The environment an OpenTelemetry SDK needs to export here, as `shell` writes it (with
    the receiver's bearer token, when it wants one)."""
    http = protocol == "OTLP/HTTP"
    port = addresses.http_port if http else addresses.grpc_port
    host = addresses.host if addresses.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    variables = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{host}:{port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf" if http else "grpc",
        # the GenAI instrumentations record prompts and completions only when asked to
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_and_event",
        "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
    }
    if auth_token:
        # Header values in this variable are URL-encoded (the OTLP exporter spec): the space is
        # %20, and encoding leaves nothing a shell or PowerShell string would interpret.
        variables["OTEL_EXPORTER_OTLP_HEADERS"] = "Authorization=" + quote(f"Bearer {auth_token.strip()}", safe="")
    if shell == "PowerShell":
        return "\n".join(f'$env:{name} = "{value}"' for name, value in variables.items())
    if shell == ".env file":
        return "\n".join(f"{name}={value}" for name, value in variables.items())
    return "\n".join(f"export {name}={value}" for name, value in variables.items())


class EmptyState(QWidget):
    sig_demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._addresses: ListenAddresses | None = None
        self._auth_token: str | None = None
        title = QLabel("No traces yet")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        intro = QLabel("Point your app's OpenTelemetry exporter at Tracepane and run it: traces appear "
                       "here as they arrive. Set these in the environment your app starts from:", wordWrap=True)
        self.protocol_box = QComboBox(toolTip="The exporter your app uses")
        self.protocol_box.addItems(PROTOCOLS)
        self.shell_box = QComboBox(toolTip="How to write the settings")
        self.shell_box.addItems(SHELLS)
        self.settings_text = QPlainTextEdit(readOnly=True)
        self.settings_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.settings_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.settings_text.setFixedHeight(self.settings_text.fontMetrics().lineSpacing() * 4 + 18)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy these lines to the clipboard")
        self.copy_button.clicked.connect(self.copy_settings)
        self.status_label = QLabel(wordWrap=True)
        self.demo_button = QPushButton("Load demo traces")
        self.demo_button.setToolTip("Send three demo agent runs (tool calls, retrieval, a sub-agent, a streamed "
                                    "answer, a rate-limit error) to this receiver over OTLP")
        self.demo_button.setDefault(True)
        self.demo_button.clicked.connect(self.sig_demo_requested)
        hint = QLabel("or run <code>tracepane demo</code> in a terminal", enabled=False)

        choices = QHBoxLayout()
        choices.addWidget(self.protocol_box)
        choices.addWidget(self.shell_box)
        choices.addStretch(1)
        choices.addWidget(self.copy_button)
        demo_row = QHBoxLayout()
        demo_row.addWidget(self.demo_button)
        demo_row.addWidget(hint)
        demo_row.addStretch(1)

        card = QFrame(frameShape=QFrame.Shape.StyledPanel)
        card.setAutoFillBackground(True)
        card.setBackgroundRole(QPalette.ColorRole.Base)  # a card, lighter (darker) than the window
        self.settings_text.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        card.setMaximumWidth(760)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.setSpacing(12)
        inner.addWidget(title)
        inner.addWidget(intro)
        inner.addLayout(choices)
        inner.addWidget(self.settings_text)
        inner.addWidget(self.status_label)
        inner.addSpacing(6)
        inner.addLayout(demo_row)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 4)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

        self.protocol_box.currentIndexChanged.connect(self._refresh)
        self.shell_box.currentIndexChanged.connect(self._refresh)
        self._refresh()

    def set_addresses(self, addresses: ListenAddresses | None, problem: str = "", *,
                      auth_token: str | None = None) -> None:
        """Where the receiver listens (None: it is not running, and `problem` says why), and
        the bearer token it requires, if any."""
        self._addresses, self._auth_token = addresses, auth_token
        self.demo_button.setEnabled(addresses is not None)
        self._refresh(problem)

    def copy_settings(self) -> None:
        QGuiApplication.clipboard().setText(self.settings_text.toPlainText() + "\n")

    def _refresh(self, problem: str = "") -> None:
        if self._addresses is None:
            self.settings_text.setPlainText("")
            self.status_label.setText(problem or "The receiver is not running.")
            self.copy_button.setEnabled(False)
            return
        text = exporter_settings(self._addresses, self.protocol_box.currentText(), self.shell_box.currentText(),
                                 self._auth_token)
        self.settings_text.setPlainText(text)
        self.settings_text.setFixedHeight(self.settings_text.fontMetrics().lineSpacing() * (text.count("\n") + 1)
                                          + 18)
        self.copy_button.setEnabled(True)
        a = self._addresses
        token = " It requires the bearer token given in the headers above." if self._auth_token else ""
        self.status_label.setText(f"Listening on OTLP/gRPC {a.grpc} and OTLP/HTTP {a.http}.{token} Prompts and "
                                  "completions stay on this machine.")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
