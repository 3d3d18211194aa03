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


@pytest.mark.parametrize(
    ("number", "style"),
    [
        ("CS003837319", "helvetica-top-late-p4-l0"),
        ("CI004731586", "helvetica-middle-late-p4-l0"),
        ("CS003837319", "helvetica-bottom-late-p4-l0"),
    ],
)
def test_upcs_wrapped_in_their_cells_are_joined(printed, number, style, engine):
    # Four points of padding leave eleven digits of room in the UPC column: "191009727774"
    # prints as "19100972777" over "4" (cells aligned top), under it (bottom) or around the
    # row's line, which holds neither (middle). Every row was read without its UPC and the
    # document refused; the pieces make one UPC whose check digit is right, and the
    # description column is wide enough that no word of it was broken: it reads exactly.
    assert read_back(printed(number, style), DOCUMENTS[number], engine) == ("exact", [])


def test_a_unit_wrapped_above_its_row_beside_the_descriptions_first_line_is_joined(printed, engine):
    # Courier, cells aligned bottom, leading 1.2: DF3007's unit "lo each" wraps and its first
    # part shares the description's first line, 2.3 font sizes under the tariff line above. It
    # was let be as a note under the table and the item booked a line short, silently (behind
    # the refusal of its wrapped UPCs until they were joined); then it was refused, the line
    # fitting no column. "lo" and the row's "each" make the vendor's unit: it reads exactly.
    pdf = printed("CI004731586", "courier-bottom-late-p4-l1.2")
    assert read_back(pdf, DOCUMENTS["CI004731586"], engine) == ("exact", [])


@pytest.mark.parametrize(
    ("number", "style"), [("CI004731586", "courier-middle-late-p4-l0"), ("CI004848705", "courier-middle-whole-p2-l0")]
)
def test_a_unit_wrapped_around_a_row_whose_upc_wraps_around_it_too_is_joined(printed, number, style, engine):
    # Courier, cells aligned middle: the row's line holds only its code and numbers; "lo" and
    # the UPC's first digits lie half a line above it, "each" and its last digit half a line
    # below. Once the UPC was joined onto the row, its twelve digits were taken for a quantity,
    # so the unit's cell seemed to start at the UPC and "lo" shared it with the description:
    # refused ("does not fit the description column"). A UPC is no quantity: it reads exactly.
    assert read_back(printed(number, style), DOCUMENTS[number], engine) == ("exact", [])
