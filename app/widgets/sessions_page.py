"""The sessions page: conversations (traces grouped by session id) with their turns, tokens,
cost and errors, most recently active first; the selected session's traces in order beside
it. Enter or a double-click on a turn opens that trace on the traces page."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QSplitter, QTableView, QVBoxLayout, QWidget

from app.formatting import format_clock_ns, format_cost_usd, format_duration_ns, format_tokens
from app.models.rows_model import RowsModel
from receiver import SessionSummary, TraceSummary

__all__ = ["SessionsPage"]

SESSION_COLUMNS = (
    ("Session", "The session (conversation) id", lambda s: s.session_id),
    ("Turns", "Traces in the session", lambda s: f"{s.turns:,}"),
    ("Last activity", "When its latest trace ended (local time)", lambda s: format_clock_ns(s.last_end_unix_nano)),
    ("Length", "From its first trace's start to its last one's end",
     lambda s: format_duration_ns(s.last_end_unix_nano - s.first_start_unix_nano)),
    ("Tokens in/out", "Input / output tokens of its model calls", lambda s: format_tokens(s.input_tokens,
                                                                                           s.output_tokens)),
    ("Cost", "Cost of its model calls", lambda s: format_cost_usd(s.cost_usd if s.llm_calls else None,
                                                                  unpriced=s.unpriced_calls)),
    ("Errors", "Error spans (in how many turns)",
     lambda s: f"{s.errors:,} in {s.error_traces:,}" if s.errors else ""),
)
TURN_COLUMNS = (
    ("#", "The turn's place in the session", None),  # filled in by position
    ("Time", "When the trace started (local time)", lambda t: format_clock_ns(t.start_time_unix_nano)),
    ("Root span", "The trace's root span", lambda t: t.root_name or "(no root span)"),
    ("Duration", "The trace's duration", lambda t: format_duration_ns(t.duration_ns)),
    ("Tokens in/out", "Input / output tokens", lambda t: format_tokens(t.input_tokens, t.output_tokens)),
    ("Cost", "Cost of its model calls", lambda t: format_cost_usd(t.cost_usd, unpriced=t.unpriced_calls)),
    ("Errors", "Error spans", lambda t: str(t.error_count) if t.error_count else ""),
)


def _table(model: RowsModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)  # as dense as the trace list
    view.setShowGrid(False)
    view.setAlternatingRowColors(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class SessionsPage(QWidget):
    sig_session_selected = Signal(str)  # a session id: its turns are wanted
    sig_trace_opened = Signal(str)  # a turn's trace id, to open on the traces page

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sessions_model = RowsModel(SESSION_COLUMNS, self)
        self.turns_model = RowsModel(self._numbered_turn_columns(), self)
        self.sessions_view = _table(self.sessions_model)
        self.turns_view = _table(self.turns_model)
        self.turns_title = QLabel("Select a session to see its turns")
        self.placeholder = QLabel("No sessions yet: traces join one when they carry a session or conversation id "
                                  "(session.id, gen_ai.conversation.id)", enabled=False, wordWrap=True)
        turns = QWidget()
        turns_layout = QVBoxLayout(turns)
        turns_layout.setContentsMargins(0, 0, 0, 0)
        turns_layout.addWidget(self.turns_title)
        turns_layout.addWidget(self.turns_view)
        splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        splitter.addWidget(self.sessions_view)
        splitter.addWidget(turns)
        splitter.setSizes([640, 800])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addWidget(self.placeholder)
        layout.addWidget(splitter, 1)
        self.sessions_view.selectionModel().currentRowChanged.connect(self._session_changed)
        self.turns_view.activated.connect(self._turn_activated)

    def _numbered_turn_columns(self) -> tuple:
        number = ("#", TURN_COLUMNS[0][1], lambda t: str(self._turn_numbers.get(t.trace_id, "")))
        self._turn_numbers: dict[str, int] = {}
        return (number, *TURN_COLUMNS[1:])

    @property
    def selected_session(self) -> str | None:
        record = self.sessions_model.record_at(self.sessions_view.currentIndex().row())
        return record.session_id if record is not None else None

    def show_sessions(self, sessions: list[SessionSummary]) -> None:
        """The list (again), keeping the selected session selected."""
        selected = self.selected_session
        self.sessions_model.set_rows(sessions)
        self.placeholder.setVisible(not sessions)
        row = next((i for i, s in enumerate(sessions) if s.session_id == selected), None)
        if row is None and sessions:
            row = 0
        if row is not None:
            self.sessions_view.setCurrentIndex(self.sessions_model.index(row, 0))
            if sessions[row].session_id == selected:
                self.sig_session_selected.emit(selected)  # its turns may have grown

    def show_turns(self, session_id: str, turns: list[TraceSummary]) -> None:
        if session_id != self.selected_session:
            return  # an answer for a session no longer selected
        self._turn_numbers = {t.trace_id: i + 1 for i, t in enumerate(turns)}
        self.turns_model.set_rows(turns)
        self.turns_title.setText(f"Session {session_id}: {len(turns)} turn{'s' if len(turns) != 1 else ''}, "
                                 "oldest first (Enter or double-click opens one)")

    def _session_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        record = self.sessions_model.record_at(current.row())
        if record is not None:
            self.sig_session_selected.emit(record.session_id)

    def _turn_activated(self, index: QModelIndex) -> None:
        record = self.turns_model.record_at(index.row())
        if record is not None:
            self.sig_trace_opened.emit(record.trace_id)
