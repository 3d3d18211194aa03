"""Records to line items, page by page.

Description lines are shared between rows by the table's cell alignment, tariffs attached
to their item, quantity columns learned from the rows that print them all.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from cc_perf_dagster.core.models import (
    DocumentType,
    ItemRecord,
    LineItem,
    PageResult,
    TariffRecord,
    TextRecord,
    TotalRecord,
    Totals,
)
from cc_perf_dagster.core.vendors.creative_coop.alignment import CellAlignment
from cc_perf_dagster.core.vendors.creative_coop.broken_words import BrokenWords
from cc_perf_dagster.core.vendors.creative_coop.cells import (
    apart,
    boundaries,
    closest_lines,
    join_lines,
    widest_gap,
)
from cc_perf_dagster.core.vendors.creative_coop.columns import QuantityColumns, Split, description_bounds, sample
from cc_perf_dagster.core.vendors.creative_coop.heads import PageHeads
from cc_perf_dagster.core.vendors.creative_coop.labels import TotalPieces, carried_tariff
from cc_perf_dagster.core.vendors.creative_coop.patterns import FOOTER, MONEY, QTY_COLUMNS, TARIFF_GAP
from cc_perf_dagster.core.vendors.creative_coop.pricing import (
    billed_quantity,
    billing_candidates,
    inferred_unit_price,
    prices,
    totals_key,
)
from cc_perf_dagster.core.vendors.creative_coop.row_height import OVERLAPPING, GrowingRows
from cc_perf_dagster.core.vendors.creative_coop.tariffs import StrayTariffs
from cc_perf_dagster.core.vendors.creative_coop.wrapped_code import opens_with_a_piece

# Why a line among the rows is given to no item, unless another reason is given (see _untaken).
_PAST_COLUMN = "does not fit the description column"


class ItemBuilder:
    """Turns records into line items and totals, page by page, in document order."""

    def __init__(self, document_type: DocumentType):
        self.document_type = document_type
        self.qty_count = QTY_COLUMNS[document_type]
        self.warnings: list[str] = []
        self.doubts: list[str] = []  # table lines given to no item, a sentence each (the document is refused)
        self.items: list[LineItem] = []
        # Each item's description as lines: above its row, on its row, below its row.
        self._above_lines: list[list[str]] = []
        self._row_text: list[str] = []
        self._below_lines: list[list[str]] = []
        self._flushed: list[tuple[int, TextRecord]] = []  # the lines last moved to a description by _flush_pending
        self._alignment = CellAlignment()  # how the cells align, and the lines only that can share out
        self._span = (0.0, 0.0)  # description column of the current item
        self._last = (0, 0.0)  # page and baseline of the current item's last row
        self._open = False  # the current item may still take description lines and its tariff
        self._size = 10.0  # font size of the current item's row
        self._totals: dict[str, Decimal] = {}
        self._tariffs = StrayTariffs()  # tariff lines no item took where they were drawn
        self._pieces = TotalPieces()  # the totals block's lines of a label or an amount alone
        self._broken = BrokenWords()  # the description column's lines: words broken in two?
        self._columns_seen = QuantityColumns(self.qty_count)
        self._description_x: list[float] = []
        self._header_x: float | None = None
        # Description lines not yet given to an item: below the current item's row or above the next.
        self._pending: list[tuple[int, TextRecord]] = []
        self._heads = PageHeads()  # lines heading a page with no column headings, while lines wait
        self._past: list[tuple[int, TextRecord]] = []  # lines past the column, far below the rows: notes?
        self._seen = (0, 0.0)  # page and baseline of the last table record
        self._grows = GrowingRows()  # whether pages' rows grow with their cells (rows_grow)

    def add_page(self, page: PageResult) -> None:
        """Take the next page's records."""
        self._grows.add(page.page, page.records)
        if self._header_x is None:
            self._header_x = page.header.description_x
        self._columns_seen.page(page.header.quantity_columns)
        for record in page.records:  # the page's columns, from its rows that print every quantity
            if isinstance(record, ItemRecord):
                self._columns_seen.split(record.body, record.size, learn=True)
        before = 0  # non-text records seen on this page so far
        for record in page.records:
            if isinstance(record, ItemRecord):
                for p, r in self._past:  # a product row follows: no note under the table
                    if p == page.page:
                        self._untaken(p, r)
                self._past = []
                split = self._split_body(record)  # once per row: the columns' bounds and the item
                if words := split.description:
                    self._broken.see(page.page, record.y, record.size, " ".join(w.text for w in words), words[-1].x1)
                self._doubt(self._heads.judged(page.page, record.y, self._pending, *self._columns(record, split)))
                above = self._split_pending(page.page, record, split)
                self._close()
                self._tariffs.before_item(self.items, self._last[0])
                self._start(page.page, record, split, above)
            elif isinstance(record, TariffRecord):
                self._tariff(page.page, self._carried_tariff(page.page, record) if before == 0 else record, before)
            elif isinstance(record, TotalRecord):
                self._past = []
                self._pieces.end()
                self._doubt(self._heads.rest(*self._span))
                self._flush_pending()
                self._flush_stray_tariffs()
                self._total(record.label, Decimal(record.amount))
                self._close()
            elif isinstance(record, TextRecord):
                carried = self._carried_tariff(page.page, record) if before == 0 else None
                if carried is not None:
                    self._tariff(page.page, carried, before)
                    before += 1
                elif self._totals and (total := self._pieces.see(page.page, record, first=before == 0)):
                    self._total(total.label, Decimal(total.amount))
                elif self._description_line(record, page.page):
                    self._pending.append((page.page, record))
                    self._broken.see(page.page, record.y, record.size, record.text, record.x1)
                elif self._pending and not FOOTER.search(record.text):
                    self._flush_pending()
            if not isinstance(record, TextRecord):
                before += 1
                if isinstance(record, ItemRecord):
                    self._seen = (page.page, record.y)

    def _carried_tariff(self, page: int, record: TextRecord | TariffRecord) -> TariffRecord | None:
        """A tariff line heading the page whose label ended the page before (waiting, or taken as description)."""
        tail = [r.text for _, r in self._flushed]
        flushed = self._open and bool(tail) and self._below_lines[-1][-len(tail) :] == tail
        count, tariff = carried_tariff(self._pending or (self._flushed if flushed else []), page, record)
        if count:
            del (self._pending or self._below_lines[-1])[-count:]
        return tariff

    def _tariff(self, page: int, record: TariffRecord, before: int) -> None:
        if carried := self._takes_tariff(record, page, before) and self._heads.carried(
            page, record.y, self._pending, *self._span
        ):
            here = [(p, r) for p, r in self._pending if p == page]  # the item's cell went on over the page break
            self._pending = [*(line for line in self._pending if line[0] != page), *carried, *here]
            for p, r in carried:
                self._broken.see(p, r.y, r.size, r.text, r.x1)
        self._flush_pending()
        self._seen = (page, record.y)
        if self._takes_tariff(record, page, before):
            self.items[-1] = replace(self.items[-1], tariff_surcharge=Decimal(record.amount))
        else:
            self._tariffs.add(page, record, open_item=self._open and not self._totals)
        self._close()

    def _description_line(self, record: TextRecord, page: int) -> bool:
        """Whether a text row may be a wrapped line of a description (of this item or the next).

        A line further below the last than a cell's line spacing may still start the next
        item's description (cells aligned bottom or middle, rows padded apart): it waits with
        the others, and the gaps share them out when the next row comes (``_split_pending``).
        """
        if self._totals or FOOTER.search(record.text):
            return False
        if MONEY.match(record.text) and self.items:  # no description is an amount: a label wrapped away?
            self._untaken(page, record, "is an amount on a line of its own")
            return False
        broken = self._open and self._seen[0] < page and opens_with_a_piece(record.text)  # (a code's end?)
        if self.items and record.x0 < self._span[0] and (record.first or broken):  # (a row broken over pages)
            self._untaken(page, record, "heads the page's rows in the code and UPC cells")
            return False
        if self._pending:
            last_page, last_y = self._pending[-1][0], self._pending[-1][1].y
        else:
            last_page, last_y = self._last if self._open else self._seen
        far = page == last_page and apart(last_y - record.y, record.size)
        if page != last_page and not record.first and self._pending:
            self._heads.add(page, record)  # a page header, the next row's start or the cell's end (heads)
            return False
        if not self.items:
            return True  # judged by the columns of the item that takes it (see _split_pending)
        left, right = self._span
        if left <= record.x0 < right < record.x1:
            if far:  # a note under the table, unless a product row follows it on the page
                self._past.append((page, record))
            else:
                self._untaken(page, record)  # starts in the description column and runs past it
            return False
        return record.x0 >= left and record.x1 <= right

    def _doubt(self, lines: Sequence[tuple[int, TextRecord, str]]) -> None:
        """Doubts: lines no item can take, and why (heading pages with no column headings; set tightly)."""
        for p, r, why in lines:
            self._untaken(p, r, why)

    def _untaken(self, page: int, record: TextRecord, why: str = _PAST_COLUMN) -> None:
        """A doubt: a line among the table's rows, where only a description line fits, that no item can take.

        By default it does not fit the description column (a cell's text drawn past its cell,
        over the quantities), so it cannot be told whose description it belongs to, or whether
        it is one; left out, a description would be booked short.
        """
        self.doubts.append(
            f"page {page}: a line among the line items {why} and no item can take it ({record.text!r}): "
            "a description may be read short"
        )

    def _flush_pending(self) -> None:
        """The waiting lines, up to a cell boundary, are the current item's (a tariff, totals or other text follows)."""
        if self._pending and self._open:
            gaps = self._gaps(self._last, page=None)
            far = boundaries(gaps, [r.size for _, r in self._pending])
            taken = self._pending[: far[0] if far else len(self._pending)]
            if taken:
                self._below_lines[-1].extend(r.text for _, r in taken)
                self._flushed = taken
                self._alignment.below(gaps[: len(taken)])
                self._last = (taken[-1][0], taken[-1][1].y)
        self._pending = []

    def _gaps(self, start: tuple[int, float], page: int | None, y: float = 0.0) -> list[float | None]:
        """The gaps from ``start`` (page, baseline) down the waiting lines, and on to a row at ``y`` of ``page``."""
        points = [start, *((p, r.y) for p, r in self._pending), *([(page, y)] if page is not None else [])]
        return [a[1] - b[1] if a[0] == b[0] else None for a, b in itertools.pairwise(points)]

    def _split_pending(self, page: int, record: ItemRecord, split: Split) -> list[str]:
        """Share the lines between the current item's row and the next item's row.

        Lines of the description column that overlap (:meth:`.row_height.GrowingRows.overlaps`) are
        no one's: a cell's text runs past its row, and no gap says which item a line is of. A gap
        wider than a cell's line spacing is a cell boundary: lines above the first such
        gap continue the current item, lines below the last start the next, lines between two
        are neither's. Otherwise a table draws more space between two rows than between the
        lines of one cell, so the widest gap is the cell boundary when it stands out. Otherwise
        the lines go as the document's cells are aligned: below the numbers (top-aligned),
        above them (bottom-aligned), or as many below as the current item had above (middle).
        """
        left, right = self._columns(record, split)
        for p, r in self._pending:
            if left <= r.x0 < right < r.x1:
                self._untaken(p, r)  # starts in the description column and runs past it
        self._pending = [(p, r) for p, r in self._pending if r.x0 >= left and r.x1 <= right]
        if not self._pending:
            return []
        lines = [r.text for _, r in self._pending]
        gaps = self._gaps(self._last if self._open else self._seen, page, record.y)
        sizes = [*(r.size for _, r in self._pending), record.size]
        # Which gaps lie between two lines of the description column: the upper row's own line
        # only where it prints description words (or is a line below it), the lower row likewise.
        upper = self._open and bool(self._row_text[-1] or self._below_lines[-1])
        columned = [upper, *(True for _ in self._pending[1:]), bool(split.description)]
        pages = {page, *(p for p, _ in self._pending)}  # (lines set tightly overlap in rows of one height)
        if self._grows.overlaps(closest_lines(gaps, sizes, columned), pages, list(self._pending)):
            for p, r in self._pending:
                self._untaken(p, r, OVERLAPPING)
            self._pending = []
            return []
        far = boundaries(gaps, sizes)
        if far:
            below, above = far[0], far[-1]
            if below and not self._open:  # after a closed item's tariff line, yet far from the next row
                for p, r in self._pending[:below]:
                    self._untaken(p, r, "lies below a tariff line, far above the next row")
            for p, r in self._pending[below:above]:  # (lines that end an earlier page: a note there)
                if p == page:
                    self._untaken(p, r, "lies far from the rows above and below it")
        elif not self._open and (gaps[0] is not None or not self.items):
            below = above = 0
        else:  # (after a closed item and a page break: its cell carried over, or the next's start)
            cut = widest_gap(gaps) if self._open else None
            if cut is None:  # shared out in finish(), when the document has shown how its cells align
                group = (len(self.items) - 1, lines, page, not self._open, None in gaps, tuple(gaps))
                self._alignment.undecided.append(group)
                self._pending = []
                return []
            below = above = cut
        self._pending = []
        if below and self._open:
            self._below_lines[-1].extend(lines[:below])
            self._alignment.below(gaps[:below])
        if above < len(lines):
            self._alignment.above(gaps[above + 1 :])
        return lines[above:]

    def _share_undecided(self) -> None:
        """Share out the lines no gap decided (:class:`.alignment.CellAlignment`) and join each item's description."""
        self.doubts.extend(self._alignment.share(self._above_lines, self._below_lines))
        for index, item in enumerate(self.items):
            lines = [*self._above_lines[index], self._row_text[index], *self._below_lines[index]]
            self.items[index] = replace(item, description=join_lines(lines))

    def _flush_stray_tariffs(self) -> None:
        for amount in self._tariffs.before_totals(self.items, self._last[0]):
            self._total("Tariff", amount)

    def finish(self) -> tuple[list[LineItem], Totals | None]:
        """The line items with their descriptions complete, and the totals block."""
        self._flush_pending()
        self._doubt(self._heads.rest(*self._span))
        self._close()
        self._doubt(self._grows.undecided())
        self._share_undecided()
        self._flush_stray_tariffs()
        for amount in self._tariffs.finish(self.items, "tariff" in self._totals):
            self._total("Tariff", amount)
        self.doubts.extend([*self._tariffs.doubts(), *self._broken.doubts(), *self._pieces.doubts])
        return self.items, Totals(**self._totals) if self._totals else None

    def _close(self) -> None:
        """The current item takes no more description lines or tariff."""
        self._open = False

    def _takes_tariff(self, record: TariffRecord, page: int, records_before: int) -> bool:
        """Whether a tariff line belongs to the current item rather than to the totals block.

        On the item's page it sits just below the item; on a later page it is that page's first
        row of the table (pages between may hold no table row: a page a table overflowed onto
        with only its footer).
        """
        if not self._open or self._totals:
            return False
        item = self.items[-1]
        if item.extended_price == 0 and Decimal(record.amount) != 0:
            return False  # 15% of nothing: a tariff total after a zero line
        last_page, last_y = self._last
        if page == last_page:
            return (last_y - record.y) <= TARIFF_GAP * self._size
        return page > last_page and records_before == 0

    def _start(self, page: int, record: ItemRecord, split: Split, above: Sequence[str] = ()) -> None:
        quantities, description_words = split.quantities, split.description
        if description_words:
            sample(self._description_x, description_words[0].x0)
        self._span = self._columns(record, split)
        list_price, unit_price, extended, printed = prices(
            record.amounts, billing_candidates(self.document_type, quantities)
        )
        known_price = unit_price if printed else None
        quantity = billed_quantity(self.document_type, quantities, list_price, known_price, extended)
        if not printed:
            unit_price = inferred_unit_price(list_price, extended, quantity)
        if self.document_type == "order_confirmation":
            ordered, allocated, shipped, backordered = quantities
        else:
            ordered, allocated = None, None
            shipped, backordered = quantities
        row_text = " ".join(w.text for w in description_words)
        description = join_lines([*above, row_text])  # final once its lines below are in (finish)
        self._above_lines.append(list(above))
        self._row_text.append(row_text)
        self._below_lines.append([])
        self.items.append(
            LineItem(
                page=page,
                product_code=record.code,
                upc=record.upc,
                description=description,
                qty_ordered=ordered,
                qty_allocated=allocated,
                qty_shipped=shipped,
                qty_backordered=backordered,
                unit=record.unit,
                list_price=list_price,
                unit_price=unit_price,
                extended_price=extended,
                tariff_surcharge=None,
                quantity=quantity,
                unit_price_printed=printed,
            )
        )
        self._last = (page, record.y)
        self._size = record.size
        self._open = True

    def _columns(self, record: ItemRecord, split: Split) -> tuple[float, float]:
        """Left and right bounds of the description column at an item's row (:func:`description_bounds`)."""
        return description_bounds(record, split, self._known_description_x)

    def _known_description_x(self) -> float | None:
        if self._description_x:
            return statistics.median(self._description_x)
        return self._header_x

    def _split_body(self, record: ItemRecord) -> Split:
        """Split a product row's body into its quantity columns and its description words; warn or doubt."""
        split = self._columns_seen.split(record.body, record.size, learn=False)  # (learned in add_page)
        self.doubts.extend(split.doubts(record.code))
        return split

    def _total(self, label: str, amount: Decimal) -> None:
        key = totals_key(label)
        if key in self._totals and self._totals[key] != amount:
            self.warnings.append(f"two different {key} amounts in the totals block: {self._totals[key]}, {amount}")
        self._totals.setdefault(key, amount)
