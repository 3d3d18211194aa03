"""The restyle probe (``fixtures/restyle.py``) on two of its variants, printed by Chromium."""

import dataclasses

import pytest

from cc_perf_dagster_tests.fixtures.html import LIGATURE_FONT
from cc_perf_dagster_tests.fixtures.restyle import VARIANTS, Job, jobs, run
from cc_perf_dagster_tests.ui_driver import find_chromium

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (apt-get install chromium)")


def test_restyled_chromium_prints_read_exactly_with_both_engines(tmp_path):
    # CS003964075 in DejaVu Sans (wider than its Liberation Sans) with word spacing: long
    # descriptions touch the flush-right Qty Ord ("Ornament,12"), which the code before
    # 2026-12-04 booked as Qty Ord 0. Borders change nothing.
    (base,) = [job for job in jobs(["plain"], more=False) if job.spec.number == "CS003964075"]
    wide = dataclasses.replace(base.style, font_family=LIGATURE_FONT)
    todo = [Job(name, base.spec, wide, VARIANTS[name]) for name in ("wspace", "grid")]
    counts, wrong = run(tmp_path, todo, ["chromium"])
    assert wrong == [] and dict(counts) == {"exact": 4}


def test_descriptions_set_at_line_height_1_read_exactly_with_both_engines(tmp_path):
    # CSS `line-height: 1`, which Chromium rounds to its pixel line by line: in 6.6 pt text the
    # lines of a cell stand 6.0 and 6.75 pt apart by turns, closer than the 0.98 font sizes where
    # lines were taken to overlap (a cell's text running past its row), and both documents were
    # refused. Their rows grow with their cells, so no text ran past a row. Cells aligned bottom
    # (CI004731586) and middle (CS003702114).
    css = "table.items td { line-height: 1 !important; }"
    todo = [
        Job("line-height-1", job.spec, job.style, css)
        for job in jobs(["plain"], more=False)
        if job.spec.number in ("CI004731586", "CS003702114")
    ]
    counts, wrong = run(tmp_path, todo, ["chromium"])
    assert wrong == [] and dict(counts) == {"exact": 4}
