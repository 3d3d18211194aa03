"""Tariff lines no product row took where they were drawn: whose they are, or a doubt.

A tariff line sits just below its product row (:data:`~.patterns.TARIFF_GAP` font sizes at
most), and the item above takes it there. One drawn further below (a table padding its rows
generously, the tariff line in a row of its own: pdfkit-table with five points of padding
puts it 3.4 font sizes under its row) is left stray. What a stray line is depends on what
follows it:

* a product row: nothing else stands between two product rows, so the one stray line on the
  page of the item above, which has no tariff, is that item's where its amount is 15% of the
  item's extended price (to a cent, :func:`~.pricing.far_tariff`). Two or more, or another
  amount, belong to no item: the rows they were drawn under were not read (a doubt);
* the totals block: the block's own tariff line, unless it is that one line, 15% of the last
  item's extended price, and cannot be the block's: the block prints a tariff total of its own,
  or another item has a tariff, which the block's tariff total would have to add in. Then it is
  the last item's (and the block's total, which adds every item's tariff, checks it).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from cc_perf_dagster.core.bookability import listed
from cc_perf_dagster.core.models import LineItem, TariffRecord
from cc_perf_dagster.core.vendors.creative_coop.pricing import far_tariff


class StrayTariffs:
    """The tariff lines no item took, since the last product row or totals line."""

    def __init__(self) -> None:
        self.orphans: list[str] = []  # amounts of tariff lines between items that no item took
        self._stray: list[tuple[int, TariffRecord]] = []  # by page
        self._open = False  # whether the item above could take the first stray line
        # The last item's far tariff, by item index, while the totals block may name its own.
        self._last: tuple[int, Decimal] | None = None

    def doubts(self) -> list[str]:
        """The doubt of the tariff lines among the line items that no item took, or none."""
        if not self.orphans:
            return []
        return [
            f"{len(self.orphans)} tariff line(s) among the line items belong to no item "
            f"({listed(self.orphans)}): the rows they belong to may not have been read"
        ]

    def add(self, page: int, record: TariffRecord, *, open_item: bool) -> None:
        """A tariff line the current item did not take (a totals line, unless an item follows).

        ``open_item``: the item above could still take a tariff when the line came (no tariff
        line or totals line since it): only then may the line be the item's (drawn far below).
        """
        self._stray.append((page, record))
        self._open = open_item if len(self._stray) == 1 else False

    def before_item(self, items: list[LineItem], item_page: int) -> None:
        """A product row follows: the item above (on ``item_page``) takes its far tariff, the rest are orphans."""
        amount = self._far(items, item_page)
        if amount is not None:
            items[-1] = replace(items[-1], tariff_surcharge=amount)
        else:
            self.orphans.extend(record.amount for _, record in self._stray)
        self._stray = []

    def before_totals(self, items: list[LineItem], item_page: int) -> list[Decimal]:
        """A totals line follows (or the document ends): the tariff amounts that go to the totals block."""
        amount = self._far(items, item_page) if self._last is None else None
        if amount is not None:
            self._last, self._stray = (len(items) - 1, amount), []
        amounts = [Decimal(record.amount) for _, record in self._stray]
        self._stray = []
        return amounts

    def finish(self, items: list[LineItem], block_tariff: bool) -> list[Decimal]:
        """The document ends: the last item takes its far tariff where it cannot be the totals block's.

        ``block_tariff``: the block printed a tariff total. Returns the amounts that go to the
        totals block after all.
        """
        if self._last is None:
            return []
        (index, amount), self._last = self._last, None
        others = any(item.tariff_surcharge for at, item in enumerate(items) if at != index)
        if not (block_tariff or others):
            return [amount]
        items[index] = replace(items[index], tariff_surcharge=amount)
        return []

    def _far(self, items: list[LineItem], item_page: int) -> Decimal | None:
        if not (self._open and items) or items[-1].tariff_surcharge is not None:
            return None
        return far_tariff(self._stray, item_page, items[-1].extended_price)
