"""``cc-perf``: the command line for scripts and operators.

Subcommands:
    extract FILE [--format json|csv]   print one document as JSON (or booking-row CSV)
    summary PATH...                     extract files or folders and print a table

Exit status: 0 on success; 2 when an input is bad (one line on stderr naming the file and
the reason, nothing on stdout); 1 on an unexpected internal error.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cc_perf_dagster import __version__
from cc_perf_dagster.core.errors import InvalidDocumentError
from cc_perf_dagster.core.export import booking_csv, invoice_to_json
from cc_perf_dagster.core.extract import extract_invoice
from cc_perf_dagster.core.pdf import Limits

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(max_bytes=args.max_bytes, max_pages=args.max_pages)


def _fail(message: str, status: int) -> int:
    print(f"cc-perf: {message}", file=sys.stderr)
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


def _cmd_extract(args: argparse.Namespace) -> int:
    def action() -> int:
        invoice = extract_invoice(args.file, limits=_limits(args))
        text = booking_csv([invoice]) if args.format == "csv" else invoice_to_json(invoice)
        sys.stdout.write(text)
        return EXIT_OK

    return _run_guarded(args, args.file, action)


def _pdf_files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files.extend(sorted(path.glob("*.pdf")) if path.is_dir() else [path])
    return files


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain, aligned text table (numbers right-aligned)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(_is_number(r[i]) for r in cells[1:]) and len(cells) > 1 for i in range(len(header))]
    lines = []
    for index, row in enumerate(cells):
        parts = [c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _cmd_summary(args: argparse.Namespace) -> int:
    rows, failures = [], 0
    for path in _pdf_files(args.paths):
        started = time.perf_counter()
        try:
            invoice = extract_invoice(path, limits=_limits(args))
        except (InvalidDocumentError, OSError) as exc:
            failures += 1
            print(f"cc-perf: {exc}", file=sys.stderr)
            continue
        elapsed_ms = (time.perf_counter() - started) * 1000
        rows.append(
            (
                invoice.file,
                invoice.invoice_number,
                invoice.document_type,
                invoice.invoice_date or "",
                invoice.page_count,
                len(invoice.line_items),
                len(invoice.billed_items),
                f"{invoice.consistency_score:.3f}",
                f"{elapsed_ms:.0f}",
            )
        )
    header = ("file", "number", "type", "date", "pages", "lines", "billed", "consistency", "ms")
    print(format_table(header, rows))
    return EXIT_BAD_INPUT if failures else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cc-perf``."""
    parser = argparse.ArgumentParser(prog="cc-perf", description="Creative Co-op PDF invoices into line items.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--max-pages", type=int, default=Limits().max_pages, help="refuse longer documents")
    parser.add_argument("--max-bytes", type=int, default=Limits().max_bytes, help="refuse larger files")
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser("extract", help="print one document as JSON or booking-row CSV")
    extract.add_argument("file", help="a PDF file")
    extract.add_argument("--format", choices=("json", "csv"), default="json")
    extract.set_defaults(handler=_cmd_extract)

    summary = commands.add_parser("summary", help="extract files or folders and print a table")
    summary.add_argument("paths", nargs="+", help="PDF files or folders holding them")
    summary.set_defaults(handler=_cmd_summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cc-perf`` console script."""
    args = build_parser().parse_args(argv)
    # pypdf reports recoverable oddities as warnings; the CLI reports outcomes itself.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
