"""Rebuild visual rows and words from positioned text runs.

Nothing here trusts content-stream order: runs are ordered by baseline and x position
only. Runs whose baselines are within a fraction of the font size share a row; inside a
row, runs that touch (the gap is well under a space) are glued into one word, and every
other gap becomes a single space. The result is a list of :class:`Row` from the top of
the page to the bottom.

:func:`python_rows` is the reference. Where the optional C extension ``_rows`` was built at
install (see pyproject.toml), :func:`build_rows` runs the same algorithm in C, line for line; the
two must build every page to the same rows, exactly (``test_layout_rows.py``), so a change to
the rules here goes into both, Python first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from operator import attrgetter

from cc_perf_dagster.core.models import Row, TextRun, Word

# Baselines closer than this share a row (fraction of the larger font size).
ROW_TOLERANCE = 0.4
# Runs closer than this are one word (fraction of the font size). A space is 0.2 to 0.6 em (a
# shrunk TeX space and a condensed font's at the low end); pieces of one word (kerning, one glyph
# per operator) sit within a few hundredths of an em, and letter-spaced text (CSS
# ``letter-spacing``, each glyph placed apart) at up to about 0.09 em: Firefox printing cells
# spaced 0.6 px draws "19.60" as "19." and "60" 0.084 em apart (0.08 split them).
TOUCH_GAP = 0.1
# A gap more negative than this means the engine's widths are off: do not glue.
OVERLAP_LIMIT = -0.3
# Pieces whose baselines differ by more than this (fraction of the height) are not one word
# (the engines' word building; rows still gather them).
BASELINE_SHIFT = 0.05

_WORD = re.compile(r"\S+")
_X0 = attrgetter("x0")

try:
    from cc_perf_dagster.core._rows import rows as _c_rows
except ImportError:  # no C compiler at install: the Python function does the same
    _c_rows = None

# Whether build_rows runs in C (the extension was built).
ACCELERATED = _c_rows is not None


def build_rows(runs: Iterable[TextRun]) -> list[Row]:
    """Group text runs into rows ordered top to bottom, words left to right.

    Args:
        runs: Text runs in any order.

    Returns:
        The page's rows; empty when there are no runs.
    """
    runs = runs if isinstance(runs, list) else list(runs)
    if _c_rows is not None:
        built = _c_rows(runs, Row, Word, ROW_TOLERANCE, TOUCH_GAP, OVERLAP_LIMIT)
        if built is not None:  # None: a position that is not a finite number, left to Python's rules
            return built
    return python_rows(runs)


def python_rows(runs: Iterable[TextRun]) -> list[Row]:
    """:func:`build_rows` in Python: the reference, and what runs where the C build is missing."""
    ordered = sorted(runs, key=lambda r: (-r.y, r.x0))
    if not ordered:
        return []
    rows: list[Row] = []
    current = [ordered[0]]
    anchor = ordered[0].y
    size = ordered[0].size
    for run in ordered[1:]:
        if anchor - run.y <= ROW_TOLERANCE * max(size, run.size):
            current.append(run)
            size = max(size, run.size)
        else:
            rows.append(_make_row(current, anchor, size))
            current = [run]
            anchor = run.y
            size = run.size
    rows.append(_make_row(current, anchor, size))
    return rows


def _make_row(runs: list[TextRun], y: float, size: float) -> Row:
    runs.sort(key=_X0)
    words: list[Word] = []
    prev: TextRun | None = None
    for run in runs:
        text = run.text
        if not text or text.isspace():
            continue
        x0 = run.x0
        if prev is not None and text == prev.text and abs(x0 - prev.x0) < 0.5:
            continue  # the same text drawn twice (fake bold, shadow)
        span = len(text)
        per_char = (run.x1 - x0) / span
        glue = (
            prev is not None
            and words
            and not prev.text[-1].isspace()
            and not text[0].isspace()
            and OVERLAP_LIMIT * run.size < x0 - prev.x1 < TOUCH_GAP * run.size
        )
        prev = run
        parts = text.split()
        if len(parts) == 1 and len(parts[0]) == span:  # one word, as engines draw them
            pieces: Iterable[tuple[str, int, int]] = ((text, 0, span),)
        else:
            pieces = ((match.group(), match.start(), match.end()) for match in _WORD.finditer(text))
        for piece, start, end in pieces:
            # Hundredths of a point are far below any layout decision and keep results compact.
            x1 = round(x0 + end * per_char, 2)
            if glue:
                last = words[-1]
                words[-1] = Word(last.text + piece, last.x0, x1)
                glue = False
            else:
                words.append(Word(piece, round(x0 + start * per_char, 2), x1))
    return Row(y=y, size=size, words=tuple(words))
