"""Lines heading a page that prints no column headings, while the page before's lines still wait.

A table whose heading row is printed on its first page only (jsPDF's ``showHead: "firstPage"``)
starts every later page straight with its rows. Where the page before ended inside a cell,
its last lines waiting for the row that decides whose they are, the lines heading the next
page may be three things: a page header, the next row's start (cells aligned bottom), or the
rest of the cell the page break cut. They are kept aside here (:class:`PageHeads`) until the
first row of the table on the page says which:

* a product row just below them (each line within a cell's line spacing of the next, down to
  the row, or to the first line of the page waiting above it: only the first line heading the
  page is kept here, the page before's lines then go to their item, and the lines after wait
  as any description line does): a doubt, they may start its description or end the item before;
* a tariff line just below them, which the open item takes as its own: the item's cell went on
  over the page break, its last description lines and then its tariff line (the page before
  ended with "Dish w/ Gold Edge, Cream & Black," and the next one starts "6 Styles", then
  "Tariff Surcharge 57.60"). They are the item's.

Lines in the description column that no row of the table runs up to (the page's first row far
below them, or the totals block) are a doubt too: they may be the item's last lines, its cell
padded apart from the next, or a page header, and nothing tells which. Lines outside the
column are left out, as a page header.
"""

from __future__ import annotations

from collections.abc import Sequence

from cc_perf_dagster.core.models import TextRecord
from cc_perf_dagster.core.vendors.creative_coop.patterns import CONTINUATION_GAP

Line = tuple[int, TextRecord]  # a page and a line of it

JUST_ABOVE = "heads a page with no column headings, just above a product row,"
FAR_ABOVE = "heads a page with no column headings, where the page before's last lines waited,"


class PageHeads:
    """The lines heading pages with no column headings, each ``(page, record)``, top to bottom."""

    def __init__(self) -> None:
        self._lines: list[Line] = []

    def add(self, page: int, record: TextRecord) -> None:
        """Keep a line heading ``page``."""
        self._lines.append((page, record))

    def judged(
        self, page: int, y: float, waiting: Sequence[Line], left: float, right: float
    ) -> list[tuple[int, TextRecord, str]]:
        """Doubts ``(page, line, why)``: the lines kept, at a product row at ``y`` of ``page``.

        ``waiting``: the description lines waiting for the row (those of ``page`` lie between it
        and the lines kept). The lines just above the row in its description column (``left``,
        ``right``) may start its description or end the item before; the others in that column,
        further above, may end the item before (:meth:`rest`). Every line kept is then let be.
        """
        above = self._above(page, y, waiting)
        lines = [(page, r, JUST_ABOVE) for r in above if _inside(r, left, right)]
        del self._lines[len(self._lines) - len(above) :]
        return lines + self.rest(left, right)

    def rest(self, left: float, right: float) -> list[tuple[int, TextRecord, str]]:
        """Doubts ``(page, line, why)``: the lines kept in the description column (``left``, ``right``).

        No row of the table runs up to them: they may be the last lines of the item before,
        its cell carried over the page break and padded apart from what follows, or a page
        header. Every line kept is then let be.

        Example:
            >>> heads = PageHeads()
            >>> heads.add(2, TextRecord("Acme Co", 20, 60, 770.0, 7.5, False))
            >>> heads.add(2, TextRecord("6 Styles", 137, 164, 752.6, 7.5, False))
            >>> [(page, r.text) for page, r, _ in heads.rest(137, 270)]
            [(2, '6 Styles')]
        """
        lines = [(p, r, FAR_ABOVE) for p, r in self._lines if _inside(r, left, right)]
        self._lines = []
        return lines

    def carried(self, page: int, y: float, waiting: Sequence[Line], left: float, right: float) -> list[Line]:
        """The lines just above a tariff line at ``y`` of ``page``, top to bottom, if all are in the column.

        Taken off the lines kept: where the open item takes the tariff line, they are its cell's
        lines that the page break carried over.

        Example:
            >>> heads = PageHeads()
            >>> heads.add(3, TextRecord("Acme Co", 20, 60, 770.0, 7.5, False))
            >>> heads.add(3, TextRecord("6 Styles", 137, 164, 752.6, 7.5, False))
            >>> [r.text for _, r in heads.carried(3, 738.0, [], 137, 270)]
            ['6 Styles']
            >>> heads.carried(3, 738.0, [], 140, 270)  # a line starting left of the column
            []
        """
        lines = self._above(page, y, waiting)
        if not lines or not all(_inside(r, left, right) for r in lines):
            return []
        del self._lines[-len(lines) :]
        return [(page, r) for r in reversed(lines)]

    def _above(self, page: int, y: float, waiting: Sequence[Line]) -> list[TextRecord]:
        """The lines of ``page`` running down to its first line ``waiting``, else to a row at ``y``; bottom up.

        Each line is at most a cell's line spacing above the next.
        """
        y = next((r.y for p, r in waiting if p == page), y)
        lines = []
        for p, r in reversed(self._lines):
            if p != page or r.y - y > CONTINUATION_GAP * r.size:
                break
            lines.append(r)
            y = r.y
        return lines


def _inside(record: TextRecord, left: float, right: float) -> bool:
    """Whether a line lies within the description column ``left`` to ``right``."""
    return left <= record.x0 and record.x1 <= right
