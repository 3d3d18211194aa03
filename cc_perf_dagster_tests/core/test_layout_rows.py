"""From words to rows in C (``_rows.c``): the same runs and rows as the Python references.

Every page of the committed PDFs (test invoices, producer corpus, refused and bad files), read by
both engines, is turned upright (``upright.upright_runs``) and built into rows
(``layout.build_rows``) by both and compared exactly: texts, and every coordinate to the bit
(``repr``, so ``-0.0`` is not ``0.0``). Seeded random pages test what the corpus holds rarely:
pages turned and mirrored, directions and heights that are no numbers, ties in position,
whitespace of every kind inside runs, text drawn twice, glued pieces, coordinates on a half of a
hundredth, far off the page and not finite.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path
from unittest import mock

import pytest

from cc_perf_dagster.core import extract_invoice, invoice_to_dict, layout, pdfium, pypdf_engine, upright
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
    assert ACCELERATED == (upright._c_upright is not None)  # one extension: both or neither
    if not ACCELERATED:
        if os.environ.get("CI") == "true":
            pytest.fail("cc_perf_dagster.core._rows was not built: is gcc or the Python headers missing?")
        pytest.skip("cc_perf_dagster.core._rows was not built (no C compiler at install): Python only")


def runs_exactly(runs: list) -> list:
    return [(r.text, repr(r.x0), repr(r.x1), repr(r.y), repr(r.size)) for r in runs]


def _pages(path: Path, engine: str) -> tuple[list[tuple[list, tuple]], list[list[TextRun]]]:
    """Every page ``engine`` can read: its words in page space with its media box, and its runs."""
    words, pages = [], []

    def recorded(raw, mediabox):
        words.append((list(raw), mediabox))
        return upright.upright_runs(raw, mediabox)

    with mock.patch.object(pdfium, "upright_runs", recorded), mock.patch.object(pypdf_engine, "upright_runs", recorded):
        try:
            with PdfDocument(path, engine=engine) as doc:
                for page in doc.pages():
                    try:
                        pages.append(doc.runs(page))
                    except CcPerfError:
                        continue
        except CcPerfError:
            pass  # a file the engine refuses has no page to compare
    return words, pages


@needs_c
@pytest.mark.parametrize("engine", ["pypdf", "pdfium"])
@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(TEST_INVOICES)))
def test_both_turn_and_build_every_committed_page_alike(path, engine):
    words, pages = _pages(path, engine)
    turned = [i for i, (raw, box) in enumerate(words, 1) if raw and _c_turned(raw, box) is None]
    assert not turned, f"pages {turned}: the C build handed them back"  # the engines' words are what it takes
    differing = [
        i
        for i, (raw, box) in enumerate(words, 1)
        if runs_exactly(upright.upright_runs(raw, box)) != runs_exactly(upright.python_upright_runs(raw, box))
    ]
    assert not differing, f"pages {differing} turn differently"
    differing = [i for i, runs in enumerate(pages, 1) if exactly(build_rows(runs)) != exactly(python_rows(runs))]
    assert not differing, f"pages {differing} build differently"
    assert pages or path.parent.name in ("bad", "unreadable")  # only a broken file has no page to compare


def _c_turned(raw: list, box: tuple) -> list | None:
    return upright._c_upright(raw, box, TextRun, upright.SAME_DIRECTION)


DIRECTIONS = [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0), (0.995, 0.0998), (0.7071, 0.7071), (math.nan, 0.0)]


def _random_words(rng: random.Random) -> tuple[list, tuple]:
    words = []
    for _ in range(rng.randint(1, 40)):
        ux, uy = rng.choice(DIRECTIONS[:4]) if rng.random() < 0.7 else rng.choice(DIRECTIONS)
        x0, y0 = rng.uniform(-50, 700), rng.choice([0.0, -0.0, rng.uniform(-50, 900)])
        length = rng.uniform(0, 80)
        height = rng.choice([8.0, 0.0, -0.0, 30.0, math.nan, rng.uniform(1, 12)])
        text = rng.choice(TEXTS) or "x"
        words.append((text, x0, y0, x0 + ux * length, y0 + uy * length, ux, uy, rng.choice([1.0, -1.0]), height))
    box = rng.choice([(0.0, 0.0, 612.0, 792.0), (-0.0, 0.0, 0.0, 792.0), (10.5, -20.0, 600.0, 800.25)])
    return words, box


@needs_c
@pytest.mark.parametrize("seed", range(10))
def test_both_turn_random_pages_alike(seed):
    rng = random.Random(seed)
    for _ in range(100):
        raw, box = _random_words(rng)
        assert _c_turned(raw, box) is not None
        assert runs_exactly(upright.upright_runs(raw, box)) == runs_exactly(upright.python_upright_runs(raw, box))


@needs_c
def test_words_the_c_build_does_not_take_are_left_to_python():
    # An int where a float is due, a list for a tuple, a box of three: Python's rules decide.
    word = ("A", 10.0, 700.0, 20.0, 700.0, 1.0, 0.0, 1.0, 8.0)
    for raw, box in [
        ([("A", 10, 700.0, 20.0, 700.0, 1.0, 0.0, 1.0, 8.0)], (0.0, 0.0, 612.0, 792.0)),
        ([list(word)], (0.0, 0.0, 612.0, 792.0)),
        ([word], (0.0, 0.0, 612.0)),
    ]:
        assert _c_turned(raw, box) is None
    assert runs_exactly(upright.upright_runs([word], (0, 0, 612, 792))) == runs_exactly(
        upright.python_upright_runs([word], (0, 0, 612, 792))
    )


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
@pytest.mark.parametrize("engine", ["pypdf", "pdfium"])
def test_without_the_c_build_every_field_is_read(path, engine):
    # As on a machine that installed without a C compiler.
    with mock.patch.object(layout, "_c_rows", None), mock.patch.object(upright, "_c_upright", None):
        invoice = extract_invoice(path, engine=engine)
    compared, differences = field_differences(expected_for(path), invoice_to_dict(invoice))
    assert compared > 100 and not differences, differences[:5]
