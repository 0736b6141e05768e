"""Evaluation results (issue 13): `gen_ai.evaluation.result` events from a real OpenTelemetry SDK
logger, sent over OTLP before and after their span, attach to it, roll up per trace and per
evaluator, filter the trace list; span events and OpenInference attributes count too; a
person's annotations survive an export and an import."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from receiver import Receiver, ReceiverConfig, TraceFilter
from receiver.file_import import import_files
from receiver.genai.evaluations import verdict
from receiver.otlp.otlp_file import trace_lines, write_trace
from receiver.storage.evaluation_rows import fill_evaluations
from tests.conftest import run_tracepane, show_json


class Agent:
    """An app under test: spans over OTLP/gRPC, evaluation events over the log exporter."""

    def __init__(self, receiver: Receiver, service: str = "evals-app") -> None:
        endpoint = f"127.0.0.1:{receiver.addresses.grpc_port}"
        resource = Resource.create({"service.name": service})
        self.tracers = TracerProvider(resource=resource)
        self.tracers.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
        self.loggers = LoggerProvider(resource=resource)
        self.loggers.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=endpoint,
                                                                                       insecure=True)))
        self.tracer = self.tracers.get_tracer("tests.evals")
        self.logger = self.loggers.get_logger("tests.evaluator")

    def evaluation(self, name: str, score: float | None = None, label: str | None = None,
                   explanation: str = "", response_id: str | None = None) -> None:
        attributes: dict = {"gen_ai.evaluation.name": name}
        if score is not None:
            attributes["gen_ai.evaluation.score.value"] = score
        if label is not None:
            attributes["gen_ai.evaluation.score.label"] = label
        if explanation:
            attributes["gen_ai.evaluation.explanation"] = explanation
        if response_id:
            attributes["gen_ai.response.id"] = response_id
        self.logger.emit(severity_number=SeverityNumber.INFO, event_name="gen_ai.evaluation.result",
                         attributes=attributes)

    def close(self) -> None:
        self.tracers.shutdown()
        self.loggers.shutdown()


def _hex(context) -> tuple[str, str]:
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


@pytest.fixture
def agent(receiver):
    app = Agent(receiver)
    yield app
    app.close()


def test_results_sent_before_and_after_their_span_attach_to_it(receiver, agent, db_path, store):
    with agent.tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"})
        agent.evaluation("relevance", 0.3, "fail", "off topic")  # exported while the span is open
        trace_id, span_id = _hex(span.get_span_context())
    with trace.use_span(trace.NonRecordingSpan(span.get_span_context())):
        agent.evaluation("hallucination", 0.0, "factual")  # the span was exported already
    agent.close()
    assert receiver.flush()

    detail = store.get_trace(trace_id)
    results = {e.name: e for e in detail.span_evaluations(span_id)}
    assert set(results) == {"relevance", "hallucination"}
    assert (results["relevance"].score, results["relevance"].label, results["relevance"].passed) == (0.3, "fail", 0)
    assert results["relevance"].explanation == "off topic" and results["relevance"].source == "log"
    assert results["hallucination"].passed == 1
    assert {e.name for e in store.get_trace_outline(trace_id).evaluations} == {"relevance", "hallucination"}

    shown = {e["name"]: e for e in show_json(db_path, trace_id)["spans"][0]["evaluations"]}
    assert shown["relevance"] == {"name": "relevance", "score": 0.3, "label": "fail", "explanation": "off topic",
                                  "source": "log", "passed": False, "response_id": None,
                                  "time_unix_nano": results["relevance"].time_unix_nano}
    tree = run_tracepane("show", trace_id, "--db", str(db_path)).stdout
    assert "✗ relevance: fail (0.3) — off topic" in tree and "✓ hallucination: factual (0)" in tree


def test_a_result_known_by_response_id_alone_finds_its_span_either_way(receiver, agent, store):
    """An evaluator in another process has no span context, only the evaluated response's id."""
    agent.evaluation("groundedness", label="ungrounded", response_id="chatcmpl-early")  # before its call
    spans = {}
    for response_id in ("chatcmpl-early", "chatcmpl-late"):
        with agent.tracer.start_as_current_span("chat") as span:
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.response.id": response_id})
            spans[response_id] = _hex(span.get_span_context())
    agent.evaluation("groundedness", label="grounded", response_id="chatcmpl-late")  # after its call
    agent.close()
    assert receiver.flush()

    for response_id, passed in (("chatcmpl-early", 0), ("chatcmpl-late", 1)):
        trace_id, span_id = spans[response_id]
        (result,) = store.get_trace(trace_id).span_evaluations(span_id)
        assert (result.name, result.passed, result.response_id) == ("groundedness", passed, response_id)
        # linked in the table, so the list's roll-up and filter see it
        (summary,) = store.get_trace_summaries([trace_id])
        assert (summary.evaluations, summary.evaluations_passed, summary.evaluations_failed) == (1, passed, 1 - passed)
    early = store.list_traces(TraceFilter(evaluations=(("groundedness", "=", "fail"),))).traces
    assert [t.trace_id for t in early] == [spans["chatcmpl-early"][0]]
    assert store.flagged_answers() == 1  # a groundedness evaluator failed one answer


def _three_traces(agent: Agent) -> dict[str, str]:
    results = {"good": [("hallucination", 0.1, "factual"), ("relevance", 0.9, "relevant")],
               "made-up": [("hallucination", 0.8, "hallucinated"), ("relevance", 0.7, None)],
               "off-topic": [("relevance", 0.2, None), ("Relevance", 0.4, None)]}
    traces = {}
    for name, evaluations in results.items():
        with agent.tracer.start_as_current_span(name) as span:
            for evaluation in evaluations:
                agent.evaluation(*evaluation)
            traces[name] = _hex(span.get_span_context())[0]
    agent.close()
    return traces


def test_results_roll_up_per_trace_and_per_evaluator_and_filter_the_list(receiver, agent, store):
    traces = _three_traces(agent)
    assert receiver.flush()

    def listed(*evaluations: tuple[str, str, str]) -> set[str]:
        found = {t.trace_id for t in store.list_traces(TraceFilter(evaluations=evaluations)).traces}
        return {name for name, trace_id in traces.items() if trace_id in found}

    assert listed(("hallucination", "=", "fail")) == {"made-up"}
    assert listed(("HALLUCINATION", "=", "hallucinated")) == {"made-up"}  # a label, any case
    assert listed(("relevance", "<", "0.5")) == {"off-topic"}
    assert listed(("relevance", ">=", "0.7"), ("hallucination", "=", "pass")) == {"good"}
    assert listed(("hallucination", "", "")) == {"good", "made-up"}
    assert listed(("", "=", "fail")) == {"made-up", "off-topic"}
    with pytest.raises(ValueError, match="number"):
        listed(("relevance", "<", "high"))

    summaries = {s.name.lower(): s for s in store.evaluator_summaries()}
    relevance = summaries["relevance"]
    assert (relevance.results, relevance.passed, relevance.failed) == (4, 2, 2)
    assert relevance.mean_score == pytest.approx((0.9 + 0.7 + 0.2 + 0.4) / 4)
    assert relevance.pass_rate == 0.5
    assert store.flagged_answers() == 1  # the made-up answer
    by_trace = {t.trace_id: t for t in store.get_trace_summaries(traces.values())}
    made_up = by_trace[traces["made-up"]]
    assert (made_up.evaluations, made_up.evaluations_passed, made_up.evaluations_failed) == (2, 1, 1)

    first = min(e.time_unix_nano for t in traces.values() for e in store.evaluations(t))
    series = store.evaluation_series(first, first + 3_600_000_000_000, 3_600_000_000_000)
    assert series["hallucination"] == [(first, 2, 0.5, pytest.approx(0.45))]


def test_span_events_and_openinference_attributes_are_results_too(receiver, agent, store):
    with agent.tracer.start_as_current_span("llm") as span:
        span.add_event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "toxicity",
                                                    "gen_ai.evaluation.score.value": 0.9})
        span.set_attributes({"evaluation.name": "correctness", "evaluation.label": "incorrect",
                             "evaluation.explanation": "wrong year",
                             "eval.Q&A.score": 0.75, "eval.Q&A.label": "correct"})
        trace_id, span_id = _hex(span.get_span_context())
    agent.close()
    assert receiver.flush()
    results = {(e.name, e.source): e for e in store.get_trace(trace_id).span_evaluations(span_id)}
    assert set(results) == {("toxicity", "span_event"), ("correctness", "span_attribute"), ("Q&A", "span_attribute")}
    assert results["toxicity", "span_event"].passed == 0  # a toxicity score grows with the fault
    assert results["correctness", "span_attribute"].explanation == "wrong year"
    assert (results["Q&A", "span_attribute"].score, results["Q&A", "span_attribute"].passed) == (0.75, 1)


def test_annotations_are_stored_replaced_and_survive_export_and_import(receiver, agent, store, tmp_path):
    with agent.tracer.start_as_current_span("agent"):
        with agent.tracer.start_as_current_span("chat") as chat:
            agent.evaluation("relevance", 0.9)
            trace_id, span_id = _hex(chat.get_span_context())
    agent.close()
    receiver.set_annotation(trace_id, span_id, passed=True, note="first look")
    receiver.set_annotation(trace_id, span_id, passed=False, label="wrong tool", score=0.2,
                            note="should have searched the docs")  # replaces the first
    receiver.set_annotation(trace_id, None, passed=True)  # the whole trace
    detail = store.get_trace(trace_id)
    (mine,) = [e for e in detail.span_evaluations(span_id) if e.is_human]
    assert (mine.name, mine.label, mine.score, mine.passed, mine.explanation) == (
        "human", "wrong tool", 0.2, 0, "should have searched the docs")
    (whole,) = detail.span_evaluations(None)
    assert (whole.label, whole.passed, whole.is_human) == ("good", 1, True)
    assert {t.trace_id for t in store.list_traces(TraceFilter(evaluations=(("human", "=", "bad"),))).traces} \
        == {trace_id}

    exported = tmp_path / "trace.jsonl"
    write_trace(detail, exported)
    with Receiver(ReceiverConfig(db_path=tmp_path / "elsewhere.db", grpc_port=0, http_port=0)) as other:
        outcome = import_files(other, [exported])
        assert not outcome.problems
        assert other.flush()
        reader = other.store()
        try:
            imported = reader.get_trace(trace_id)
        finally:
            reader.close()
    keys = {(e.span_id, e.name, e.label, e.score, e.passed, e.explanation, e.source, e.time_unix_nano)
            for e in detail.evaluations}
    assert {(e.span_id, e.name, e.label, e.score, e.passed, e.explanation, e.source, e.time_unix_nano)
            for e in imported.evaluations} == keys
    # exported again, each annotation goes once (not also as the imported log record)
    again = "\n".join(trace_lines(imported))
    assert again.count('"tracepane.annotation"') == 2

    assert receiver.remove_annotation(trace_id, span_id)
    assert [e.name for e in store.evaluations(trace_id) if e.span_id == span_id] == ["relevance"]


def test_deleting_a_trace_deletes_its_results_and_annotations(receiver, agent, store):
    traces = _three_traces(agent)
    receiver.set_annotation(traces["good"], None, passed=True)
    receiver.delete_traces([traces["good"]])
    assert store.evaluations(traces["good"]) == []
    assert {s.name.lower(): s.results for s in store.evaluator_summaries()} == {"relevance": 3, "hallucination": 1}


def test_a_database_from_before_evaluations_gets_them_from_what_it_stored(receiver, agent, store, db_path):
    """Migration m014 reads the results out of the log records and spans already stored."""
    traces = _three_traces(agent)
    assert receiver.flush()
    before = {t: store.evaluations(t) for t in traces.values()}
    receiver.run_job(lambda conn: conn.execute("DELETE FROM evaluations"))
    assert all(store.evaluations(t) == [] for t in traces.values())
    receiver.run_job(fill_evaluations)
    assert {t: store.evaluations(t) for t in traces.values()} == before


@pytest.mark.parametrize(("name", "score", "label", "expected"), [
    ("relevance", 0.8, None, 1), ("relevance", 0.2, None, 0), ("relevance", 4.0, None, None),
    ("hallucination", 0.9, None, 0), ("hallucination", 0.1, None, 1), ("hallucination", 0.9, "pass", 1),
    ("anything", None, "Not relevant", 0), ("anything", None, "thumbs-up", 1), ("anything", None, "meh", None),
])
def test_verdicts(name, score, label, expected):
    assert verdict(name, score, label) == expected


def test_no_result_without_an_evaluator_name(receiver, agent, store):
    with agent.tracer.start_as_current_span("chat") as span:
        agent.logger.emit(event_name="gen_ai.evaluation.result", attributes={"gen_ai.evaluation.score.value": 1.0})
        trace_id = _hex(span.get_span_context())[0]
    agent.close()
    assert receiver.flush()
    assert store.evaluations(trace_id) == []
    assert len(store.get_trace(trace_id).logs) == 1  # the record itself is kept

