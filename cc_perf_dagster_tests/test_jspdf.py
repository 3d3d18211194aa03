"""Invoices printed by jsPDF with its autotable plugin (``fixtures/jspdf.py``), read with every engine."""

import pytest

from cc_perf_dagster_tests.fixtures import jspdf
from cc_perf_dagster_tests.fixtures.platypus import documents
from cc_perf_dagster_tests.fixtures.prints import Producer
from cc_perf_dagster_tests.fixtures.restyle import read_back

DOCUMENTS = {spec.number: spec for spec in documents()}
PRODUCER = Producer("jsPDF", jspdf.missing, jspdf.render_jspdf)  # the prints of ``printed`` (conftest.py)


@pytest.mark.parametrize(
    "style", ["helvetica-top-auto-striped", "times-middle-avoid-grid", "helvetica-bottom-avoid-striped"]
)
@pytest.mark.parametrize("number", ["CI004848705", "CS003837319"])
def test_autotable_prints_read_exactly(printed, number, style, engine):
    assert read_back(printed(number, style), DOCUMENTS[number], engine) == ("exact", [])


def test_a_row_broken_across_pages_in_cells_aligned_middle_reads_exactly(printed, engine):
    # autotable breaks DG2054A's cell across pages 2 and 3: its last line "Styles" heads page 3,
    # just above DG3620's first line. Both lines were booked as DG3620's description
    # ("Styles 72"L Beaded ...") and DG2054A's read a line short, silently.
    pdf = printed("CI004848705", "times-middle-auto-striped")
    assert read_back(pdf, DOCUMENTS["CI004848705"], engine) == ("exact", [])


@pytest.mark.parametrize("style", ["times-bottom-auto-grid", "times-bottom-auto-striped"])
def test_a_row_broken_across_pages_in_cells_aligned_bottom_reads_exactly(printed, style, engine):
    # The same break with cells aligned bottom: "Styles" heads page 3, a cell boundary above
    # DG3620's first line, which stands a line above its row. The rows broken earlier had left
    # lines below them on the next page, so the document was not read as aligned bottom, and
    # the lines were refused as told apart by no count. A broken row's carried lines are no
    # evidence of the alignment now, and on the lower row's page the gaps compare.
    assert read_back(printed("CI004848705", style), DOCUMENTS["CI004848705"], engine) == ("exact", [])


@pytest.mark.parametrize("style", ["helvetica-top-first-head", "helvetica-middle-first-head-no-footer"])
def test_a_cells_lines_carried_to_a_page_without_column_headings_above_its_tariff_line_read_exactly(
    printed, style, engine
):
    # The heading row on the first page only: page 2 ends with XS3777A's "Dish w/ Gold Edge,
    # Cream & Black,", page 3 starts with "6 Styles" and XS3777A's tariff line. "6 Styles" was
    # taken for a page header and left out without a word; only the comma it followed had the
    # document refused (heads.PageHeads).
    assert read_back(printed("CS003837319", style), DOCUMENTS["CS003837319"], engine) == ("exact", [])


@pytest.mark.parametrize(
    ("number", "style"),
    [
        ("CI004848705", "helvetica-bottom-h640"),
        ("CS003837319", "helvetica-bottom-h640"),
        ("CI004848705", "times-bottom-h560"),
    ],
)
def test_rows_broken_across_pages_in_cells_aligned_bottom_read_exactly(printed, number, style, engine):
    # Shorter pages, cells aligned bottom, rows broken across pages. CI004848705: DG5089's last
    # line "Colors" heads page 4 above DG7670A's first, and both went to DG7670A. CS003837319:
    # a row broken earlier left lines below it on the next page, the document was taken for
    # aligned middle, and XS8872's first line, heading page 7, went to XS2920A above it. Times,
    # padded: DF7222A's "Dish, 3 Styles" alone heads page 4, a cell boundary above DF7271's row,
    # and went to DF7271. All were booked wrong without a word (cells.widest_after_break, told by
    # the document's line spacing where a line is alone; alignment: a broken row's lines are no
    # evidence of the alignment).
    assert read_back(printed(number, style), DOCUMENTS[number], engine) == ("exact", [])
