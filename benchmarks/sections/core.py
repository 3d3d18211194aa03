"""core: pages/s of the extractor against raw ``PdfPage.extract_text()`` on the same pages (the
floor) and, for context, ``pdftotext -layout`` where it is installed; also with the PDFium engine,
and on the producer corpus's Chromium prints."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from benchmarks.harness import TEST_INVOICES, best_of
from cc_perf_dagster.core import extract_invoice

NAME = "core"
KEY = "core"
TARGET_CORE_RATIO = 1.3


def run(options, workdir: Path) -> dict:
    """The section's figures (``options.quick``: 2 rounds instead of 5)."""
    return bench_core_by_producer(2 if options.quick else 5)


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


def _pdfium_engine():
    """The pdfium engine, or ``None`` without pypdfium2 (its column is then left empty)."""
    from cc_perf_dagster.core.errors import EngineUnavailableError
    from cc_perf_dagster.core.pdf import get_engine

    try:
        return get_engine("pdfium")
    except EngineUnavailableError:
        return None


def bench_core(files: list[Path], rounds: int) -> dict:
    """Core extractor against raw pypdf text extraction (and pdftotext), interleaved file by file."""
    version = _pdftotext_version()
    pdfium = _pdfium_engine()
    raw_total = core_total = poppler_total = pdfium_total = 0.0
    pages = 0
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
            )
        }
        result["chromium"]["core_cost_ratio"] = other["core_cost_ratio"]
    return result
