"""The charts page's Evaluations section for docs/screenshots.py: a day of model calls (one a
minute) with their evaluators' results sent over OTLP by the real SDK, a bad deploy ten to six
hours ago among them, and a few answers a person checked by hand."""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.charts_controller import ChartsController
from app.widgets.charts_page import ChartsPage
from app.workers import QueryWorker
from receiver import Receiver, ReceiverConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' SDK sender
from tests.app.evaluated_calls import send_evaluated_calls  # noqa: E402

HOUR = 3600 * 10**9


def day_of_results(now_ns: int) -> tuple[list[list[tuple]], list[int]]:
    rng = random.Random(13)
    calls, at = [], []
    for i in range(1440):
        t = now_ns - 24 * HOUR + i * HOUR // 60 + rng.randrange(HOUR // 120)
        bad = 6 < (now_ns - t) / HOUR < 10  # more made-up and ungrounded answers
        results = [("hallucination", round(rng.uniform(0.5, 0.95) if bad and rng.random() < 0.6
                                           else rng.uniform(0.0, 0.4), 2), None),
                   ("relevance", round(rng.uniform(0.35, 1.0), 2), None)]
        if i % 2 == 0:
            results.append(("groundedness", None, "ungrounded" if bad and rng.random() < 0.7 or rng.random() < 0.15
                            else "grounded"))
        if i % 3 == 0:
            results.append(("answer quality", round(rng.uniform(0.1, 0.6), 2), None))
        calls.append(results)
        at.append(t)
    return calls, at


def evaluations_chart(out: Path, wait_until: Callable, settle: Callable) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "tracepane.db"
        with Receiver(ReceiverConfig(db_path=db_path, grpc_port=0, http_port=0)) as receiver:
            calls, at = day_of_results(time.time_ns())
            ids = send_evaluated_calls(receiver.addresses, calls, at_ns=at)
            for k, (trace_id, span_id) in enumerate(ids[-120::12]):
                receiver.set_annotation(trace_id, span_id, passed=k % 4 != 1, note="checked by hand")
            assert receiver.flush(30)
            worker = QueryWorker(db_path)
            page = ChartsPage()
            page.range_box.setCurrentText("Last 24 hours")
            controller = ChartsController(worker, page)
            page.resize(1440, 820)  # as in the default window
            page.show()
            controller.set_active(True)
            wait_until(lambda: bool(page.evaluations.summaries))
            settle(500)
            assert page.evaluations.grab().save(str(out / "evaluations-chart.png"))
            page.close()
            worker.shutdown()
