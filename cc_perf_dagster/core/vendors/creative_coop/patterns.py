"""What the Creative Co-op parser recognises words and rows by: patterns, labels, gaps."""

from __future__ import annotations

import re

from cc_perf_dagster.core.models import (
    DocumentType,
)

CODE = re.compile(r"^[A-Z]{2,3}-?\d{3,6}[A-Z]{0,2}$")


GLUED_CODE_UPC = re.compile(r"^([A-Z]{2,3}-?\d{3,6}[A-Z]{0,2})(\d{12})$")


# A UPC (12 digits, as every line prints it) drawn against the description's first word.
GLUED_UPC = re.compile(r"^(\d{12})(.+)$")


LINE_NUMBER = re.compile(r"^\d{1,4}\.?$")


UNIT = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9/]{1,8}$")

# The vendor's units of measure (U/M), as its documents print them ("lo each": unrecorded), and
# their words.
UNITS = frozenset({"each", "set", "lo each"})
UNIT_WORDS = frozenset(word for unit in UNITS for word in unit.split())


# A quantity drawn against the unit after it ("12each": TCPDF puts a right-aligned number and a
# left-aligned unit in adjacent cells with no gap between them).
GLUED_QUANTITY_UNIT = re.compile(r"^(\d{1,6})([A-Za-z][A-Za-z/]{0,7})$")


# A label drawn against the amount after it ("Sub-Total6706.28", "TRF-CCOI8.64"): a totals or
# tariff row's two cells with no room between them (WeasyPrint's flex rows).
GLUED_AMOUNT = re.compile(r"^(.*[^\d\s.,$])(\$?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d{2})$")


# The UPC-A every product row prints: 12 digits (more are a description's digits glued on).
UPC = re.compile(r"^\d{12}$")


MONEY = re.compile(r"^\$?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d{2}$")


INTEGER = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)$")


DOC_NUMBER = re.compile(r"C[SI]\d{9}")


TARIFF_WORD = re.compile(r"\b(?:tariff|trf|surcharge)\b|\btrf-", re.IGNORECASE)


TOTAL_WORDS = re.compile(
    r"total|subtotal|sub-total|merchandise|freight|shipping|handling|tax|tariff|trf|amount due|balance", re.IGNORECASE
)


FOOTER = re.compile(r"\bpage\s+\d+(\s+of\s+\d+)?\b|continued", re.IGNORECASE)


VENDOR_MENTION = re.compile(r"creative\s*co-?op", re.IGNORECASE)


LABEL_END = re.compile(r"(?:DATE|NO|NUMBER|#)\.?:?$", re.IGNORECASE)


QTY_COLUMNS: dict[DocumentType, int] = {"order_confirmation": 4, "invoice": 2}


DATE_LABELS: dict[DocumentType, str] = {"order_confirmation": "ORDER DATE", "invoice": "INVOICE DATE"}


NUMBER_PREFIX: dict[DocumentType, str] = {"order_confirmation": "CS", "invoice": "CI"}


NOT_CREATIVE_COOP = "not a Creative Co-op document (no CS/CI document number and no mention of Creative Co-op)"


NO_DOCUMENT_NUMBER = "not a Creative Co-op order confirmation or invoice (no CS/CI document number found)"


# Wrapped description lines sit at most this many font sizes below the previous row.
CONTINUATION_GAP = 2.2


# Two lines whose baselines are fewer font sizes apart than this overlap: their letters meet
# (a cell's text overflowing its row, as a spreadsheet prints wrapped text in rows of fixed
# height: 0.87 to 0.97 seen from LibreOffice Calc). Their gaps say nothing of which cell a line
# is in. On a page whose rows grow with their cells (row_height.rows_grow), where no text can
# run past its row, only lines closer than TIGHT_LINES do.
OVERLAPPING_LINES = 0.98


# The tightest line spacing a layout sets: PDFKit's and pdfmake's default in Helvetica, 0.925
# (its ascender less its descender); CSS `line-height: 1` (0.9997 to 1.0033 seen from
# wkhtmltopdf), which Chromium rounds to its pixel line by line (0.91 and 1.02 by turns in
# 6.6 pt text; 0.88 and 1.00 at `line-height: 0.925` in 6 pt).
TIGHT_LINES = 0.85


# A tariff sub-line sits at most this many font sizes below its item's last row.
TARIFF_GAP = 3.2


PAGE_OF = re.compile(r"\bpage\s+(\d+)\s+of\s+(\d+)\b", re.IGNORECASE)


def money_text(token: str) -> str:
    """An amount as the records keep it: no currency sign, no thousands separators."""
    return token.replace("$", "").replace(",", "")
