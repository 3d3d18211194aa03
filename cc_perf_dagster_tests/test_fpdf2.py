"""Documents laid out by fpdf2's ``table()`` (``fixtures/fpdf2.py``), read with every engine."""

import pytest

from cc_perf_dagster_tests.fixtures.compose import compose
from cc_perf_dagster_tests.fixtures.fpdf2 import STYLES, VERA, documents, render_fpdf2
from cc_perf_dagster_tests.fixtures.restyle import read_back

DOCUMENTS = documents()


@pytest.mark.parametrize("style", STYLES, ids=lambda s: f"{s[0].lower()}{'-justified' if s[1] else ''}")
@pytest.mark.parametrize("spec", DOCUMENTS, ids=lambda s: s.number)
def test_an_fpdf2_table_in_a_standard_font_reads_exactly(tmp_path, spec, style, engine):
    # fpdf2's own encoding of Helvetica, unembedded; justified cells widen word spaces with Tw.
    valign, justified = style
    pdf = tmp_path / f"{spec.number}.pdf"
    pdf.write_bytes(render_fpdf2(spec, compose(spec), valign=valign, justified=justified))
    assert read_back(pdf, spec, engine) == ("exact", [])


# Documents with a page whose rows are all two lines tall (a UPC wrapped in each, no description
# of three lines): nothing there tells rows that grow with their cells from rows of one height.
ALL_ROWS_TWO_LINES_TALL = {"CI004731586", "CI004848705"}


@pytest.mark.parametrize("spec", DOCUMENTS, ids=lambda s: s.number)
def test_an_fpdf2_table_in_an_embedded_font_is_read_exactly_or_refused_for_its_row_height(tmp_path, spec, engine):
    # Bitstream Vera, a TrueType subset drawn by glyph id. Where a 12-digit UPC does not fit its
    # column, fpdf2 breaks it inside the number; the pieces are joined (their check digit is
    # right), and the lines that held only a UPC's last digits count as their rows'. Once they
    # were left out, a row of one description line stood as far from the next as a row of two,
    # as in rows of one height that may have cut text off, and every such document was refused.
    # A page whose row of three lines stands a line taller shows its rows growing: read exactly.
    # Where no page of it can show that, the document stays refused, and the reason says so.
    pdf = tmp_path / f"{spec.number}.pdf"
    pdf.write_bytes(render_fpdf2(spec, compose(spec), font=VERA))
    outcome, differences = read_back(pdf, spec, engine)
    if spec.number not in ALL_ROWS_TWO_LINES_TALL:
        assert (outcome, differences) == ("exact", [])
    else:
        assert outcome == "refused" and "so text that did not fit may have been cut off" in differences[0], differences
