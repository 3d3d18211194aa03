"""Lines of their own in a product row's quantity, unit and price columns: a cell there wrapped.

A product row prints its quantities, unit and prices on one line. Where one of those cells is
too narrow for its text, the producer wraps it: ``lo each`` over two lines, ``lo`` a line above
the row and ``each`` a line below (cells aligned middle), and the row reads no unit. Pieces
that make one of the vendor's units with the row's are joined onto its line before the page
is read (:mod:`~.wrapped_unit`); anything else wrapped there is left. Nothing else of the table
is drawn there on a line of its own (a tariff line holds its amount, a wrapped description
starts in the description column), so such a line, within a cell's line spacing of a product
row, is a doubt that names it: the row's values may be read short.
"""

from __future__ import annotations

from cc_perf_dagster.core.errors import one_line
from cc_perf_dagster.core.models import ItemRecord, Record, Row
from cc_perf_dagster.core.vendors.creative_coop.patterns import CONTINUATION_GAP, FOOTER, INTEGER, MONEY, UNIT_WORDS


def numbers_left(record: ItemRecord, row: Row, columns: int) -> float:
    """Where a product row's last ``columns`` quantities start (its prices, where it prints no quantity).

    The body's trailing integers beyond those may be the description's ("Set of 4").
    """
    body = record.body
    count = 0
    while count < min(len(body), columns) and INTEGER.match(body[-1 - count].text):
        count += 1
    if count:
        return body[-count].x0
    prices = [word for word in row.words if MONEY.match(word.text)]
    return prices[-len(record.amounts)].x0 if len(prices) >= len(record.amounts) else row.words[-1].x0


class LinesBeside:
    """A page's rows, in turn: lines in the number columns just above or below a product row are doubts."""

    def __init__(self, quantity_columns: int) -> None:
        """``quantity_columns``: how many the page's column headings name (2, an invoice's, where none do)."""
        self._columns = quantity_columns or 2
        self.doubts: list[str] = []
        # The last product row (code, where its numbers start) and the baseline of the last line
        # of its cells so far, while lines follow within a cell's line spacing.
        self._below: tuple[str, float, float] | None = None
        self._since: list[Row] = []  # rows of no record since the last record, top to bottom

    def see(self, row: Row, record: Record | None, first: bool) -> None:
        """Take the page's next row (not a column heading) and what :func:`~.rows.classify` made of it.

        ``first``: the row comes right under the column headings, where a heading's last
        letters wrapped onto a line of their own lie in the number columns too ("Shippe" over
        "d", LibreOffice): it is no wrapped value, unless it reads as one (a number, or one of
        the vendor's units: a row broken across pages carries "each" of its "lo each" there).
        """
        if isinstance(record, ItemRecord):
            left = numbers_left(record, row, self._columns)
            y = row.y
            for line in reversed(self._since):  # the lines just above it, nearest first
                if line.y - y > CONTINUATION_GAP * line.size:
                    break
                self._doubt(line, left, "above", record.code)
                y = line.y
            self._below, self._since = (record.code, left, row.y), []
        elif record is None and not FOOTER.search(row.text):
            below = self._below
            if below is not None and below[2] - row.y <= CONTINUATION_GAP * row.size:
                if self._doubt(row, below[1], "below", below[0]):
                    return  # (not taken again for the row below)
                self._below = (below[0], below[1], row.y)
            else:
                self._below = None
            self._since = [] if first and not _value(row) else [*self._since, row]
        else:
            self._below, self._since = None, []  # a tariff line, a total or a footer ends the cells

    def _doubt(self, line: Row, left: float, where: str, code: str) -> bool:
        if line.words[0].x0 < left - 0.5 * line.size:
            return False
        self.doubts.append(
            f'"{one_line(line.text[:40])}" lies on a line of its own in the quantity, unit and price columns, '
            f"{where} the row of {code}: a value wrapped in its cell, read short"
        )
        return True


def _value(row: Row) -> bool:
    """Whether every word of a line reads as a value of the number columns: a number or a unit word."""
    return all(INTEGER.match(w.text) or MONEY.match(w.text) or w.text.lower() in UNIT_WORDS for w in row.words)
