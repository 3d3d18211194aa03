"""How a table's cells share out the description lines drawn between two product rows.

A product row prints its numbers on one line of its cell; a long description wraps onto lines
above it (cells aligned bottom), below it (top) or both (middle). The lines found between two
rows are shared by the gaps between them (:func:`boundaries`, :func:`widest_gap`) and joined
into one description (:func:`join_lines`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cc_perf_dagster.core.bookability import listed
from cc_perf_dagster.core.models import LineItem
from cc_perf_dagster.core.vendors.creative_coop.patterns import CONTINUATION_GAP, UNIT_WORDS, UNITS

# How only the rest of a number starts ("-1/4"" of "7-1/4"", "/4"", ".25"H"): no description does.
_HEADLESS = re.compile(r"[-/.]\d")
# The cell boundary is the widest gap when it is this much wider than every other.
_BOUNDARY = 1.12

# Lines between two rows that only the document's cell alignment can share out: the item
# above, the lines, the lower row's page, whether the item above was closed (by its tariff
# line), whether a page break lies between the two rows, and the gaps down from the row above
# (widest_after_break).
Undecided = tuple[int, list[str], int, bool, bool, tuple[float | None, ...]]

_BROKEN_AT_HYPHEN = re.compile(r"\w-$")

# Where a description's wrapped lines may end (a comma, "&", "w/": how the document family
# wraps them) and the whole of one never does: it ends in a word, a number, a quote or ")".
_DANGLING = re.compile(r"(?:[,&/+(-]|\b(?:x|w|and|or|of|with))$", re.IGNORECASE)


def join_lines(lines: Sequence[str]) -> str:
    """A wrapped description's lines as one text.

    Single spaces, and no space after a line that a word was broken in at its hyphen
    (``3-`` then ``1/4"H`` reads ``3-1/4"H``).
    """
    text = ""
    for line in (" ".join(line.split()) for line in lines):
        if not line:
            continue
        text = f"{text}{line}" if not text or _BROKEN_AT_HYPHEN.search(text) else f"{text} {line}"
    return text


def cut_short(description: str) -> bool:
    """Whether a description ends as only a wrapped line does: the line after it was not read.

    A producer that prints rows of a fixed height cuts off the lines that do not fit (Gnumeric,
    cells aligned middle), and what it cut off is not in the PDF.

    Example:
        >>> cut_short('Bottle Brush Tree, Amber,'), cut_short("Lumbar Pillow, Cream &"), cut_short('(Holds 4" x 6")')
        (True, True, False)
    """
    return _DANGLING.search(description) is not None


def description_doubts(items: Sequence[LineItem]) -> list[str]:
    """Doubts of the descriptions read empty (every line prints one) or cut short (:func:`cut_short`), and the units.

    A unit read as a word of one of the vendor's units that is no unit alone is short too: ``lo``
    is the first line of ``lo each`` wrapped in its cell, the rest not joined (a row broken
    across pages carried ``each`` to the next page's top).

    Example:
        >>> from types import SimpleNamespace as Item  # (what the checks read of an item)
        >>> description_doubts([Item(product_code="XS1", description="Box", unit="lo")])
        ["1 product row(s) read with a unit that is only part of one of the vendor's (XS1: 'lo'): the rest ..."]
    """
    doubts = []
    empty = [item.product_code for item in items if not item.description]
    if empty:  # (WeasyPrint lost a flex row's description at a page break: not in the PDF)
        doubts.append(
            f"{len(empty)} product row(s) read with no description, where every line prints one: {listed(empty)}"
        )
    cut = [item for item in items if cut_short(item.description)]
    if cut:  # e.g. "Amber,": the description's next line was cut off, or read as no one's
        doubts.append(
            f"{len(cut)} description(s) end as only a wrapped line does ({listed([i.product_code for i in cut])}: "
            f"{cut[0].description[-30:]!r}): a line after it was cut off or not read, the description read short"
        )
    headless = [item for item in items if _HEADLESS.match(item.description)]
    if headless:  # e.g. "-1/4" Rd": a UPC run over the description's "7" drew its own "7" there
        doubts.append(
            f"{len(headless)} description(s) start with only the rest of a number "
            f"({listed([i.product_code for i in headless])}: {headless[0].description[:20]!r}): "
            "its first characters were not read, the description read short"
        )
    short = [f"{item.product_code}: {item.unit!r}" for item in items if item.unit.lower() in UNIT_WORDS - UNITS]
    if short:
        doubts.append(
            f"{len(short)} product row(s) read with a unit that is only part of one of the vendor's ({listed(short)}): "
            "the rest of it was not read"
        )
    return doubts


def apart(gap: float | None, size: float) -> bool:
    """Whether two lines ``gap`` apart (baseline to baseline), the lower in ``size``, are in different cells.

    Lines of one cell sit at most :data:`CONTINUATION_GAP` font sizes apart; a page break
    (``None``) cannot be measured and says nothing.
    """
    return gap is not None and gap > CONTINUATION_GAP * size


def closest_lines(gaps: Sequence[float | None], sizes: Sequence[float], columned: Sequence[bool]) -> float | None:
    """How many font sizes apart the closest two lines of the description column stand (``None``: no two measured).

    ``gaps`` and ``sizes`` as for :func:`boundaries`; ``columned[i]``: whether both lines of gap
    ``i`` print text in the description column (a row with no description words on its own line
    sits between its cell's lines, half a line from each, when the cells are aligned middle).
    Lines closer than :data:`OVERLAPPING_LINES` overlap; where their pages show their rows
    growing with their cells, which text cannot run past, only lines closer than the layout sets
    its own do (:meth:`~cc_perf_dagster.core.vendors.creative_coop.row_height.GrowingRows.overlaps`).

    Example:
        A line 6.8 pt below its row and 5.4 pt above the next (6.11 pt text): 0.88 font sizes,
        unless the next row prints no description on its own line.

        >>> round(closest_lines([6.8, 5.4], [6.11, 6.11], [True, True]), 2)
        0.88
        >>> round(closest_lines([6.8, 5.4], [6.11, 6.11], [True, False]), 2), closest_lines([None], [6.0], [True])
        (1.11, None)
    """
    return min(
        (gap / size for gap, size, counted in zip(gaps, sizes, columned, strict=True) if gap is not None and counted),
        default=None,
    )


def boundaries(gaps: Sequence[float | None], sizes: Sequence[float]) -> list[int]:
    """The gaps down a column between two product rows that are surely cell boundaries.

    Args:
        gaps: From the upper row to the first line, between the lines, and from the last line
            to the lower row (one more than there are lines; ``None`` across a page break).
        sizes: The font size of the lower side of each gap.

    Returns:
        The indices of the gaps wider than a cell's line spacing (:func:`apart`), and of the
        page breaks after the first of them (lines that far from the row above and printed on
        an earlier page than the row below are neither's). Gap ``i`` has ``i`` lines above it.
    """
    found: list[int] = []
    for index, (gap, size) in enumerate(zip(gaps, sizes, strict=True)):
        if apart(gap, size) or (found and gap is None):
            found.append(index)
    return found


def widest_gap(gaps: Sequence[float | None]) -> int | None:
    """Index of the gap that stands out as a cell boundary, or ``None``.

    ``None`` entries are page breaks: a boundary there cannot be measured, and gaps on either
    side of one say nothing of each other (a cell's last line at the foot of one page, 7.8 pt
    under its row, and the next row half a line under its first at the head of the next: the
    first gap is no boundary), so none stands out: the cells' alignment decides.
    """
    if None in gaps:
        return None
    known = sorted(((gap, index) for index, gap in enumerate(gaps) if gap is not None), reverse=True)
    if len(known) < 2:
        return None
    (widest, index), (second, _) = known[0], known[1]
    return index if widest >= _BOUNDARY * second else None


def widest_after_break(gaps: Sequence[float | None], spacing: float | None = None) -> int | None:
    """Index of the gap that stands out (:func:`widest_gap`) among those after the last page break, or ``None``.

    A row broken across pages (jsPDF's autotable) leaves its cell's last lines heading the next
    page, whatever the cells' alignment: in cells aligned bottom, the lower row's lines above it
    follow them a cell boundary further down, their own lines a line's spacing apart. The gaps
    on the lower row's page compare with one another; ``None`` where there is no page break.
    A gap alone there stands out where it is that much wider than ``spacing``, the widest gap
    the document shows between two lines of one cell.

    Example:
        "Colors" heads the page, 15.2 pt above the next row's first line, 9.2 pt above its row:

        >>> widest_after_break([None, 15.2, 9.2]), widest_after_break([None, 9.2, 9.2]), widest_after_break([15.2, 9.2])
        (1, None, None)

        A line alone after the break: against the document's spacing, if it has shown one.

        >>> widest_after_break([None, 15.2]), widest_after_break([None, 15.2], 9.2)
        (None, 1)
        >>> widest_after_break([None, 9.2], 9.2)
    """
    start = max((index for index, gap in enumerate(gaps) if gap is None), default=-1) + 1
    tail = list(gaps[start:])
    if not start or not tail:
        return None
    if len(tail) == 1 and spacing:
        tail.append(spacing)  # (the document's own spacing stands in for a second gap)
    cut = widest_gap(tail)
    return None if cut is None or cut >= len(gaps) - start else start + cut


def middle_cut(count: int, upper: tuple[int, int], lower: tuple[int, int] | None, lower_decides: bool) -> int | None:
    """How many of ``count`` lines between two rows the upper row's cell takes, cells aligned middle.

    A cell aligned middle has as many description lines below its row as above it: the upper
    item takes as many as it still owes below, and the lower item as many as it has below and
    not yet above. The two counts agree where both cells are whole. Where a page break split
    the upper cell (jsPDF's autotable breaks a row across pages: its last line heads the next
    page, just above the next row's first), the upper count is short and the lower item, whole
    on its page, decides (``lower_decides``). Otherwise nothing tells whose the lines are.

    Args:
        count: The lines between the two rows.
        upper: The upper item's lines ``(above, below)`` its row so far.
        lower: The lower item's ``(above, below)``, all of them known; ``None`` where some are
            still to be shared (the upper count alone decides).
        lower_decides: Whether the lower count stands where the two disagree: a page break
            lies between the rows and the document's whole cells are aligned middle.

    Returns:
        The lines the upper item takes (the rest are the lower's), or ``None`` where it cannot
        be told.

    Example:
        >>> middle_cut(2, (1, 0), (0, 1), False), middle_cut(2, (0, 0), (0, 1), False)
        (1, None)
        >>> middle_cut(2, (0, 0), None, False)
        0
        >>> middle_cut(2, (0, 0), (0, 1), True), middle_cut(2, (0, 0), (0, 3), True)
        (1, None)
    """
    by_upper = max(0, min(upper[0] - upper[1], count))
    if lower is None:
        return by_upper
    by_lower = count - (lower[1] - lower[0])
    if by_lower == by_upper:
        return by_upper
    return by_lower if lower_decides and 0 <= by_lower <= count else None


# Whole cells with lines on one side of their row only, at most this share of those with
# lines, where a document's cells count as aligned middle (a row broken across pages is one).
_LOPSIDED_SHARE = 0.1
# And at least this many whole cells with lines to tell.
_CELLS_TO_TELL = 3


def aligned_middle(
    above: Sequence[Sequence[str]], below: Sequence[Sequence[str]], undecided: Sequence[Undecided]
) -> bool:
    """Whether the document's whole cells are aligned middle: as many lines above their rows as below.

    Items with lines still to share out (either side of an undecided group) are left out.

    Example:
        >>> aligned_middle([["a"], ["b"], ["c"], []], [["x"], ["y"], ["z"], ["w"]], [])
        False
        >>> aligned_middle([["a"], ["b"], ["c"], []], [["x"], ["y"], ["z"], []], [])
        True
    """
    involved = {index for index, *_ in undecided} | {index + 1 for index, *_ in undecided}
    told = [i for i in range(len(above)) if i not in involved and (above[i] or below[i])]
    lopsided = sum(len(above[i]) != len(below[i]) for i in told)
    return len(told) >= _CELLS_TO_TELL and lopsided <= _LOPSIDED_SHARE * len(told)


def share_undecided(
    undecided: Sequence[Undecided],
    above: list[list[str]],
    below: list[list[str]],
    found: tuple[bool, bool],
    spacing: float | None = None,
) -> list[str]:
    """Share out the lines no gap decided, by how the document's cells are aligned; the doubts.

    Top-aligned cells (no description ever started above its row; ``found[0]`` false): the
    lines continue the item above. Bottom-aligned (lines above rows, never below; ``found[1]``
    false): they start the item below, but for those above a gap that stands out after a page
    break (:func:`widest_after_break`: the rest of a row broken across the pages). Middle
    (both): :func:`middle_cut`, the lower cell deciding across a page break where the
    document's whole cells are centred on their rows (:func:`aligned_middle`). Lines heading a
    page after an item its tariff line closed start the next item where descriptions start
    above their rows; otherwise they are the closed cell's rest (a tariff label carried over)
    and no one's (a doubt). Lines a row broken across pages carried below it to the next page
    are no evidence of the alignment (``found`` leaves them out).

    Args:
        undecided: The groups of lines, in document order.
        above: Each item's description lines above its row (the groups' lines are added).
        below: Each item's lines below its row (likewise).
        found: Whether the document has shown descriptions starting above their rows, and
            going on below them.
        spacing: The widest gap between two lines of one cell the document shows, if any.

    Returns:
        One sentence for each line or group that no item can take.
    """
    lines_above, lines_below = found
    middle = lines_above and lines_below and aligned_middle(above, below, undecided)
    doubts: list[str] = []
    later = {index for index, *_ in undecided}  # items with lines still to share below them
    for index, lines, page, closed, broken, gaps in undecided:
        if closed and not lines_above:
            doubts.extend(
                f"page {page}: a line heads the page after a tariff line, in a table whose "
                f"descriptions never start above their rows ({line!r}): it belongs to no item"
                for line in lines
            )
            continue
        if closed:
            cut: int | None = 0
        elif not lines_above:
            cut = len(lines)
        elif not lines_below:
            cut = widest_after_break(gaps, spacing) or 0
        else:
            lower = index + 1
            known = None if lower in later else (len(above[lower]), len(below[lower]))
            cut = middle_cut(len(lines), (len(above[index]), len(below[index])), known, broken and middle)
        if cut is None:
            doubts.append(
                f"page {page}: lines between two product rows ({' / '.join(lines)!r}) that the cells' "
                "alignment gives to neither clearly: a description may be read short or long"
            )
            continue
        below[index].extend(lines[:cut])  # after any it has: they were read later
        above[index + 1][:0] = lines[cut:]
    return doubts
