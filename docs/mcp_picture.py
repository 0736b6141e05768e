"""An MCP call whose context was lost, for docs/screenshots.py: a real `mcp` SDK client and
server (tests/mcp_session.py, two processes over stdio) exporting their spans to the window's
receiver without propagating the trace context; the server's `tools/call` span opened, flagged,
with the Overview's MCP section and its way to the client's span in the other trace."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from app.widgets.main_window import MainWindow

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' MCP session
from tests.mcp_session import run_session  # noqa: E402


def mcp_call(window: MainWindow, out: Path, wait_until: Callable, settle: Callable, save: Callable) -> None:
    window.show()
    wait_until(lambda: window.host.addresses is not None)
    run_session(window.host.addresses.grpc_port, "unpropagated")
    wait_until(lambda: any(window.list_model.trace_at(row).root_name == "tools/call get_weather"
                           for row in range(window.list_model.rowCount())))
    server = next(window.list_model.trace_at(row) for row in range(window.list_model.rowCount())
                  if window.list_model.trace_at(row).root_name == "tools/call get_weather")
    window.trace_list.select_trace(server.trace_id)
    wait_until(lambda: window.waterfall.model.trace_id == server.trace_id
               and "no caller in this trace" in window.trace_header.problem_text()
               and window.inspector.overview.value_label("Other side") is not None)
    settle(300)
    save(window, out / "mcp-unpropagated.png")
