"""The corpus's HTML printed by TCPDF's ``writeHTML()`` (``fixtures/tcpdf.py``), read with every engine."""

import os

import pytest

from cc_perf_dagster_tests.fixtures import tcpdf
from cc_perf_dagster_tests.fixtures.restyle import jobs, read_back

JOBS = {(job.spec.number, job.name): job for job in jobs(["plain", "mono"])}


@pytest.fixture(autouse=True)
def _tcpdf_installed():
    if not tcpdf.available():
        reason = "TCPDF needs Debian's php-cli and php-tcpdf (.ci/run installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI prints with TCPDF: {reason}")
        pytest.skip(reason)


def _read(tmp_path, key, font, engine):
    """The job ``key`` printed by TCPDF in ``font`` and read back: ``(outcome, differences)``."""
    job = JOBS[key]
    pdf = tmp_path / "tcpdf.pdf"
    pdf.write_bytes(tcpdf.render_tcpdf(job, font))
    return read_back(pdf, job.spec, engine)


@pytest.mark.parametrize("font", ["helvetica", "times"])
@pytest.mark.parametrize("key", [("CI004731586", "plain"), ("CI004848705", "own-bottom")], ids="-".join)
def test_quantities_drawn_against_their_units_read_exactly(tmp_path, key, font, engine):
    # TCPDF sets the Back Ordered number flush right against the U/M cell ("12each"): the unit
    # was booked "12each" and the quantity 0, silently (CI004731586), or the arithmetic failed.
    assert _read(tmp_path, key, font, engine) == ("exact", [])


def test_a_tariff_label_carried_over_a_page_break_is_no_description(tmp_path, engine):
    # In Times, CS003964075's "Tariff Surcharge" cell ends page 3 with "Tariff" and heads page 4
    # with "Surcharge", above the next product row: it was booked as that item's description's
    # first word, and the cells, taken for bottom-aligned, shared every description wrongly.
    outcome, reasons = _read(tmp_path, ("CS003964075", "plain"), "times", engine)
    assert outcome == "refused"
    assert "a line heads the page after a tariff line" in reasons[0] and "('Surcharge')" in reasons[0]


@pytest.mark.parametrize("font", tcpdf.FONTS)
@pytest.mark.parametrize("number", ["CS003702114", "CI004731586", "CS003964075"])
def test_every_plain_print_is_read_exactly_or_refused(tmp_path, number, font, engine):
    # Most of TCPDF's prints of these documents cannot be read for sure (descriptions drawn
    # into the quantity columns, a wrapped U/M heading, tariff labels in the description
    # column): never booked wrong.
    assert _read(tmp_path, (number, "plain"), font, engine)[0] in ("exact", "refused")


@pytest.mark.parametrize(
    "key, font",
    [
        (("CI004790233", "own-top"), "helvetica"),
        (("CI004790233", "own-bottom"), "times"),
        (("CS003837319", "own-top"), "times"),
    ],
    ids=["CI004790233-top-helvetica", "CI004790233-bottom-times", "CS003837319-top-times"],
)
def test_tariff_lines_wrapped_in_the_description_column_and_across_pages_read_exactly(tmp_path, key, font, engine):
    # A description column too narrow for "Tariff Surcharge 61.44": TCPDF wraps it into
    # "Tariff" / "Surcharge" / "61.44", all in the description cell, and breaks the cell over a
    # page ("Tariff" / "Surcharge" end one page, the amount heads the next; or "Tariff" ends it
    # and "Surcharge 5.52" heads the next). The amounts were lines no item could take (refused),
    # and a "Tariff" ending a page was booked as the end of the item's description, silently.
    assert _read(tmp_path, key, font, engine) == ("exact", [])


def test_the_monospace_print_is_read_exactly_or_refused(tmp_path, engine):
    # The monospace variant narrows the description column: XS6241's tariff prints as "Tariff" /
    # "Surcharge" / "23.76" in the description cell, now its tariff; the document is still refused
    # for a page whose column headings wrap further apart than a header's lines ("Product" over
    # "Code", 1.36 font sizes), so the amount heading it is a line no item can take.
    outcome, reasons = _read(tmp_path, ("CS003702114", "mono"), "helvetica", engine)
    assert outcome == "refused" and not any("'23.76'" in reason for reason in reasons)
