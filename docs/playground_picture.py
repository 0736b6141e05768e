"""The playground for docs/screenshots.py: the demo's last OpenAI call (after its tool call)
opened in the playground, its system instructions edited, and Run against a provider on
loopback (`tests.mock_provider`), so the picture shows the recorded answer, the new one and
their differences, and the run recorded as a trace."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from app.widgets.main_window import MainWindow

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' mock provider
from tests.mock_provider import mock_provider  # noqa: E402

SYSTEM = ("You are Ada, the support agent of a shop. Never promise a return you cannot start: "
          "hand the customer over to a colleague instead.")


def playground(window: MainWindow, out: Path, wait_until: Callable, settle: Callable) -> None:
    first_turn = window.list_model.trace_at(2).trace_id
    window.trace_list.select_trace(first_turn)
    wait_until(lambda: window.waterfall.model.trace_id == first_turn)
    chat = [s for s in window.open_trace.detail.spans
            if s.genai.get("operation") == "chat" and s.genai.get("provider") == "openai"][-1]
    window.waterfall.select_span(chat.span_id)
    wait_until(lambda: window.inspector.playground_button.isEnabled())
    with mock_provider() as provider:
        provider.answer = ("Your order A1042 was delivered on Nov 20, and you can return it until Dec 20. I have "
                           "asked a colleague to start the return for you; the refund goes back to your original "
                           "payment.")
        saved = {name: os.environ.get(name) for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
        os.environ.update(OPENAI_BASE_URL=provider.openai_base_url, OPENAI_API_KEY="sk-docs")
        try:
            window.inspector.playground_button.click()
            editor = window.playground.windows[-1]
            editor.resize(1440, 900)
            editor.system.setPlainText(SYSTEM)
            editor.parameters["temperature"].setText("0.7")
            editor.run_button.click()
            wait_until(lambda: "recorded as trace" in editor.status.text())
            settle(300)
            path = out / "playground.png"
            if not editor.grab().save(str(path)):
                raise SystemExit(f"could not write {path}")
            print(path)
            editor.close()
        finally:
            for name, value in saved.items():
                os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
