"""Invoices printed by PDFKit with pdfkit-table (``fixtures/pdfkit_table.py``), read with every engine."""

import pytest

from cc_perf_dagster_tests.fixtures import pdfkit_table
from cc_perf_dagster_tests.fixtures.platypus import documents
from cc_perf_dagster_tests.fixtures.prints import Producer
from cc_perf_dagster_tests.fixtures.restyle import read_back

DOCUMENTS = {spec.number: spec for spec in documents()}
PRODUCER = Producer("PDFKit", pdfkit_table.missing, pdfkit_table.render_pdfkit_table)  # (conftest.py's ``printed``)


@pytest.mark.parametrize("style", ["Helvetica-fixed-p0", "Times-fixed-p2"])
@pytest.mark.parametrize("number", ["CI004731586", "CS003837319"])
def test_pdfkit_table_prints_read_exactly(printed, number, style, engine):
    assert read_back(printed(number, style), DOCUMENTS[number], engine) == ("exact", [])


@pytest.mark.parametrize("number", ["CI004731586", "CS003964075"])
def test_tariff_lines_in_rows_padded_past_their_gap_are_their_items(printed, number, engine):
    # Five points of padding put every tariff line, in a row of its own, 3.4 font sizes under its
    # product row, past the 3.2 a tariff line sits at: each was left to no item, the last taken
    # for the totals block's tariff, and the document refused. Each is 15% of its item's
    # extended price, and nothing else stands between two product rows: read exactly.
    assert read_back(printed(number, "Helvetica-fixed-p5"), DOCUMENTS[number], engine) == ("exact", [])


def test_a_word_broken_inside_where_it_would_fit_the_next_line_is_refused(printed, engine):
    # In Courier with five points of padding PDFKit breaks "Embroidered" after "20"L Embroi", the
    # line then full, and "Nutcracker," after "4"H Resin N", though each would fit the next line
    # whole. Read as printed, they were booked "Embroi dered" and "N utcracker," once the tariff
    # lines wrapped under their labels were read: refused instead, naming both breaks.
    outcome, reasons = read_back(printed("CI004790233", "Courier-even-p5"), DOCUMENTS["CI004790233"], engine)
    assert outcome == "refused"
    assert "(Embroi / dered, N / utcracker,): a word may be broken in two" in reasons[0]


def test_a_totals_label_ending_a_page_and_its_amount_heading_the_next_read_exactly(printed, engine):
    # Five points of padding in Times: PDFKit prints "Order Total" alone on page 13 and its amount
    # alone on page 14. The block was read without its Total and the document refused; the
    # label and the amount are one total now (labels.TotalPieces).
    assert read_back(printed("CS003837319", "Times-fixed-p5"), DOCUMENTS["CS003837319"], engine) == ("exact", [])
