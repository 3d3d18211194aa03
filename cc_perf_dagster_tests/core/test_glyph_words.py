"""The pdfium engine's word loop in C (``_glyph_words.c``) reads what its Python reference reads.

Every page of the committed PDFs (test invoices, producer corpus, refused and bad files) is read
by both loops and compared word for word, text and coordinates exactly; the generated pages of
``test_engine_agreement`` and the drawn cases of ``test_content_stream`` are read by both too
(``conftest.page_runs``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cc_perf_dagster.core import extract_invoice, invoice_to_dict
from cc_perf_dagster.core.pdfium_words import ACCELERATED, OutsidePageSpace, page_words
from cc_perf_dagster_tests.conftest import (
    TEST_INVOICES,
    expected_for,
    field_differences,
    good_invoices,
    python_word_loop,
)

pdfium = pytest.importorskip("pypdfium2")  # in the dev extras: both engines are always tested

COMMITTED = sorted(TEST_INVOICES.rglob("*.pdf"))


def test_the_c_loop_is_built():
    # `pip install` builds it wherever a C compiler is (the dev machines and CI have one).
    if not ACCELERATED:
        if os.environ.get("CI") == "true":
            pytest.fail("cc_perf_dagster.core._glyph_words was not built: is gcc or the Python headers missing?")
        pytest.skip("cc_perf_dagster.core._glyph_words was not built (no C compiler at install): Python loop only")


def _both_loops(path: Path) -> tuple[int, list[str]]:
    """Pages read, and every page where the loops differ (or one raised and the other not)."""
    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError:
        return 0, []  # a file PDFium cannot open has no text page to read
    differing = []
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            read = []
            for accelerated in (True, False):
                try:
                    read.append(page_words(textpage.raw, pdfium.raw, accelerated=accelerated))
                except OutsidePageSpace:
                    read.append("outside page space")
            if read[0] != read[1]:
                differing.append(f"page {index + 1}")
            textpage.close()
            page.close()
        return len(pdf), differing
    finally:
        pdf.close()


def _page_count(path: Path) -> int:
    """The pages PDFium finds in ``path`` (none where it cannot open the file), read no further."""
    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError:
        return 0
    try:
        return len(pdf)
    finally:
        pdf.close()


@pytest.mark.skipif(not ACCELERATED, reason="the C loop was not built (test_the_c_loop_is_built says why)")
@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(TEST_INVOICES)))
def test_both_loops_read_every_committed_page_alike(path):
    pages, differing = _both_loops(path)
    assert not differing, differing
    assert pages or path.parent.name == "bad"  # only a broken file has no page to compare


def test_the_committed_pages_are_many_and_of_every_producer():
    # The comparison above is only as good as what it reads: every producer folder, 200+ pages.
    pages = sum(_page_count(path) for path in COMMITTED)
    producers = {path.parent.name for path in COMMITTED if path.parent.parent.name == "producers"}
    assert pages >= 200 and {"chromium", "firefox", "libreoffice", "weasyprint", "wkhtmltopdf"} <= producers


@pytest.mark.parametrize("path", good_invoices()[:2], ids=lambda p: p.name)
def test_without_the_c_loop_the_engine_reads_every_field(path):
    # As on a machine that installed without a C compiler.
    with python_word_loop():
        invoice = extract_invoice(path, engine="pdfium")
    compared, differences = field_differences(expected_for(path), invoice_to_dict(invoice))
    assert compared > 100 and not differences, differences[:5]
