"""A product row's unit of measure wrapped in a narrow column, put back together from its cell's lines.

The vendor's units of measure are ``each``, ``Set`` and ``lo each`` (:data:`UNITS`). A table
whose U/M column is sized for ``each`` wraps ``lo each`` inside its cell: pdfmake with four
points of padding prints ``lo`` on the row's line and ``each`` on the line below, beside the
description's second line; cells aligned bottom put ``lo`` on the line above and ``each`` on
the row's; cells aligned middle put ``lo`` above and ``each`` below, and nothing on the row's
line. Read as printed, the row's unit is short and the piece left on a line of its own is a
doubt (:mod:`~.beside`), which refuses the document. Here the pieces are joined back, where
nothing else could be meant:

* the row opens with a code and ends with its amounts after its quantities; the unit's cell
  is the room between its last quantity and its first amount;
* each other piece is the only word of its line right of where the row's numbers start, lies
  inside that room, and its line is the one just above or below the row's, within one cell's
  line spacing (:data:`~.patterns.CONTINUATION_GAP` font sizes);
* the pieces and the row's own unit words, top to bottom, make one of the vendor's units of
  more than one word, and the row's line holds a piece of it unless pieces lie both above and
  below (cells aligned middle);
* no other product row can take the same piece to make a unit of the vendor's.

Anything else wrapped there (a quantity, a price, a unit the vendor does not print) stays on its
line, and :mod:`~.beside` names it.
"""

from __future__ import annotations

from collections.abc import Sequence

from cc_perf_dagster.core.models import Row, Word
from cc_perf_dagster.core.vendors.creative_coop.patterns import CONTINUATION_GAP, INTEGER, UNIT, UNITS
from cc_perf_dagster.core.vendors.creative_coop.wrapped_upc import number_slots, opens_with_code, without

# A reading: the rows the pieces are taken from, with the pieces, and the row's unit words.
_Taken = list[tuple[int, Word]]


def join_wrapped_units(rows: Sequence[Row], held: dict[float, list[float]] | None = None) -> list[Row]:
    """``rows`` with every product row's wrapped unit joined onto its line (see the module docstring).

    ``held``, where given, gets the baselines of the lines left empty, by their product row's baseline.

    Example:
        ``lo`` on XS4444's line, ``each`` on the line below beside the description's second line:

        >>> def row(y, *words):
        ...     return Row(y, 6.5, tuple(Word(t, x, x + 4 * len(t)) for t, x in words))
        >>> rows = [
        ...     row(700, ("XS4444", 28), ("Pitcher", 110), ("16", 300), ("lo", 330), ("3.00", 360), ("38.40", 400)),
        ...     row(694, ("w/", 110), ("Handle", 122), ("each", 330)),
        ... ]
        >>> [r.text for r in join_wrapped_units(rows)]
        ['XS4444 Pitcher 16 lo each 3.00 38.40', 'w/ Handle']
    """
    out = list(rows)
    readings: dict[int, tuple[_Taken, _Taken]] = {}  # by row: (pieces above, pieces below)
    claims: dict[int, int] = {}  # how many rows' readings take each piece (by id)
    for index in range(len(out)):
        reading = _reading(out, index)
        if reading is not None:
            readings[index] = reading
            for _, word in (*reading[0], *reading[1]):
                claims[id(word)] = claims.get(id(word), 0) + 1
    for index, (above, below) in readings.items():
        if any(claims[id(word)] > 1 for _, word in (*above, *below)):
            continue  # two rows could take a piece: neither does
        for at, word in (*above, *below):
            out[at] = without(out[at], word, out[index], held)
        out[index] = _with_unit(out[index], [w for _, w in above], [w for _, w in below])
    return [row for row in out if row.words]


def _reading(rows: Sequence[Row], index: int) -> tuple[_Taken, _Taken] | None:
    """The pieces above and below row ``index`` that complete its unit, or ``None``."""
    row = rows[index]
    if not opens_with_code(row):
        return None
    bounds = _unit_cell(row)
    if bounds is None:
        return None
    numbers, left, right, own = bounds
    above = _piece(rows, index, -1, numbers, left, right)
    below = _piece(rows, index, 1, numbers, left, right)
    for up, down in ((above, None), (None, below), (above, below)):
        if (up is None and down is None) or (not own and (up is None or down is None)):
            continue  # a piece on the row's line, or (aligned middle) pieces on both sides
        words = [*([up[1]] if up else []), *own, *([down[1]] if down else [])]
        if " ".join(w.text for w in words).lower() in UNITS:
            return ([up] if up else []), ([down] if down else [])
    return None


def _unit_cell(row: Row) -> tuple[float, float, float, list[Word]] | None:
    """Where the row's numbers start, the room between its last quantity and its first amount, its unit words."""
    slots = _slots(row.words)
    if slots is None:
        return None
    start, unit, at = slots
    words = row.words
    return words[start].x0, words[unit - 1].x1, words[at].x0, list(words[unit:at])


def _slots(words: Sequence[Word]) -> tuple[int, int, int] | None:
    """:func:`~.wrapped_upc.number_slots`, where the row prints a quantity before its unit (its cell's left edge)."""
    slots = number_slots(words)
    return None if slots is None or slots[0] == slots[1] else slots


def _piece(
    rows: Sequence[Row], index: int, step: int, numbers: float, left: float, right: float
) -> tuple[int, Word] | None:
    """The one word of the next line up (``step`` -1) or down (1) right of ``numbers``, inside ``left``..``right``."""
    at = index + step
    if not 0 <= at < len(rows):
        return None
    line, row = rows[at], rows[index]
    if abs(row.y - line.y) > CONTINUATION_GAP * max(row.size, line.size) or opens_with_code(line):
        return None
    beside = [w for w in line.words if w.x1 > numbers]
    if len(beside) != 1:
        return None
    word = beside[0]
    if not (left < word.x0 and word.x1 < right and UNIT.match(word.text) and not INTEGER.match(word.text)):
        return None
    return at, word


def _with_unit(row: Row, above: Sequence[Word], below: Sequence[Word]) -> Row:
    """``row`` with the unit's pieces put in its unit cell, in reading order, after its own unit words."""
    words = row.words
    slots = _slots(words)
    assert slots is not None  # (a row with a reading has them)
    _, unit, at = slots
    pieces = [*above, *words[unit:at], *below]
    # Side by side from the cell's left edge, in reading order, in the room before the first
    # amount (narrowed alike where the pieces, as drawn, are wider than the room: they wrapped).
    x = min(w.x0 for w in pieces)
    widths = [w.x1 - w.x0 for w in pieces]
    scale = min(1.0, (words[at].x0 - x) / (sum(widths) + len(widths)))
    placed = []
    for piece, width in zip(pieces, widths, strict=True):
        placed.append(Word(piece.text, x, x + width * scale))
        x += (width + 1) * scale
    return Row(y=row.y, size=row.size, words=(*words[:unit], *placed, *words[at:]))
