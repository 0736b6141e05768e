"""The status bar: where the receiver listens (or why it does not), what it has received and
rejected since start, and which database file the app shows; while the database cannot grow
(disk full), that first. Counters and that state are in memory in the receiver, so reading them
on the GUI thread costs nothing; they are read once a second."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from app.receiver_host import ReceiverHost
from receiver import DatabaseInUse

__all__ = ["ReceiverStatusBar"]

REFRESH_MS = 1000


class ReceiverStatusBar(QStatusBar):
    sig_ports_wanted = Signal()  # the user clicked "Change ports…"
    sig_retry_wanted = Signal()  # the user clicked "Try again" (another Tracepane had the database)

    def __init__(self, host: ReceiverHost, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.listen_label = QLabel(textFormat=Qt.TextFormat.RichText)
        self.listen_label.linkActivated.connect(
            lambda link: (self.sig_retry_wanted if link == "retry" else self.sig_ports_wanted).emit())
        self.storage_label = QLabel(objectName="storage_problem", visible=False)  # e.g. disk full
        self.storage_label.setStyleSheet("QLabel#storage_problem { color: #d73a49; }")
        self.storage_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.forward_label = QLabel(objectName="forward_problem", visible=False)  # an upstream failing
        self.forward_label.setStyleSheet("QLabel#forward_problem { color: #b08800; }")
        self.forward_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.counts_label = QLabel()
        self.db_label = QLabel(f"Database: {db_path}")
        self.db_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.db_label.setToolTip(str(db_path))
        self.db_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # a long path is cut
        self.addPermanentWidget(self.storage_label, 1)
        self.addPermanentWidget(self.forward_label, 1)
        self.addPermanentWidget(self.listen_label)
        self.addPermanentWidget(_separator())
        self.addPermanentWidget(self.counts_label)
        self.addPermanentWidget(_separator())
        self.addPermanentWidget(self.db_label, 1)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def refresh(self) -> None:
        addresses = self.host.addresses
        if addresses is None and self.host.starting:
            self.listen_label.setText("Starting the receiver…")
            self.listen_label.setToolTip("Opening the database; stored traces are shown meanwhile")
        elif addresses is None and isinstance(self.host.failure, DatabaseInUse):
            self.listen_label.setText(f'<span style="color:#d73a49">⚠ {_escape(self.host.problem)}</span> '
                                      '<a href="retry">Try again</a>')
            self.listen_label.setToolTip("Traces already stored are shown; this window stores nothing new while "
                                         "the other Tracepane writes to the database. Once it has stopped, try again.")
        elif addresses is None:
            problem = self.host.problem or "the receiver is not running"
            self.listen_label.setText(f'<span style="color:#d73a49">⚠ {_escape(problem)}</span> '
                                      '<a href="ports">Change ports…</a>')
            self.listen_label.setToolTip("Traces already stored are shown; new ones cannot arrive until the "
                                         "receiver listens. Pick other ports (0 = any free port).")
        else:
            token = " · token required" if self.host.config.auth_token else ""
            self.listen_label.setText(f"gRPC {addresses.grpc} · HTTP {addresses.http.removeprefix('http://')}{token}")
            self.listen_label.setToolTip("Where the OTLP receiver listens (Receiver ▸ Receiver ports… to change)"
                                         + ("; exporters must send 'Authorization: Bearer <token>' (--auth-token)"
                                            if token else ""))
        c = self.host.counters()
        text = f"{c.spans_accepted:,} {'span' if c.spans_accepted == 1 else 'spans'} received"
        if c.logs_accepted:
            text += f" · {c.logs_accepted:,} log records"
        rejected = c.items_rejected + c.requests_failed
        text += f" · {rejected:,} rejected"
        self.counts_label.setText(text)
        self.counts_label.setToolTip(f"Since start: {c.requests:,} export requests; {c.items_rejected:,} items "
                                     f"refused one by one, {c.requests_failed:,} requests refused whole "
                                     f"({c.requests_busy:,} of them because the writer was busy)")
        self._show_storage_problem(self.host.storage_problem())
        forwarding = self.host.forwarding_problem()  # stored here all the same: a warning, not an error
        if forwarding and self.forward_label.text() != f"⚠ {forwarding}":
            self.forward_label.setText(f"⚠ {forwarding}")
            self.forward_label.setToolTip(forwarding)
        self.forward_label.setVisible(bool(forwarding))
        if forwarding:  # the room goes to what needs doing; the path is back once forwarding recovers
            self.db_label.setVisible(False)

    def _show_storage_problem(self, problem: str) -> None:
        """While the database cannot grow, say so first; its path is in the message."""
        if problem:
            text = f"⚠ {problem[:1].upper()}{problem[1:]}"
            if self.storage_label.text() != text:
                self.storage_label.setText(text)
                self.storage_label.setToolTip(text)
        self.storage_label.setVisible(bool(problem))
        self.db_label.setVisible(not problem)


def _separator() -> QLabel:
    label = QLabel("|", enabled=False)
    return label


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
