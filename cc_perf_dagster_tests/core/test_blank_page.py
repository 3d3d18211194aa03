"""Blank pages: let be where the document's own page numbering counts them out, else refused."""

from pathlib import Path

import pytest

from cc_perf_dagster.core import extract_invoice, invoice_to_dict
from cc_perf_dagster.core.bookability import refusal, refusal_reasons
from cc_perf_dagster.core.export import invoice_from_record, invoice_to_record
from cc_perf_dagster_tests.conftest import TEST_INVOICES, expected_for, field_differences

# Two pages, "Page 1 of 2" and "Page 2 of 2".
SOURCE = TEST_INVOICES / "CI004731586.pdf"

NOTHING = [
    None,  # no content stream at all (WeasyPrint, Chromium)
    b"",
    b"q 1 0 0 1 0 0 cm BT ET Q",  # a text object that shows nothing
    b"1 1 1 rg 0 0 612 792 re f",  # a white background (wkhtmltopdf, Qt)
    b"q 1 g 0 0 612 792 re f Q 0 0 0 0 k 10 10 5 5 re f",
    b"/DeviceRGB cs 1 1 1 sc 0 0 612 792 re f 1 1 1 RG 0 0 m 612 792 l S",
    b"0 0 0 rg 0 0 m 612 792 l n",  # a path ended without painting (a clip)
]
SOMETHING = [
    b"0 0 0 rg 0 0 100 100 re f",  # black
    b"1 1 1 rg 0 0 100 100 re B",  # filled white, stroked black
    b"/DeviceRGB cs 1 1 1 sc /Pattern cs /P1 scn 0 0 100 100 re f",  # a pattern, not white
    b"/Sep cs 1 scn 0 0 100 100 re f",  # a colour space that is not a device space: full ink
    b"/Im1 Do",
    b"0 0 m 100 100 l S",  # a line, in the initial colour (black)
]


def with_page(
    dst: Path, content: bytes | None, *, at: int | None = None, annotated: bool = False, src: Path = SOURCE
) -> Path:
    """Copy ``src`` to ``dst`` with a page added (at the end, or before 0-based ``at``) drawing ``content``."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, StreamObject

    writer = PdfWriter(clone_from=PdfReader(src))
    page = writer.add_blank_page() if at is None else writer.insert_blank_page(index=at)
    if content is not None:
        stream = StreamObject()
        stream.set_data(content)
        page[NameObject("/Contents")] = writer._add_object(stream)
    if annotated:
        note = DictionaryObject({NameObject("/Type"): NameObject("/Annot")})
        note[NameObject("/Subtype")] = NameObject("/Text")
        page[NameObject("/Annots")] = ArrayObject([writer._add_object(note)])
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def read_as_the_original(invoice, *, pages: int) -> list[str]:
    expected = {**expected_for(SOURCE), "page_count": pages}
    actual = {**invoice_to_dict(invoice), "file": expected["file"], "sha256": expected["sha256"]}
    actual["warnings"] = [w for w in actual["warnings"] if "blank" not in w]
    actual.pop("blank_pages")
    return field_differences(expected, actual)[1]


@pytest.mark.parametrize("content", NOTHING, ids=lambda c: "none" if c is None else (c.decode() or "empty"))
def test_a_blank_last_page_is_let_be(content, engine, tmp_path):
    # A browser's empty last page: the numbered pages are "Page 1 of 2" and "Page 2 of 2".
    invoice = extract_invoice(with_page(tmp_path / "x.pdf", content), engine=engine)
    assert (invoice.blank_pages, invoice.textless_pages) == ((3,), ())
    assert 'page(s) 3 blank (nothing drawn), left out by the pages\' own "Page N of M" lines' in invoice.warnings
    assert refusal(invoice) is None and read_as_the_original(invoice, pages=3) == []


def test_a_blank_page_between_numbered_pages_is_let_be(engine, tmp_path):
    invoice = extract_invoice(with_page(tmp_path / "x.pdf", None, at=1), engine=engine)
    assert (invoice.blank_pages, invoice.textless_pages, refusal(invoice)) == ((2,), (), None)
    assert [item.page for item in invoice.line_items][-1] == 3 and read_as_the_original(invoice, pages=3) != []


def test_two_blank_pages_are_not_the_same_page_twice(tmp_path):
    once = with_page(tmp_path / "once.pdf", b"")
    invoice = extract_invoice(with_page(tmp_path / "x.pdf", b"", src=once))
    assert (invoice.blank_pages, refusal(invoice)) == ((3, 4), None)


@pytest.mark.parametrize("content", SOMETHING, ids=lambda c: c.decode())
def test_a_page_that_draws_something_but_no_text_is_refused(content, engine, tmp_path):
    invoice = extract_invoice(with_page(tmp_path / "x.pdf", content), engine=engine)
    assert (invoice.blank_pages, invoice.textless_pages) == ((), (3,))
    assert "page 3 of 3 has no text layer (its lines were not read)" in refusal_reasons(invoice)


def test_a_page_with_an_annotation_is_no_blank_page(tmp_path):
    invoice = extract_invoice(with_page(tmp_path / "x.pdf", None, annotated=True))
    assert (invoice.blank_pages, invoice.textless_pages) == ((), (3,)) and refusal(invoice) is not None


def test_a_blank_page_where_the_numbering_misses_a_page_is_refused(tmp_path):
    # Page 2 ("Page 2 of 2") emptied: blank, but its number is missing, so content may be lost.
    from cc_perf_dagster_tests.conftest import blank_page

    emptied = blank_page(SOURCE, tmp_path / "x.pdf", page=2)
    invoice = extract_invoice(emptied)
    assert (invoice.blank_pages, invoice.textless_pages) == ((), (2,)) and refusal(invoice) is not None
    # A blank page added to it does not make up for the missing number either.
    invoice = extract_invoice(with_page(tmp_path / "y.pdf", None, src=emptied))
    assert (invoice.blank_pages, invoice.textless_pages) == ((), (2, 3)) and refusal(invoice) is not None


def test_blank_pages_survive_the_record(tmp_path):
    invoice = extract_invoice(with_page(tmp_path / "x.pdf", None))
    back = invoice_from_record(invoice_to_record(invoice))
    assert back.blank_pages == (3,) and back == invoice
