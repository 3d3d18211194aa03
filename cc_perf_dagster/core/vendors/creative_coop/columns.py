"""A product row's quantity columns: learned from the rows that print them all, used where cells are blank.

The quantities are the integers that end a product row, one per column (Qty Ord, Alloc, Shipped,
BkOrd on order confirmations; Shipped, Back Ordered on invoices). A row with a blank cell
prints fewer; each is then placed in the nearest column, by the centres learned from the rows
that print them all (else by the table header's labels).

A long description that fills its cell to the edge can touch the first quantity, which the
layout then glues to its last word (``Brown`` and ``48`` read ``Brown48``, the row one
quantity short). Numbers are set flush right in their cells, so such a word ends exactly
where the column's numbers end: there, and only where every later column's number is where
it should be, the quantity is split off again (:meth:`QuantityColumns.split`).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from cc_perf_dagster.core.models import ItemRecord, Word
from cc_perf_dagster.core.vendors.creative_coop.patterns import INTEGER

_SAMPLES = 64
# A description word with a quantity glued on: text with a letter, then the digits.
_GLUED = re.compile(r"^(?=.*[^\W\d_])(.*\D)(\d{1,6})$")
# How far (in font sizes) a number's right edge may sit from its column's.
_FLUSH = 0.15
# How far (in points) a column's header label may move before the columns count as new.
_MOVED = 2.0
# How far (in font sizes) one word may run over the next (two glyphs' boxes touching) before they overlap.
_OVERLAP = 0.15
# Rows printing every quantity needed before a row's numbers are held to the learned columns.
_ENOUGH = 3


@dataclass(frozen=True)
class Split:
    """A product row's body, split.

    Attributes:
        quantities: One per column, 0 where the cell is blank.
        description: The description words on the row.
        numbers: The quantity words, left to right.
        told_apart: Whether every quantity printed found its column.
        overrun: On a row with blank quantity cells, the description's last word where it
            reaches into the first quantity column (past where its numbers start, or its middle):
            a quantity may be glued to it that could not be split off for sure.
        overlap: Two of the row's words drawn over one another with their glyphs mixed, if any
            (a description run over its cell onto a quantity), which no split can undo.
    """

    quantities: list[int]
    description: list[Word]
    numbers: list[Word]
    told_apart: bool = True
    overrun: Word | None = None
    overlap: tuple[Word, Word] | None = None

    def doubts(self, code: str) -> list[str]:
        """Doubts about the product row ``code``'s split: quantities not told apart, a description run over one."""
        doubts = []
        if not self.told_apart:  # a quantity left in the description, or in the wrong column: not read
            doubts.append(
                f"{code}: its quantities could not be told apart into their columns: "
                "a quantity may be booked in the wrong column or in the description"
            )
        if self.overrun is not None:
            doubts.append(
                f"{code}: its description runs into the quantity columns where a cell reads blank "
                f"({self.overrun.text!r}): a quantity may be drawn against it"
            )
        if self.overlap is not None:
            doubts.append(
                f"{code}: its words are drawn over one another ({self.overlap[0].text!r} over "
                f"{self.overlap[1].text!r}): a description or quantity may be read wrong"
            )
        return doubts


class QuantityColumns:
    """The quantity columns of one document, learned row by row."""

    def __init__(self, count: int):
        self.count = count
        self.header: tuple[float, ...] = ()  # the header labels' centres, once a page shows them all
        self._centres: list[list[float]] = [[] for _ in range(count)]
        self._rights: list[list[float]] = [[] for _ in range(count)]
        self._starts: list[float] = []  # where the first column's numbers start (its left edges)
        self._medians: list[float] | None = None  # _columns(), until the next sample or page

    def page(self, header: Sequence[float]) -> None:
        """Take a page's header labels' centres (where it shows them all).

        A table whose columns moved (each page's table laid out on its own, or two documents
        in one file) starts learning afresh from the new page's header.
        """
        if len(header) != self.count:
            return
        if self.header and any(abs(a - b) > _MOVED for a, b in zip(header, self.header, strict=True)):
            self._centres = [[] for _ in range(self.count)]
            self._rights = [[] for _ in range(self.count)]
            self._starts = []
        self.header = tuple(header)
        self._medians = None

    def split(self, body: Sequence[Word], size: float, *, learn: bool = True) -> Split:
        """Split a product row's body (after its code and UPC) into quantities and description words.

        Args:
            body: The row's words.
            size: The row's font size.
            learn: Learn the columns from this row where it prints them all.
        """
        found = self._split(body, size, learn)
        overlap = next((pair for pair in pairwise(body) if _interleaved(*pair, size)), None)
        return found if overlap is None else replace(found, overlap=overlap)

    def _split(self, body: Sequence[Word], size: float, learn: bool) -> Split:
        tail = trailing_integers(body)
        count = self.count
        reach = 3 * size  # how far a quantity may sit from its column's centre
        if len(tail) < count:
            unglued = self._unglued(body, tail, size)
            if unglued is not None:
                return self._split(unglued, size, False)
        elif (
            learn
            or not self._known()
            or all(_near(w, c, reach) for w, c in zip(tail[-count:], self._columns(), strict=True))
        ):
            numbers = tail[-count:]
            for centres, rights, word in zip(self._centres, self._rights, numbers, strict=True) if learn else ():
                sample(centres, _centre(word))
                sample(rights, word.x1)
                self._medians = None
            if learn:
                sample(self._starts, numbers[0].x0)
            return Split([_int(w.text) for w in numbers], list(body[: len(body) - count]), numbers)
        # Blank cells (or a number that ends the description, left of the columns): each
        # quantity printed goes to the nearest column.
        quantities = [0] * count
        placed: list[Word] = []
        columns = self._columns()
        tail = [w for w in tail if columns and _centre(w) >= min(columns) - reach]
        for word in tail:
            distances = [abs(_centre(word) - centre) for centre in columns]
            column = distances.index(min(distances))
            if distances[column] <= reach and not quantities[column]:
                quantities[column] = _int(word.text)
                placed.append(word)
        description = [w for w in body if all(w is not p for p in placed)]
        overrun = description[-1] if description and columns and self._overruns(description[-1], size) else None
        told_apart = len(placed) == len(tail) and bool(columns)
        return Split(quantities, description, placed, told_apart=told_apart, overrun=overrun)

    def _columns(self) -> list[float]:
        """The columns' centres: the medians of the rows learnt from, else the header labels'."""
        if self._medians is None:  # (asked for every product row; they change only as rows are learnt)
            self._medians = [statistics.median(c) for c in self._centres] if all(self._centres) else list(self.header)
        return self._medians

    def _overruns(self, word: Word, size: float) -> bool:
        """Whether ``word`` reaches into the first quantity column: past its middle, or past where its numbers start.

        Numbers set flush left (or centred) start well before the column's middle: a quantity
        glued to a description's last word there ends before it (TCPDF, ``Brass0``, the
        description's cell ending where the quantity's starts). Where no row has shown where
        they start (every row leaves a cell blank: the columns are the header labels'), a last
        word with digits glued to it may be one too (Firefox, ``Handle,24``).
        """
        if not self._starts:
            return word.x1 > min(self._columns()) or _GLUED.match(word.text) is not None
        return word.x1 > min(min(self._columns()), statistics.median(self._starts) + _FLUSH * size)

    def _known(self) -> bool:
        """Whether enough of the table's rows printed every quantity for their median to hold."""
        return all(len(centres) >= _ENOUGH for centres in self._centres)

    def _unglued(self, body: Sequence[Word], tail: Sequence[Word], size: float) -> list[Word] | None:
        """The body with the quantity glued to the description's last word split off, or ``None``.

        Only where the word ends flush with the column just before the printed quantities, and
        each printed quantity ends flush with its own column, the last ones.
        """
        printed = len(tail)
        if len(body) <= printed or not all(self._rights):
            return None
        rights = [statistics.median(r) for r in self._rights]
        first = self.count - printed  # the first column the printed quantities fill
        flush = _FLUSH * size
        if any(abs(word.x1 - right) > flush for word, right in zip(tail, rights[first:], strict=True)):
            return None
        word = body[len(body) - printed - 1]
        match = _GLUED.match(word.text)
        if match is None or abs(word.x1 - rights[first - 1]) > flush:
            return None
        text, digits = match.groups()
        cut = word.x1 - (word.x1 - word.x0) * len(digits) / len(word.text)  # (only its column matters)
        return [*body[: len(body) - printed - 1], Word(text, word.x0, cut), Word(digits, cut, word.x1), *tail]


def trailing_integers(body: Sequence[Word]) -> list[Word]:
    """The integers that end a row's body."""
    tail: list[Word] = []
    for word in reversed(body):
        if not INTEGER.match(word.text):
            break
        tail.insert(0, word)
    return tail


def sample(values: list[float], value: float) -> None:
    """Keep a bounded window of recent samples (column positions barely move in a document)."""
    values.append(value)
    if len(values) > _SAMPLES:
        del values[0]


def _interleaved(left: Word, right: Word, size: float) -> bool:
    """Whether two words are drawn over one another and their glyphs mixed: one holds letters and then digits.

    A description run over its cell onto a quantity is read as it is printed where its glyphs
    keep their order ("Green" over "12"); where they interleave ("Canister" over "288" read
    "Caniste2" and "r88"), the words show it.
    """
    overlapping = right.x0 < left.x1 - _OVERLAP * size
    return overlapping and (_GLUED.match(left.text) is not None or _GLUED.match(right.text) is not None)


def _centre(word: Word) -> float:
    return (word.x0 + word.x1) / 2


def _near(word: Word, centre: float, reach: float) -> bool:
    return abs(_centre(word) - centre) <= reach


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def description_bounds(record: ItemRecord, split: Split, known_x: Callable[[], float | None]) -> tuple[float, float]:
    """Left and right bounds of the description column at a product row.

    It starts after the code and UPC cells (or at the row's own description words, or where
    earlier rows' descriptions started, ``known_x()``) and ends before the first quantity. A
    cell may be drawn a little over the one before it (a UPC that overruns its narrow column):
    the bounds take ``tolerance`` more on either side, and where the row's own description
    starts left of where its UPC ends (drawn under an overrunning UPC), the column starts there,
    so that the cell's other lines, which start where the row's does, are its own. A row with
    none of its description on its own line (cells aligned middle) takes the column from where
    the others' start (or the heading's): under an overrunning UPC its lines start left of where
    the UPC ends, and were left out without a word (WeasyPrint, DejaVu Sans).
    """
    description_words = split.description
    tolerance = 0.6 * record.size
    if record.lead_x1:
        left = record.lead_x1 - tolerance
        if description_words:
            left = min(left, description_words[0].x0 - tolerance)
        elif (known := known_x()) is not None:  # none on its row (cells aligned middle): where others start
            left = min(left, known - tolerance)
    elif description_words:
        left = description_words[0].x0 - tolerance
    else:
        known = known_x()
        left = float("-inf") if known is None else known - tolerance
    qty_words = split.numbers
    right = qty_words[0].x0 if qty_words else (record.body[-1].x1 if record.body else float("inf"))
    return left, right + tolerance
