"""`tracepane export`, `import` and `diff`: one trace out as OTLP/JSON lines (the Collector's
file format), such files in through the receiver's own ingest path, and two runs compared."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli import EXIT_DATABASE_IN_USE, EXIT_FAILURE, EXIT_OK, CommandFailed, _config, _db_path, read_traces
from app.formatting import plural

__all__ = ["add_commands", "cmd_diff", "cmd_export", "cmd_import"]


def add_commands(add) -> None:
    p = add("export", cmd_export, "write one trace as OTLP/JSON lines: its spans, then its log records")
    p.add_argument("trace_id", metavar="TRACE_ID", help="32 hex digits, or a unique prefix")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the file to write (- for standard output; a name ending .gz is gzip-compressed)")
    p.add_argument("--redact", action="store_true",
                   help="replace message content (prompts, completions, tool arguments and results) and keep "
                        "the rest: structure, tokens, timings, models")
    p = add("import", cmd_import, "read OTLP/JSON files into the database: JSON lines or one document, "
                                  "gzip too, with resourceSpans, resourceLogs or resourceMetrics")
    p.add_argument("files", nargs="+", metavar="FILE")
    p = add("diff", cmd_diff, "compare two runs: their model and tool calls aligned, the first divergence, "
                              "and the differences in tokens, cost and latency (exit 0 whether or not they differ)")
    p.add_argument("trace_a", metavar="TRACE_A", help="32 hex digits, or a unique prefix")
    p.add_argument("trace_b", metavar="TRACE_B", help="32 hex digits, or a unique prefix")


def cmd_export(args: argparse.Namespace) -> int:
    from receiver.otlp.otlp_file import trace_lines, write_trace

    (detail,) = read_traces(args, args.trace_id)
    trace_id = detail.trace_id
    try:
        if args.output == "-":
            for line in trace_lines(detail, redact=args.redact):
                sys.stdout.write(line + "\n")
        else:
            write_trace(detail, Path(args.output).expanduser(), redact=args.redact)
    except OSError as exc:
        raise CommandFailed(f"cannot write {args.output}: {exc}") from None
    if args.output != "-":
        print(f"exported trace {trace_id} ({plural(len(detail.spans), 'span')}, "
              f"{plural(len(detail.logs), 'log record')}) to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from receiver.errors import DatabaseInUse, ReceiverError
    from receiver.file_import import import_files
    from receiver.service import Receiver

    receiver = Receiver(_config(args), holder="import")
    try:
        receiver.start(listen=False)
    except DatabaseInUse as exc:
        raise CommandFailed(str(exc), EXIT_DATABASE_IN_USE) from None
    except ReceiverError as exc:
        raise CommandFailed(str(exc)) from None
    try:
        outcome = import_files(receiver, [Path(name).expanduser() for name in args.files])
        receiver.flush(60)
    finally:
        receiver.stop()
    for problem in outcome.problems:
        print(problem, file=sys.stderr)
    print(outcome.summary(str(_db_path(args))), file=sys.stderr)
    return EXIT_FAILURE if outcome.problems else EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from app.trace_compare import compare_traces, comparison_text

    print(comparison_text(compare_traces(*read_traces(args, args.trace_a, args.trace_b))))
    return EXIT_OK
