"""Typed values that flow through the core: text runs, rows, page results, invoices.

Everything here is a frozen dataclass. Money is :class:`~decimal.Decimal`. The page-level
values (:class:`PageResult` and its records) are what a page parse produces; they convert
to and from plain JSON-able dicts so they can be cached and passed between processes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

DocumentType = Literal["order_confirmation", "invoice"]
VENDOR = "Creative Co-op"


@dataclass(frozen=True, slots=True)
class TextRun:
    """One piece of text drawn by one text-showing operator, in page coordinates.

    Attributes:
        text: The decoded text.
        x0: Left edge of the first glyph, in points from the page's left edge.
        x1: Right edge of the last glyph.
        y: Baseline, in points from the page's bottom edge.
        size: Effective font size (the glyph height in points).
    """

    text: str
    x0: float
    x1: float
    y: float
    size: float


@dataclass(frozen=True, slots=True)
class Word:
    """A whitespace-free token of a visual row with its horizontal extent."""

    text: str
    x0: float
    x1: float


@dataclass(frozen=True, slots=True)
class Row:
    """A visual line of a page: the words that share a baseline, left to right."""

    y: float
    size: float
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        """The row's words joined with single spaces."""
        return " ".join([w.text for w in self.words])


# --- page-level records ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """A product row as printed: code, UPC, then the body up to the unit, then the amounts.

    The body mixes description words and quantity columns; which trailing tokens are
    quantities depends on the document type, so the split is made when the document is
    assembled (:mod:`cc_perf_dagster.core.vendors.creative_coop.items`), not per page.
    """

    code: str
    upc: str
    body: tuple[Word, ...]
    unit: str
    amounts: tuple[str, ...]
    y: float
    size: float
    lead_x1: float = 0.0  # right edge of the code and UPC cells: the description column starts after it
    # Baselines of lines of the row's cells that held only pieces of its UPC or unit, joined onto
    # its line (wrapped_upc, wrapped_unit): the row's cells reached them.
    held: tuple[float, ...] = ()
    kind: Literal["item"] = "item"


@dataclass(frozen=True, slots=True)
class TariffRecord:
    """A tariff sub-line (``Tariff Surcharge 5.76`` or ``TRF-CCOI 5.76``)."""

    amount: str
    y: float
    kind: Literal["tariff"] = "tariff"


@dataclass(frozen=True, slots=True)
class TotalRecord:
    """A labelled amount of a totals block (``Merchandise Subtotal 1,234.56``)."""

    label: str
    amount: str
    kind: Literal["total"] = "total"


@dataclass(frozen=True, slots=True)
class TextRecord:
    """Any other row of the table region; it may be a description continuation.

    Attributes:
        text: The row's text.
        x0: Left edge of the row's first word.
        x1: Right edge of the row's last word.
        y: The row's baseline.
        size: The row's font size.
        first: Whether this is the first row below a table header on its page.
    """

    text: str
    x0: float
    x1: float
    y: float
    size: float
    first: bool
    kind: Literal["text"] = "text"


Record = ItemRecord | TariffRecord | TotalRecord | TextRecord


@dataclass(frozen=True, slots=True)
class LabelledValue:
    """A header value (document number or date) with the label printed nearest to it."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class PageHeader:
    """What a page says about the document as a whole."""

    numbers: tuple[LabelledValue, ...] = ()
    dates: tuple[LabelledValue, ...] = ()
    vendor_mentioned: bool = False
    table_kind: DocumentType | None = None
    description_x: float | None = None
    quantity_columns: tuple[float, ...] = ()  # x-centres of the quantity column labels
    footer_pages: int | None = None  # M of a "Page N of M" line on the page
    footer_page: int | None = None  # N of that line


@dataclass(frozen=True, slots=True)
class PageResult:
    """Everything parsed from one page; cacheable under the page's content hash."""

    page: int
    content_hash: str
    has_text: bool
    header: PageHeader
    records: tuple[Record, ...]
    # What the page parser saw but cannot read for sure (larger text across the table)
    doubts: tuple[str, ...] = ()
    # Read from text drawn invisible, as the page shows none: a scanner's OCR layer
    invisible_text: bool = False
    # Characters on the page its fonts map to no text, where so many that it cannot be decoded
    # (see core.fonts.unread_characters); 0 on a page that reads
    unread: int = 0
    # The page draws nothing at all (no text, image, path or annotation; see core.blank_page)
    blank: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able form of the page result."""
        h = self.header
        return {
            "page": self.page,
            "content_hash": self.content_hash,
            "has_text": self.has_text,
            "header": {
                "numbers": [[v.value, v.label] for v in h.numbers],
                "dates": [[v.value, v.label] for v in h.dates],
                "vendor_mentioned": h.vendor_mentioned,
                "table_kind": h.table_kind,
                "description_x": h.description_x,
                "quantity_columns": list(h.quantity_columns),
                "footer_pages": h.footer_pages,
                "footer_page": h.footer_page,
            },
            "records": [_record_to_dict(r) for r in self.records],
            "doubts": list(self.doubts),
            "invisible_text": self.invisible_text,
            "unread": self.unread,
            "blank": self.blank,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageResult:
        """Rebuild a page result from :meth:`to_dict` output."""
        h = data["header"]
        header = PageHeader(
            numbers=tuple(LabelledValue(v, lab) for v, lab in h["numbers"]),
            dates=tuple(LabelledValue(v, lab) for v, lab in h["dates"]),
            vendor_mentioned=h["vendor_mentioned"],
            table_kind=h["table_kind"],
            description_x=h["description_x"],
            quantity_columns=tuple(h.get("quantity_columns", ())),
            footer_pages=h.get("footer_pages"),
            footer_page=h.get("footer_page"),
        )
        return cls(
            page=data["page"],
            content_hash=data["content_hash"],
            has_text=data["has_text"],
            header=header,
            records=tuple(_record_from_dict(r) for r in data["records"]),
            doubts=tuple(data.get("doubts", ())),
            invisible_text=data.get("invisible_text", False),
            unread=data.get("unread", 0),
            blank=data.get("blank", False),
        )


def _record_to_dict(record: Record) -> dict[str, Any]:
    if isinstance(record, ItemRecord):
        return {
            "kind": "item",
            "code": record.code,
            "upc": record.upc,
            "body": [[w.text, w.x0, w.x1] for w in record.body],
            "unit": record.unit,
            "amounts": list(record.amounts),
            "y": record.y,
            "size": record.size,
            "lead_x1": record.lead_x1,
            "held": list(record.held),
        }
    if isinstance(record, TariffRecord):
        return {"kind": "tariff", "amount": record.amount, "y": record.y}
    if isinstance(record, TotalRecord):
        return {"kind": "total", "label": record.label, "amount": record.amount}
    return {
        "kind": "text",
        "text": record.text,
        "x0": record.x0,
        "x1": record.x1,
        "y": record.y,
        "size": record.size,
        "first": record.first,
    }


def _record_from_dict(data: dict[str, Any]) -> Record:
    kind = data["kind"]
    if kind == "item":
        return ItemRecord(
            code=data["code"],
            upc=data["upc"],
            body=tuple(Word(t, x0, x1) for t, x0, x1 in data["body"]),
            unit=data["unit"],
            amounts=tuple(data["amounts"]),
            y=data["y"],
            size=data["size"],
            lead_x1=data.get("lead_x1", 0.0),
            held=tuple(data.get("held", ())),
        )
    if kind == "tariff":
        return TariffRecord(amount=data["amount"], y=data["y"])
    if kind == "total":
        return TotalRecord(label=data["label"], amount=data["amount"])
    if kind == "text":
        return TextRecord(
            text=data["text"], x0=data["x0"], x1=data["x1"], y=data["y"], size=data["size"], first=data["first"]
        )
    raise ValueError(f"unknown record kind {kind!r}")


# --- documents ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineItem:
    """One product line of an order confirmation or invoice.

    Quantity columns a document type does not print are ``None`` (invoices have no
    ordered or allocated quantity). ``quantity`` is the billed quantity, the one the
    extended price was computed on.
    """

    page: int
    product_code: str
    upc: str
    description: str
    qty_ordered: int | None
    qty_allocated: int | None
    qty_shipped: int | None
    qty_backordered: int | None
    unit: str
    list_price: Decimal
    unit_price: Decimal
    extended_price: Decimal
    tariff_surcharge: Decimal | None
    quantity: int
    unit_price_printed: bool = True

    @property
    def is_billed(self) -> bool:
        """Whether the line books anything (a positive billed quantity)."""
        return self.quantity > 0


@dataclass(frozen=True, slots=True)
class Totals:
    """The amounts of a totals block; ``None`` where the document prints none."""

    subtotal: Decimal | None = None
    tariff: Decimal | None = None
    freight: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    """A whole extracted document (order confirmation or invoice) and its self-checks.

    ``page_count`` is the number of pages read. What the document itself says about its
    length is kept beside it, so that a document read short is noticed
    (:mod:`cc_perf_dagster.core.bookability`): ``declared_pages`` is the PDF page tree's
    ``/Count``, ``footer_pages`` the largest M of its "Page N of M" lines (``None`` where
    the file or the pages say nothing), ``textless_pages`` the pages without any text (but
    ``blank_pages``, which draw nothing at all, where the pages' own numbering counts them out), and
    ``page_footers`` each page's own ``(N, M)`` in file order (``None`` for a page without such a
    line), so that pages repeated, out of order or of another document are noticed too;
    ``doubts`` what the reader saw and could not read for sure, one sentence each, naming the page.
    """

    file: str
    sha256: str
    document_type: DocumentType
    invoice_number: str
    invoice_date: dt.date | None
    page_count: int
    line_items: tuple[LineItem, ...]
    totals: Totals | None
    consistency_score: float
    warnings: tuple[str, ...]
    totals_reconcile: bool | None
    page_hashes: tuple[str, ...] = field(default=(), repr=False)
    vendor: str = VENDOR
    declared_pages: int | None = None
    footer_pages: int | None = None
    textless_pages: tuple[int, ...] = ()
    blank_pages: tuple[int, ...] = ()
    page_footers: tuple[tuple[int, int] | None, ...] = ()
    doubts: tuple[str, ...] = ()

    @property
    def billed_items(self) -> tuple[LineItem, ...]:
        """The lines that go into the booking sheet."""
        return tuple(item for item in self.line_items if item.is_billed)
