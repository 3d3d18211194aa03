"""The layout's row builder in C (``_rows.c``) builds what its Python reference builds.

Every page of the committed PDFs (test invoices, producer corpus, refused and bad files), read by
both engines, is built into rows by both and compared exactly: texts, and every coordinate to
the bit (``repr``, so ``-0.0`` is not ``0.0``). Seeded random pages test what the corpus holds
rarely: ties in position, whitespace of every kind inside runs, text drawn twice, glued pieces,
coordinates on a half of a hundredth, far off the page and not finite.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path
from unittest import mock

import pytest

from cc_perf_dagster.core import extract_invoice, invoice_to_dict, layout
from cc_perf_dagster.core.errors import CcPerfError
from cc_perf_dagster.core.layout import ACCELERATED, build_rows, python_rows
from cc_perf_dagster.core.models import TextRun
from cc_perf_dagster.core.pdf import PdfDocument
from cc_perf_dagster_tests.conftest import TEST_INVOICES, expected_for, field_differences, good_invoices

pytest.importorskip("pypdfium2")  # in the dev extras: both engines are always tested

COMMITTED = sorted(TEST_INVOICES.rglob("*.pdf"))
needs_c = pytest.mark.skipif(not ACCELERATED, reason="the C build is missing (test_the_c_build_is_there says why)")


def exactly(rows: list) -> list:
    """Rows as nested tuples of texts and ``repr``s of their numbers."""
    return [(repr(r.y), repr(r.size), [(w.text, repr(w.x0), repr(w.x1)) for w in r.words]) for r in rows]


def test_the_c_build_is_there():
    # `pip install` builds it wherever a C compiler is (the dev machines and CI have one).
    if not ACCELERATED:
        if os.environ.get("CI") == "true":
            pytest.fail("cc_perf_dagster.core._rows was not built: is gcc or the Python headers missing?")
        pytest.skip("cc_perf_dagster.core._rows was not built (no C compiler at install): Python only")


def _pages(path: Path, engine: str) -> list[list[TextRun]]:
    """Every page's runs that ``engine`` can read (a page or file it refuses has none to build)."""
    try:
        with PdfDocument(path, engine=engine) as doc:
            pages = []
            for page in doc.pages():
                try:
                    pages.append(doc.runs(page))
                except CcPerfError:
                    continue
            return pages
    except CcPerfError:
        return []


@needs_c
@pytest.mark.parametrize("engine", ["pypdf", "pdfium"])
@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(TEST_INVOICES)))
def test_both_build_every_committed_page_alike(path, engine):
    pages = _pages(path, engine)
    differing = [i for i, runs in enumerate(pages, 1) if exactly(build_rows(runs)) != exactly(python_rows(runs))]
    assert not differing, f"pages {differing}"
    assert pages or path.parent.name in ("bad", "unreadable")  # only a broken file has no page to compare


TEXTS = ["XS9840A", "19.60", "Tariff", "Surcharge", "a b", " lead", "trail ", "  ", "", "x\u00a0y", "\u3000z", "é"]


def _random_page(rng: random.Random) -> list[TextRun]:
    runs = []
    for _ in range(rng.randint(0, 60)):
        text = rng.choice(TEXTS) if rng.random() < 0.8 else "".join(rng.choice("ab .\t") for _ in range(4))
        x0 = rng.choice([0.125, 1.005, 2.675, -0.001, 99999.995, 1e6 + 0.125, round(rng.uniform(-5, 600), 3)])
        if runs and rng.random() < 0.3:  # touching, overlapping or drawn again over the one before
            before = rng.choice(runs)
            x0 = before.x1 + rng.choice([0.0, 0.3, -0.2, 2.0]) if rng.random() < 0.7 else before.x0 + 0.2
            text = before.text if rng.random() < 0.3 else text
        y = rng.choice([700.0, 700.1, 697.0, 690.0, round(rng.uniform(0, 800), 2)])
        runs.append(TextRun(text, x0, x0 + rng.uniform(-1, 60), y, rng.choice([6.0, 8.0, 8.0, 24.0])))
    return runs


@needs_c
@pytest.mark.parametrize("seed", range(20))
def test_both_build_random_pages_alike(seed):
    rng = random.Random(seed)
    for _ in range(100):
        runs = _random_page(rng)
        assert exactly(build_rows(runs)) == exactly(python_rows(runs)), runs


@needs_c
def test_a_position_that_is_no_finite_number_is_left_to_python():
    # Python's comparisons with NaN decide the order there; C hands the page back.
    runs = [TextRun("A", 10, 20, math.nan, 8), TextRun("B", 30, 40, 700, 8), TextRun("C", math.inf, 50, 700, 8)]
    assert layout._c_rows(runs, layout.Row, layout.Word, 0.4, 0.1, -0.3) is None
    assert exactly(build_rows(runs)) == exactly(python_rows(runs))


@pytest.mark.parametrize("path", good_invoices()[:2], ids=lambda p: p.name)
def test_without_the_c_build_every_field_is_read(path):
    # As on a machine that installed without a C compiler.
    with mock.patch.object(layout, "_c_rows", None):
        invoice = extract_invoice(path)
    compared, differences = field_differences(expected_for(path), invoice_to_dict(invoice))
    assert compared > 100 and not differences, differences[:5]
