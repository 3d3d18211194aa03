"""Words broken inside, over two lines of a description cell ("Embroi" / "dered"): a doubt.

A producer breaks a word too wide for what is left of its line inside the word, with no
hyphen (PDFKit does so even where the word would fit the next line whole: "20"L Embroi" over
"dered" in Courier). The line broken fills its cell to the column's edge and ends in a
letter, and the next line starts with the rest of the word, in lower case. Read as printed,
the description is booked with the word in two ("Embroi dered"). Nothing in the text tells
such a break from a full line followed by a word in lower case ("Metal" over "and"), so where
both show the document is refused, never booked with a word cut in two; only the vendor's own
words in lower case ("x", "w", "of", ...) start a line for sure.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from cc_perf_dagster.core.bookability import listed
from cc_perf_dagster.core.vendors.creative_coop.patterns import CONTINUATION_GAP

_PIECE_END = re.compile(r"[A-Za-z]$")
_PIECE_START = re.compile(r"^([a-z]+)[,.;:]?(?: |$)")
# The vendor's own words in lower case ("4"L x 6"W", "Pillow w Tassels", "12 oz.", "Set of 2"):
# a line starting with one is taken as a line, not the rest of a word ("w/" starts no piece).
_LOWER_WORDS = frozenset({"x", "w", "oz", "on", "of", "in"})
# A line this many font sizes short of the column's widest line still fills its cell: a word
# broken where the next glyph did not fit, in a column whose widest line is a glyph short too.
_FULL = 1.0


@dataclass(frozen=True, slots=True)
class _Line:
    page: int
    y: float
    size: float
    text: str
    x1: float


class BrokenWords:
    """The lines of a document's description column, in reading order, and the doubts they raise."""

    def __init__(self) -> None:
        self._lines: list[_Line] = []

    def see(self, page: int, y: float, size: float, text: str, x1: float) -> None:
        """A line of the description column (a product row's description words, or a line of their own)."""
        if text:
            self._lines.append(_Line(page, y, size, text, x1))

    def doubts(self) -> list[str]:
        """One doubt naming the lines that may end in half a word, or none."""
        if not self._lines:
            return []
        widest = max(line.x1 for line in self._lines)
        found = [
            f"{upper.text.split()[-1]} / {lower.text.split()[0]}"
            for upper, lower in itertools.pairwise(self._lines)
            if upper.page == lower.page
            and 0 < upper.y - lower.y <= CONTINUATION_GAP * max(upper.size, lower.size)
            and upper.x1 >= widest - _FULL * upper.size
            and _PIECE_END.search(upper.text)
            and (start := _PIECE_START.match(lower.text)) is not None
            and start.group(1) not in _LOWER_WORDS
        ]
        if not found:
            return []
        return [
            f"{len(found)} description line(s) fill their cell and end in letters the next line may go on "
            f"({listed(found)}): a word may be broken in two, the description misread"
        ]
