"""Both engines read generated pages alike: the same rows, word for word.

Each page is drawn from a seed: words of the invoices' kind in the standard fonts, shown in
every way content streams show text (one string, one string per word or per glyph, ``TJ`` with
kerning or with word gaps, ``'`` and ``"``, ``Tw``, ``Tz``, a small ``Tc``, ``Ts``, render modes
3 and 7, ``/ActualText`` spans), on pages turned by ``/Rotate``, scaled or flipped by the CTM,
some cropped, as cells placed one by one (as Skia writes them), and inside form XObjects drawn
more than once.
Comparing the engines on such pages found a line-end hyphen read as U+FFFE, ``/ActualText``
words glued, Type 3 text left out at a quarter turn, spans in forms read in the form's own
space and glyphs with no area read as text; each is fixed and tested where it belongs
(``test_content_stream``), and these pages keep the engines together. Known difference left
out: a character spacing wider than the layout's glue range (``pdfium.py``).
"""

from __future__ import annotations

import random

import pytest
from pypdf.generic import DictionaryObject, NameObject

from cc_perf_dagster.core.layout import build_rows
from cc_perf_dagster_tests.conftest import page_runs
from cc_perf_dagster_tests.core.test_content_stream import form_page, helvetica, page_with

WORDS = (
    "DA1067", "191009437734", "12", "0", "each", "22.40", "537.60", "Tariff", "Street", "Qty", "Ord", "Fluted",
    "Planter", '3-1/4"H', "TRF-CCOI", "80.64", "Your", "Price", "Buffalo", "Office", "1,234.56", "Caf\\351",
    "\\226", "\\275", "Hand-", "w/", "(2)", "S/2", "Natural,", "$1,234.00", "10%",
)  # fmt: skip
MODES = ("tj", "tj_words", "tj_kern", "glyphs", "tw", "tz", "tj_gaps", "quote", "dquote", "rise", "actual",
         "invisible", "clip", "tc")  # fmt: skip
# Text matrices that /Rotate turns back upright, with a starting point on the page.
TURNS = {0: "1 0 0 1 36 740", 90: "0 1 -1 0 560 36", 180: "-1 0 0 -1 576 50", 270: "0 -1 1 0 50 756"}


def _font(name: str) -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject(name),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )


FONTS = {"/F1": helvetica(), "/F2": _font("/Times-Roman"), "/F3": _font("/Courier"), "/F4": _font("/Helvetica-Bold")}


def _string(text: str) -> str:
    return "(" + text.replace("(", "\\(").replace(")", "\\)") + ")"


def _glyphs(word: str) -> list[str]:
    """A word's characters as written in a string (an octal escape is one)."""
    out, k = [], 0
    while k < len(word):
        step = 4 if word[k] == "\\" else 1
        out.append(word[k : k + step])
        k += step
    return out


def show(rng: random.Random, words: list[str]) -> str:
    """Operators that show ``words`` on the current line in one of :data:`MODES`, text state reset after."""
    mode, text = rng.choice(MODES), " ".join(words)
    if mode == "tj_words":
        ops = [_string(w + (" " if i < len(words) - 1 else "")) + " Tj" for i, w in enumerate(words)]
    elif mode == "tj_kern":  # pairs of glyphs with small kerning, a space string between words
        parts = []
        for i, word in enumerate(words):
            glyphs = _glyphs(word)
            for j in range(0, len(glyphs), 2):
                parts += [_string("".join(glyphs[j : j + 2])), str(rng.choice([-20, 0, 15, -40]))]
            parts += [f"( ) {rng.choice([0, -50])}"] if i < len(words) - 1 else []
        ops = ["[" + " ".join(parts) + "] TJ"]
    elif mode == "tj_gaps":  # words apart by TJ displacements, no space glyph
        gaps = [str(rng.choice([-300, -450, -700, -1500])) for _ in words]
        ops = ["[" + " ".join(f"{_string(w)} {g}" for w, g in zip(words, gaps, strict=True)) + "] TJ"]
    elif mode == "glyphs":
        ops = [
            f"{_string(g)} Tj" for i, w in enumerate(words) for g in _glyphs(w) + ([" "] if i < len(words) - 1 else [])
        ]
    elif mode == "quote":
        ops = [f"{_string(text)} '"]
    elif mode == "dquote":
        ops = [f'{rng.choice([0, 1, 2])} {rng.choice([0, 0.1])} {_string(text)} "']
    elif mode == "actual":
        ops = [f"/Span <</ActualText {_string(text)}>> BDC {_string(words[0])} Tj EMC"]
    elif mode == "invisible":  # words drawn invisible, then one shown
        ops = [f"3 Tr {_string(text)} Tj 0 Tr {_string(' ' + words[-1])} Tj"]
    elif mode == "clip":
        ops = [f"7 Tr {_string(text)} Tj 0 Tr"]
    else:
        state = {"tw": f"{rng.choice([1, 3, 6])} Tw", "tz": f"{rng.choice([80, 90, 110, 120])} Tz",
                 "rise": f"{rng.choice([-2, 2, 0.5])} Ts", "tc": "0.2 Tc"}.get(mode, "")  # fmt: skip
        ops = [f"{state} {_string(text)} Tj"]
    starts_line = mode not in ("quote", "dquote")
    return ("T* " if starts_line else "") + " ".join(ops) + " 0 Tw 0 Tc 100 Tz 0 Ts"


def text_page(rng: random.Random) -> tuple[str, int]:
    """Lines of words in one text object (cells further right on some), turned by a quarter or not."""
    size, turn = rng.choice([7, 8, 9, 10, 12]), rng.choice([0, 0, 0, 90, 180, 270])
    ops = [f"BT {rng.choice(list(FONTS))} {size} Tf {size * rng.choice([1.3, 2])} TL {TURNS[turn]} Tm"]
    for _ in range(rng.randint(3, 12)):
        ops.append(show(rng, [rng.choice(WORDS) for _ in range(rng.randint(1, 5))]))
        if rng.random() < 0.3:  # a cell further right on the same line
            gap = rng.choice([250, 300])
            ops += [f"{gap} 0 Td", show(rng, [rng.choice(WORDS)]).removeprefix("T* "), f"-{gap} 0 Td"]
    body = " ".join([*ops, "ET"])
    wrap = rng.choice(["none", "none", "scale", "flip"])
    if wrap == "scale":
        body = f"q 0.8 0 0 0.8 20 20 cm {body} Q"
    elif wrap == "flip" and turn == 0:  # y down, as Skia and cairo write pages, text flipped back
        body = "q 1 0 0 -1 0 792 cm " + body.replace(TURNS[0], "1 0 0 -1 36 52") + " Q"
    return body, (360 - turn) % 360 if turn else 0


def cells_page(rng: random.Random) -> str:
    """Every word its own text object at an absolute position, some smaller and raised."""
    size, ops, y = rng.choice([7, 8, 9, 10]), [], 740.0
    for _ in range(rng.randint(4, 14)):
        x = 36
        for _cell in range(rng.randint(1, 6)):
            small = rng.random() < 0.15
            font_size, rise = (size * 0.7, size * 0.3) if small else (size, 0)
            word = _string(rng.choice(WORDS))
            ops.append(f"BT {rng.choice(['/F1', '/F2', '/F4'])} {font_size} Tf 1 0 0 1 {x} {y + rise} Tm {word} Tj ET")
            x += rng.choice([60, 80, 110])
        y -= size * 1.6
    return " ".join(ops)


def rows(path, engine: str) -> list[str]:
    return [row.text for row in build_rows(page_runs(path, engine))]  # pdfium: both word loops agree


@pytest.mark.parametrize("seed", range(240))
def test_both_engines_read_a_generated_page_alike(tmp_path, seed):
    rng = random.Random(seed)
    crop = random.Random(-seed).choice([None, None, (0, 0, 400, 792), (30, 100, 612, 700)])  # words cut off too
    if seed % 3 == 0:
        path = page_with(tmp_path, cells_page(rng), fonts=FONTS, cropbox=crop)
    else:
        body, rotate = text_page(rng)
        path = page_with(tmp_path, body, fonts=FONTS, rotate=rotate, cropbox=crop)
    read = rows(path, "pypdf")
    assert (read or crop) and rows(path, "pdfium") == read


@pytest.mark.parametrize("seed", range(60))
def test_both_engines_read_a_generated_form_alike(tmp_path, seed):
    rng = random.Random(seed)
    size = rng.choice([7, 8, 10])
    lines = [
        f"BT /F1 {size} Tf 1 0 0 1 2 {15 - size * 1.5 * k} Tm {show(rng, [rng.choice(WORDS) for _ in range(3)])} ET"
        for k in range(rng.randint(1, 3))
    ]
    drawn = [f"q 1 0 0 1 {rng.choice([40, 300])} {700 - 80 * k} cm /Fm1 Do Q" for k in range(rng.randint(1, 3))]
    drawn.append(f"BT /F1 {size} Tf 1 0 0 1 40 400 Tm {show(rng, [rng.choice(WORDS) for _ in range(3)])} ET")
    matrix = rng.choice([None, [1, 0, 0, 1, 10, 0], [1, 0, 0, 1, 0, 20]])
    path = form_page(tmp_path, " ".join(lines).encode("latin-1"), " ".join(drawn).encode("latin-1"), matrix=matrix)
    read = rows(path, "pypdf")
    assert read and rows(path, "pdfium") == read
