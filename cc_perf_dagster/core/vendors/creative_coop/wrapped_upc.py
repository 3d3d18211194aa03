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
  check digit is the self-check a quantity or a stray number under the cell cannot pass.

Cells aligned top put the first piece on the row's line and the rest below it; cells aligned
bottom put the last piece there and the rest above. Cells aligned middle put the row's code
between the UPC's lines, on no piece of it: those rows stay unread, and the document refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cc_perf_dagster.core.models import Row, Word
from cc_perf_dagster.core.vendors.creative_coop.patterns import CODE, CONTINUATION_GAP
from cc_perf_dagster.core.vendors.creative_coop.rows import code_at

_PIECE = re.compile(r"^\d{1,11}$")
_UPC_LENGTH = 12
_REACH = 2  # lines of a cell above or below the row's line that may hold pieces


def upc_check_digit_ok(upc: str) -> bool:
    """Whether a 12-digit UPC-A's last digit is the check digit of the eleven before it.

    Example:
        >>> upc_check_digit_ok("191009727774"), upc_check_digit_ok("191009727775")
        (True, False)
    """
    digits = [int(char) for char in upc]
    total = 3 * sum(digits[0:11:2]) + sum(digits[1:11:2])
    return (10 - total % 10) % 10 == digits[11]


def join_wrapped_upcs(rows: Sequence[Row]) -> list[Row]:
    """``rows`` with every product row's wrapped UPC joined onto its line (see the module docstring)."""
    out = list(rows)
    for index, row in enumerate(out):
        start = code_at(row.words)
        if len(row.words) < start + 2 or not _opens_with_code(row):
            continue
        piece = row.words[start + 1]
        if not _PIECE.match(piece.text):
            continue
        above = _pieces(out, index, piece, -1)
        below = _pieces(out, index, piece, 1)
        found = [
            (up, down)
            for up in range(len(above) + 1)
            for down in range(len(below) + 1)
            if (up or down) and _whole([*reversed(above[:up]), (index, piece), *below[:down]])
        ]
        if len(found) != 1:
            continue  # no reading, or more than one: the row stays without its UPC
        up, down = found[0]
        taken = [*reversed(above[:up]), (index, piece), *below[:down]]
        upc = Word("".join(w.text for _, w in taken), piece.x0, max(w.x1 for _, w in taken))
        for at, word in taken:
            out[at] = Row(y=out[at].y, size=out[at].size, words=tuple(w for w in out[at].words if w is not word))
        words = out[index].words
        out[index] = Row(y=row.y, size=row.size, words=(*words[: start + 1], upc, *words[start + 1 :]))
    return [row for row in out if row.words]


def _opens_with_code(row: Row) -> bool:
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
        if abs(last.y - line.y) > CONTINUATION_GAP * max(last.size, line.size) or _opens_with_code(line):
            break  # another cell, or another product row
        lead = [w for w in line.words if w.x0 < piece.x1 and w.x1 > piece.x0 - tolerance]
        if len(lead) != 1 or abs(lead[0].x0 - piece.x0) > tolerance or not _PIECE.match(lead[0].text):
            break
        found.append((at, lead[0]))
        last = line
        at += step
    return found
