"""Words in page space to text runs in reading space, the same for both engines.

An engine collects a page's words in page space (:data:`~cc_perf_dagster.core.content_stream.RawRun`:
the text, start and end of the baseline, the text direction, the "up" sign and the height).
:func:`upright_runs` turns the page so that most of its text reads left to right, keeps the words
that do (vertical stamps and text in another direction are left out) and leaves out decoration,
words far taller than the page's body text (:func:`without_decoration`).

:func:`python_upright_runs` is the reference. Where the optional C extension ``_rows`` was built at
install (see pyproject.toml), :func:`upright_runs` turns the words in C, line for line; the two
must give every page the same runs, exactly (``test_layout_rows.py``), so a change to the rules
here goes into both, Python first.
"""

from __future__ import annotations

from cc_perf_dagster.core.content_stream import RawRun
from cc_perf_dagster.core.models import TextRun

try:
    from cc_perf_dagster.core._rows import upright as _c_upright
except ImportError:  # no C compiler at install: the Python function does the same
    _c_upright = None

# Runs whose direction is within this cosine of the page's reading direction are read (about 8°).
SAME_DIRECTION = 0.99
# Words taller than this many times the page's body text (the median height of its characters)
# are decoration, not content: a watermark across the page. Titles reach about 2.3 times.
DECORATION_SIZE = 3.0


def upright_runs(raw: list[RawRun], mediabox: tuple[float, float, float, float]) -> list[TextRun]:
    """Turn the page so that most of its text reads left to right; keep the runs that do.

    Args:
        raw: Words in page space, as an engine collects them
            (:class:`~cc_perf_dagster.core.content_stream.PageInterpreter`, :mod:`~cc_perf_dagster.core.pdfium_words`).
        mediabox: The page's ``(x0, y0, x1, y1)``; positions are made relative to its turned corner.

    Returns:
        Text runs in reading space: ``x`` grows to the right, ``y`` upward.
    """
    if raw and _c_upright is not None and isinstance(raw, list):
        runs = _c_upright(raw, mediabox, TextRun, SAME_DIRECTION)
        if runs is not None:  # None: something the C build does not take (see _rows.c), left to Python
            return without_decoration(runs)
    return python_upright_runs(raw, mediabox)


def python_upright_runs(raw: list[RawRun], mediabox: tuple[float, float, float, float]) -> list[TextRun]:
    """:func:`upright_runs` in Python: the reference, and what runs where the C build is missing."""
    if not raw:
        return []
    weight = [0, 0, 0, 0]  # right, up, left, down
    flips = 0
    for text, _x0, _y0, _x1, _y1, ux, uy, up, _h in raw:
        weight[_quadrant(ux, uy)] += len(text)
        flips += len(text) if up < 0 else -len(text)
    turn = weight.index(max(weight))
    dx, dy = ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[turn]
    mirror = -1.0 if flips > 0 else 1.0  # text drawn mirrored (y flipped, x not): read it upright

    # Rotate by -turn·90° (x, y -> x·dx + y·dy, (y·dx - x·dy)·mirror): reading direction is +x.
    xs = [x * dx + y * dy for x in (mediabox[0], mediabox[2]) for y in (mediabox[1], mediabox[3])]
    ys = [(-x * dy + y * dx) * mirror for x in (mediabox[0], mediabox[2]) for y in (mediabox[1], mediabox[3])]
    left, bottom = min(xs), min(ys)
    runs = [
        TextRun(
            text,
            x0 * dx + y0 * dy - left,
            x1 * dx + y1 * dy - left,
            (-x0 * dy + y0 * dx) * mirror - bottom,
            height or 1.0,
        )
        for text, x0, y0, x1, y1, ux, uy, _up, height in raw
        if not ux * dx + uy * dy < SAME_DIRECTION  # (a NaN direction is kept, as it always was)
    ]
    return without_decoration(runs)


def without_decoration(runs: list[TextRun]) -> list[TextRun]:
    """``runs`` without the words drawn at :data:`DECORATION_SIZE` times the body text or more.

    A watermark ("COPY", "DUPLICATE", "PAID") drawn upright across the page is no part of the
    document, and its baseline would pull the rows of table text around it into one row (the
    row tolerance grows with the font size). The body size is the median height of the page's
    characters, so it is the table's text whatever the producer's scale.

    Example:
        >>> body = [TextRun("DF2719A", 50, 80, 400, 7.5), TextRun("12.00", 300, 320, 400, 7.5)]
        >>> [r.text for r in without_decoration([*body, TextRun("COPY", 150, 450, 396, 120.0)])]
        ['DF2719A', '12.00']
    """
    if len(runs) < 2:
        return runs
    tallest = max(run.size for run in runs)
    if tallest < DECORATION_SIZE * min(run.size for run in runs):  # nothing to weigh: the usual page
        return runs
    limit = DECORATION_SIZE * _body_size(runs)
    return [run for run in runs if run.size < limit]


def _body_size(runs: list[TextRun]) -> float:
    """The median font height of the runs' characters."""
    sizes = sorted((run.size, len(run.text)) for run in runs)
    half, seen = sum(count for _, count in sizes) / 2, 0
    for size, count in sizes:
        seen += count
        if seen >= half:
            return size
    return sizes[-1][0]


def _quadrant(ux: float, uy: float) -> int:
    if abs(ux) >= abs(uy):
        return 0 if ux > 0 else 2
    return 1 if uy > 0 else 3
