"""Export extracted documents: the JSON schema of ``cc-perf extract`` and booking-row CSV.

Booking rows are what the customer's purchasing sheet takes: six columns, one row per
line with a billed quantity above zero::

    Invoice Date | Vendor | Invoice# | Description | Price | Qty
    1/17/2025 | Creative Co-op | CS003837319 | XS9826A - UPC: 0191009727774 - 6"H Metal ... | 1.60 | 24

Files are written atomically: to a temporary file in the same folder, then renamed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from cc_perf_dagster.core.models import Invoice, LineItem, Totals

BOOKING_HEADER = ("Invoice Date", "Vendor", "Invoice#", "Description", "Price", "Qty")


def money(value: Decimal | None) -> str | None:
    """Money as a string with two decimals (``None`` stays ``None``)."""
    return None if value is None else f"{value:.2f}"


def item_to_dict(item: LineItem) -> dict[str, Any]:
    """One line item in the JSON schema."""
    return {
        "page": item.page,
        "product_code": item.product_code,
        "upc": item.upc,
        "description": item.description,
        "qty_ordered": item.qty_ordered,
        "qty_allocated": item.qty_allocated,
        "qty_shipped": item.qty_shipped,
        "qty_backordered": item.qty_backordered,
        "unit": item.unit,
        "list_price": money(item.list_price),
        "unit_price": money(item.unit_price),
        "extended_price": money(item.extended_price),
        "tariff_surcharge": money(item.tariff_surcharge),
        "quantity": item.quantity,
        "unit_price_printed": item.unit_price_printed,
    }


def totals_to_dict(totals: Totals | None) -> dict[str, str | None] | None:
    """The totals block in the JSON schema (``None`` when the document has none)."""
    if totals is None:
        return None
    block = {
        "subtotal": money(totals.subtotal),
        "tariff": money(totals.tariff),
        "freight": money(totals.freight),
        "total": money(totals.total),
    }
    if totals.tax is not None:  # printed on few documents; the key appears where it is
        block["tax"] = money(totals.tax)
    return block


def invoice_to_dict(invoice: Invoice) -> dict[str, Any]:
    """The whole document in the JSON schema of ``cc-perf extract``."""
    return {
        "file": invoice.file,
        "sha256": invoice.sha256,
        "document_type": invoice.document_type,
        "vendor": invoice.vendor,
        "invoice_number": invoice.invoice_number,
        "invoice_date": None if invoice.invoice_date is None else invoice.invoice_date.isoformat(),
        "page_count": invoice.page_count,
        "consistency_score": invoice.consistency_score,
        "totals_reconcile": invoice.totals_reconcile,
        "warnings": list(invoice.warnings),
        "totals": totals_to_dict(invoice.totals),
        "line_items": [item_to_dict(item) for item in invoice.line_items],
        "declared_pages": invoice.declared_pages,
        "footer_pages": invoice.footer_pages,
        "textless_pages": list(invoice.textless_pages),
        "blank_pages": list(invoice.blank_pages),
        "page_footers": [None if footer is None else list(footer) for footer in invoice.page_footers],
        "doubts": list(invoice.doubts),
        "page_hashes": list(invoice.page_hashes),
    }


def invoice_to_record(invoice: Invoice) -> dict[str, Any]:
    """The one record of a document, for caches, steps and storage: :func:`invoice_to_dict`, lossless.

    :func:`invoice_from_record` rebuilds the very same :class:`Invoice` from it.
    """
    return invoice_to_dict(invoice)


def invoice_from_record(record: dict[str, Any], *, file: str | None = None) -> Invoice:
    """Rebuild a document from :func:`invoice_to_record` output (optionally under another file name).

    Records written before the record and the JSON schema were one (``{"invoice": ...}`` with
    ``tax`` and ``unit_price_printed`` beside it) are read too.
    """
    if "invoice" in record:
        record = _flattened(record)
    data = record
    printed = [item.get("unit_price_printed", True) for item in data["line_items"]]
    items = tuple(
        LineItem(
            page=i["page"],
            product_code=i["product_code"],
            upc=i["upc"],
            description=i["description"],
            qty_ordered=i["qty_ordered"],
            qty_allocated=i["qty_allocated"],
            qty_shipped=i["qty_shipped"],
            qty_backordered=i["qty_backordered"],
            unit=i["unit"],
            list_price=Decimal(i["list_price"]),
            unit_price=Decimal(i["unit_price"]),
            extended_price=Decimal(i["extended_price"]),
            tariff_surcharge=_decimal(i["tariff_surcharge"]),
            quantity=i["quantity"],
            unit_price_printed=flag,
        )
        for i, flag in zip(data["line_items"], printed, strict=True)
    )
    totals = data.get("totals")
    return Invoice(
        file=file or data["file"],
        sha256=data["sha256"],
        document_type=data["document_type"],
        invoice_number=data["invoice_number"],
        invoice_date=None if data["invoice_date"] is None else dt.date.fromisoformat(data["invoice_date"]),
        page_count=data["page_count"],
        line_items=items,
        totals=None
        if totals is None
        else Totals(
            subtotal=_decimal(totals["subtotal"]),
            tariff=_decimal(totals["tariff"]),
            freight=_decimal(totals["freight"]),
            tax=_decimal(totals.get("tax")),
            total=_decimal(totals["total"]),
        ),
        consistency_score=data["consistency_score"],
        warnings=tuple(data["warnings"]),
        totals_reconcile=data.get("totals_reconcile"),
        page_hashes=tuple(record.get("page_hashes", ())),
        vendor=data["vendor"],
        declared_pages=data.get("declared_pages"),
        footer_pages=data.get("footer_pages"),
        textless_pages=tuple(data.get("textless_pages", ())),
        blank_pages=tuple(data.get("blank_pages", ())),
        page_footers=tuple(None if f is None else (f[0], f[1]) for f in data.get("page_footers", ())),
        doubts=tuple(data.get("doubts", ())),
    )


def _flattened(record: dict[str, Any]) -> dict[str, Any]:
    data = dict(record["invoice"])
    printed = record.get("unit_price_printed") or [True] * len(data["line_items"])
    data["line_items"] = [
        {**item, "unit_price_printed": flag} for item, flag in zip(data["line_items"], printed, strict=True)
    ]
    if data.get("totals") is not None and record.get("tax") is not None:
        data["totals"] = {**data["totals"], "tax": record["tax"]}
    data["page_hashes"] = record.get("page_hashes", [])
    return data


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def invoice_to_json(invoice: Invoice) -> str:
    """:func:`invoice_to_dict` as indented JSON text with a trailing newline."""
    return json.dumps(invoice_to_dict(invoice), indent=2, ensure_ascii=False) + "\n"


def booking_rows(invoice: Invoice) -> list[tuple[str, ...]]:
    """The booking rows of one document (billed lines only), without the header."""
    date = invoice.invoice_date
    date_text = "" if date is None else f"{date.month}/{date.day}/{date.year}"
    rows = []
    for item in invoice.billed_items:
        upc = f" - UPC: 0{item.upc}" if item.upc else ""
        description = f"{item.product_code}{upc} - {item.description}"
        rows.append(
            (
                date_text,
                invoice.vendor,
                invoice.invoice_number,
                description,
                money(item.unit_price) or "",
                str(item.quantity),
            )
        )
    return rows


def booking_csv(invoices: Iterable[Invoice]) -> str:
    """Booking rows of several documents as CSV text, with the header row."""
    return rows_csv(row for invoice in invoices for row in booking_rows(invoice))


def rows_csv(rows: Iterable[tuple[str, ...]]) -> str:
    """Booking rows already made (:func:`booking_rows`) as CSV text, with the header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BOOKING_HEADER)
    writer.writerows(rows)
    return buffer.getvalue()
