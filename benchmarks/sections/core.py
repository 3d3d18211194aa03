"""core: pages/s of the extractor against raw ``PdfPage.extract_text()`` on the same pages (the
floor) and, for context, ``pdftotext -layout`` where it is installed; also with the PDFium engine,
and on the producer corpus's Chromium prints."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from benchmarks.harness import ONE_INVOICE, TEST_INVOICES, best_of, pdfium_engine
from benchmarks.peers import invoice2data_command, invoice2data_extract, invoice2data_version
from cc_perf_dagster.core import extract_invoice

NAME = "core"
KEY = "core"
TARGET_CORE_RATIO = 1.3
# Issue 16: the pdfium engine at least 4x the pypdf engine's pages/s (a quarter of its time per
# page), and at least invoice2data's in-process pages/s; its command no slower than invoice2data's.
TARGET_PDFIUM_OVER_PYPDF = 0.25
TARGET_PDFIUM_OVER_INVOICE2DATA = 1.0


def run(options, workdir: Path) -> dict:
    """The section's figures (``options.quick``: 2 rounds instead of 5)."""
    result = bench_core_by_producer(2 if options.quick else 5)
    result["commands"] = bench_commands(3 if options.quick else 7, workdir)
    return result


def _raw_extract(path: Path) -> int:
    from pypdf import PdfReader

    reader = PdfReader(path)
    for page in reader.pages:
        page.extract_text()
    return len(reader.pages)


def _pdftotext(path: Path) -> None:
    subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)


def _pdftotext_version() -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    done = subprocess.run(["pdftotext", "-v"], capture_output=True, text=True, check=False)
    return (done.stderr or done.stdout).splitlines()[0].strip() if (done.stderr or done.stdout) else "unknown"


def bench_core(files: list[Path], rounds: int) -> dict:
    """Core extractor against raw pypdf text extraction (and pdftotext), interleaved file by file."""
    version = _pdftotext_version()
    pdfium = pdfium_engine()
    peer = invoice2data_version()
    raw_total = core_total = poppler_total = pdfium_total = peer_total = 0.0
    pages = 0
    peer_right = {"files": 0, "invoice_number": 0, "total": 0, "line_items": 0, "line_items_printed": 0}
    for path in files:
        pages += _raw_extract(path)  # warm the OS cache and imports for both
        extract_invoice(path)
        raw_total += best_of(_raw_extract, path, rounds)
        core_total += best_of(extract_invoice, path, rounds)
        if pdfium is not None:  # the same core with the pdfium engine, same pages
            extract_invoice(path, engine=pdfium)
            pdfium_total += best_of(lambda p: extract_invoice(p, engine=pdfium), path, rounds)
        if version is not None:
            poppler_total += best_of(_pdftotext, path, rounds)
        if peer is not None:
            _score_peer(invoice2data_extract(path), path, peer_right)
            peer_total += best_of(invoice2data_extract, path, rounds)
    result = {
        "files": len(files),
        "pages": pages,
        "raw_extract_text_s": round(raw_total, 4),
        "core_s": round(core_total, 4),
        "raw_pages_per_s": round(pages / raw_total, 1),
        "core_pages_per_s": round(pages / core_total, 1),
        "core_cost_ratio": round(core_total / raw_total, 3),
        "pdfium_core_s": round(pdfium_total, 4) if pdfium is not None else None,
        "pdfium_core_pages_per_s": round(pages / pdfium_total, 1) if pdfium is not None else None,
        # time per page of the pdfium engine over the pypdf engine's, same core, same pages
        # (lower is better; 0.25 is four times the pages/s)
        "pdfium_over_pypdf": round(pdfium_total / core_total, 3) if pdfium is not None else None,
        "target_pdfium_over_pypdf_max": TARGET_PDFIUM_OVER_PYPDF,
        "invoice2data": peer,
        "invoice2data_s": round(peer_total, 4) if peer is not None else None,
        "invoice2data_pages_per_s": round(pages / peer_total, 1) if peer is not None else None,
        "invoice2data_fields_right": peer_right if peer is not None else None,
        "pdfium_over_invoice2data": (
            round(pdfium_total / peer_total, 3) if peer is not None and pdfium is not None else None
        ),
        "target_pdfium_over_invoice2data_max": TARGET_PDFIUM_OVER_INVOICE2DATA,
        "target_ratio_max": TARGET_CORE_RATIO,
        "pdftotext": version,
        "pdftotext_s": None,
        "pdftotext_pages_per_s": None,
        "core_over_pdftotext": None,
    }
    if version is not None:
        result.update(
            pdftotext_s=round(poppler_total, 4),
            pdftotext_pages_per_s=round(pages / poppler_total, 1),
            core_over_pdftotext=round(core_total / poppler_total, 3),
            pdftotext_note="one `pdftotext -layout FILE -` process per file, process start included",
        )
    return result


def _score_peer(found: dict, path: Path, right: dict) -> None:
    """Count what invoice2data read right against the ground truth (context for its speed)."""
    import json
    from decimal import Decimal

    truth_file = path.with_suffix(".expected.json")
    if not truth_file.exists():
        return
    truth = json.loads(truth_file.read_text())
    right["invoice_number"] += found.get("invoice_number") == truth["invoice_number"]
    amount = found.get("amount")
    right["total"] += amount is not None and Decimal(str(amount)) == Decimal(truth["totals"]["total"])
    # A line item counts when its code and extended price were read (descriptions over two or
    # more lines are beyond a one-line regular expression, so they are not asked for).
    expected = {(i["product_code"], i["extended_price"]) for i in truth["line_items"]}
    lines = {
        (line.get("code"), f"{Decimal(str(line.get('extended'))):.2f}")
        for line in found.get("lines", [])
        if line.get("extended") is not None
    }
    right["files"] += 1
    right["line_items"] += len(expected & lines)
    right["line_items_printed"] += len(expected)


def bench_commands(rounds: int, workdir: Path) -> dict:
    """Whole commands on the 15-page invoice, process start included: median wall of ``rounds``.

    ``cc-perf extract`` with each engine against the ``invoice2data`` command (its JSON written
    to a file, as a user would run it), in alternating order.
    """
    import statistics
    import sys
    import time

    cc_perf = str(Path(sys.executable).parent / "cc-perf")
    commands = {
        "cc_perf_extract_pypdf": lambda: subprocess.run(
            [cc_perf, "extract", "--engine", "pypdf", str(ONE_INVOICE)], capture_output=True, check=True
        ),
        "cc_perf_extract_pdfium": lambda: subprocess.run(
            [cc_perf, "extract", "--engine", "pdfium", str(ONE_INVOICE)], capture_output=True, check=True
        ),
    }
    if invoice2data_version() is not None:
        commands["invoice2data"] = lambda: invoice2data_command(ONE_INVOICE, workdir / "invoice2data.json")
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():
        command()  # warm the OS cache
    for _ in range(rounds):
        for name, command in commands.items():
            started = time.perf_counter()
            command()
            walls[name].append(time.perf_counter() - started)
    result = {name: round(statistics.median(times), 4) for name, times in walls.items()}
    result["rounds"] = rounds
    result["file"] = ONE_INVOICE.name
    if "invoice2data" in result:
        result["pdfium_over_invoice2data"] = round(result["cc_perf_extract_pdfium"] / result["invoice2data"], 3)
        result["target_pdfium_over_invoice2data_max"] = TARGET_PDFIUM_OVER_INVOICE2DATA
    return result


def bench_core_by_producer(rounds: int) -> dict:
    """The core against raw pypdf on the test invoices and on the producer corpus's Chromium prints."""
    result = bench_core(sorted((TEST_INVOICES).glob("*.pdf")), rounds)
    chromium = sorted((TEST_INVOICES / "producers" / "chromium").glob("*.pdf"))
    if chromium:
        other = bench_core(chromium, rounds)
        result["chromium"] = {
            key: other[key]
            for key in (
                "files",
                "pages",
                "raw_extract_text_s",
                "core_s",
                "raw_pages_per_s",
                "core_pages_per_s",
                "pdfium_core_s",
                "pdfium_core_pages_per_s",
                "pdfium_over_pypdf",
                "invoice2data_pages_per_s",
            )
        }
        result["chromium"]["core_cost_ratio"] = other["core_cost_ratio"]
    return result
