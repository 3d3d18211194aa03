"""Invoices printed by pdfmake (``fixtures/pdfmake.py``), read with every engine."""

import pytest

from cc_perf_dagster_tests.fixtures import pdfmake
from cc_perf_dagster_tests.fixtures.platypus import documents
from cc_perf_dagster_tests.fixtures.prints import Producer
from cc_perf_dagster_tests.fixtures.restyle import read_back

DOCUMENTS = {spec.number: spec for spec in documents()}
PRODUCER = Producer("pdfmake", pdfmake.missing, pdfmake.render_pdfmake)  # the prints of ``printed`` (conftest.py)


@pytest.mark.parametrize(
    ("number", "style"),
    [
        ("CI004848705", "Times-auto-grid-keep"),
        ("CS003837319", "Helvetica-star-grid-keep"),
        ("CI004731586", "Liberation-star-plain-break"),
        ("CS003837319", "Helvetica-star-once"),  # the heading row on the first page only
    ],
)
def test_pdfmake_prints_read_exactly(printed, number, style, engine):
    assert read_back(printed(number, style), DOCUMENTS[number], engine) == ("exact", [])


def test_a_unit_wrapped_below_its_row_and_a_label_broken_inside_its_word_are_read(printed, engine):
    # The layout's column widths less pdfmake's padding: "lo each" wraps in the U/M column, "each"
    # on the description's second line ("Pitcher w/ Handle, Speckled each", XS4444), and the
    # heading "Shipped" breaks as "Shippe" over "d". Refused before: the line fitted no column.
    assert read_back(printed("CS003964075", "Helvetica-fixed-plain-break"), DOCUMENTS["CS003964075"], engine) == (
        "exact",
        [],
    )


def test_rows_whose_upc_wraps_in_every_row_are_not_taken_for_rows_of_one_height(printed, engine):
    # DejaVu Sans in the layout's widths: every UPC wraps, its last digits on a line of their own
    # where the description has one line, so every row is two lines tall. Once the UPC was
    # joined, those lines were gone and rows of one and two description lines stood alike: "rows
    # of one height", every full cell a doubt of text cut off. The lines count as the rows' own.
    assert read_back(printed("CI004731586", "DejaVu-fixed-plain-keep"), DOCUMENTS["CI004731586"], engine) == (
        "exact",
        [],
    )


@pytest.mark.parametrize(
    ("number", "style"), [("CS003837319", "Courier-fixed-plain-keep"), ("CS003702114", "Courier-star-grid-break")]
)
def test_courier_lines_set_closer_than_other_fonts_lines_are_read_where_the_rows_grow_by_them(
    printed, number, style, engine
):
    # pdfmake sets Courier's lines 0.79 font sizes apart (its ascent less its descent): closer
    # than any other layout seen (0.85, patterns.TIGHT_LINES), so every wrapped description was
    # once a line overlapping its neighbour, and the print refused. The rows grow by that
    # spacing for each line their cells hold (row_height.line_growth): it is the layout's own.
    assert read_back(printed(number, style), DOCUMENTS[number], engine) == ("exact", [])


@pytest.mark.parametrize(
    ("number", "style"), [("CI004848705", "Times-pad8"), ("CS003837319", "Helvetica-fixed-plain-keep")]
)
def test_lines_set_tightly_on_a_page_whose_rows_show_nothing_go_as_the_other_pages_show(printed, number, style, engine):
    # pdfmake spaces Times' lines 0.90 font sizes apart and Helvetica's 0.925, closer than rows of
    # one height allow. Where every measured row of a page holds as many lines (CI004848705's
    # pages 1 and 3, CS003837319's page 4), the page shows nothing of how its rows are made, and
    # its wrapped descriptions were lines overlapping their neighbours, the print refused, while
    # the document's other pages showed its rows growing by those lines: the table is one.
    assert read_back(printed(number, style), DOCUMENTS[number], engine) == ("exact", [])


def test_a_unit_wrapped_in_a_row_broken_across_pages_is_refused_naming_its_pieces(printed, engine):
    # A shorter page breaks DF2316A's row: "lo" ends page 1 on the row's line, "each" heads page
    # 2 just under the column headings. The line there was taken for a heading's wrapped end and
    # left out, and the unit booked "lo" without a word. Both pieces are named now: "each" reads
    # as a value of the number columns, and "lo" is only part of the vendor's "lo each".
    outcome, reasons = read_back(printed("CI004848705", "Times-star-h580"), DOCUMENTS["CI004848705"], engine)
    assert outcome == "refused"
    assert '"each" lies on a line of its own in the quantity, unit and price columns' in reasons[0]
    assert "read with a unit that is only part of one of the vendor's (DF2316A: 'lo')" in reasons[0]
