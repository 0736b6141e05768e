"""`tracepane`: the command line. Qt, grpc and pricing are imported only by the commands
that need them, so reading commands (`traces`, `show`, `stats`) start fast.

Exit codes: 0 success, 1 failure (trace not found, port in use, …), 2 bad usage, 3 another
Tracepane is writing to the database (commands that write: `serve`, `import`, `delete`, …).
Every option is accepted before or after the subcommand.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_DATABASE_IN_USE = 3  # as receiver.headless's, for `serve`
_HEX_PREFIX = re.compile(r"^[0-9a-fA-F]{1,32}$")


class CommandFailed(Exception):
    """A command could not do what was asked; the message is for the user (exit 1, or `exit_code`)."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class BadUsage(Exception):
    """The command line asks for something malformed; the message is for the user (exit 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = getattr(args, "handler", cmd_default)
    try:
        return command(args)
    except CommandFailed as exc:
        print(f"tracepane: {exc}", file=sys.stderr)
        return exc.exit_code
    except BadUsage as exc:
        print(f"tracepane {getattr(args, 'command_name', '')}: error: {exc}".replace("  ", " "), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:  # `tracepane traces | head`
        sys.stderr.close()
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    # Options live on a parent parser used twice: by the main parser with real defaults and
    # by every subparser with SUPPRESS, so a value given on either side of the subcommand
    # survives parsing.
    def common(suppress: bool) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(add_help=False)
        default = argparse.SUPPRESS if suppress else None
        p.add_argument("--db", default=default, metavar="PATH",
                       help="SQLite file (default: the per-user data directory; env TRACEPANE_DB)")
        p.add_argument("--host", default=default,
                       help="address the receiver listens on (default 127.0.0.1)")
        p.add_argument("--grpc-port", type=_port, default=default, metavar="PORT",
                       help="OTLP/gRPC port (default 4317; 0 = any free port)")
        p.add_argument("--http-port", type=_port, default=default, metavar="PORT",
                       help="OTLP/HTTP port (default 4318; 0 = any free port)")
        p.add_argument("--allow-origin", action="append", default=default, metavar="ORIGIN",
                       help="let web pages from ORIGIN (e.g. http://localhost:5173) export here; repeatable "
                            "(env TRACEPANE_CORS_ORIGINS, comma-separated; default: none)")
        p.add_argument("--allow-host", action="append", default=default, metavar="NAME",
                       help="accept OTLP/HTTP requests addressed to NAME (e.g. host.docker.internal) besides "
                            "localhost, 127.0.0.1, [::1] and --host; repeatable (env TRACEPANE_ALLOWED_HOSTS, "
                            "comma-separated); others get 421, a guard against DNS rebinding")
        p.add_argument("--auth-token", default=default, metavar="TOKEN",
                       help="require 'Authorization: Bearer TOKEN' on OTLP/gRPC and OTLP/HTTP (env "
                            "TRACEPANE_AUTH_TOKEN, which other users cannot read in the process list; default: none)")
        p.add_argument("--keep-credentials", action="store_true", default=default if suppress else False,
                       help="store values that look like API keys or tokens as received instead of masking them "
                            "(env TRACEPANE_MASK_CREDENTIALS=false)")
        p.add_argument("--no-content", action="store_true", default=default if suppress else False,
                       help="store spans, tokens and costs but no prompts, completions or tool arguments "
                            "(env TRACEPANE_STORE_CONTENT=false)")
        p.add_argument("--price-file", default=default, metavar="PATH",
                       help="TOML prices that override or add models (default: price_overrides.toml beside "
                            "the database)")
        p.add_argument("--max-db-mb", type=_megabytes, default=default, metavar="N",
                       help="keep the database (file and log) within N MiB: past it the oldest ordinary traces "
                            "are deleted, then those with errors or a high cost or duration; pinned ones never "
                            "(default 2048; 0 = no size budget; env TRACEPANE_MAX_DB_MB)")
        p.add_argument("--max-age-days", type=_days, default=default, metavar="N",
                       help="delete unpinned traces older than N days (default 30; 0 = keep them; env "
                            "TRACEPANE_MAX_AGE_DAYS)")
        p.add_argument("--forward-to", action="append", default=default, metavar="URL",
                       help="also send everything stored to this OTLP endpoint: grpc://HOST:PORT or "
                            "http(s)://HOST:PORT; repeatable (env TRACEPANE_FORWARD_TO, comma-separated)")
        p.add_argument("--forward-header", action="append", default=default, metavar="KEY=VALUE",
                       help="a header for the --forward-to endpoints, e.g. an API key; repeatable (env "
                            "TRACEPANE_FORWARD_HEADERS, comma-separated)")
        p.add_argument("--json", action="store_true", default=default if suppress else False,
                       help="machine-readable output (keys documented in the README)")
        return p

    parser = argparse.ArgumentParser(
        prog="tracepane", parents=[common(False)],
        description="Local-first trace viewer for LLM apps and agents: OTLP in, SQLite on disk.")
    parser.add_argument("--version", action=_PrintVersion)
    window = parser.add_argument_group("the window (tracepane with no command)")
    window.add_argument("--demo", action="store_true", help="load the demo traces when the window opens")
    window.add_argument("--screenshot", metavar="PATH",
                        help="open the first trace and its first chat span, save the window as PNG, exit")
    window.add_argument("--view", default="traces", choices=("traces", "charts", "sessions", "logs"),
                        help="the page to show (default traces)")
    window.add_argument("--theme", default="auto", choices=("auto", "light", "dark"),
                        help="colours: follow the system (default), or force light or dark")
    window.add_argument("--self-test", action="store_true",
                        help="check this build works here: a temporary database, free ports, a span over "
                             "OTLP/gRPC and one over OTLP/HTTP, shown in the window offscreen; exit 0 or 1")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    shared = common(True)  # one parent for every subcommand: building it is most of the parser's cost

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[shared], help=help_text, description=help_text)
        p.set_defaults(handler=handler, command_name=name)
        return p

    add("serve", cmd_serve, "run the OTLP receiver headless until Ctrl-C")
    p = add("traces", cmd_traces, "list stored traces, newest first")
    p.add_argument("--limit", type=_positive, default=50, help="how many traces (default 50)")
    p.add_argument("--service", help="only traces whose root service is this")
    p.add_argument("--errors", action="store_true", help="only traces with an error span")
    p.add_argument("--model", help="only traces that called this model")
    p.add_argument("--text", help="only traces with these words (any case) in one span or log record: its "
                                  "name, attribute values, messages, events (see the README's Search)")
    p.add_argument("--filter", metavar="EXPR", help="the filter bar's language, e.g. 'model:gpt-4o cost>0.01 "
                                                    "error tool:web_search \"refund policy\" duration>2s "
                                                    "is:pinned eval:hallucination=fail' (see the README's Search)")
    p = add("show", cmd_show, "one trace's spans (and log records)")
    p.add_argument("trace_id", metavar="TRACE_ID", help="32 hex digits, or a unique prefix")
    add("stats", cmd_stats, "counts and database size (cheap)")
    add("reprice", cmd_reprice, "recompute stored costs after prices change (bundled data or your price file)")
    add("demo", cmd_demo, "send demo agent traces to a running receiver over OTLP/gRPC (--host, --grpc-port)")
    p = add("delete", cmd_delete, "delete traces: their spans and log records")
    p.add_argument("trace_ids", nargs="+", metavar="TRACE_ID", help="32 hex digits, or a unique prefix")
    for name, what in (("pin", "pin traces: retention never deletes them, is:pinned lists them"),
                       ("unpin", "unpin traces")):
        p = add(name, cmd_pin, what)
        p.add_argument("trace_ids", nargs="+", metavar="TRACE_ID", help="32 hex digits, or a unique prefix")
    p = add("prune", cmd_prune, "delete traces older than some days, oldest first; pinned traces are kept")
    p.add_argument("--older-than", type=_days, required=True, metavar="DAYS",
                   help="delete the traces that ended more than DAYS days ago (a number, e.g. 7 or 0.5)")
    p = add("clear", cmd_clear, "delete every stored trace, log record and metric point (asks first)")
    p.add_argument("--yes", action="store_true", help="do not ask (needed when not on a terminal)")
    from app.cli_exchange import add_commands

    add_commands(add)
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {port}")
    return port


class _PrintVersion(argparse.Action):
    """`--version`, its number read only when asked for (`app.version`)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args) -> None:
        from app.version import app_version

        print(f"tracepane {app_version()}")
        parser.exit()


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not days >= 0:
        raise argparse.ArgumentTypeError(f"a number of days is 0 or more, not {text!r}")
    return days


def _megabytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of MiB: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a size is 0 (no budget) or more, not {value}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _config(args: argparse.Namespace):
    from receiver.config import ReceiverConfig

    return ReceiverConfig.resolve(db_path=args.db, host=args.host, grpc_port=args.grpc_port,
                                  http_port=args.http_port, cors_origins=args.allow_origin,
                                  allowed_hosts=args.allow_host,
                                  store_content=False if args.no_content else None, price_file=args.price_file,
                                  auth_token=args.auth_token,
                                  mask_credentials=False if args.keep_credentials else None,
                                  max_db_mb=args.max_db_mb, max_age_days=args.max_age_days,
                                  forward_to=args.forward_to, forward_headers=args.forward_header)


def _db_path(args: argparse.Namespace) -> Path:
    if args.db:
        return Path(args.db).expanduser()
    from receiver.config import ReceiverConfig

    return ReceiverConfig.resolve().db_path


def _print_json(value: object) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


# --- commands -----------------------------------------------------------------------------


def cmd_default(args: argparse.Namespace) -> int:
    """The desktop window, with the receiver in the same process."""
    if args.self_test:
        from app.self_test import run_self_test

        return run_self_test()
    from app.gui import GuiOptions, run_app

    options = GuiOptions(demo=args.demo, screenshot=Path(args.screenshot).expanduser() if args.screenshot else None,
                         view=args.view, theme=args.theme,
                         ports_explicit=args.grpc_port is not None or args.http_port is not None,
                         budget_explicit=args.max_db_mb is not None or args.max_age_days is not None
                         or any(os.environ.get(name) for name in ("TRACEPANE_MAX_DB_MB", "TRACEPANE_MAX_AGE_DAYS")))
    return run_app(_config(args), options)


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from receiver.headless import serve_until_stopped

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return serve_until_stopped(_config(args))


def cmd_traces(args: argparse.Namespace) -> int:
    from app.cli_output import trace_summary_json, traces_table
    from app.list_filter import ListFilter
    from receiver.errors import DatabaseMissing
    from receiver.storage.store import TraceStore

    chosen = ListFilter(text=args.filter or "", service=args.service or "", model=args.model or "",
                        errors_only=args.errors)
    if not chosen.query.is_valid:
        at = chosen.query.error_at
        print(f"tracepane traces: error: --filter: {chosen.query.error} (at character {at + 1})\n"
              f"  {args.filter}\n  {' ' * at}^", file=sys.stderr)
        return EXIT_USAGE
    trace_filter = chosen.to_trace_filter(time.time_ns())
    if args.text:
        import dataclasses

        trace_filter = dataclasses.replace(trace_filter, text=" ".join(filter(None, (trace_filter.text, args.text))))
    store = TraceStore(_db_path(args))
    try:
        traces = store.list_traces(trace_filter, limit=args.limit).traces
    except DatabaseMissing:
        traces = []
    finally:
        store.close()
    if args.json:
        _print_json([trace_summary_json(t) for t in traces])
    else:
        print(traces_table(traces))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from app.cli_output import trace_json, trace_tree

    (detail,) = read_traces(args, args.trace_id)
    if args.json:
        _print_json(trace_json(detail))
    else:
        print(trace_tree(detail))
    return EXIT_OK


def read_traces(args: argparse.Namespace, *given: str) -> list:
    """The traces (`TraceDetail`) named by full ids or unique prefixes, in one read. Raises
    `BadUsage` for an id that is not hex, `CommandFailed` for one with nothing stored."""
    from receiver.errors import DatabaseMissing, TraceNotFound
    from receiver.storage.store import TraceStore

    wanted = _hex_ids(given)
    store = TraceStore(_db_path(args))
    try:
        details = []
        for trace_id in wanted:
            try:
                details.append(store.get_trace(trace_id if len(trace_id) == 32 else _unique_trace_id(store, trace_id)))
            except (TraceNotFound, DatabaseMissing) as exc:
                raise CommandFailed(f"trace {trace_id} not found ({exc})") from None
        return details
    finally:
        store.close()


def _hex_ids(given: Sequence[str]) -> list[str]:
    """Trace ids or prefixes as typed, lower case; `BadUsage` for one that is not hex."""
    wanted = [text.strip().lower() for text in given]
    for text, trace_id in zip(given, wanted, strict=True):
        if not _HEX_PREFIX.match(trace_id):
            raise BadUsage(f"a TRACE_ID is hex digits (32 for a full id), not {text!r}")
    return wanted


def _unique_trace_id(store, prefix: str) -> str:
    matches = store.find_trace_ids(prefix, limit=2)
    if len(matches) > 1:
        raise CommandFailed(f"trace id prefix {prefix} is ambiguous; give more digits")
    if not matches:
        raise CommandFailed(f"no trace id starts with {prefix}")
    return matches[0]


def cmd_stats(args: argparse.Namespace) -> int:
    # Not through TraceStore: load tests poll this command, so it imports next to nothing.
    from app.cli_output import stats_json, stats_text
    from receiver.storage.stats import read_stats

    db_path = _db_path(args)
    stats = read_stats(db_path)
    if args.json:
        _print_json(stats_json(stats, str(db_path)))
    else:
        print(stats_text(stats, str(db_path)))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import DemoFailed, send_demo

    config = _config(args)
    try:
        sent = send_demo(config.host, config.grpc_port, auth_token=config.auth_token)
    except DemoFailed as exc:
        raise CommandFailed(str(exc)) from None
    if args.json:
        _print_json({"traces": sent.traces, "spans": sent.spans, "endpoint": sent.endpoint})
    else:
        print(f"sent {sent.traces} demo traces ({sent.spans} spans) to {sent.endpoint}")
    return EXIT_OK


def cmd_reprice(args: argparse.Namespace) -> int:
    from receiver.errors import ReceiverError
    from receiver.genai.pricing import PriceBook, PriceFileError
    from receiver.storage.reprice import reprice

    config = _config(args)
    if not config.db_path.exists():
        raise CommandFailed(f"no database at {config.db_path}")
    try:
        book = PriceBook(config.price_file if config.price_file and config.price_file.exists() else None)
        result = reprice(config.db_path, book)
    except (PriceFileError, ReceiverError) as exc:
        raise CommandFailed(str(exc)) from None
    if args.json:
        _print_json({"spans_priced": result.spans_priced, "spans_changed": result.spans_changed,
                     "traces_updated": result.traces_updated})
    else:
        print(f"{result.spans_priced} spans priced; {result.spans_changed} costs changed in "
              f"{result.traces_updated} traces")
    return EXIT_OK


# `delete`, `clear`, `pin` and `prune` write through a DatabaseWriter of their own on the file
# (the receiver's code path and migrations), without a running receiver: while one writes to
# the file (the window, `serve`) its writer lock refuses them (`DatabaseInUse`, exit 3), since
# it trusts what it holds in memory: the first reports of response ids, and the resource, scope
# and price rows it believes stored. `clear` keeps those rows all the same (a few per service,
# shown nowhere by themselves), a leftover of the time before the lock, and harmless.
CLI_JOB_TIMEOUT_S = 600.0  # nothing else waits for this writer: a large deletion may take its time


def cmd_delete(args: argparse.Namespace) -> int:
    from receiver.errors import ReceiverError, TraceNotFound
    from receiver.storage.store import TraceStore

    wanted = _hex_ids(args.trace_ids)
    db_path = _db_path(args)
    if not db_path.exists():
        raise CommandFailed(f"trace {wanted[0]} not found (no database at {db_path})")
    store = TraceStore(db_path)
    try:  # every prefix resolved before anything is deleted: a typo deletes nothing
        trace_ids = [t if len(t) == 32 else _unique_trace_id(store, t) for t in wanted]
    finally:
        store.close()
    try:
        counts = _with_writer(db_path, "delete", lambda writer: writer.delete_traces(trace_ids, CLI_JOB_TIMEOUT_S,
                                                                                      must_exist=True))
    except TraceNotFound as exc:
        raise CommandFailed(f"{exc}; nothing deleted") from None
    except ReceiverError as exc:
        raise CommandFailed(str(exc)) from None
    if args.json:
        _print_json({"trace_ids": sorted(counts.trace_ids), "spans": counts.spans, "logs": counts.logs})
    else:
        from app.formatting import plural

        what = f"trace {trace_ids[0]}" if len(trace_ids) == 1 else plural(len(trace_ids), "trace")
        print(f"deleted {what} ({plural(counts.spans, 'span')}, {plural(counts.logs, 'log record')})")
    return EXIT_OK


def cmd_clear(args: argparse.Namespace) -> int:
    from app.formatting import plural
    from receiver.errors import ReceiverError
    from receiver.storage.stats import read_stats

    db_path = _db_path(args)
    stats = read_stats(db_path)
    if not (stats.traces or stats.spans or stats.logs or stats.metric_points):
        if args.json:
            _print_json({"traces": 0, "spans": 0, "logs": 0, "metric_points": 0, "db_path": str(db_path)})
        else:
            print(f"nothing to clear in {db_path}" if db_path.exists()
                  else f"nothing to clear: no database at {db_path}")
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            print("tracepane clear: error: not on a terminal, so nothing to ask; add --yes to delete everything",
                  file=sys.stderr)
            return EXIT_USAGE
        # the question on stderr: with --json, stdout carries only the answer
        print(f"Delete all {plural(stats.traces, 'trace')} ({plural(stats.spans, 'span')}) in {db_path}? [y/N] ",
              end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("nothing deleted", file=sys.stderr)
            return EXIT_FAILURE
    try:
        counts = _with_writer(db_path, "clear",
                              lambda writer: writer.clear_all(CLI_JOB_TIMEOUT_S, keep_shared_rows=True))
    except ReceiverError as exc:
        raise CommandFailed(str(exc)) from None
    if args.json:
        _print_json({"traces": counts.traces, "spans": counts.spans, "logs": counts.logs,
                     "metric_points": counts.metric_points, "db_path": str(db_path)})
    else:
        print(f"deleted {plural(counts.traces, 'trace')} ({plural(counts.spans, 'span')}, "
              f"{plural(counts.logs, 'log record')}, {plural(counts.metric_points, 'metric point')}) from {db_path}")
    return EXIT_OK


def cmd_pin(args: argparse.Namespace) -> int:
    from receiver.errors import DatabaseMissing, ReceiverError, TraceNotFound
    from receiver.storage.store import TraceStore

    pinned = args.command_name == "pin"
    db_path = _db_path(args)
    wanted = _hex_ids(args.trace_ids)
    store = TraceStore(db_path)
    try:  # resolved and checked from the list's rows: the spans need not be read
        trace_ids = [store.get_trace_summary(t if len(t) == 32 else _unique_trace_id(store, t)).trace_id
                     for t in wanted]
    except (TraceNotFound, DatabaseMissing) as exc:
        raise CommandFailed(f"{exc}; nothing pinned") from None
    finally:
        store.close()
    try:
        changed = _with_writer(db_path, args.command_name,
                               lambda writer: writer.set_pinned(trace_ids, pinned, CLI_JOB_TIMEOUT_S))
    except ReceiverError as exc:
        raise CommandFailed(str(exc)) from None
    if args.json:
        _print_json({"trace_ids": trace_ids, "changed": sorted(changed), "pinned": pinned})
    else:
        for trace_id in trace_ids:
            state = ("pinned" if pinned else "unpinned") if trace_id in changed else (
                "already pinned" if pinned else "was not pinned")
            print(f"{trace_id} {state}")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    from app.formatting import plural
    from receiver.errors import ReceiverError
    from receiver.storage.deletion import DeletedCounts

    db_path = _db_path(args)
    before_ns = time.time_ns() - round(args.older_than * 86_400 * 1e9)
    total = DeletedCounts()
    if db_path.exists():
        try:
            total = _with_writer(db_path, "prune",
                                 lambda writer: writer.delete_older_than(before_ns, CLI_JOB_TIMEOUT_S))
        except ReceiverError as exc:
            raise CommandFailed(str(exc)) from None
    if args.json:
        _print_json({"traces": total.traces, "spans": total.spans, "logs": total.logs})
    else:
        print(f"deleted {plural(total.traces, 'trace')} ({plural(total.spans, 'span')}, "
              f"{plural(total.logs, 'log record')}) that ended more than {args.older_than:g} days ago; "
              "pinned traces are kept")
    return EXIT_OK


def _with_writer(db_path: Path, command: str, job: Callable):
    """Run `job(writer)` with a writer of our own on the file; closing it gives back free space.
    Another Tracepane writing to the file fails the command (exit 3) before anything changes."""
    from receiver.config import DEFAULT_BATCH_SPANS, DEFAULT_QUEUE_SPANS
    from receiver.errors import DatabaseInUse
    from receiver.storage.writer import DatabaseWriter

    writer = DatabaseWriter(db_path, queue_spans=DEFAULT_QUEUE_SPANS, batch_spans=DEFAULT_BATCH_SPANS, holder=command)
    try:
        writer.start()
    except DatabaseInUse as exc:
        raise CommandFailed(str(exc), EXIT_DATABASE_IN_USE) from None
    try:
        return job(writer)
    finally:
        writer.close()


if __name__ == "__main__":
    sys.exit(main())
