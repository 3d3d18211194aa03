"""``cc-perf``: the command line for scripts and operators.

Subcommands:
    extract FILE [--format json|csv] [--engine pypdf|pdfium]
                                        print one document as JSON (or booking-row CSV)
    summary [--engine pypdf|pdfium] PATH...
                                        extract files or folders and print a table (no Dagster)
    process [--dagster-home DIR] [--json] [--engine pypdf|pdfium] PATH...
                                        register files as partitions and materialize them
                                        through the Dagster job; a table (or JSON) per invoice
    cache stats|clear [--cache-dir DIR] what the page cache holds; empty it
    retire KEY... [--dagster-home DIR]  remove invoice partitions (their stored outputs stay)

Exit status (see EXIT_CODES):
    0  every document was read and may be booked
    1  an unexpected internal error, or storage that cannot be written (full, read-only)
    2  an input is not a readable PDF, or not a Creative Co-op document (one line on stderr
       naming the file and the reason; ``extract`` prints nothing on stdout)
    3  a document was read but is not booked (no line items, arithmetic or totals that do not
       hold, a page without text, fewer pages read than declared): what was read is still
       printed, and one line on stderr names the file and the reason
  130  interrupted (Ctrl-C; 143 for SIGTERM): one line on stderr; ``summary`` prints the files
       read so far; ``process`` stops at its next step, prints what it did, and leaves the files
       it did not process registered (its next run over the same files does them)
``summary`` and ``process`` exit 2 if any input is bad, else 3 if any document is not booked.
``process`` lists a file whose bytes are already registered under another name as
``[duplicate]`` (processed and booked once, as the first name): not an error, status 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cc_perf_dagster import __version__
from cc_perf_dagster.cli_output import PROCESS_COLUMNS, cell, format_table, overview_line, progress_line
from cc_perf_dagster.core.bookability import DEFAULT_MIN_CONSISTENCY, refusal
from cc_perf_dagster.core.errors import EngineUnavailableError, InvalidDocumentError, one_line
from cc_perf_dagster.core.export import booking_csv, invoice_to_json
from cc_perf_dagster.core.extract import extract_invoice, pdf_paths
from cc_perf_dagster.core.pdf import DEFAULT_ENGINE, ENGINES, Limits, get_engine
from cc_perf_dagster.core.pypdf_log import keep_pypdf_off_stderr
from cc_perf_dagster.interrupts import InterruptWatch

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_NOT_BOOKED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = f"""exit status:
  {EXIT_OK}  success: every document was read and may be booked
  {EXIT_INTERNAL}  internal error (rerun with --debug for the traceback), or the storage cannot be written
  {EXIT_BAD_INPUT}  bad input: not a readable PDF, or not a Creative Co-op document
  {EXIT_NOT_BOOKED}  not booked: a document was read (and is printed) but not well enough to book it;
     stderr names the file and the reason (summary/process: 2 wins over 3)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C; 143 for SIGTERM); summary and process print what they did first"""


def _status(bad: int, refused: int) -> int:
    """The exit status of a command over several documents: bad input first, then refusals."""
    return EXIT_BAD_INPUT if bad else EXIT_NOT_BOOKED if refused else EXIT_OK


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(max_bytes=args.max_bytes, max_pages=args.max_pages)


def _fail(message: str, status: int) -> int:
    print(f"cc-perf: {one_line(message)}", file=sys.stderr)  # file names may hold newlines or escapes
    return status


def _run_guarded(args: argparse.Namespace, path: str, action) -> int:
    """Run ``action`` and turn expected failures into one stderr line and an exit status."""
    try:
        return action()
    except InvalidDocumentError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except FileNotFoundError:
        return _fail(f"{path}: no such file", EXIT_BAD_INPUT)
    except IsADirectoryError:
        return _fail(f"{path}: is a directory, not a PDF file", EXIT_BAD_INPUT)
    except PermissionError:
        return _fail(f"{path}: permission denied", EXIT_BAD_INPUT)
    except Exception as exc:
        if args.debug:
            raise
        return _fail(f"{path}: internal error ({type(exc).__name__}: {exc}); rerun with --debug", EXIT_INTERNAL)


def _engine_missing(args: argparse.Namespace) -> str | None:
    """Why the chosen text engine cannot be used (its library is not installed), or ``None``."""
    try:
        get_engine(args.engine)
    except EngineUnavailableError as exc:
        return exc.reason
    return None


def _cmd_extract(args: argparse.Namespace) -> int:
    missing = _engine_missing(args)
    if missing:
        return _fail(missing, EXIT_BAD_INPUT)

    def action() -> int:
        invoice = extract_invoice(args.file, limits=_limits(args), engine=args.engine)
        text = booking_csv([invoice]) if args.format == "csv" else invoice_to_json(invoice)
        sys.stdout.write(text)
        refused = refusal(invoice, min_consistency=args.min_consistency)
        if refused is not None:
            sys.stdout.flush()
            return _fail(str(refused.error()), EXIT_NOT_BOOKED)
        return EXIT_OK

    return _run_guarded(args, args.file, action)


def _cmd_summary(args: argparse.Namespace) -> int:
    missing = _engine_missing(args)
    if missing:
        return _fail(missing, EXIT_BAD_INPUT)
    rows, failures, refusals = [], 0, 0
    paths = pdf_paths(args.paths)
    try:
        for path in paths:
            row, refused = _summary_row(args, path)
            if row is None:
                failures += 1
                continue
            rows.append(row)
            refusals += refused
    except KeyboardInterrupt:  # Ctrl-C: the table so far, then one line
        _print_summary(rows)
        return _fail(f"interrupted: {failures + len(rows)} of {len(paths)} files read", EXIT_INTERRUPTED)
    _print_summary(rows)
    return _status(failures, refusals)


def _summary_row(args: argparse.Namespace, path: Path) -> tuple[tuple | None, bool]:
    """One file's ``summary`` row (``None`` if it cannot be read: the reason is printed), and whether it is refused."""
    started = time.perf_counter()
    try:
        invoice = extract_invoice(path, limits=_limits(args), engine=args.engine)
    except (InvalidDocumentError, OSError) as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
        return None, False
    elapsed_ms = (time.perf_counter() - started) * 1000
    refused = refusal(invoice, min_consistency=args.min_consistency)
    if refused is not None:
        print(f"cc-perf: {refused.error()}", file=sys.stderr)
    return (
        invoice.file,
        invoice.invoice_number,
        invoice.document_type,
        invoice.invoice_date or "",
        invoice.page_count,
        len(invoice.line_items),
        len(invoice.billed_items),
        f"{invoice.consistency_score:.3f}",
        f"{elapsed_ms:.0f}",
        "no" if refused else "yes",
    ), refused is not None


def _print_summary(rows: list) -> None:
    header = ("file", "number", "type", "date", "pages", "lines", "billed", "consistency", "ms", "bookable")
    print(format_table(header, rows))


def _cmd_process(args: argparse.Namespace) -> int:
    with InterruptWatch() as watch:  # from here, Ctrl-C stops the command at its next step
        return _process(args, watch)


def _process(args: argparse.Namespace, watch: InterruptWatch) -> int:
    import logging as _logging

    from cc_perf_dagster.core.errors import CcPerfError
    from cc_perf_dagster.instance import open_instance

    _logging.getLogger("dagster").setLevel(_logging.WARNING)
    missing = _engine_missing(args)
    if missing:
        return _fail(missing, EXIT_BAD_INPUT)
    from cc_perf_dagster.profiles import active_profile, check_cluster_environment

    try:
        if active_profile() == "cluster":  # refused here in one line, not at the first worker
            check_cluster_environment()
        instance = open_instance(args.dagster_home)  # under the home's lock: safe on first use
    except CcPerfError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    home = instance.root_directory
    from cc_perf_dagster.runner import InvoiceRunner

    def progress(outcome) -> None:
        print(progress_line(outcome), file=sys.stderr, flush=True)

    with instance:
        if watch.received:
            return _fail("interrupted before any file was registered", watch.exit_status())
        runner = InvoiceRunner(
            instance, in_process=args.in_process, progress=progress, engine=args.engine, interrupts=watch
        )
        outcomes = runner.process(args.paths, refresh_sheet=not args.no_sheet)
    for run_id in runner.left_behind:
        print(f"cc-perf: run {run_id}, left started by a cc-perf process since gone: marked failed", file=sys.stderr)
    if args.json:
        print(json.dumps([o.to_dict() for o in outcomes], indent=2, default=str))
    else:
        rows = []
        for o in outcomes:
            values = {"partition_key": o.partition_key, "status": o.status, **o.metadata}
            rows.append([cell(values.get(field)) for _, field in PROCESS_COLUMNS])
        print(format_table([title for title, _ in PROCESS_COLUMNS], rows))
        overview = overview_line()
        if overview:
            print(f"\n{overview}")
        ui = "make cluster-ui" if active_profile() == "cluster" else "make ui"
        print(f"\nDagster home: {home}  (open it with `{ui}`)")
    if runner.interrupted:
        left = sum(o.status == "interrupted" for o in outcomes)
        return _fail(
            f"interrupted: {len(outcomes) - left} of {len(outcomes)} files processed; the other {left} "
            "run with the next `cc-perf process` of the same files (or Materialize in the UI)",
            watch.exit_status(),
        )
    if runner.storage_error:
        return _fail(
            f"the storage cannot be written, so no further run was started: {runner.storage_error}; "
            "the files are registered: run `cc-perf process` again once it can be written",
            EXIT_INTERNAL,
        )
    if not outcomes:
        return _fail("no PDF files found in the given paths", EXIT_BAD_INPUT)
    refused = sum(o.status == "not_booked" for o in outcomes)
    return _status(sum(o.status not in ("materialized", "not_booked", "duplicate") for o in outcomes), refused)


def _cache_root(args: argparse.Namespace):

    if args.cache_dir:
        return Path(args.cache_dir)
    if args.dagster_home:
        return Path(args.dagster_home).resolve() / "cc_perf" / "cache"
    from cc_perf_dagster.resources import default_storage_root

    return default_storage_root() / "cache"


def _cmd_cache(args: argparse.Namespace) -> int:

    from cc_perf_dagster.core.cache import PageCache

    root = _cache_root(args)
    cache = PageCache(root, max_bytes=args.max_cache_bytes)
    if args.action == "clear":
        removed = cache.clear()
        print(f"cleared {removed} cache entries from {root} (the secret key is kept)")
        return EXIT_OK
    stats = cache.stats()
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(f"cache folder   {root}")
        print(f"entries        {stats['entries']}")
        print(f"size           {stats['bytes'] / 2**20:.2f} MiB of {stats['max_bytes'] / 2**20:.0f} MiB")
        print(f"time to live   {stats['ttl_s'] / 86400:.0f} days")
    return EXIT_OK


def _cmd_retire(args: argparse.Namespace) -> int:
    from cc_perf_dagster.assets import PARTITIONS_NAME
    from cc_perf_dagster.instance import open_instance
    from cc_perf_dagster.resources import InvoiceStorage

    status = EXIT_OK
    with open_instance(args.dagster_home) as instance:
        registry = InvoiceStorage().registry()
        known = set(instance.get_dynamic_partitions(PARTITIONS_NAME))
        for key in args.keys:
            if key not in known and registry.get(key) is None:
                status = _fail(f"{key}: no such invoice partition", EXIT_BAD_INPUT)
                continue
            if key in known:
                instance.delete_dynamic_partition(PARTITIONS_NAME, key)
            registry.retire(key)
            print(f"retired {key} (its stored invoice and booking rows, and its run history, are kept)")
    return status


def _engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=tuple(ENGINES),
        default=DEFAULT_ENGINE,
        help="the text engine that reads the PDFs (pdfium needs: pip install 'cc-perf-dagster[pdfium]')",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cc-perf``."""
    parser = argparse.ArgumentParser(
        prog="cc-perf",
        description="Creative Co-op PDF invoices into line items.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--max-pages", type=int, default=Limits().max_pages, help="refuse longer documents")
    parser.add_argument("--max-bytes", type=int, default=Limits().max_bytes, help="refuse larger files")
    parser.add_argument(
        "--min-consistency",
        type=float,
        default=DEFAULT_MIN_CONSISTENCY,
        help="do not book documents whose consistency score is lower (extract, summary)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser(
        "extract",
        help="print one document as JSON or booking-row CSV",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    extract.add_argument("file", help="a PDF file")
    extract.add_argument("--format", choices=("json", "csv"), default="json")
    _engine_option(extract)
    extract.set_defaults(handler=_cmd_extract)

    summary = commands.add_parser(
        "summary",
        help="extract files or folders and print a table",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    summary.add_argument("paths", nargs="+", help="PDF files or folders holding them")
    _engine_option(summary)
    summary.set_defaults(handler=_cmd_summary)

    process = commands.add_parser(
        "process",
        help="materialize files as invoice partitions through Dagster",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    process.add_argument("paths", nargs="+", help="PDF files or folders holding them")
    process.add_argument("--dagster-home", help="Dagster home folder (default $DAGSTER_HOME or ./.dagster_home)")
    process.add_argument("--json", action="store_true", help="print a JSON array, one object per invoice")
    process.add_argument("--in-process", action="store_true", help="run steps in this process (debugging)")
    process.add_argument(
        "--no-sheet",
        action="store_true",
        help="do not rebuild the purchasing sheet and performance overview afterwards",
    )
    _engine_option(process)
    process.set_defaults(handler=_cmd_process)

    cache = commands.add_parser("cache", help="inspect or empty the page cache")
    cache.add_argument("action", choices=("stats", "clear"))
    cache.add_argument("--cache-dir", help="cache folder (default: STORAGE/cache of the Dagster home)")
    cache.add_argument("--dagster-home", help="use the cache of this Dagster home")
    cache.add_argument("--max-cache-bytes", type=int, default=512 * 2**20, help=argparse.SUPPRESS)
    cache.add_argument("--json", action="store_true", help="stats as JSON")
    cache.set_defaults(handler=_cmd_cache)

    retire = commands.add_parser("retire", help="remove invoice partitions whose files are gone")
    retire.add_argument("keys", nargs="+", help="partition keys")
    retire.add_argument("--dagster-home", help="Dagster home folder (default $DAGSTER_HOME or ./.dagster_home)")
    retire.set_defaults(handler=_cmd_retire)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cc-perf`` console script."""
    args = build_parser().parse_args(argv)
    # pypdf reports recoverable oddities as warnings: they go to the document's warnings, not
    # stderr (raising the logger's level instead would also hide damaged streams from core.pdf).
    keep_pypdf_off_stderr()
    try:
        return args.handler(args)
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback (process: a second Ctrl-C)
        return _fail("interrupted", EXIT_INTERRUPTED)


if __name__ == "__main__":
    raise SystemExit(main())
