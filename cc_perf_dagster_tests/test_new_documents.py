"""Documents the repository does not hold (``fixtures/new_documents.py``), printed and read with every engine."""

import pytest

from cc_perf_dagster_tests.fixtures import itext, pdfmake, tcpdf
from cc_perf_dagster_tests.fixtures.compose import compose
from cc_perf_dagster_tests.fixtures.html import HtmlStyle
from cc_perf_dagster_tests.fixtures.layout import A4_SIZE, LETTER_SIZE
from cc_perf_dagster_tests.fixtures.new_documents import (
    PRODUCERS,
    new_document,
    print_fpdf2,
    print_html,
    print_platypus,
    print_reportlab,
    sample,
)
from cc_perf_dagster_tests.fixtures.page_breaks import render
from cc_perf_dagster_tests.fixtures.prints import require
from cc_perf_dagster_tests.fixtures.restyle import VARIANTS, Job, read_back
from cc_perf_dagster_tests.fixtures.specs import fixture_specs


def test_a_new_document_is_made_again_from_its_seed_and_is_no_fixture():
    made = [new_document(seed) for seed in range(8)]
    assert made == [new_document(seed) for seed in range(8)]
    fixtures = {spec.number for spec in fixture_specs()}
    assert not fixtures & {spec.number for spec in made}
    assert len({tuple(item.product_code for item in spec.items) for spec in made}) == len(made)
    assert {spec.doc_type for spec in made} == {"invoice", "order_confirmation"}


@pytest.mark.parametrize("seed", range(6))
def test_new_documents_drawn_by_the_generator_read_exactly(seed, engine, tmp_path):
    spec = new_document(seed)
    pdf = tmp_path / f"reportlab-{seed}.pdf"
    pdf.write_bytes(print_reportlab(spec))
    assert read_back(pdf, spec, engine) == ("exact", [])


@pytest.mark.parametrize(("seed", "style", "height"), [(106075, "Times-fixed-plain-keep", 660), (7, "Times-pad8", 540)])
def test_new_documents_printed_by_pdfmake_on_shorter_pages_read_exactly(seed, style, height, engine, tmp_path):
    # pdfmake sets Times' lines 0.90 font sizes apart: on a shorter page whose every row wraps,
    # the page shows nothing of how its rows are made, and goes as the document's other pages
    # show (row_height.GrowingRows.overlaps). The first print was refused before that.
    require(pdfmake.missing, "pdfmake")
    spec = new_document(seed)
    pdf = tmp_path / f"pdfmake-{seed}.pdf"
    pdf.write_bytes(render("pdfmake", spec, style, height))
    assert read_back(pdf, spec, engine) == ("exact", [])


@pytest.mark.parametrize("producer", ["fpdf2", "platypus"])
def test_new_documents_laid_out_by_other_python_producers_read_exactly(producer, engine, tmp_path):
    # --producers draws from the other probes' producers too: fpdf2's table() and platypus's
    # Table lay the rows out themselves, cells aligned top, in Helvetica.
    spec = new_document(4)
    if producer == "fpdf2":
        data = print_fpdf2(spec, "TOP", False, "helvetica")
    else:
        data = print_platypus(spec, "TOP", "Helvetica")
    pdf = tmp_path / f"{producer}.pdf"
    pdf.write_bytes(data)
    assert read_back(pdf, spec, engine) == ("exact", [])
    assert {name.split("-")[0] for name, _, _ in sample(6, 1, [producer])} == {producer}


@pytest.mark.parametrize("seed", range(4))
def test_new_documents_in_layouts_of_their_own_read_exactly(seed, engine, tmp_path):
    # --layouts: the type's size, the lines' spacing, the rows' gap and the description column's
    # width drawn too, so descriptions wrap where no fixture's do.
    spec = new_document(seed, layout=True)
    assert spec.layout != new_document(seed).layout
    pdf = tmp_path / f"reportlab-{seed}.pdf"
    pdf.write_bytes(print_reportlab(spec))
    assert read_back(pdf, spec, engine) == ("exact", [])


def test_a_row_whose_description_holds_a_number_beside_the_numbers_reads_exactly(engine, tmp_path):
    # iText in Courier, cells aligned bottom, in a layout of the document's own: DF9122A's code
    # and UPC wrap a line above its numbers, which share the description's last line "Stem, 6
    # Styles". It was booked "11-3/4" Stem, 6 Dia Styles Paper Mache Pumpkin w/ Real" (the
    # cells right of the description taken from that "6" on), without a word.
    require(itext.missing, "iText")
    spec = new_document(553509, layout=True)
    pdf = tmp_path / "itext-553509.pdf"
    pdf.write_bytes(itext.render_itext(spec, "courier-bottom-late-p4-l0"))
    assert read_back(pdf, spec, engine) == ("exact", [])


@pytest.mark.parametrize("seed", range(4))
def test_new_documents_in_looks_of_their_own_read_exactly(seed, engine, tmp_path):
    # --looks: another font family, paper and margins, numbers aligned right, centred or left,
    # the footer and an invoice's tariff amount placed as another fixture places them.
    spec = new_document(seed, layout=True, look=True)
    assert spec.layout != new_document(seed, layout=True).layout
    pdf = tmp_path / f"reportlab-{seed}.pdf"
    pdf.write_bytes(print_reportlab(spec))
    assert read_back(pdf, spec, engine) == ("exact", [])


def test_the_looks_drawn_wear_every_font_paper_and_alignment():
    layouts = [new_document(seed, look=True).layout for seed in range(40)]
    assert {layout.font for layout in layouts} == {"Helvetica", "Times-Roman", "Courier"}
    assert {layout.page_size for layout in layouts} == {LETTER_SIZE, A4_SIZE}
    assert {layout.columns[-1].align for layout in layouts} == {"right", "center", "left"}


def test_new_documents_restyled_by_a_browser_read_exactly(engine, tmp_path):
    # --producers also draws the restyle probe's HTML printers (Chromium, Firefox, WeasyPrint,
    # wkhtmltopdf, MuPDF), each print in a CSS variant of the restyle probe's (here Chromium).
    require(PRODUCERS["chromium-restyled"][0], "Chromium")
    drawn = sample(6, 3, ["chromium-restyled"])
    assert len({name.split("-")[2] for name, _, _ in drawn}) > 1  # (variants drawn apart)
    name, spec, render = drawn[0]
    pdf = tmp_path / name
    pdf.write_bytes(render())
    assert read_back(pdf, spec, engine) == ("exact", [])


def test_new_documents_printed_by_tcpdf_read_exactly(engine, tmp_path):
    # TCPDF's writeHTML() sizes the columns itself.
    require(PRODUCERS["tcpdf"][0], "TCPDF")
    spec = new_document(953252)
    pdf = tmp_path / "tcpdf-953252.pdf"
    pdf.write_bytes(tcpdf.render_tcpdf(Job("plain", spec, HtmlStyle()), "helvetica"))
    assert read_back(pdf, spec, engine) == ("exact", [])


@pytest.mark.parametrize(("option", "seed"), [("blank_zeros", 41), ("blank_zeros", 43), ("bulk", 51), ("bulk", 53)])
def test_new_documents_with_zeros_left_blank_or_in_bulk_read_exactly(option, seed, engine, tmp_path):
    # --blank-zeros: a quantity cell of 0 left blank, as a report that suppresses zeros prints it
    # (a zero line's Shipped on an invoice, its Qty Alloc on an order confirmation). --bulk:
    # quantities 6 to 25 times as large, a row's numbers printed "1,200" and "1,152.00".
    spec = new_document(seed, **{option: True})
    pdf = tmp_path / f"reportlab-{seed}.pdf"
    pdf.write_bytes(print_reportlab(spec))
    assert read_back(pdf, spec, engine) == ("exact", [])
    texts, plain = ([cell.text for page in compose(s).pages for cell in page.cells] for s in (spec, new_document(seed)))
    if option == "blank_zeros":
        assert texts.count("0") == 0 < plain.count("0")
    else:
        assert any("," in text and text.replace(",", "").replace(".", "").isdigit() for text in texts)


def test_a_description_drawn_over_its_quantity_by_a_browser_is_refused(engine, tmp_path):
    # Chromium, letters spaced 0.6 px apart, a layout and look of the document's own, in bulk:
    # XS6867's "Canister" ran over its cell onto Qty Ord's "288", and the line read "Caniste2
    # r88" (the pypdf engine's glyphs): "88" was booked as the quantity ordered, without a word.
    require(PRODUCERS["chromium-restyled"][0], "Chromium")
    spec = new_document(760040, layout=True, look=True, bulk=True)
    pdf = tmp_path / "chromium-760040-lspace-top.pdf"
    pdf.write_bytes(print_html(spec, "chromium", "top", VARIANTS["lspace"]))
    outcome, reasons = read_back(pdf, spec, engine)
    assert outcome == "refused" and "XS6867: its words are drawn over one another" in reasons[0]
