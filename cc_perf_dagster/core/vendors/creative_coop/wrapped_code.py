"""A product code wrapped in a narrow column, its last characters joined back onto its row.

A code column narrower than the code breaks it inside its cell: pdfmake with eight points of
padding prints "DA2571A" as "DA2571" on the row's line and "A" on the line below, where the
description's second line is. Read as printed, the item is booked under "DA2571", and
:class:`~.rows.UnreadRows` names the piece left in the cell, refusing the document. The piece is
joined back where nothing else could be meant (cells aligned top):

* the row opens with a code, and the next line of its cell (at most
  :data:`~.patterns.CONTINUATION_GAP` font sizes below) holds one word that starts where the code
  starts (the cell's left edge) and ends before the next cell (the UPC) starts;
* the word cannot start a code (it is the end of one: "A", "5", "9A"), and the code and it make
  one code as the vendor prints them.

Codes wrapped otherwise (the row's line holding the code's end, cells aligned bottom or
middle) stay doubts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cc_perf_dagster.core.models import Row, Word
from cc_perf_dagster.core.vendors.creative_coop.patterns import CODE, CONTINUATION_GAP
from cc_perf_dagster.core.vendors.creative_coop.rows import code_at
from cc_perf_dagster.core.vendors.creative_coop.wrapped_upc import without

_END = re.compile(r"^[A-Z0-9]{1,3}$")  # what a code's end may be
_START = re.compile(r"^[A-Z]{2}")  # what a code starts with


def opens_with_a_piece(text: str) -> bool:
    """Whether a line opens with what a code wrapped in its cell leaves on the next line ("A", "9A").

    Such a line heading a page, while the row above the page break waits for its tariff line,
    is that row's cell carried over the break: its code read short.

    Example:
        >>> opens_with_a_piece("A w Pleats"), opens_with_a_piece("Acme Gift Shop"), opens_with_a_piece("XS12")
        (True, False, False)
    """
    return _code_end(text.split(maxsplit=1)[0] if text.strip() else "")


def _code_end(text: str) -> bool:
    """Whether a word may be the end of a code wrapped in its cell: "A", "5", "9A", no code's start."""
    return bool(_END.match(text)) and not _START.match(text)


def join_wrapped_codes(rows: Sequence[Row], held: dict[float, list[float]] | None = None) -> list[Row]:
    """``rows`` with every product row's wrapped code joined onto its line (see the module docstring).

    ``held``, where given, gets the baselines of the lines left empty, by their product row's baseline.
    """
    out = list(rows)
    for index in range(len(out) - 1):
        row, line = out[index], out[index + 1]
        start = code_at(row.words)
        if len(row.words) < start + 2 or not CODE.match(row.words[start].text) or not line.words:
            continue
        code, after = row.words[start], row.words[start + 1]
        piece = line.words[0]
        if row.y - line.y > CONTINUATION_GAP * max(row.size, line.size):
            continue
        if abs(piece.x0 - code.x0) > 0.5 * row.size or piece.x1 >= after.x0:
            continue
        if len(line.words) > 1 and line.words[1].x0 < after.x0:
            continue  # more than one word in the code's cell: a note under the table
        if not _code_end(piece.text) or not CODE.match(code.text + piece.text):
            continue
        joined = Word(code.text + piece.text, code.x0, max(code.x1, piece.x1))
        out[index + 1] = without(line, piece, row, held)
        out[index] = Row(y=row.y, size=row.size, words=(*row.words[:start], joined, *row.words[start + 1 :]))
    return [row for row in out if row.words]
