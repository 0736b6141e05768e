"""The meters above the waterfall: tokens in, out and cached, cost, cache hit rate, model
calls, errors by kind, spend rate and flagged answers (those a hallucination or groundedness
evaluator failed), for a scope the user picks (all traffic in the filter's time range, the
open trace's session, or the open trace). The errors meter is a button: it narrows the trace
list to error traces."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from app.formatting import format_cost_usd
from app.span_category import ERROR_COLOUR
from receiver import UsageTotals

__all__ = ["ERROR_KIND_LABELS", "MeterScope", "MetersStrip"]


class MeterScope:
    TRAFFIC = "All traffic"
    SESSION = "This session"
    TRACE = "This trace"


ERROR_KIND_LABELS = {"provider_5xx": "provider 5xx", "client_4xx": "4xx / policy", "timeout": "timeout",
                     "tool": "tool error", "other": "other"}
_TIPS = {
    "input": "Input tokens (cache reads and writes included)",
    "output": "Output tokens",
    "cached": "Input tokens read from the provider's prompt cache",
    "cost": "Cost at the prices in use when each call was stored",
    "hit": "Cache hit rate: cache-read tokens / input tokens, over the calls that report a cache count "
           "(a call that reports none is unknown, not a miss)",
    "calls": "Model calls (chat, completions, embeddings)",
    "errors": "Error spans, by kind (click: list only traces with errors)",
    "rate": "Spend rate: cost of the last 60 minutes; with a time range chosen, the range's cost per hour",
    "flagged": "Flagged answers: answers a hallucination/groundedness evaluator failed (each answer once, "
               "however many evaluators said so). Search eval:hallucination=fail to list their traces",
}


class _Meter(QWidget):
    """A value over its caption."""

    def __init__(self, caption: str, tip: str, value_widget: QWidget | None = None) -> None:
        super().__init__(toolTip=tip)
        self.value = value_widget or QLabel("—")
        font = self.value.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.value.setFont(font)
        self.caption = QLabel(caption, enabled=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.value, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.caption, 0, Qt.AlignmentFlag.AlignLeft)


class MetersStrip(QWidget):
    sig_scope_changed = Signal(str)  # a MeterScope value
    sig_errors_clicked = Signal()
    sig_alert_crossed = Signal(float, float)  # the spend rate reached the alert: (rate, alert), once per crossing

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scope_box = QComboBox(toolTip="What the meters count")
        self.scope_box.addItems([MeterScope.TRAFFIC, MeterScope.SESSION, MeterScope.TRACE])
        self.scope_box.currentTextChanged.connect(self.sig_scope_changed)
        self.errors_button = QToolButton(autoRaise=True)
        self.errors_button.clicked.connect(self.sig_errors_clicked)
        self.meters = {
            "input": _Meter("input tokens", _TIPS["input"]),
            "output": _Meter("output tokens", _TIPS["output"]),
            "cached": _Meter("cached tokens", _TIPS["cached"]),
            "cost": _Meter("cost", _TIPS["cost"]),
            "hit": _Meter("cache hit rate", _TIPS["hit"]),
            "calls": _Meter("model calls", _TIPS["calls"]),
            "errors": _Meter("errors", _TIPS["errors"], self.errors_button),
            "rate": _Meter("spend rate", _TIPS["rate"]),
            "flagged": _Meter("flagged", _TIPS["flagged"]),
        }
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(12)  # nine meters fit beside the trace list at the default 1440 px
        layout.addWidget(self.scope_box)
        for meter in self.meters.values():
            layout.addWidget(meter)
        layout.addStretch(1)
        self.spend_alert: float | None = None  # $/h
        self._alerting = False
        self.attribute_alerts: list[str] = []  # the attribute values at or over their alert, said
        self.show_usage(None)

    @property
    def scope(self) -> str:
        return self.scope_box.currentText()

    def set_scopes_available(self, *, session: bool, trace: bool) -> None:
        """Grey out the scopes the open trace cannot give (none open; no session id)."""
        model = self.scope_box.model()
        for text, enabled in ((MeterScope.SESSION, session), (MeterScope.TRACE, trace)):
            model.item(self.scope_box.findText(text)).setEnabled(enabled)
        if not self.scope_box.model().item(self.scope_box.currentIndex()).isEnabled():
            self.scope_box.setCurrentText(MeterScope.TRAFFIC)

    def show_usage(self, usage: UsageTotals | None, spend_rate: float | None = None,
                   flagged: int | None = None) -> None:
        """The numbers (None: nothing yet: dashes); `flagged`: the flagged answers."""
        self._show_flagged(None if usage is None else flagged)
        if usage is None:
            for meter in self.meters.values():
                meter.value.setText("—")
            self.errors_button.setToolTip("")
            return
        self.meters["input"].value.setText(f"{usage.input_tokens:,}")
        self.meters["output"].value.setText(f"{usage.output_tokens:,}")
        self.meters["cached"].value.setText(f"{usage.cache_read_tokens:,}")
        self.meters["cost"].value.setText(format_cost_usd(usage.cost_usd if usage.llm_calls else None,
                                                          unpriced=usage.unpriced_calls))
        rate = usage.cache_hit_rate
        self.meters["hit"].value.setText("—" if rate is None else f"{rate:.0%}")
        self.meters["calls"].value.setText(f"{usage.llm_calls:,}")
        self.errors_button.setText(f"{usage.errors:,}")
        kinds = [f"{ERROR_KIND_LABELS[kind]}: {count:,}" for kind, count in usage.errors_by_kind.items() if count]
        self.errors_button.setToolTip("\n".join(kinds) if kinds else "No errors")
        self.meters["rate"].value.setText("—" if spend_rate is None else f"{format_cost_usd(spend_rate)}/h")
        self._check_alert(spend_rate)

    def _show_flagged(self, count: int | None) -> None:
        """Red when an answer was flagged; muted at none."""
        value = self.meters["flagged"].value
        value.setText("—" if count is None else f"{count:,}")
        value.setEnabled(bool(count))
        value.setStyleSheet(f"color: {ERROR_COLOUR};" if count else "")

    def set_spend_alert(self, usd_per_hour: float | None) -> None:
        self.spend_alert = usd_per_hour
        self._alerting = False
        self._colour_rate(False)

    def _check_alert(self, spend_rate: float | None) -> None:
        """Colour the spend rate at or over the alert; say so once each time it gets there."""
        if spend_rate is None:  # a trace or session scope has no rate: the alert waits
            return
        over = self.spend_alert is not None and spend_rate >= self.spend_alert
        self._colour_rate(over)
        if over and not self._alerting:
            self.sig_alert_crossed.emit(spend_rate, self.spend_alert)
        self._alerting = over

    def show_attribute_alerts(self, lines: list[str]) -> None:
        """The attribute values whose own spend rate is at or over their alert (none: [])."""
        self.attribute_alerts = lines
        self._colour_rate(self._alerting)

    def _colour_rate(self, over: bool) -> None:
        meter = self.meters["rate"]
        meter.value.setStyleSheet(f"color: {ERROR_COLOUR};" if over or self.attribute_alerts else "")
        notes = [f"At or over your alert of {format_cost_usd(self.spend_alert)}/h"] if over else []
        if self.attribute_alerts:
            notes += ["Over their own alert:", *self.attribute_alerts]
        meter.setToolTip("\n".join([_TIPS["rate"], *notes]))

    def value_text(self, meter: str) -> str:
        return self.meters[meter].value.text()
