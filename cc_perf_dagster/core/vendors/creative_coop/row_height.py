"""Rows of one fixed height: a cell filled to its last line may have been cut off.

A spreadsheet prints every row at the height the sheet gives it, whatever its cells hold
(LibreOffice Calc keeps its default height for rows whose description wraps): the text that
does not fit is cut off, and what is cut off is not in the PDF at all, so no reading can tell
a cell that ended on its last line from one whose text went on. Such a table gives itself
away: between rows of the same two kinds (a product row and its tariff line, say), spans that
hold different numbers of lines stand at the same pitch. Where the page shows that, a span
filled to its last line (no room left for one more line at the cell's own spacing) is a doubt,
and the document is refused rather than booked with a description that may be short.

Tables whose rows grow with their cells (every other producer seen) never show two such spans
at one pitch: a span with one more line is a line's spacing taller.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from cc_perf_dagster.core.bookability import listed
from cc_perf_dagster.core.models import ItemRecord, Record, TariffRecord, TextRecord
from cc_perf_dagster.core.vendors.creative_coop.patterns import OVERLAPPING_LINES, TIGHT_LINES

# Why a line of the description column is no one's, where it overlaps a neighbour.
OVERLAPPING = "overlaps the line above or below it (a cell's text runs past its row)"
# Two spans are of one row height when their pitches differ by at most this fraction of the font
# size (a line's spacing is more than a font size; printers round a row's height to their units).
SAME_PITCH = 0.25
# A span has room for one more line when the space it has left is at least this share of its
# line spacing.
ROOM = 0.5


def cut_off_cells(records: Sequence[Record]) -> tuple[str, ...]:
    """One doubt naming the product rows whose cells are filled to their last line in rows of one height.

    See the module docstring. A span runs from a product or tariff row to the next one below it
    on the page and holds the text lines between them; a full span names its product row.

    Example:
        A product row with a second description line, its tariff line, then a product row
        with one line and its tariff line, every row 13.2 pt below the one above: the first
        cell is full (two lines of 6.6 pt in 13.2 pt).

        >>> from cc_perf_dagster.core.models import Word
        >>> def item(code, y):
        ...     return ItemRecord(code, "191009310372", (Word("Box", 134, 150),), "EA", ("1.00", "1.00"), y, 5.7)
        >>> def line(y):
        ...     return TextRecord("Gold Finish", 134, 170, y, 5.7, False)
        >>> records = [item("XS1", 106.9), line(100.2), TariffRecord("1.00", 93.7), item("XS2", 80.5),
        ...            TariffRecord("1.00", 67.3)]
        >>> [doubt.split(":")[0] for doubt in cut_off_cells(records)]
        ["product row XS1's cell holds as many lines as its row's height does"]
        >>> cut_off_cells([*records[:3], item("XS2", 73.7), TariffRecord("1.00", 67.1)])
        ()

        Cells aligned middle: XS1's lines above and below its row fill both spans; it is named once.

        >>> [doubt.split(":")[0] for doubt in cut_off_cells([TariffRecord("1.00", 120.1), line(113.4), *records])]
        ["product row XS1's cell holds as many lines as its row's height does"]
    """
    # The lines that held only a joined piece of a row's UPC or unit count where, with them, the
    # page shows its rows growing. Where it does not (every row as tall, its UPC wrapped in
    # each), nothing tells growing rows from rows of one height, and they are left out: rows
    # that hold fewer lines at the same pitch then show a height that may have cut text off.
    size, spans, empty = _spans(records, held=rows_grow(records))
    full, pitches = [], []
    for kinds, pitch, baselines, item in spans:
        if len(baselines) < 3 or not isinstance(item, ItemRecord) or kinds not in empty:
            continue
        fixed = any(abs(other - pitch) <= SAME_PITCH * size for other in empty[kinds])
        spacing = min(a - b for a, b in itertools.pairwise(baselines))
        if fixed and pitch - (len(baselines) - 1) * spacing < ROOM * spacing:
            full.append(item.code)
            pitches.append(pitch)
    if not full:
        return ()
    full = list(dict.fromkeys(full))  # (a row's cell may span the rows above and below it)
    if len(full) == 1:
        rows = f"product row {full[0]}'s cell holds as many lines as its row's height does"
    else:
        rows = f"{len(full)} product rows' cells hold as many lines as their rows' height does ({listed(full)})"
    return (
        f"{rows}: the table's rows are of one "
        f"height ({min(pitches):.1f} pt, rows of fewer lines too), so text that did not fit may have been "
        "cut off, and a description may be read short",
    )


def rows_grow(records: Sequence[Record]) -> bool:
    """Whether the page shows its table's rows growing with their cells: a span holding lines is taller by them.

    Between rows of the same two kinds, a span holding ``n`` more lines than another stands at
    least ``n`` times :data:`GROWN` font sizes further apart. Rows that grow cannot be overflowed
    by their cells' text (:func:`cut_off_cells` finds rows of one height), so lines set tightly
    in them are a tight layout's, not text running past its row.

    Example:
        Two product rows and their tariff lines, the first with a second description line 6.7 pt
        below its row, its tariff line one line further down than the second's: the rows grow.
        The same rows with both tariff lines 13.2 pt below their rows do not.

        >>> from cc_perf_dagster.core.models import Word
        >>> def item(code, y):
        ...     return ItemRecord(code, "191009310372", (Word("Box", 134, 150),), "EA", ("1.00", "1.00"), y, 5.7)
        >>> line, tariff = TextRecord("Gold Finish", 134, 170, 100.2, 5.7, False), TariffRecord
        >>> rows_grow([item("XS1", 106.9), line, tariff("1.00", 93.5), item("XS2", 80.3), tariff("1.00", 73.6)])
        True
        >>> rows_grow([item("XS1", 106.9), line, tariff("1.00", 93.7), item("XS2", 80.5), tariff("1.00", 67.3)])
        False
    """
    growth = line_growth(records)
    return growth is not None and growth >= GROWN


def line_growth(records: Sequence[Record]) -> float | None:
    """How many font sizes taller the page's rows stand for each line their cells hold, at most.

    Between rows of the same two kinds: how much taller the tallest span holding ``n`` more
    lines stands than the shortest span holding fewer, over ``n``; the largest of these (``None``
    where no two spans of the same kinds hold different numbers of lines). In rows that grow it is the
    line spacing of their cells: a span with one more line is taller by one line's spacing.

    Example:
        The growing rows of :func:`rows_grow`: the span with a second line is 6.7 pt taller.

        >>> from dataclasses import replace
        >>> from cc_perf_dagster.core.models import Word
        >>> item = ItemRecord("XS1", "191009310372", (Word("Box", 134, 150),), "EA", ("1.00", "1.00"), 106.9, 5.7)
        >>> records = [item, TextRecord("Gold Finish", 134, 170, 100.2, 5.7, False), TariffRecord("1.00", 93.5),
        ...            replace(item, code="XS2", y=80.3), TariffRecord("1.00", 73.6)]
        >>> round(line_growth(records), 3), line_growth(records[:3])
        (1.175, None)
    """
    size, spans, _ = _spans(records, held=True)
    shortest: dict[tuple[tuple[str, str], int], float] = {}  # by kinds and lines held
    tallest: dict[tuple[tuple[str, str], int], float] = {}
    for kinds, pitch, baselines, _ in spans:
        key = (kinds, len(baselines) - 2)
        shortest[key] = min(pitch, shortest.get(key, pitch))
        tallest[key] = max(pitch, tallest.get(key, pitch))
    return max(
        (
            (tallest[kinds, more] - shortest[kinds, fewer]) / (more - fewer) / size
            for kinds, more in tallest
            for other, fewer in shortest
            if other == kinds and fewer < more
        ),
        default=None,
    )


class GrowingRows:
    """Which pages' rows grow with their cells (:func:`rows_grow`), and lines set tightly on pages that do not show it.

    A page shows how its rows are made where two spans of the same kinds hold different numbers
    of lines (:func:`line_growth`). One whose every row holds as many lines shows nothing: it is
    the document's table all the same, so lines set tightly there wait (:meth:`overlaps`) for
    what the document's other pages show, and overlap unless those show their rows growing
    (:meth:`undecided`).
    """

    def __init__(self) -> None:
        self._growth: dict[int, float | None] = {}
        self._waiting: list[tuple[float, list[tuple[int, TextRecord]]]] = []  # (closest, in font sizes; lines)

    def add(self, page: int, records: Sequence[Record]) -> None:
        """Take the next page's records."""
        self._growth[page] = line_growth(records)

    def overlaps(self, closest: float | None, pages: set[int], lines: list[tuple[int, TextRecord]]) -> bool:
        """Whether lines ``closest`` font sizes apart on ``pages`` overlap, ``False`` while that waits.

        Lines :data:`OVERLAPPING_LINES` apart or more never do. Closer, where a page of theirs
        shows its rows of one height, they do; where every one shows its rows growing, only lines
        closer than the layout sets its own do (:func:`tight`); else the lines wait for
        :meth:`undecided`.
        """
        if closest is None or closest >= OVERLAPPING_LINES:
            return False
        growths = [self._growth.get(page) for page in pages]
        if any(growth is not None and growth < GROWN for growth in growths):
            return True  # (rows of one height)
        if None in growths:  # (a page that shows nothing goes as the document's other pages show)
            self._waiting.append((closest, lines))
            return False
        return closest < tight(min(growths))

    def undecided(self) -> list[tuple[int, TextRecord, str]]:
        """The waiting lines that overlap: all, unless the pages that show how rows are made show them growing.

        The largest growth those pages show bounds how closely the layout sets its lines.
        """
        shown = [growth for growth in self._growth.values() if growth is not None]
        limit = tight(max(shown)) if shown and min(shown) >= GROWN else None
        overlap = [lines for closest, lines in self._waiting if limit is None or closest < limit]
        return [(page, record, OVERLAPPING) for lines in overlap for page, record in lines]


def tight(growth: float) -> float:
    """The closest lines a layout whose rows grow by ``growth`` font sizes a line sets, in font sizes.

    :data:`TIGHT_LINES`, or less where the rows grow by less a line (:func:`line_growth`): a
    layout spaces its lines by its font's height (Courier's ascent less its descent is 0.79 font
    sizes), and a row holding one more line is taller by that spacing.

    Example:
        >>> tight(1.2), round(tight(0.79), 3)
        (0.85, 0.75)
    """
    return min(TIGHT_LINES, SPACED * growth)


# A row grows by at least this many font sizes a line its cell holds (the tightest line spacing
# a layout sets, TIGHT_LINES in patterns.py, less what printers round a row's height by).
GROWN = 0.7
# Lines of a cell stand at least this share of the row's growth a line apart (printers round a
# row's height, and a line's position, to their units).
SPACED = 0.95


_Span = tuple[tuple[str, str], float, list[float], Record]


def _spans(records: Sequence[Record], *, held: bool) -> tuple[float, list[_Span], dict[tuple[str, str], list[float]]]:
    """The page's product-row font size, its spans, and the pitches of its spans without lines by kinds.

    A span runs from a product or tariff row to the next one below it: its kinds (upper, lower),
    pitch, baselines from the upper row down to the lower, and the item it names. ``held``: the
    lines its rows' cells held only pieces of their UPC or unit on count as its lines.
    """
    anchors = [(index, r) for index, r in enumerate(records) if isinstance(r, (ItemRecord, TariffRecord))]
    sizes = sorted(r.size for r in records if isinstance(r, ItemRecord))
    if not sizes:
        return 0.0, [], {}
    size = sizes[len(sizes) // 2]
    spans: list[_Span] = []
    for (i, upper), (j, lower) in itertools.pairwise(anchors):
        lines = [r.y for r in records[i + 1 : j] if isinstance(r, TextRecord) and lower.y < r.y < upper.y]
        # (and the lines of either row's cells that held only pieces of its UPC or unit)
        if held:
            lines += [y for r in (upper, lower) if isinstance(r, ItemRecord) for y in r.held if lower.y < y < upper.y]
            lines.sort(reverse=True)
        item = upper if isinstance(upper, ItemRecord) else lower
        spans.append(((upper.kind, lower.kind), upper.y - lower.y, [upper.y, *lines, lower.y], item))
    empty: dict[tuple[str, str], list[float]] = {}
    for kinds, pitch, baselines, _ in spans:
        if len(baselines) == 2:
            empty.setdefault(kinds, []).append(pitch)
    return size, spans, empty
