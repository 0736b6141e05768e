"""Pick the receiver's ports: offered when a port is taken (another Tracepane, a Collector,
Jaeger…), and from the Receiver menu at any time."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

__all__ = ["PortsDialog"]


class PortsDialog(QDialog):
    def __init__(self, grpc_port: int, http_port: int, problem: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Receiver ports")
        self.grpc_spin = _port_spin(grpc_port)
        self.http_spin = _port_spin(http_port)
        form = QFormLayout()
        form.addRow("OTLP/gRPC port:", self.grpc_spin)
        form.addRow("OTLP/HTTP port:", self.http_spin)
        note = QLabel("0 picks any free port. Your app's exporter must use the same ports "
                      "(OTEL_EXPORTER_OTLP_ENDPOINT). The choice is remembered.", wordWrap=True, enabled=False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Listen")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if problem:
            layout.addWidget(QLabel(problem, wordWrap=True))
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def ports(self) -> tuple[int, int]:
        return self.grpc_spin.value(), self.http_spin.value()


def _port_spin(value: int) -> QSpinBox:
    spin = QSpinBox(minimum=0, maximum=65535, value=value)
    spin.setSpecialValueText("any free port")
    return spin
