"""The one rule that keeps badly read documents out of the purchasing sheet (no Dagster)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from cc_perf_dagster.core import InvalidDocumentError, NotBookableError, extract_invoice
from cc_perf_dagster.core.bookability import (
    NO_LINE_ITEMS,
    Refusal,
    ensure_bookable,
    page_order_reasons,
    refusal,
    refusal_reasons,
    same_pages,
    totals_printed,
)
from cc_perf_dagster.core.export import invoice_from_record, invoice_to_record
from cc_perf_dagster_tests.conftest import (
    TEST_INVOICES,
    blank_page,
    good_invoices,
    hide_page,
    tableless_document,
    unreconciled_document,
)


@pytest.fixture(scope="module")
def good():
    return extract_invoice(TEST_INVOICES / "CI004731586.pdf")


@pytest.mark.parametrize("pdf", good_invoices(), ids=lambda p: p.name)
def test_every_committed_fixture_is_bookable(pdf):
    invoice = extract_invoice(pdf)
    assert refusal(invoice) is None
    assert invoice.declared_pages == invoice.footer_pages == invoice.page_count and invoice.textless_pages == ()
    assert invoice.page_footers == tuple((n, invoice.page_count) for n in range(1, invoice.page_count + 1))


class TestRulesOnInvoiceValues:
    """Each rule alone, on a good invoice with one thing changed."""

    def test_no_line_items(self, good):
        empty = dataclasses.replace(good, line_items=(), consistency_score=0.0, totals=None, totals_reconcile=None)
        assert refusal_reasons(empty) == (NO_LINE_ITEMS,)

    def test_consistency_below_the_minimum(self, good):
        low = dataclasses.replace(good, consistency_score=0.85)
        (reason,) = refusal_reasons(low)
        assert "consistency score 0.850 is below the minimum 0.9" in reason
        assert refusal_reasons(low, min_consistency=0.8) == ()
        assert refusal_reasons(good, min_consistency=1.0) == ()  # 1.0 is not below 1.0

    def test_printed_totals_that_do_not_add_up(self, good):
        assert refusal_reasons(dataclasses.replace(good, totals_reconcile=False)) == (
            "the printed totals do not add up to the line items read",
        )

    @pytest.mark.parametrize("totals", ["printed", "none"])
    def test_a_line_that_does_not_multiply_out_is_refused_whatever_the_score(self, good, totals):
        # A quantity read as 0 (a scanner's text layer put it into the description): the line's
        # Extended is right, so the printed totals still add up and 33 of 34 lines hold (0.97).
        from cc_perf_dagster.core.validation import check_document

        items = list(good.line_items)
        billed = next(i for i, item in enumerate(items) if item.quantity and item.extended_price)
        items[billed] = dataclasses.replace(items[billed], quantity=0)
        block = good.totals if totals == "printed" else None
        report = check_document(items, block)
        misread = dataclasses.replace(
            good, line_items=tuple(items), totals=block, consistency_score=report.consistency_score,
            totals_reconcile=report.totals_reconcile, warnings=report.warnings,
        )  # fmt: skip
        assert misread.consistency_score > 0.9 and misread.totals_reconcile in (True, None)
        assert refusal_reasons(misread) == (
            "1 line does not multiply out (Extended is not quantity x Your Price: read or printed wrong): "
            + items[billed].product_code,
        )

    def test_no_totals_block_is_not_refused_but_visible(self, good):
        bare = dataclasses.replace(good, totals=None, totals_reconcile=None)
        assert refusal(bare) is None and not totals_printed(bare) and totals_printed(good)

    @pytest.mark.parametrize(
        ("pages", "reason"),
        [((2,), "page 2 of 2 has no text layer"), ((1, 2), "pages 1, 2 of 2 have no text layer")],
    )
    def test_pages_without_a_text_layer_are_named(self, good, pages, reason):
        (found,) = refusal_reasons(dataclasses.replace(good, textless_pages=pages))
        assert found.startswith(reason)

    @pytest.mark.parametrize(
        ("tree", "footer", "reason"),
        [
            (3, None, "only 2 of 3 pages could be read (the PDF's page tree declares 3)"),
            (None, 4, 'only 2 of 4 pages could be read (its "Page N of M" lines say 4)'),
            (3, 3, 'only 2 of 3 pages could be read (the PDF\'s page tree declares 3, its "Page N of M" lines say 3)'),
        ],
    )
    def test_fewer_pages_read_than_declared(self, good, tree, footer, reason):
        assert refusal_reasons(dataclasses.replace(good, declared_pages=tree, footer_pages=footer)) == (reason,)

    def test_undeclared_or_matching_page_counts_pass(self, good):
        assert refusal(dataclasses.replace(good, declared_pages=None, footer_pages=None)) is None
        assert refusal(dataclasses.replace(good, declared_pages=2, footer_pages=1)) is None  # more read than said

    @pytest.mark.parametrize(
        ("footers", "reason"),
        [
            (
                ((1, 3), (2, 3), (2, 3), (3, 3)),
                'pages 2 and 3 of the file both say "Page 2 of 3" (the same page twice)',
            ),
            (
                ((1, 2), (2, 2), (1, 2), (2, 2)),
                'pages 1 and 3 of the file both say "Page 1 of 2"; pages 2 and 4 of the file both say "Page 2 of 2" '
                "(different pages: two documents in one file?)",
            ),
            (
                ((2, 2), (1, 2)),
                'its pages are out of order (page 2 of the file says "Page 1 of 2", after "Page 2 of 2")',
            ),
            (
                ((1, 2), (2, 2), (1, 3)),
                'its pages belong to more than one document (their "Page N of M" lines count 2 and 3 pages)',
            ),
        ],
    )
    def test_pages_twice_out_of_order_or_of_two_documents(self, good, footers, reason):
        hashes = (
            ("a", "b", "b", "c") if len(footers) == 4 and footers[1] == footers[2] else tuple("abcd"[: len(footers)])
        )
        changed = dataclasses.replace(good, page_footers=footers, page_hashes=hashes, page_count=len(footers))
        assert refusal_reasons(changed) == (reason,)

    @pytest.mark.parametrize(
        "footers",
        [
            ((1, 2), (2, 2)),
            (None, (1, 2), (2, 2)),  # a cover sheet without a page line
            ((1, 2), None),  # a last page that prints none
            (None, None),  # pages that say nothing: nothing to judge
        ],
    )
    def test_pages_in_their_printed_order_pass(self, footers):
        assert page_order_reasons(footers) == []

    def test_the_same_page_twice_is_refused_without_page_lines_too(self, good):
        # Pages that print no "Page N of M": their content hashes still tell a page printed twice.
        changed = dataclasses.replace(good, page_footers=(None, None, None), page_hashes=("a", "b", "a"), page_count=3)
        assert refusal_reasons(changed) == ("pages 1 and 3 of the file are the same page",)
        assert same_pages(("a", "a", "b"), textless=(1, 2)) == []  # blank pages hash alike: another rule

    def test_every_doubt_is_a_reason(self, good):
        doubts = ('page 2: text "COPY" is drawn at 14.0 pt among product rows of 7.5 pt (a stamp?)',)
        assert refusal_reasons(dataclasses.replace(good, doubts=doubts)) == doubts

    def test_every_reason_is_kept(self, good):
        bad = dataclasses.replace(good, consistency_score=0.5, totals_reconcile=False, textless_pages=(2,))
        assert len(refusal_reasons(bad)) == 3


class TestRefusalValue:
    def test_names_the_file_and_raises_as_a_bad_document(self, good):
        refused = refusal(dataclasses.replace(good, line_items=()))
        assert refused == Refusal("CI004731586.pdf", (NO_LINE_ITEMS,))
        assert str(refused) == f"CI004731586.pdf: {NO_LINE_ITEMS}"
        assert refused.to_dict() == {"error": "not_bookable", "file": "CI004731586.pdf", "reasons": [NO_LINE_ITEMS]}
        with pytest.raises(NotBookableError) as raised:
            ensure_bookable(dataclasses.replace(good, line_items=()))
        error = raised.value
        assert isinstance(error, InvalidDocumentError) and isinstance(error, ValueError)
        assert error.code == "not_bookable" and error.reasons == (NO_LINE_ITEMS,)
        assert str(error) == f"CI004731586.pdf: not bookable: {NO_LINE_ITEMS}"
        assert ensure_bookable(good) is good

    def test_the_page_facts_survive_the_stored_record(self, good):
        changed = dataclasses.replace(
            good, declared_pages=3, footer_pages=3, textless_pages=(2,), page_footers=((1, 3), None, (3, 3))
        )
        back = invoice_from_record(invoice_to_record(changed))
        assert (back.declared_pages, back.footer_pages, back.textless_pages) == (3, 3, (2,))
        assert back.page_footers == ((1, 3), None, (3, 3))
        doubted = invoice_from_record(invoice_to_record(dataclasses.replace(good, doubts=("page 1: x",))))
        assert doubted.doubts == ("page 1: x",)
        assert refusal(back) == refusal(changed)


class TestRealDocuments:
    """Documents recognised as Creative Co-op but read badly, made on the fly."""

    def test_a_table_without_lines(self, tmp_path):
        invoice = extract_invoice(tableless_document(tmp_path / "CI004731586.pdf"))
        assert invoice.invoice_number == "CI004731586" and invoice.line_items == ()
        assert refusal_reasons(invoice) == (NO_LINE_ITEMS,)

    def test_a_page_that_decodes_to_nothing(self, tmp_path):
        invoice = extract_invoice(blank_page(TEST_INVOICES / "CI004731586.pdf", tmp_path / "x.pdf", page=2))
        assert invoice.page_count == 2 and invoice.textless_pages == (2,) and invoice.line_items
        assert refusal_reasons(invoice) == ("page 2 of 2 has no text layer (its lines were not read)",)

    def test_a_page_tree_that_lost_a_page(self, tmp_path):
        invoice = extract_invoice(hide_page(TEST_INVOICES / "CI004731586.pdf", tmp_path / "x.pdf", page=2))
        assert invoice.page_count == 1 and len(invoice.line_items) == 18 and invoice.consistency_score == 1.0
        assert (invoice.declared_pages, invoice.footer_pages, invoice.totals) == (2, 2, None)
        assert refusal_reasons(invoice) == (
            'only 1 of 2 pages could be read (the PDF\'s page tree declares 2, its "Page N of M" lines say 2)',
        )

    @pytest.mark.parametrize(
        ("name", "parts", "reason"),
        [
            # An order confirmation prints no totals: only its pages' own numbers can tell.
            ("page-twice", [("CS003702114", [0, 1, 1, 2])], 'pages 2 and 3 of the file both say "Page 2 of 3"'),
            ("whole-twice", [("CS003702114", None)] * 2, 'pages 1 and 4 of the file both say "Page 1 of 3"'),
            ("reversed", [("CS003702114", [2, 1, 0])], "its pages are out of order"),
            ("swapped", [("CS003702114", [0, 2, 1])], "its pages are out of order"),
            ("two-documents", [("CI004731586", None), ("CS003702114", None)], "more than one document"),
            ("two-invoices", [("CI004731586", None), ("CI004790233", None)], "two documents in one file?"),
        ],
    )
    def test_pages_repeated_reordered_or_of_two_documents_are_refused(self, tmp_path, name, parts, reason):
        # Each read without an error; before the page numbers were judged, the first four were
        # booked: 67 and 92 lines for 46, or 46 lines with tariffs joined to the wrong items.
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter()
        for stem, pages in parts:
            reader = PdfReader(TEST_INVOICES / f"{stem}.pdf")
            for index in range(len(reader.pages)) if pages is None else pages:
                writer.add_page(reader.pages[index])
        writer.write(tmp_path / f"{name}.pdf")
        reasons = refusal_reasons(extract_invoice(tmp_path / f"{name}.pdf"))
        assert any(reason in found for found in reasons), reasons

    def test_two_invoice_numbers_of_one_kind_are_a_doubt(self, tmp_path):
        from pypdf import PdfWriter

        writer = PdfWriter()
        for stem in ("CI004731586", "CI004790233"):
            writer.append(TEST_INVOICES / f"{stem}.pdf")
        writer.write(tmp_path / "two.pdf")
        invoice = extract_invoice(tmp_path / "two.pdf")
        # The second invoice's tariff lines, after the first one's totals, belong to no item, and
        # its description lines after them to none either: its descriptions end with a line cut.
        assert invoice.doubts == (
            "its pages name more than one invoice number (CI004731586, CI004790233): two documents?",
            "23 tariff line(s) among the line items belong to no item (8.64, 9.12, 4.32, 12.96, 30.24 and "
            "18 more): the rows they belong to may not have been read",
            "12 description(s) end as only a wrapped line does (DA1436, DA3244, DA6712A, DA8947, DF3016A and 7 "
            "more: '- 3-1/4\"H Recycled Glass Vase,'): a line after it was cut off or not read, the description "
            "read short",
        )
        assert invoice.doubts[0] in refusal_reasons(invoice)

    def test_totals_that_do_not_reconcile(self, tmp_path):
        invoice = extract_invoice(unreconciled_document(tmp_path / "x.pdf"))
        assert invoice.totals_reconcile is False and invoice.consistency_score > 0.9
        # The misprinted line, printed right but not multiplying out, is named too.
        assert refusal_reasons(invoice) == (
            "the printed totals do not add up to the line items read",
            "1 line does not multiply out (Extended is not quantity x Your Price: read or printed wrong): DA1067",
        )

    def test_an_order_confirmation_without_totals_stays_bookable(self):
        invoice = extract_invoice(TEST_INVOICES / "CS003702114.pdf")
        assert invoice.totals is None and invoice.line_items and refusal(invoice) is None
        assert Decimal(0) < sum(i.extended_price for i in invoice.line_items)
