"""The charts page's Evaluations section, in a real window with a receiver in the process:
each evaluator's results, pass rate, mean score and annotations in the chart's time range,
failing-heavy ones marked, one pass-rate line per evaluator, following new results while
shown; an empty state before any."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor

from app.span_category import ERROR_COLOUR
from app.widgets.evaluations_chart import COLUMNS
from tests.app.evaluated_calls import send_evaluated_calls

WAIT_MS = 15_000


def _rows(section) -> list[list[str]]:
    table = section.table
    return [[table.topLevelItem(row).text(column) for column in range(len(COLUMNS))]
            for row in range(table.topLevelItemCount())]


@pytest.fixture
def charts(qtbot, window):
    with qtbot.waitSignal(window.charts_controller.sig_updated, timeout=WAIT_MS):
        window.show_view("charts")
    return window.charts_page.evaluations


def test_the_section_lists_each_evaluator_and_charts_its_pass_rate(qtbot, window, charts):
    assert charts.table.topLevelItemCount() == 0
    assert not charts.empty.isHidden() and charts.body.isHidden()  # said, not a blank table
    assert "No evaluation results in this range" in charts.empty.text()

    ids = send_evaluated_calls(window.host.addresses, [
        [("hallucination", 0.9, None), ("relevance", 0.2, None)],  # made up, and off topic
        [("hallucination", 0.1, None), ("relevance", 0.4, None)],
        [("hallucination", None, "factual"), ("relevance", 0.9, None)],
    ])
    window.host.receiver.set_annotation(*ids[2], passed=False, note="wrong order number")
    # most results first: hallucination 2 of 3 passed (a fault score of 0.9 fails), mean of its
    # two scores 0.50; relevance 1 of 3 (0.2 and 0.4 fail), mean 0.50; the person's mark
    expected = [["hallucination", "3", "67%", "0.50", ""], ["relevance", "3", "33%", "0.50", ""],
                ["human", "1", "0%", "—", "1"]]
    qtbot.waitUntil(lambda: _rows(charts) == expected, timeout=WAIT_MS)
    assert charts.empty.isHidden() and not charts.body.isHidden()
    red = QColor(ERROR_COLOUR)
    colours = [charts.table.topLevelItem(row).foreground(2).color() for row in range(3)]
    assert colours[0] != red and colours[1] == red and colours[2] == red  # fewer than half passed
    assert charts.is_failing("relevance") and not charts.is_failing("hallucination")
    assert "1 passed, 2 failed" in charts.table.topLevelItem(1).toolTip(0)

    # one line per evaluator, in the legend; the steps hold every result at its pass rate
    assert set(charts.rates) == {"hallucination", "relevance", "human"}
    assert len(charts.plot.listDataItems()) == 3
    assert sorted(label.text for _sample, label in charts.legend.items) == ["hallucination", "human", "relevance"]
    assert sum(charts.counts["hallucination"]) == 3
    assert {round(r) for r in charts.rates["relevance"] if r is not None} <= {0, 33, 50, 100}
    last = max(i for i, n in enumerate(charts.counts["relevance"]) if n)

    # hovering the chart reads out each evaluator's pass rate at that time
    charts.plot.vb.setXRange(charts.xs[last] - 60, charts.xs[last] + 60, padding=0)
    charts.graphics.scene().sigMouseMoved.emit(charts.plot.vb.sceneBoundingRect().center())
    assert window.charts_page.readout.text().startswith("Evaluation pass rate")
    assert "relevance" in window.charts_page.readout.text()

    # a new result, while the page is shown
    send_evaluated_calls(window.host.addresses, [[("relevance", 0.95, None)]])
    qtbot.waitUntil(lambda: _rows(charts)[0][:3] == ["relevance", "4", "50%"], timeout=WAIT_MS)
    assert not charts.is_failing("relevance")


def test_the_section_covers_the_charts_time_range(qtbot, window, charts):
    hour = 3_600_000_000_000
    now = window.charts_controller._clock_ns()
    send_evaluated_calls(window.host.addresses, [[("groundedness", None, "ungrounded")],
                                                 [("groundedness", None, "grounded")]],
                         at_ns=[now - 5 * hour, now - 60_000_000_000])  # five hours ago, a minute ago
    qtbot.waitUntil(lambda: _rows(charts) == [["groundedness", "1", "100%", "—", ""]], timeout=WAIT_MS)  # last hour
    with qtbot.waitSignal(window.charts_controller.sig_updated, timeout=WAIT_MS):
        window.charts_page.range_box.setCurrentText("Last 24 hours")
    assert _rows(charts) == [["groundedness", "2", "50%", "—", ""]]
    assert sum(charts.counts["groundedness"]) == 2 and len(charts.xs) == 24 * 4  # the page's 15-minute steps
