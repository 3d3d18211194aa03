"""The fixture generator: deterministic, and documents generated at test time read back exactly."""

from __future__ import annotations

import dataclasses

import pytest

from cc_perf_dagster.core import extract_invoice, invoice_to_dict
from cc_perf_dagster_tests.conftest import TEST_INVOICES, field_differences
from cc_perf_dagster_tests.fixtures.generate import generate_all, write_document, write_large_order_confirmation
from cc_perf_dagster_tests.fixtures.model import Misprint
from cc_perf_dagster_tests.fixtures.specs import cs003837319


def test_make_fixtures_regenerates_the_committed_files_byte_for_byte(tmp_path):
    written = generate_all(tmp_path)
    assert written
    for path in written:
        committed = TEST_INVOICES / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed.name} differs from a fresh generation"


@pytest.mark.slow
def test_a_300_page_document_reads_back_exactly(tmp_path):
    pdf = tmp_path / "CS009999999.pdf"
    truth = write_large_order_confirmation(pdf, 300, seed=7)
    _, differences = field_differences(truth, invoice_to_dict(extract_invoice(pdf)))
    assert differences == []
    assert truth["page_count"] == 300


def test_a_misprinted_extended_price_lowers_the_score_and_names_the_item(tmp_path):
    spec = cs003837319()
    spec = dataclasses.replace(spec, misprints=(Misprint(0, "extended_price", "39.40"),))
    pdf = tmp_path / "doctored.pdf"
    write_document(pdf, spec, write_truth=False)
    invoice = extract_invoice(pdf)
    item = invoice.line_items[0]
    assert str(item.extended_price) == "39.40"
    assert invoice.consistency_score == round(1 - 1 / len(invoice.line_items), 4)
    assert any(w.startswith(f"page 1, {item.product_code}: Extended 39.40 is not quantity") for w in invoice.warnings)
    assert invoice.totals_reconcile is False  # the printed totals were computed on the right amount


@pytest.mark.parametrize("margin", [1.5, 5.4])
def test_the_word_document_holds_every_item_row_and_tariff_line_with_its_cell_margins(margin):
    # fixtures/word.py writes the document that becomes unreadable/*-word-narrow-columns.pdf.
    import io

    from docx import Document

    from cc_perf_dagster_tests.fixtures.compose import compose
    from cc_perf_dagster_tests.fixtures.producers import UNREADABLE_NARROW_COLUMNS, corpus_documents
    from cc_perf_dagster_tests.fixtures.word import render_docx

    spec = next(d.spec for d in corpus_documents() if d.spec.number == UNREADABLE_NARROW_COLUMNS)
    composed = compose(spec)
    items = Document(io.BytesIO(render_docx(spec, composed, cell_margin=margin))).tables[1]
    tariffs = sum(line.kind == "tariff" for page in composed.page_lines for line in page)
    assert len(items.rows) == 1 + len(spec.items) + tariffs
    first = spec.items[0]
    assert [cell.text for cell in items.rows[1].cells[:2]] == [first.product_code, first.upc]
    assert items._tbl.tblPr.xml.count(f'w:w="{round(margin * 20)}"') == 2  # left and right
