"""A product row's UPC wrapped in a narrow column, put back together from its cell's lines.

A table whose UPC column is narrower than twelve digits breaks the UPC inside its cell:
iText's ``PdfPTable`` with four points of padding prints ``19100972777`` on the row's line and
``4`` on the line below, where the description's second line is. Read as printed, the row has
no UPC (and a stray ``4`` under it), so the document is refused: "read without the UPC every
line prints". Here the pieces are joined back, where nothing else could be meant:

* the row opens as a product row does (a code, after a line number where it has one), and the
  word after the code is shorter than a UPC and all digits;
* each other piece is the only word of its line that starts before the row's piece ends, it
  starts where the row's piece starts (the cell's left edge), it is all digits, and the lines
  are one cell's (at most :data:`~.patterns.CONTINUATION_GAP` font sizes apart);
* the pieces, top to bottom, make exactly one 12-digit UPC-A whose check digit is right. The
  check digit is the self-check a quantity or a stray number under the cell cannot pass. It
  lets one wrong pairing in ten through, so where a row's pieces make a UPC two ways (with the
  line above, or with the next row's first piece below), the row takes the way every other UPC
  joined on its page wrapped, where at least two did and all the same way; else it has no UPC;
* the page's description column is at least two UPCs wide (:func:`_description_span`): a
  producer that breaks a UPC breaks a description word too wide for its column the same way,
  and a column as narrow as a UPC has such words (TCPDF: "Ha" over "nd-Carved").

Cells aligned top put the first piece on the row's line and the rest below it; cells aligned
bottom put the last piece there and the rest above. Cells aligned middle put a UPC of two (or
four) lines around the row's line, none of it on that line: the first piece is then the first
word right of the code on the line above, and pieces are taken both above and below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cc_perf_dagster.core.models import Row, Word
from cc_perf_dagster.core.vendors.creative_coop.patterns import CODE, CONTINUATION_GAP, INTEGER, MONEY, UNIT, UPC
from cc_perf_dagster.core.vendors.creative_coop.rows import code_at

_PIECE = re.compile(r"^\d{1,11}$")
_UPC_LENGTH = 12
_REACH = 2  # lines of a cell above or below the row's line that may hold pieces
_ROOM = 2.0  # UPC widths the description column holds at least, where a UPC is joined

# A row's UPC pieces top to bottom and the way they wrapped; "ambiguous" (two ways); None (none).
_Reading = tuple[list[tuple[int, Word]], str] | str | None


def upc_check_digit_ok(upc: str) -> bool:
    """Whether a 12-digit UPC-A's last digit is the check digit of the eleven before it.

    Example:
        >>> upc_check_digit_ok("191009727774"), upc_check_digit_ok("191009727775")
        (True, False)
    """
    digits = [int(char) for char in upc]
    total = 3 * sum(digits[0:11:2]) + sum(digits[1:11:2])
    return (10 - total % 10) % 10 == digits[11]


def join_wrapped_upcs(rows: Sequence[Row], held: dict[float, list[float]] | None = None) -> list[Row]:
    """``rows`` with every product row's wrapped UPC joined onto its line (see the module docstring).

    ``held``, where given, gets the baselines of the lines left empty, by their product row's baseline.
    """
    out = list(rows)
    span: list[float] = []  # the page's description column, measured once where a UPC wrapped
    ways: list[str] = []  # which way each UPC joined so far wrapped: "above", "below" or "around"
    ambiguous: list[int] = []  # rows whose pieces make a UPC two ways
    for index in range(len(out)):
        if _join(out, index, None, span, ways, held) == "ambiguous":
            ambiguous.append(index)
    # Where every other UPC of the page wrapped the same way (at least two), an ambiguous row's
    # wrapped that way too: the check digit lets one in ten wrong pairings through.
    if len(ways) >= 2 and len(set(ways)) == 1 and ways[0] != "around":
        for index in ambiguous:
            _join(out, index, ways[0], span, ways, held)
    return [row for row in out if row.words]


def _join(
    out: list[Row],
    index: int,
    prefer: str | None,
    span: list[float],
    ways: list[str],
    held: dict[float, list[float]] | None,
) -> str | None:
    """Join row ``index``'s wrapped UPC in ``out``; which way it wrapped, ``"ambiguous"``, or ``None``."""
    row = out[index]
    start = code_at(row.words)
    if len(row.words) < start + 2 or not opens_with_code(row) or UPC.match(row.words[start + 1].text):
        return None
    on_the_line = _on_the_line(out, index, start, prefer)
    reading = on_the_line if isinstance(on_the_line, tuple) else _around_the_line(out, index, start)
    if not isinstance(reading, tuple):  # no reading, or more than one: the row stays without its UPC
        return "ambiguous" if "ambiguous" in (on_the_line, reading) else None
    taken, way = reading
    if not span:
        span.append(_description_span(out))
    if span[0] < _ROOM * _upc_width(taken):
        return None  # a column that may have broken description words inside too: no UPC read
    upc = Word("".join(w.text for _, w in taken), taken[0][1].x0, max(w.x1 for _, w in taken))
    for at, word in taken:
        out[at] = without(out[at], word, row, held)
    words = out[index].words
    out[index] = Row(y=row.y, size=row.size, words=(*words[: start + 1], upc, *words[start + 1 :]))
    ways.append(way)
    return way


def _on_the_line(rows: Sequence[Row], index: int, start: int, prefer: str | None) -> _Reading:
    """The UPC's pieces where the row's line holds one, after the code (cells aligned top or bottom)."""
    piece = rows[index].words[start + 1]
    if not _PIECE.match(piece.text):
        return None
    return _one_reading(_pieces(rows, index, piece, -1), [(index, piece)], _pieces(rows, index, piece, 1), prefer)


def _around_the_line(rows: Sequence[Row], index: int, start: int) -> _Reading:
    """The UPC's pieces above and below a row whose line holds none (cells aligned middle).

    The first piece is the line above's first word right of the code; the row's line holds
    nothing where it is drawn.
    """
    row, code = rows[index], rows[index].words[start]
    if index == 0 or opens_with_code(rows[index - 1]):
        return None
    anchor = next((w for w in rows[index - 1].words if w.x0 > code.x1), None)
    tolerance = 0.5 * row.size
    if anchor is None or any(w.x0 < anchor.x1 and w.x1 > anchor.x0 - tolerance for w in row.words):
        return None
    above, below = _pieces(rows, index, anchor, -1), _pieces(rows, index, anchor, 1)
    return _one_reading(above, [], below, None) if above and below else None


def _one_reading(
    above: Sequence[tuple[int, Word]],
    own: Sequence[tuple[int, Word]],
    below: Sequence[tuple[int, Word]],
    prefer: str | None,
) -> _Reading:
    """The pieces, top to bottom, of the one way ``above``, ``own`` and ``below`` make a UPC, and that way.

    ``"ambiguous"`` where they make one more ways than one (of them, the way ``prefer`` names
    where it is given: the way the page's other UPCs wrapped), ``None`` where none.
    """
    found = [
        ([*reversed(above[:up]), *own, *below[:down]], "around" if up and down else "above" if up else "below")
        for up in range(len(above) + 1)
        for down in range(len(below) + 1)
        if (up or down) and (own or (up and down))
    ]
    found = [(pieces, way) for pieces, way in found if _whole(pieces)]
    if len(found) > 1 and prefer is not None:
        found = [(pieces, way) for pieces, way in found if way == prefer]
    return found[0] if len(found) == 1 else "ambiguous" if found else None


def _upc_width(taken: Sequence[tuple[int, Word]]) -> float:
    """The width twelve digits take, from the widest piece."""
    widest = max((w for _, w in taken), key=lambda w: w.x1 - w.x0)
    return _UPC_LENGTH * (widest.x1 - widest.x0) / len(widest.text)


def _description_span(rows: Sequence[Row]) -> float:
    """The page's description column: its widest span over the product rows.

    A producer that breaks a UPC inside breaks any word too wide for its column: a description
    column barely wider than a UPC breaks this family's longer words too ("Hand-Carved" as "Ha"
    over "nd-Carved", TCPDF), and no gap says where. A column :data:`_ROOM` UPCs wide never has
    to (no word of the descriptions is longer than a UPC). A row's span runs from the first word
    after its code and UPC (or a piece of it) to where its numbers start; a description ending
    in a number only narrows it, so the widest is taken. Joining a UPC leaves every span as it was.
    """
    spans = [0.0]
    for row in rows:
        start = code_at(row.words) + 1  # after the code, and after its UPC (or a piece) where it has one
        start += len(row.words) > start and _PIECE.match(row.words[start].text) is not None
        start += len(row.words) > start and UPC.match(row.words[start].text) is not None
        numbers = _numbers_start(row) if opens_with_code(row) and len(row.words) > start else None
        if numbers is not None:
            spans.append(numbers - row.words[start].x0)
    return max(spans)


def _numbers_start(row: Row) -> float | None:
    """Where a product row's numbers start: its amounts, unit and quantities, read from the right."""
    slots = number_slots(row.words)
    return None if slots is None or slots[0] == len(row.words) else row.words[slots[0]].x0


def number_slots(words: Sequence[Word]) -> tuple[int, int, int] | None:
    """Where a product row's quantities, unit words (at most two) and amounts start, read from the right.

    ``None`` where the row ends in no amounts (not a product row's line). A UPC is no quantity:
    on a row whose description lies wholly above and below its line (cells aligned middle), the
    quantities start after it.
    """
    at = len(words)
    while at and MONEY.match(words[at - 1].text):
        at -= 1
    if at == len(words):
        return None
    unit = at
    while unit > max(at - 2, 0) and UNIT.match(words[unit - 1].text) and not INTEGER.match(words[unit - 1].text):
        unit -= 1
    start = unit
    while start and INTEGER.match(words[start - 1].text) and not UPC.match(words[start - 1].text):
        start -= 1
    return start, unit, at


def without(line: Row, word: Word, row: Row, held: dict[float, list[float]] | None) -> Row:
    """``line`` without ``word``, a piece of product row ``row``'s cell; ``held`` notes a line left empty."""
    words = tuple(w for w in line.words if w is not word)
    if not words and held is not None and line is not row:
        held.setdefault(row.y, []).append(line.y)
    return Row(y=line.y, size=line.size, words=words)


def opens_with_code(row: Row) -> bool:
    """Whether ``row`` opens with a product code (after its line number, where it has one)."""
    start = code_at(row.words)
    return len(row.words) > start and CODE.match(row.words[start].text) is not None


def _whole(pieces: Sequence[tuple[int, Word]]) -> bool:
    digits = "".join(word.text for _, word in pieces)
    return len(digits) == _UPC_LENGTH and upc_check_digit_ok(digits)


def _pieces(rows: Sequence[Row], index: int, piece: Word, step: int) -> list[tuple[int, Word]]:
    """The digits starting where ``piece`` starts on the lines of its cell above (``step`` -1) or below (1)."""
    found: list[tuple[int, Word]] = []
    tolerance = 0.5 * rows[index].size
    last = rows[index]
    at = index + step
    while 0 <= at < len(rows) and len(found) < _REACH:
        line = rows[at]
        if abs(last.y - line.y) > CONTINUATION_GAP * max(last.size, line.size) or opens_with_code(line):
            break  # another cell, or another product row
        lead = [w for w in line.words if w.x0 < piece.x1 and w.x1 > piece.x0 - tolerance]
        if len(lead) != 1 or abs(lead[0].x0 - piece.x0) > tolerance or not _PIECE.match(lead[0].text):
            break
        found.append((at, lead[0]))
        last = line
        at += step
    return found
