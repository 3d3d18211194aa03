"""Invoices printed by iText 5's PdfPTable (``fixtures/itext.py``), read with every engine."""

import pytest

from cc_perf_dagster_tests.fixtures import itext
from cc_perf_dagster_tests.fixtures.platypus import documents
from cc_perf_dagster_tests.fixtures.prints import Producer
from cc_perf_dagster_tests.fixtures.restyle import read_back

DOCUMENTS = {spec.number: spec for spec in documents()}
PRODUCER = Producer("iText", itext.missing, itext.render_itext)  # the prints of ``printed`` (conftest.py)


@pytest.mark.parametrize("style", ["helvetica-top-late-p2-l0", "times-middle-whole-p2-l1.2"])
@pytest.mark.parametrize("number", ["CI004731586", "CS003837319"])
def test_pdfptable_prints_read_exactly(printed, number, style, engine):
    assert read_back(printed(number, style), DOCUMENTS[number], engine) == ("exact", [])


@pytest.mark.parametrize("style", ["helvetica-top-late-p4-l0", "helvetica-bottom-late-p4-l0"])
def test_upcs_wrapped_in_their_cells_are_refused_naming_the_rows(printed, style, engine):
    # Four points of padding leave eleven digits of room in the UPC column: "191009727774"
    # prints as "19100972777" over "4" (cells aligned top) or under it (bottom). Every row is
    # read without its UPC, and the document is refused, saying so.
    outcome, reasons = read_back(printed("CS003837319", style), DOCUMENTS["CS003837319"], engine)
    assert outcome == "refused"
    assert "135 product row(s) read without the UPC every line prints: XS9826A, XS8911A" in reasons[0]
