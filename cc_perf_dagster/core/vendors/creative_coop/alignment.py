"""How the document's cells align, told by its rows, and the lines only that can share out.

A row's description lines above its numbers show cells aligned bottom (or middle); lines
below them, top (or middle). Lines of a row broken across pages show nothing: the producer
carries a broken cell's rest over whatever its alignment, and may lay the broken row out from
its top. The gaps between two lines of one cell on one page give the document's line spacing,
which tells a lone line heading a page after a break, a cell boundary above the next row, from
that row's own first line (:func:`~.cells.widest_after_break`).
"""

from __future__ import annotations

from collections.abc import Sequence

from cc_perf_dagster.core.vendors.creative_coop.cells import Undecided, share_undecided


class CellAlignment:
    """The evidence of the document's cell alignment, and the line groups waiting for it."""

    def __init__(self) -> None:
        self.undecided: list[Undecided] = []  # shared out in share(), once the document is read
        self._above = 0  # cells whose description starts above the numbers
        self._below = 0  # cells whose description goes on below the numbers, on the row's page
        self._spacing = 0.0  # the widest gap between two lines of one cell seen on one page

    def below(self, gaps: Sequence[float | None]) -> None:
        """A cell's lines taken below its row; ``gaps`` from the row (or its last line) down through them.

        A cell broken across pages (a page break among the gaps) is no evidence: a producer lays
        a broken row's cells out from their top, whatever their alignment (Chromium, cells
        aligned bottom: the row's code and numbers at the foot of one page, its description's
        lines under them and on at the head of the next).
        """
        self._below += None not in gaps
        self._see(gaps)

    def above(self, gaps: Sequence[float | None]) -> None:
        """A cell's lines taken above its row; ``gaps`` from its first line down to the row."""
        self._above += 1
        self._see(gaps)

    def share(self, above: list[list[str]], below: list[list[str]]) -> list[str]:
        """Share out the waiting groups into each item's lines ``above`` and ``below`` its row; the doubts.

        Example:
            A document aligned bottom (a cell of two lines, 9 pt apart, above its row) with a
            line heading a page 15 pt above the next row: the row above was broken there.

            >>> alignment = CellAlignment()
            >>> alignment.above([9.0])
            >>> alignment.undecided.append((0, ["Colors"], 2, False, True, (None, 15.0)))
            >>> above, below = [[], []], [[], []]
            >>> alignment.share(above, below), below[0], above[1]
            ([], ['Colors'], [])
        """
        found = (bool(self._above), bool(self._below))
        doubts = share_undecided(self.undecided, above, below, found, self._spacing or None)
        self.undecided = []
        return doubts

    def _see(self, gaps: Sequence[float | None]) -> None:
        self._spacing = max([self._spacing, *(gap for gap in gaps if gap is not None)])
