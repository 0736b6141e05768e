"""The main window: composition and wiring only. Trace list (with its filter bar) on the
left; the open trace's waterfall top right and the selected span's inspector below it; the
receiver's addresses, counts and database in the status bar. Before the first trace, an
empty state says how to send one.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.annotation_controller import AnnotationController
from app.bridge import ReceiverBridge
from app.compare_controller import CompareController
from app.exchange import TraceExchange
from app.fragments_controller import FragmentsController
from app.list_filter import ListFilter, TraceSelection
from app.meters_controller import MetersController
from app.models.trace_list_model import TraceListModel
from app.open_trace import OpenTrace
from app.paths import resource_path
from app.pin_controller import PinController
from app.playground_controller import PlaygroundController
from app.receiver_host import ReceiverHost
from app.retention_controller import RetentionController
from app.settings import AppSettings
from app.shortcuts import (
    COPY_SPAN_ID,
    FOCUS_FILTER,
    FOLLOW_LATEST,
    LEAVE_FILTER,
    QUIT,
    SHOW_SHORTCUTS,
    SHOW_TRACES_PAGE,
    TypedKeyShortcut,
    key_sequences,
    typed_texts,
    widget_action,
)
from app.side_pages import SidePages
from app.spend_alert import SpendAlert
from app.trace_list_controller import TraceListController
from app.trace_navigation import TraceNavigation
from app.widgets.about_dialog import AboutDialog
from app.widgets.empty_state import EmptyState
from app.widgets.filter_bar import FilterBar
from app.widgets.find_bar import FindBar, TraceFinder
from app.widgets.inspector import InspectorPanel
from app.widgets.meters_strip import MetersStrip
from app.widgets.ports_dialog import PortsDialog
from app.widgets.shortcut_sheet import ShortcutSheet
from app.widgets.status_bar import ReceiverStatusBar
from app.widgets.trace_header import TraceHeader
from app.widgets.trace_list_view import TraceListView
from app.widgets.view_switcher import ViewSwitcher
from app.widgets.waterfall import WaterfallView
from app.workers import QueryWorker

__all__ = ["MainWindow"]

VIEWS = ("traces", "charts", "sessions", "logs")
_EMPTY, _TRACES = 0, 1


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


class MainWindow(QMainWindow):
    sig_demo_finished = Signal(str)  # "" when sent, else what went wrong
    sig_trace_shown = Signal(str)  # a trace's waterfall and inspector were filled (its id)

    def __init__(self, host: ReceiverHost, worker: QueryWorker, settings: AppSettings, *,
                 remember_layout: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host, self.worker, self.settings = host, worker, settings
        self._remember_layout = remember_layout
        self._demo_pending = False
        self.setWindowTitle("Tracepane")
        self.setWindowIcon(icon("tracepane"))

        self.bridge = ReceiverBridge(host.subscribe, parent=self)
        self.list_model = TraceListModel(self)
        self.list_controller = TraceListController(worker, self.list_model, parent=self)
        self.open_trace = OpenTrace(worker, self)

        self.filter_bar = FilterBar()
        self.trace_list = TraceListView(self.list_model)
        self.trace_header = TraceHeader()
        self.meters = MetersStrip()
        self.meters_controller = MetersController(worker, self.meters, parent=self)
        self.waterfall = WaterfallView()
        self.inspector = InspectorPanel()
        self.empty_state = EmptyState()
        self.status = ReceiverStatusBar(host, worker.store.db_path)
        self.setStatusBar(self.status)
        self.exchange = TraceExchange(host, worker, self.status, self, current_trace=self.trace_list.current_trace_id)
        self.setAcceptDrops(True)  # OTLP/JSON files dropped on the window are imported

        self.find_bar = FindBar()  # Ctrl+F: find in the open trace (hidden until then)
        left = _stacked(self.filter_bar, self.trace_list)
        top_right = _stacked(self.meters, self.trace_header, self.find_bar, self.waterfall)
        self.finder = TraceFinder(worker, self.find_bar, self.waterfall, self)
        self.right_splitter = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        self.right_splitter.addWidget(top_right)
        self.right_splitter.addWidget(self.inspector)
        self.right_splitter.setSizes([380, 420])
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.main_splitter.addWidget(left)
        self.main_splitter.addWidget(self.right_splitter)
        self.main_splitter.setSizes([600, 840])
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty_state)
        self.pages.addWidget(self.main_splitter)
        self.pages.setCurrentIndex(_TRACES)
        self.side = SidePages(worker, set_cost_keys=self._set_cost_keys, parent=self)
        self.charts_page, self.charts_controller = self.side.charts_page, self.side.charts_controller
        self.sessions_page, self.sessions_controller = self.side.sessions_page, self.side.sessions_controller
        self.logs_page, self.logs_controller = self.side.logs_page, self.side.logs_controller
        self.views = ViewSwitcher({"traces": (self.pages, "Traces", SHOW_TRACES_PAGE), **self.side.views()}, self)
        self.views.sig_view_changed.connect(self.side.set_shown)
        self.setCentralWidget(self.views.stack)

        self._make_actions()
        self._make_key_bindings()
        self._wire()
        self._restore()
        self.status.refresh()
        self.empty_state.set_addresses(host.addresses, host.problem, auth_token=host.config.auth_token)
        self.list_controller.set_filter(self.filter_bar.value())
        self._ask_facets()
        self.trace_list.setFocus()

    # --- what menus, shortcuts and tests call --------------------------------------------

    def show_shortcuts(self) -> None:
        """Show the shortcut sheet, or close it if it shows."""
        if self.shortcut_sheet is None:
            self.shortcut_sheet = ShortcutSheet(parent=self)
        if self.shortcut_sheet.isVisible():
            self.shortcut_sheet.reject()
        else:
            self.shortcut_sheet.open()

    def show_view(self, name: str) -> None:
        """Show a page by name (`VIEWS`)."""
        self.views.show_view(name)

    def open_trace_from_elsewhere(self, trace_id: str) -> None:
        """A trace picked on another page: the traces page, with it open (selected in the list
        when the list holds it)."""
        self.views.show_view("traces")
        if not self.trace_list.select_trace(trace_id):
            self.trace_list.clearSelection()
            self._trace_selected(trace_id)
            self.navigation.trace_selected(trace_id)

    def open_span_elsewhere(self, trace_id: str, span_id: str) -> None:
        """A link to a span (a span link, an MCP call's other side): that span selected in its trace."""
        if not self.navigation.select_span_when_shown(trace_id, span_id):
            self.open_trace_from_elsewhere(trace_id)

    def load_demo(self) -> None:
        """Send the demo traces to our own receiver over OTLP/gRPC, off the GUI thread."""
        addresses = self.host.addresses
        if addresses is None and self.host.starting:
            self._demo_pending = True  # sent as soon as the receiver listens
            return
        if addresses is None:
            self.sig_demo_finished.emit("the receiver is not running")
            return
        self.demo_action.setEnabled(False)
        self.status.showMessage("Sending the demo traces…", 5000)
        token = self.host.config.auth_token  # read here: a restart replaces the config

        def send() -> None:
            from app.demo import DemoFailed, send_demo

            try:
                send_demo(addresses.host, addresses.grpc_port, auth_token=token)
            except DemoFailed as exc:
                self.sig_demo_finished.emit(str(exc))
            else:
                self.sig_demo_finished.emit("")

        threading.Thread(target=send, name="tracepane-demo", daemon=True).start()

    def delete_traces(self, trace_ids: list[str]) -> None:
        receiver = self.host.receiver
        if not trace_ids or receiver is None:
            return
        what = "this trace" if len(trace_ids) == 1 else f"these {len(trace_ids)} traces"
        if not self.confirm("Delete traces", f"Delete {what} from the database? This cannot be undone."):
            return
        ids = list(trace_ids)
        self.worker.ask(lambda store: receiver.delete_traces(ids), lambda _: None, on_failed=self._show_failure)

    def clear_all(self) -> None:
        receiver = self.host.receiver
        if receiver is None:
            return
        if not self.confirm("Clear all data", "Delete every trace, log record and metric in "
                            f"{self.worker.store.db_path}? This cannot be undone."):
            return
        self.worker.ask(lambda store: receiver.clear_all(), lambda _: None, on_failed=self._show_failure)

    def _set_cost_keys(self, keys: list[str]) -> None:
        """(On the worker thread.) The cost-by-attribute keys kept at ingestion."""
        receiver = self.host.receiver
        if receiver is None:
            raise RuntimeError("the receiver is not running")
        receiver.set_cost_keys(keys)

    def confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def choose_ports(self) -> None:
        config = self.host.config
        dialog = PortsDialog(config.grpc_port, config.http_port, self.host.problem, self)
        if dialog.exec() != PortsDialog.DialogCode.Accepted:
            return
        grpc_port, http_port = dialog.ports()
        if self.host.restart(grpc_port, http_port):
            self.settings.set_ports(grpc_port, http_port)
            self.list_controller.reload()

    def retry_receiver(self) -> None:
        """Start the receiver again on the same ports: another Tracepane had the database."""
        config = self.host.config
        if self.host.restart(config.grpc_port, config.http_port):
            self.list_controller.reload()

    # --- wiring -------------------------------------------------------------------------

    def _make_actions(self) -> None:
        self.follow_action = QAction(icon("follow"), "Follow latest", self, checkable=True)
        self.follow_action.setToolTip("Open each new trace as it arrives (for re-running an agent)")
        self.follow_action.setShortcuts(key_sequences(FOLLOW_LATEST))
        self.demo_action = QAction(icon("demo"), "Load demo traces", self)
        self.demo_action.setToolTip("Send demo agent runs to this receiver over OTLP")
        self.delete_action = QAction(icon("delete"), "Delete trace", self)
        self.delete_action.setToolTip("Delete the selected traces (Del)")
        self.clear_action = QAction(icon("clear"), "Clear all data…", self)
        self.comparer = CompareController(self.worker, self.trace_list, self.status, self)
        sharing = self.exchange
        self.fragments = FragmentsController(self.worker, self.open_trace, self.trace_header, self.status, self)
        self.pins = PinController(self.host, self.worker, self.trace_list, self.status, self)
        self.playground = PlaygroundController(self.host, self.inspector, self.waterfall, self.open_span_elsewhere,
                                               self.open_trace.refresh, self)
        self.annotations = AnnotationController(self.host, self.worker, self.open_trace, self.waterfall, self.inspector,
                                                self.status, self, self._show_failure)
        self.trace_list.context_actions = [self.pins.action, self.annotations.trace_action, self.comparer.action,
                                           sharing.markdown_action, sharing.export_action,
                                           sharing.export_redacted_action]
        self.addActions([sharing.open_action, sharing.export_action, self.pins.action])
        self.ports_action = QAction(icon("ports"), "Receiver ports…", self)
        self.retention = RetentionController(self.host, self.worker, self.settings, self.status, self)
        self.focus_filter_action = QAction("Filter traces", self)
        self.focus_filter_action.setShortcuts(key_sequences(FOCUS_FILTER))
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcuts(key_sequences(QUIT))
        self.addAction(self.focus_filter_action)

        toolbar = QToolBar("Main", movable=False, objectName="main_toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.follow_action, self.demo_action, self.delete_action, self.clear_action):
            toolbar.addAction(action)
        self.addToolBar(toolbar)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([sharing.open_action, sharing.export_action, sharing.export_redacted_action,
                              sharing.markdown_action, self.comparer.action])
        file_menu.addSeparator()
        file_menu.addActions([self.pins.action, self.demo_action, self.delete_action, self.clear_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addActions(list(self.views.actions.values()))
        view_menu.addSeparator()
        view_menu.addActions([self.follow_action, self.focus_filter_action])
        self.spend_alert = SpendAlert(self.settings, self.meters, self.status, self, self.windowIcon(), self.worker)
        view_menu.addAction(self.spend_alert.action)
        toolbar.addSeparator()
        toolbar.addActions(list(self.views.actions.values()))
        receiver_menu = self.menuBar().addMenu("&Receiver")
        receiver_menu.addActions([self.ports_action, self.retention.action])
        self.shortcuts_action = QAction("Keyboard shortcuts", self)
        self.shortcuts_action.setShortcuts(key_sequences(SHOW_SHORTCUTS))  # F1 (? is matched as typed)
        self.addAction(self.shortcuts_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        self.about_action = QAction("About Tracepane", self, menuRole=QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    def show_about(self) -> AboutDialog:
        config = self.host.config
        dialog = AboutDialog({"Database": config.db_path, "Price overrides": config.price_file,
                              "Settings": self.settings.file_path}, self.windowIcon(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _make_key_bindings(self) -> None:
        """The keys of app.shortcuts that belong to the window, or to a pane the window composes."""
        self.shortcut_sheet: ShortcutSheet | None = None
        self.sheet_key = TypedKeyShortcut(typed_texts(SHOW_SHORTCUTS), self)
        self.sheet_key.sig_typed.connect(self.show_shortcuts)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.leave_filter_action = widget_action(self.filter_bar.text_edit, LEAVE_FILTER,
                                                 lambda: self.trace_list.setFocus(Qt.FocusReason.ShortcutFocusReason))
        self.copy_span_id_action = widget_action(self.waterfall.tree, COPY_SPAN_ID, self._copy_span_id, "Copy span ID")

    def _wire(self) -> None:
        self.navigation = TraceNavigation(self.list_model, self.trace_list, self.trace_header, self.meters_controller,
                                          self.open_trace, self.waterfall, self.inspector, self.finder, self)
        self.navigation.sig_trace_shown.connect(self.sig_trace_shown)
        self.bridge.sig_spans_ingested.connect(self.list_controller.on_spans_ingested)
        self.bridge.sig_spans_ingested.connect(self.open_trace.on_spans_ingested)
        self.bridge.sig_spans_ingested.connect(lambda _: self.status.refresh())
        self.bridge.sig_spans_ingested.connect(self.meters_controller.on_spans_ingested)
        self.bridge.sig_spans_ingested.connect(self.side.on_spans_ingested)
        self.bridge.sig_spans_ingested.connect(self.spend_alert.on_spans_ingested)
        self.sessions_page.sig_trace_opened.connect(self.open_trace_from_elsewhere)
        self.inspector.sig_open_span.connect(self.open_span_elsewhere)
        self.inspector.sig_code_copied.connect(
            lambda _span_id: self.status.showMessage("Copied the model call as Python code", 5000))
        self.charts_page.sig_traces_wanted.connect(self._show_selected_traces)
        self.meters.sig_errors_clicked.connect(self._show_error_traces)
        self.trace_header.sig_session_wanted.connect(self._show_session_traces)
        self.filter_bar.sig_filter_changed.connect(self._filter_changed)
        self.list_controller.sig_loaded.connect(self._list_loaded)
        self.list_controller.sig_traces_arrived.connect(self._traces_arrived)
        self.list_controller.sig_failed.connect(self._list_failed)
        self.trace_list.sig_trace_selected.connect(self._trace_selected)
        self.trace_list.sig_delete_requested.connect(self.delete_traces)
        self.open_trace.sig_failed.connect(self._show_failure)
        self.empty_state.sig_demo_requested.connect(self.load_demo)
        self.demo_action.triggered.connect(self.load_demo)
        self.sig_demo_finished.connect(self._demo_finished)
        self.delete_action.triggered.connect(lambda: self.delete_traces(self.trace_list.selected_trace_ids()))
        self.clear_action.triggered.connect(self.clear_all)
        self.ports_action.triggered.connect(self.choose_ports)
        self.status.sig_ports_wanted.connect(self.choose_ports)
        self.status.sig_retry_wanted.connect(self.retry_receiver)
        self.focus_filter_action.triggered.connect(self.filter_bar.focus_text)
        self.quit_action.triggered.connect(self.close)
        self.follow_action.toggled.connect(self._follow_toggled)
        self.host.sig_state_changed.connect(self._receiver_changed)
        self._receiver_changed()

    def _restore(self) -> None:
        s = self.settings
        geometry = s.state("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1440, 900)
        for name, splitter in (("main_splitter", self.main_splitter), ("right_splitter", self.right_splitter)):
            if (state := s.state(name)) is not None:
                splitter.restoreState(state)
        if (state := s.state("trace_list_header")) is not None:
            self.trace_list.horizontalHeader().restoreState(state)
        self.filter_bar.set_filter(s.list_filter())
        self.follow_action.setChecked(s.follow_latest())

    def save_layout(self) -> None:
        s = self.settings
        s.set_state("geometry", self.saveGeometry())
        s.set_state("main_splitter", self.main_splitter.saveState())
        s.set_state("right_splitter", self.right_splitter.saveState())
        s.set_state("trace_list_header", self.trace_list.horizontalHeader().saveState())
        s.set_list_filter(self.filter_bar.value())
        s.set_follow_latest(self.follow_action.isChecked())
        s.sync()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths and self.exchange.import_files(paths):
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self._remember_layout:
            self.save_layout()
        for playground in list(self.playground.windows):
            playground.close()
        self.bridge.close()
        super().closeEvent(event)

    # --- slots --------------------------------------------------------------------------

    def _filter_changed(self, list_filter: ListFilter) -> None:
        self.trace_list.set_placeholder("No traces match the filter" if not list_filter.is_empty else "No traces")
        self.list_controller.set_filter(list_filter)
        self.meters_controller.set_time_range(list_filter.time_range)

    def _show_error_traces(self) -> None:
        """The errors meter, clicked: the list narrows to traces with errors."""
        self.filter_bar.set_filter(replace(self.filter_bar.value(), errors_only=True))
        self._filter_changed(self.filter_bar.value())

    def _show_session_traces(self, session_id: str) -> None:
        """The fragments of a broken run, listed together: every trace of its session."""
        quoted = f'"{session_id}"' if any(ch.isspace() or ch == '"' for ch in session_id) else session_id
        self.filter_bar.set_filter(ListFilter(text=f"session:{quoted}"))
        self._filter_changed(self.filter_bar.value())

    def _show_selected_traces(self, selection: TraceSelection) -> None:
        """Traces picked on a chart: the traces page, its list narrowed to them."""
        self.views.show_view("traces")
        self.filter_bar.set_filter(replace(self.filter_bar.value(), selection=selection))
        self._filter_changed(self.filter_bar.value())

    def _list_loaded(self, empty: bool) -> None:
        nothing_stored = empty and self.list_controller.list_filter.is_empty
        self.pages.setCurrentIndex(_EMPTY if nothing_stored else _TRACES)
        if not empty and self.trace_list.current_trace_id() is None and self.open_trace.trace_id:
            self.trace_list.select_trace(self.open_trace.trace_id)  # a filter change kept it in the list
        self._ask_facets()

    def _traces_arrived(self, trace_ids: list[str]) -> None:
        self.pages.setCurrentIndex(_TRACES)
        arrived = [self.list_model.trace_at(row) for trace_id in trace_ids
                   if (row := self.list_model.row_of(trace_id)) is not None]
        if not all(self.filter_bar.offers(t.service_name, t.models) for t in arrived):
            self._ask_facets()  # only for a service or model the filter does not offer yet
        if self.follow_action.isChecked() and trace_ids:
            self.trace_list.select_trace(trace_ids[0])

    def _follow_toggled(self, on: bool) -> None:
        if on and self.list_model.rowCount():
            self.trace_list.select_trace(self.list_model.trace_at(0).trace_id)

    def _list_failed(self, message: str) -> None:
        if not self.list_controller.loaded_once:
            self.pages.setCurrentIndex(_EMPTY)
        if self.host.starting:
            return  # a first run: the file appears as the receiver starts, and the list reloads then
        hint = " (text without a letter or digit is looked for in every span: narrow it by service, model or time)" \
            if "longer than" in message and self.list_controller.list_filter.text else ""
        self.status.showMessage(f"Could not read traces: {message}{hint}", 15_000)

    def _ask_facets(self) -> None:
        self.worker.ask(lambda store: store.facets(), self.filter_bar.set_facets, key="facets")

    def _trace_selected(self, trace_id: str | None) -> None:
        self.delete_action.setEnabled(trace_id is not None and self.host.receiver is not None)

    def _copy_span_id(self) -> None:
        span = self.waterfall.selected_span()
        if span is not None:
            QGuiApplication.clipboard().setText(span.span_id)

    def _demo_finished(self, problem: str) -> None:
        self.demo_action.setEnabled(self.host.receiver is not None)
        if problem:
            self._show_failure(f"The demo traces could not be sent: {problem}")
        else:
            self.status.showMessage("Demo traces sent", 5000)

    def _receiver_changed(self) -> None:
        running = self.host.receiver is not None
        if running and self.host.receiver.notices:  # e.g. an unusable database moved aside
            self.status.showMessage("Note: " + "; ".join(self.host.receiver.notices))
        if running:
            self.list_controller.reload()  # what it stored while starting (or the file it just created)
            self._ask_facets()
        if running and self._demo_pending:
            self._demo_pending = False
            self.load_demo()
        for action in (self.demo_action, self.clear_action):
            action.setEnabled(running)
        self.delete_action.setEnabled(running and self.trace_list.current_trace_id() is not None)
        self.empty_state.set_addresses(self.host.addresses,
                                       "Starting the receiver…" if self.host.starting else self.host.problem,
                                       auth_token=self.host.config.auth_token)
        self.status.refresh()

    def _show_failure(self, message: str) -> None:
        self.status.showMessage(message, 15_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Tracepane", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal, not blocking: the list keeps updating behind it


def _stacked(*widgets: QWidget) -> QWidget:
    """The widgets one above the other, edge to edge."""
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    for widget in widgets:
        layout.addWidget(widget)
    return column
