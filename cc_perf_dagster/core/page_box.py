"""What of a page a viewer shows: its crop box within its media box. Words outside it are not read.

A viewer and a printer show a page's ``/CropBox`` (PDF 32000-1, 14.11.2), clipped to its
``/MediaBox``; content outside, cropped away or drawn off the page, is not seen. A document
cropped to one of two invoices on a sheet, or with an old total left beside the page, would
otherwise be read with what nobody sees. A word is left out only when nothing of it (its
baseline raised by its height, give or take a point) meets the shown box; a word cut by the
edge is read whole, however an engine cut it into pieces. A crop box that leaves nothing of
the media box is taken as absent.
"""

from __future__ import annotations

from typing import Any

from cc_perf_dagster.core.content_stream import RawRun
from cc_perf_dagster.core.layout import BASELINE_SHIFT, OVERLAP_LIMIT, TOUCH_GAP

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in default user space, x0 <= x1, y0 <= y1
# How far outside the shown box (points) a word may reach and still count as meeting it.
EDGE = 1.0


def page_boxes(page: Any) -> tuple[Box, Box]:
    """A pypdf page's media box and the part of it a viewer shows (crop box within media box)."""
    media = _box(page.mediabox)
    try:
        crop = _box(page["/CropBox"].get_object())
    except (KeyError, AttributeError, TypeError, ValueError):  # none, or one a viewer would ignore
        return media, media
    shown = (max(media[0], crop[0]), max(media[1], crop[1]), min(media[2], crop[2]), min(media[3], crop[3]))
    return media, shown if shown[0] < shown[2] and shown[1] < shown[3] else media


def _box(values: Any) -> Box:
    x0, y0, x1, y1 = (float(v) for v in values)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def within(words: list[RawRun], box: Box) -> list[RawRun]:
    """The words any part of which is in ``box`` (see the module docstring).

    Pieces of one word (``TJ`` kerning, a glyph per string: the engines cut words into
    different pieces, and list them in different orders) count as one: taken in their order
    along each baseline, pieces that touch are kept whole if any of them meets the box, so both
    engines read a word on the edge alike. A page whose words all start inside the box (most)
    is returned as it is.
    """
    edges = bx0, by0, bx1, by1 = box[0] - EDGE, box[1] - EDGE, box[2] + EDGE, box[3] + EDGE
    for word in words:  # most pages: every word starts inside the box
        if not (bx0 <= word[1] <= bx1 and by0 <= word[2] <= by1):
            break
    else:
        return words
    kept: set[int] = set()
    chain: list[int] = []
    meets = False
    for index in sorted(range(len(words)), key=lambda i: _place(words[i])):
        if chain and not _continues(words[chain[-1]], words[index]):
            kept.update(chain if meets else ())
            chain, meets = [], False
        chain.append(index)
        meets = meets or _meets(words[index], edges)
    kept.update(chain if meets else ())
    return [word for index, word in enumerate(words) if index in kept]


def _place(word: RawRun) -> tuple[float, float, float, float]:
    """Where a word sits: its direction, its baseline across that direction, then along it."""
    _t, x0, y0, _x1, _y1, ux, uy, _up, _h = word
    return (round(ux, 6), round(uy, 6), round(y0 * ux - x0 * uy, 1), x0 * ux + y0 * uy)


def _continues(last: RawRun, word: RawRun) -> bool:
    """Whether ``word`` starts where ``last`` ends, on its baseline (the layout would glue them)."""
    _t, _x0, _y0, ex, ey, ux, uy, up, height = last
    _t, sx, sy, _x1, _y1, vx, vy, vup, _h = word
    if abs(ux - vx) > 1e-6 or abs(uy - vy) > 1e-6 or (up > 0) != (vup > 0):
        return False
    dx, dy = sx - ex, sy - ey
    gap, across = dx * ux + dy * uy, dy * ux - dx * uy
    return OVERLAP_LIMIT * height < gap < TOUCH_GAP * height and abs(across) <= BASELINE_SHIFT * height


def _meets(word: RawRun, edges: Box) -> bool:
    _text, x0, y0, x1, y1, ux, uy, up, height = word
    # The word's "up" vector: its height across the baseline, on the side the glyphs stand.
    vx, vy = (-uy * height, ux * height) if up >= 0 else (uy * height, -ux * height)
    xs, ys = (x0, x1, x0 + vx, x1 + vx), (y0, y1, y0 + vy, y1 + vy)
    if not (min(xs) <= max(xs) and min(ys) <= max(ys)):  # NaN: kept, as upright_runs keeps it
        return True
    return min(xs) <= edges[2] and max(xs) >= edges[0] and min(ys) <= edges[3] and max(ys) >= edges[1]
