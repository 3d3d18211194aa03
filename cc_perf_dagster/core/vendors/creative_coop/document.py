"""Creative Co-op order confirmations (``CS…``) and invoices (``CI…``): rows to line items.

Parsing happens in two stages so that the expensive one can be cached per page:

1. :func:`parse_page` turns one page's rows into a :class:`~cc_perf_dagster.core.models.PageResult`:
   what the page says about the document (numbers, dates, table kind) and its table rows as
   records (product rows, tariff sub-lines, totals, other text). It depends only on the page.
2. :func:`assemble` reads the page results in order and builds the document: it decides the
   document type, splits each product row's body into description and quantity columns,
   attaches wrapped description lines and tariff sub-lines to their item (also across page
   boundaries), reads the totals block, and runs the self-checks.

Product rows are recognised by shape, never by their position in the content stream:
a product code, a 12-digit UPC, a body, the unit of measure and two or three money amounts.
The body is read from the right, so numbers inside descriptions (``6"H``, ``S/3``,
``12 oz.``, ``Set of 4``) are never taken for quantities.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace

from cc_perf_dagster.core import validation
from cc_perf_dagster.core.bookability import listed
from cc_perf_dagster.core.errors import NoTextLayerError, UndecodableTextError, UnsupportedDocumentError, one_line
from cc_perf_dagster.core.fonts import unread_characters
from cc_perf_dagster.core.models import (
    DocumentType,
    Invoice,
    ItemRecord,
    LabelledValue,
    PageResult,
    Record,
    Row,
    TextRecord,
)
from cc_perf_dagster.core.vendors.creative_coop.beside import LinesBeside
from cc_perf_dagster.core.vendors.creative_coop.cells import description_doubts
from cc_perf_dagster.core.vendors.creative_coop.header import header_bands, page_footer, read_header
from cc_perf_dagster.core.vendors.creative_coop.items import ItemBuilder
from cc_perf_dagster.core.vendors.creative_coop.labels import split_tariff_row
from cc_perf_dagster.core.vendors.creative_coop.patterns import (
    DATE_LABELS,
    FOOTER,
    NO_DOCUMENT_NUMBER,
    NOT_CREATIVE_COOP,
)
from cc_perf_dagster.core.vendors.creative_coop.row_height import cut_off_cells
from cc_perf_dagster.core.vendors.creative_coop.rows import (
    UnreadRows,
    classify,
    join_split_rows,
    text_record,
    totals_grid,
)
from cc_perf_dagster.core.vendors.creative_coop.wrapped_code import join_wrapped_codes
from cc_perf_dagster.core.vendors.creative_coop.wrapped_unit import join_wrapped_units
from cc_perf_dagster.core.vendors.creative_coop.wrapped_upc import join_wrapped_upcs


def parse_page(page: int, content_hash: str, rows: Sequence[Row]) -> PageResult:
    """Parse one page's rows into header facts and table records.

    Args:
        page: The 1-based page number.
        content_hash: The page's content hash (carried into the result for caching).
        rows: The page's rows, top to bottom (see :func:`~cc_perf_dagster.core.layout.build_rows`).

    Returns:
        The page result; pages without products simply have no item records.
    """
    held: dict[float, list[float]] = {}  # lines left empty by joining a product row's pieces, by its baseline
    rows = join_wrapped_units(join_split_rows(join_wrapped_upcs(join_wrapped_codes(rows, held), held)), held)
    is_header = header_bands(rows)
    header = read_header(rows, is_header)
    start = is_header.index(True) if True in is_header else 0
    records: list[Record] = []
    unread = UnreadRows()  # product rows, and codes wrapped below them, that cannot be read
    beside = LinesBeside(len(header.quantity_columns))  # quantities, units and prices wrapped above or below their rows
    first = False
    skip = 0
    for index in range(start, len(rows)):
        row = rows[index]
        if skip:
            skip -= 1
            continue
        if is_header[index]:
            first = True
            continue
        grid = totals_grid(row, rows[index + 1] if index + 1 < len(rows) else None)
        if grid:
            records.extend(grid)
            skip = 1  # the amounts row is consumed
            continue
        lead, row = split_tariff_row(row)
        if lead is not None:
            records.append(text_record(lead, first))  # a description line sharing the tariff's row
        record = classify(row)
        if isinstance(record, ItemRecord) and row.y in held:
            record = replace(record, held=tuple(round(y, 3) for y in held[row.y]))
        unread.see(row, record)
        beside.see(row, record, first)
        records.append(record if record is not None else text_record(row, first))
        if not (isinstance(record, TextRecord) and FOOTER.search(record.text)):
            first = False  # a "(continued)" or page-number line does not end the page's first row
    footer = page_footer(rows)
    if footer is not None:
        header = replace(header, footer_page=footer[0], footer_pages=footer[1])
    return PageResult(
        page=page,
        content_hash=content_hash,
        has_text=bool(rows),
        header=header,
        records=tuple(records),
        doubts=(
            *unread.doubts,
            *beside.doubts,
            *odd_sizes_in_table(records),
            *cut_off_cells(records),
            *unread_rows(rows[start:]),
        ),
        unread=undecodable(rows),
    )


# A page whose fonts map at least this share of its characters to no text cannot be decoded; a
# few such characters (a ligature, a bullet) are doubts of their rows instead (unread_rows).
UNDECODABLE_SHARE = 0.1


def undecodable(rows: Sequence[Row]) -> int:
    """How many of the page's characters its fonts map to no text, where they are too many to read it.

    0 where they are fewer than :data:`UNDECODABLE_SHARE` of its characters (spaces aside).
    """
    text = "".join(word.text for row in rows for word in row.words)
    count = len(unread_characters(text))
    return count if text and count >= UNDECODABLE_SHARE * len(text) else 0


def unread_rows(rows: Sequence[Row]) -> tuple[str, ...]:
    """The rows of the table and below it with characters whose font gives them no text, as one doubt.

    A font without a Unicode mapping for some of its glyphs (a Type 3 font of made-up glyph
    names, its ``ff`` and ``fi`` ligatures, say) leaves a control or private-use character
    where a letter was drawn: a description, a label or a code with it is not what the page
    says, and a totals label it breaks is not recognised at all. What such a row says is not
    read, so it is a doubt. The rows above the table (the vendor's and the customer's
    addresses) are not booked and are let be.
    """
    unread = [(text, chars) for text in (row.text for row in rows) if (chars := unread_characters(text))]
    if not unread:
        return ()
    codes = ", ".join(sorted({f"U+{ord(char):04X}" for _, chars in unread for char in chars}))
    return (
        f"{len(unread)} row(s) with characters their font maps to no text ({codes}), "
        f'first "{one_line(unread[0][0][:50])}": the page cannot be read in full',
    )


# A table's rows share one font size; a row this much larger holds something drawn over it. (A
# smaller one is let be: a producer may shrink a long description to fit its cell.)
ODD_SIZE = 1.2


def odd_sizes_in_table(records: Sequence[Record]) -> tuple[str, ...]:
    """Rows between the page's first and last product row drawn larger than its product rows.

    A stamp ("COPY", "PAID") drawn over the table, too small to be left out as a watermark
    (:func:`~cc_perf_dagster.core.upright.without_decoration`), lands in a description
    or joins a product row, and nothing in the arithmetic can see it. A row's size is its
    largest word's, so a product row such a word joined shows it as well.
    """
    items = [r for r in records if isinstance(r, ItemRecord)]
    if len(items) < 2:
        return ()
    body = sorted(r.size for r in items)[len(items) // 2]
    top, bottom = max(r.y for r in items), min(r.y for r in items)
    doubts = []
    for record in records:
        if not isinstance(record, (ItemRecord, TextRecord)) or not bottom <= record.y <= top:
            continue
        if record.size > body * ODD_SIZE:
            what = f"product row {record.code}" if isinstance(record, ItemRecord) else f'text "{record.text[:40]}"'
            doubts.append(
                f"{what} is drawn at {record.size:.1f} pt among product rows of {body:.1f} pt "
                "(larger text across the table: a stamp?)"
            )
    return tuple(doubts)


def assemble(file: str, sha256: str, pages: Iterable[PageResult]) -> Invoice:
    """Build the document from its page results (in page order) and run the self-checks.

    Raises:
        NoTextLayerError: No page has any text.
        UnsupportedDocumentError: No Creative Co-op order or invoice number was found.
    """
    assembler = DocumentAssembler(file, sha256)
    for page in pages:
        assembler.add(page)
    return assembler.finish()


def looks_unsupported(page: PageResult) -> bool:
    """True when a page with text shows neither a CS/CI number nor the vendor's name."""
    return page.has_text and not page.header.numbers and not page.header.vendor_mentioned


class DocumentAssembler:
    """Builds a document from its page results, fed one at a time in page order.

    Memory stays flat in the page count: a page's records are turned into line items as soon
    as the document type is known (normally from page 1), and only the items, the header
    values and the page hashes are kept.

    Example:
        >>> assembler = DocumentAssembler("CS003837319.pdf", sha256)   # doctest: +SKIP
        >>> for result in page_results:                                 # doctest: +SKIP
        ...     assembler.add(result)
        >>> invoice = assembler.finish()                                # doctest: +SKIP
    """

    def __init__(self, file: str, sha256: str, *, declared_pages: int | None = None):
        self.file = file
        self.sha256 = sha256
        self.declared_pages = declared_pages  # the PDF page tree's /Count, when known
        self._numbers: list[LabelledValue] = []
        self._dates: list[tuple[int, LabelledValue]] = []
        self._table_kinds: set[DocumentType] = set()
        self._vendor = False
        self._hashes: list[str] = []
        self._textless: list[int] = []
        self._blank: list[int] = []  # pages that draw nothing at all
        self._invisible: list[int] = []  # pages read from an invisible text layer (OCR)
        self._footers: list[tuple[int, int] | None] = []
        self._doubts: list[str] = []
        self._unread = 0  # characters of the pages seen that their fonts map to no text
        self._waiting: list[PageResult] = []  # pages seen before the document type is known
        self._builder: ItemBuilder | None = None

    def add(self, page: PageResult) -> None:
        """Take the next page's result."""
        header = page.header
        self._numbers.extend(header.numbers)
        self._dates.extend((page.page, d) for d in header.dates)
        if header.table_kind:
            self._table_kinds.add(header.table_kind)
        self._vendor = self._vendor or header.vendor_mentioned
        self._hashes.append(page.content_hash)
        self._doubts.extend(f"page {page.page}: {doubt}" for doubt in page.doubts)
        self._unread += page.unread
        if page.blank:
            self._blank.append(page.page)
        elif not page.has_text:
            self._textless.append(page.page)
        if page.invisible_text:
            self._invisible.append(page.page)
        footer = (header.footer_page, header.footer_pages)
        self._footers.append(footer if header.footer_page is not None and header.footer_pages is not None else None)
        if self._builder is None:
            self._waiting.append(page)
            identity = _identity(self._numbers)
            if identity is not None:
                self._builder = ItemBuilder(identity[0])
                for waiting in self._waiting:
                    self._builder.add_page(waiting)
                self._waiting = []
        else:
            self._builder.add_page(page)

    def _blank_pages(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The pages let be as blank, and the pages without text (blank ones among them).

        A page that draws nothing is let be only where the document's own numbering shows that
        no page is missing without it: every other page prints "Page N of M", N from 1 to M
        in order, and there are M of them (a browser's empty last page, a page left empty
        after a table that overflowed). Otherwise a blank page may be one whose content was
        lost, and it counts as a page without text, which refuses the document.
        """
        if self._blank and _numbered_without(self._footers, self._blank):
            return tuple(self._blank), tuple(self._textless)
        return (), tuple(sorted(self._textless + self._blank))

    def finish(self) -> Invoice:
        """The document, with its self-checks.

        Raises:
            NoTextLayerError: No page has any text.
            UnsupportedDocumentError: No Creative Co-op order or invoice number was found
                (``UndecodableTextError`` where the fonts map characters to no text).
        """
        if len(self._textless) + len(self._blank) == len(self._hashes):
            raise NoTextLayerError(
                "no text layer: the pages hold no text (a scan, or text drawn as outlines?); OCR is not supported",
                file=self.file,
            )
        identity = _identity(self._numbers)
        if (identity is None or self._builder is None) and self._unread:
            raise UndecodableTextError(self._unread, file=self.file)
        if identity is None or self._builder is None:
            reason = NOT_CREATIVE_COOP if not self._vendor else NO_DOCUMENT_NUMBER
            raise UnsupportedDocumentError(reason, file=self.file)
        document_type, number = identity
        blank, textless = self._blank_pages()
        warnings = [f"page {p} has no text layer (image only?)" for p in textless]
        if blank:
            warnings.append(
                f"page(s) {listed([str(p) for p in blank])} blank (nothing drawn), "
                'left out by the pages\' own "Page N of M" lines'
            )
        if self._invisible:  # read as any text layer; the self-checks are what vouch for it
            warnings.append(
                f"page(s) {listed([str(p) for p in self._invisible])} read from invisible text over the page "
                "(a scanner's OCR layer?): an OCR misreading is caught only where the arithmetic sees it"
            )
        # An invoice cites its order (CS); two numbers of its own kind, each under its own label
        # ("INVOICE NO", "ORDER NO"), are two documents. A number merely mentioned is let be.
        kind = "invoice" if document_type == "invoice" else "order"
        named = sorted({n.value for n in self._numbers if n.value[:2] == number[:2] and kind.upper() in n.label})
        if len(named) > 1:
            self._doubts.append(f"its pages name more than one {kind} number ({', '.join(named)}): two documents?")
        date = _document_date(document_type, self._dates)
        if date is None:  # every document prints one, and every booking row starts with it
            self._doubts.append(
                f"no {DATE_LABELS[document_type].lower()} could be read: its rows would be booked undated"
            )
        if len(self._table_kinds) == 1 and document_type not in self._table_kinds:
            kind = next(iter(self._table_kinds))
            warnings.append(f"the table columns are those of an {kind}, the number says {document_type}")
        items, totals = self._builder.finish()
        warnings.extend(self._builder.warnings)
        self._doubts.extend(self._builder.doubts)
        no_upc = [item.product_code for item in items if not item.upc]
        if no_upc:  # every line prints its 12-digit UPC: one read without it was not read whole
            self._doubts.append(
                f"{len(no_upc)} product row(s) read without the UPC every line prints: {listed(no_upc)}"
            )
        self._doubts.extend(description_doubts(items))
        if totals is not None and totals.total is None:  # the block ends in what the document comes to
            self._doubts.append("its totals block was read without a Total: part of it was not read")
        report = validation.check_document(items, totals)
        warnings.extend(report.warnings)
        return Invoice(
            file=self.file,
            sha256=self.sha256,
            document_type=document_type,
            invoice_number=number,
            invoice_date=None if date is None else dt.date.fromisoformat(date),
            page_count=len(self._hashes),
            line_items=tuple(items),
            totals=totals,
            consistency_score=report.consistency_score,
            warnings=tuple(warnings),
            totals_reconcile=report.totals_reconcile,
            page_hashes=tuple(self._hashes),
            declared_pages=self.declared_pages,
            footer_pages=max((total for _, total in filter(None, self._footers)), default=None),
            textless_pages=textless,
            blank_pages=blank,
            page_footers=tuple(self._footers),
            doubts=tuple(self._doubts),
        )


def _numbered_without(footers: list[tuple[int, int] | None], blank: list[int]) -> bool:
    """Whether the pages but the blank ones are numbered "Page 1 of M" to "Page M of M", each once, in order."""
    shown = [footer for page, footer in enumerate(footers, 1) if page not in blank]
    total = len(shown)
    return total > 0 and shown == [(n, total) for n in range(1, total + 1)]


def _identity(numbers: list[LabelledValue]) -> tuple[DocumentType, str] | None:
    """Document type and number: a CI number makes an invoice (which may cite its CS order)."""
    invoices = [n for n in numbers if n.value.startswith("CI")]
    if invoices:
        return "invoice", _most_labelled(invoices, "INVOICE")
    orders = [n for n in numbers if n.value.startswith("CS")]
    if orders:
        return "order_confirmation", _most_labelled(orders, "ORDER")
    return None


def _most_labelled(values: list[LabelledValue], label_word: str) -> str:
    labelled = [v.value for v in values if label_word in v.label]
    return Counter(labelled or [v.value for v in values]).most_common(1)[0][0]


def _document_date(document_type: DocumentType, dates: list[tuple[int, LabelledValue]]) -> str | None:
    """The date labelled as the order/invoice date; else one labelled DATE; else the first unlabelled one."""
    wanted = DATE_LABELS[document_type]
    rules = (lambda lab: lab == wanted, lambda lab: wanted in lab, lambda lab: lab == "DATE", lambda lab: not lab)
    for accept in rules:
        chosen = [d.value for _, d in dates if accept(d.label)]
        if chosen:
            return chosen[0]
    return None
