"""Documents laid out by reportlab's platypus (``fixtures/platypus.py``), read with every engine."""

import pytest

from cc_perf_dagster_tests.fixtures.compose import compose
from cc_perf_dagster_tests.fixtures.platypus import STYLES, documents, render_platypus
from cc_perf_dagster_tests.fixtures.restyle import read_back

DOCUMENTS = documents()


@pytest.mark.parametrize("style", STYLES, ids=lambda s: f"{s[0].lower()}-{s[1]}")
@pytest.mark.parametrize("spec", DOCUMENTS, ids=lambda s: s.number)
def test_a_platypus_table_reads_exactly(tmp_path, spec, style, engine):
    # Platypus moves a row that does not fit to the next page whole. With cells aligned in the
    # middle, CS003702114's XS6899A ended a page with its last line ("Styles") under its row,
    # and the code before 2026-12-04 booked that line as the next item's first.
    valign, font = style
    pdf = tmp_path / f"{spec.number}.pdf"
    pdf.write_bytes(render_platypus(spec, compose(spec), valign=valign, font=font))
    assert read_back(pdf, spec, engine) == ("exact", [])
