"""The extraction core: PDF to line items, with self-checks. Never imports Dagster.

Example:
    >>> from cc_perf_dagster.core import extract_invoice, invoice_to_json
    >>> print(invoice_to_json(extract_invoice("test_invoices/CI004848705.pdf")))  # doctest: +SKIP
"""

from cc_perf_dagster.core.bookability import Refusal, refusal
from cc_perf_dagster.core.errors import (
    CcPerfError,
    DamagedPdfError,
    DocumentTooLargeError,
    EmptyFileError,
    EncryptedPdfError,
    InvalidDocumentError,
    NotAPdfError,
    NotBookableError,
    NoTextLayerError,
    UndecodableTextError,
    UnsupportedDocumentError,
)
from cc_perf_dagster.core.export import booking_csv, booking_rows, invoice_to_dict, invoice_to_json
from cc_perf_dagster.core.extract import PARSER_VERSION, assemble_document, extract_invoice, read_pages
from cc_perf_dagster.core.models import Invoice, LineItem, PageResult, TextRun, Totals
from cc_perf_dagster.core.pdf import Limits, PdfDocument, PypdfEngine, TextEngine, file_sha256

__all__ = [
    "PARSER_VERSION",
    "CcPerfError",
    "DamagedPdfError",
    "DocumentTooLargeError",
    "EmptyFileError",
    "EncryptedPdfError",
    "InvalidDocumentError",
    "Invoice",
    "Limits",
    "LineItem",
    "NoTextLayerError",
    "NotAPdfError",
    "NotBookableError",
    "PageResult",
    "PdfDocument",
    "PypdfEngine",
    "Refusal",
    "TextEngine",
    "TextRun",
    "Totals",
    "UndecodableTextError",
    "UnsupportedDocumentError",
    "assemble_document",
    "booking_csv",
    "booking_rows",
    "extract_invoice",
    "file_sha256",
    "invoice_to_dict",
    "invoice_to_json",
    "read_pages",
    "refusal",
]
