"""The extraction pipeline: a PDF file in, an :class:`~cc_perf_dagster.core.models.Invoice` out.

The pieces are exposed separately because the Dagster wiring runs them in different
processes: :func:`read_pages` parses any subset of pages (a batch) and
the vendor parser's assembler (:mod:`cc_perf_dagster.core.vendors`) merges page results into a document.
:func:`extract_invoice` runs both in one go.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from cc_perf_dagster.core import validation
from cc_perf_dagster.core.cache import PageCache, cache_key
from cc_perf_dagster.core.errors import (
    DocumentTooLargeError,
    UndecodableTextError,
    UnsupportedDocumentError,
)
from cc_perf_dagster.core.export import invoice_from_record, invoice_to_dict, invoice_to_record
from cc_perf_dagster.core.heap import long_lived_heap_frozen
from cc_perf_dagster.core.layout import build_rows
from cc_perf_dagster.core.models import Invoice, PageResult
from cc_perf_dagster.core.pdf import Limits, PdfDocument, TextEngine, engine_tag, file_sha256, get_engine
from cc_perf_dagster.core.pypdf_log import capture_pypdf_warnings, keep_pypdf_off_stderr
from cc_perf_dagster.core.vendors import get_vendor

# Every process that reads PDFs through this module (CLI, Dagster steps) keeps pypdf off stderr.
keep_pypdf_off_stderr()

# Bump whenever a change to the layout or parsing code can change a page result: cached
# page results and document outputs are keyed by it.
PARSER_VERSION = "56"  # 2: page-space engine, cell-aware layout, "Page N of M"; 3: one lossless invoice record;
# 4: watermarks (words at 3x the body size and more) and invisible text under shown text left out,
# each page's "Page N of M" kept; 5: rows with characters their font maps to no text are a doubt,
# and a page read from its invisible text (an OCR layer) says so; 6: the pdfium engine reads a
# line-end hyphen as a hyphen and an /ActualText span of several words as those words,
# noncharacters are characters that say nothing; 7: a description line drawn past its column, which
# no item can take, is a doubt; 8: lines above a product row further below the row before than a
# cell's line spacing (rows padded apart) start its description; 9: a page that draws nothing is
# blank (PageResult.blank), let be where the pages' own numbering counts it out; 10: a quantity
# glued to the description split off at its column's edge, numbers off their columns are no quantities;
# 11: a tariff line opening a page after pages with no table row belongs to the item before them;
# 12: a UPC is 12 digits (more are the description's, glued on), a description may start a little
# left of where an overrunning UPC ends; 13: a row that opens as a product row (code, UPC) and cannot be
# read is a doubt, and so is a tariff line among the items that no item takes (it was a warning);
# 14: a line starting left of the description column within an open item's cell (a wrapped code) is a doubt;
# 15: only a word on a line of a product row's cell where its code or UPC starts, shorter than it, is
# (14 refused a note drawn at the page margin just under the table); 16: runs up to 0.1 font sizes
# apart are one word (0.08: letter-spaced text split); 17: gaps across a page break decide no cell
# boundary, and middle-aligned cells count the lines an item already has below its row; 18: quantities
# that cannot be told apart into their columns are a doubt (they were a warning); 19: description
# lines that overlap the next row's or one another (a cell's text running past its row) are a doubt;
# 20: a cell filled to its last line in a table of rows of one fixed height (text may be cut off) is a doubt;
# 21: a totals block read without its Total is a doubt (damaged font programs and stream lengths refuse pages);
# 22: a value drawn over the end of its label is that label's, the description column starts where a
# row's description does under an overrunning UPC, a document whose date cannot be read is a doubt, and
# dates printed YYYY/MM/DD or 4-FEB-25 are read;
# 23: a quantity drawn against its unit ("24each") is read as both; a line heading a page after an
# item closed by its tariff line starts the next item only where descriptions start above their rows;
# 24: the pdfium engine refuses a page showing text in a font the page does not define, as pypdf's does;
# 25: a line of its own in the quantity, unit and price columns next to a product row is a doubt;
# 26: a description that ends as only a wrapped line does (",", "&", "w/") is a doubt; 27: rows of one
# height name each full row once; 28: a line heading a page with no column headings just above its first
# row is a doubt, a product row read with no description is a doubt, a total glued to its label is read;
# 29: a row with none of its description on its own line takes the column from where the others start;
# 30: lines between two rows whose cells align middle are a doubt where the two rows' counts disagree;
# 31: across a page break the lower row's count decides where the document's whole cells align middle;
# 32: a line past the description column, far below a tariff line, is a doubt where a product row follows;
# a line among the line items that is only an amount is a doubt; 33: a UPC wrapped in its cell is joined
# where its pieces make one UPC whose check digit is right and the description column is two UPCs wide
# 34: description lines 0.85 to 0.98 font sizes apart are no overlap where the page's rows grow with their cells
# 35: a unit wrapped in its cell is joined where its pieces make one of the vendor's units; a column label
# broken inside its word joins the table header; lines left empty by joined pieces count as their row's
# 36: a tariff line drawn further below its row than TARIFF_GAP is its item's where it is 15% of it and
# nothing else can be meant (one between two product rows; the last item's before a block with a tariff total)
# 37: a tariff label wrapped above its amount in the amount's own cell, or ending the page before its amount
# or its line, is the tariff line's (labels.py), no description's; a full description line ending in letters
# over one starting in lower case is a doubt (broken_words.py)
# 38: a UPC is no quantity where a row's numbers are found (a unit wrapped around a middle-aligned row is joined)
# 39: a wrapped UPC whose pieces pair two ways takes the way the page's other wrapped UPCs all took
# 40: a code wrapped onto its cell's next line ("XS3268" over "A") is joined where the two make one code
# 41: lines closer than 0.85 font sizes are read where the page's rows grow by as little a line they hold
# 42: lines heading a page with no column headings just above the open item's tariff line are its description
# 43: lines heading a page with no column headings that no row of the table runs up to are a doubt
# 44: a row broken across pages is no evidence of the alignment; after a break the lower page's gaps compare
# 45: a line alone heading a page after a break, in cells aligned bottom, is told by the line spacing
# 46: a value right under the column headings in a number column is a doubt, and a unit read as "lo"
# 47: a totals label ending a page takes the amount heading the next; an amount alone in the totals is a doubt
# 48: a line right under the column headings that starts in the code and UPC cells is a doubt
# 49: tight lines on a page whose rows show nothing of how they are made go as the other pages show
# 50: so too a line heading a page with no column headings that opens with a code's end, while a row waits
# 51: a product row joined from two lines takes its number cells from the trailing run, not the first number
# 52: a description starting with only the rest of a number ('-1/4"') is a doubt
# 53: a description reaching past where the first quantity column's numbers start, a cell blank, is a doubt
# 54: lines of a row broken across pages taken below it are no evidence of the cells' alignment, on its page either
# 55: 53's doubt also for a last word with digits glued on, where no row has shown where the quantities start
# 56: two words of a product row drawn over one another, their glyphs mixed (a description over a quantity): a doubt

log = logging.getLogger(__name__)


def _version(engine: str | TextEngine | None) -> str:
    # The parser version and the engine (name and library release): a page read by one engine
    # is never served for another, nor after the library that read it was upgraded.
    return f"{PARSER_VERSION}/{engine_tag(engine)}"


def page_key(content_hash: str, engine: str | TextEngine | None = None) -> str:
    """Cache key of a page result: the page content hash under the parser version and the engine.

    ``engine`` is a :class:`~cc_perf_dagster.core.pdf.TextEngine` or its name (default: pypdf).
    """
    return cache_key("page", content_hash, _version(engine))


def document_key(sha256: str, engine: str | TextEngine | None = None) -> str:
    """Cache key of a whole document's results: the file's sha256 under the parser version and the engine."""
    return cache_key("doc", sha256, _version(engine))


def cached_page(
    cache: PageCache | None, content_hash: str, page: int, engine: str | TextEngine | None = None
) -> PageResult | None:
    """A page result from the cache, renumbered to ``page`` (the same page may sit elsewhere)."""
    if cache is None:
        return None
    hit = cache.get(page_key(content_hash, engine))
    return None if hit is None else replace(PageResult.from_dict(hit), page=page)


def cached_document(
    cache: PageCache | None, sha256: str, file: str, engine: str | TextEngine | None = None
) -> Invoice | None:
    """A whole document from the cache, its self-checks run again, or ``None``.

    The stored consistency score and totals verdict are never trusted: the checks of
    :func:`~cc_perf_dagster.core.validation.check_document` run on the cached line items and
    totals (see :func:`~cc_perf_dagster.core.validation.recheck`), so a cached document that
    was altered cannot be booked as consistent. A record that no longer decodes is a miss.
    """
    if cache is None:
        return None
    record = cache.get(document_key(sha256, engine))
    if record is None:
        return None
    try:
        invoice = invoice_from_record(record, file=file)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        log.warning("cached document %s (%s) does not decode (%r); it is extracted again", file, sha256[:12], exc)
        return None
    return validation.recheck(invoice)


def parse_or_cached(
    doc: PdfDocument, page: int, cache: PageCache | None = None, *, content_hash: str | None = None
) -> tuple[PageResult, bool]:
    """One 1-based page's result from the cache (``True``) or parsed and cached (``False``)."""
    try:
        content_hash = content_hash or doc.content_hash(page)
        result = cached_page(cache, content_hash, page, doc.engine)
        if result is not None:
            return result, True
        result = get_vendor().parse_page(page, content_hash, build_rows(doc.runs(page)))
        if doc.invisible_text(page):
            result = replace(result, invisible_text=True)
        if not result.has_text and doc.draws_nothing(page):
            result = replace(result, blank=True)
        if cache is not None:
            cache.put(page_key(content_hash, doc.engine), result.to_dict())
        return result, False
    finally:
        doc.release(page)


def parse_document_page(doc: PdfDocument, page: int, cache: PageCache | None = None) -> PageResult:
    """Parse one 1-based page of an open document (or take it from the cache), then release it."""
    return parse_or_cached(doc, page, cache)[0]


SEEN_PAGES = 16  # page results a PageReader keeps to serve repeated page content


class PageReader:
    """Reads the pages of one open document within its limits.

    A page whose content was read before in the same document (the same content hash) is
    not parsed again, and the document's time limit (:attr:`Limits.max_seconds`) is checked
    before each page.

    Args:
        doc: The open document.
        cache: A page cache, or ``None``.
    """

    def __init__(self, doc: PdfDocument, cache: PageCache | None = None):
        self.doc = doc
        self.cache = cache
        # Bounded, so memory stays flat in the page count: a document repeating a page does so
        # within a few pages (shared content streams, blank pages); others are read again.
        self._seen: OrderedDict[str, PageResult] = OrderedDict()
        self._deadline = time.monotonic() + doc.limits.max_seconds

    def read(self, page: int) -> tuple[PageResult, bool]:
        """One 1-based page's result, and whether it came from the cache (or this document)."""
        if time.monotonic() > self._deadline:
            raise DocumentTooLargeError(
                f"too slow: reading it took more than {self.doc.limits.max_seconds:g} s, the limit per document",
                file=self.doc.file,
                page=page,
            )
        try:
            content_hash = self.doc.content_hash(page)
            seen = self._seen.get(content_hash)
            if seen is not None:
                return replace(seen, page=page), True
        except BaseException:
            self.doc.release(page)
            raise
        result, hit = parse_or_cached(self.doc, page, self.cache, content_hash=content_hash)
        self._seen[content_hash] = result
        if len(self._seen) > SEEN_PAGES:
            self._seen.popitem(last=False)
        return result, hit


def read_pages(doc: PdfDocument, pages: Iterable[int], cache: PageCache | None = None) -> Iterator[PageResult]:
    """Parse the given 1-based pages of an open document, one at a time.

    Raises:
        UnsupportedDocumentError: Page 1 has text but shows no CS/CI number and no
            mention of Creative Co-op (checked before any further page is read);
            ``UndecodableTextError`` where its fonts map characters to no text.
    """
    reader = PageReader(doc, cache)
    vendor = get_vendor()
    for page in pages:
        result = reader.read(page)[0]
        if page == 1 and not vendor.detect(result):
            if result.unread:
                raise UndecodableTextError(result.unread, file=doc.file, page=1)
            raise UnsupportedDocumentError(vendor.unsupported_reason, file=doc.file)
        yield result


def assemble_document(file: str, sha256: str, results: Iterable[PageResult]) -> Invoice:
    """Merge page results (any order) into the document; see :func:`assemble`.

    Raises:
        NoTextLayerError: No page has any text.
        UnsupportedDocumentError: The text is not a Creative Co-op document.
    """
    assembler = get_vendor().assembler(file, sha256)
    for result in sorted(results, key=lambda r: r.page):
        assembler.add(result)
    return assembler.finish()


def extract_invoice(
    path: str | os.PathLike[str],
    *,
    limits: Limits | None = None,
    engine: str | TextEngine | None = None,
    file: str | None = None,
    cache: PageCache | None = None,
) -> Invoice:
    """Extract a whole Creative Co-op order confirmation or invoice.

    Args:
        path: The PDF file.
        limits: Byte and page limits (defaults: :class:`~cc_perf_dagster.core.pdf.Limits`).
        engine: The text engine or its name, ``"pypdf"`` (the default) or ``"pdfium"``.
        file: The name to report in results and errors (default: the file's base name).
        cache: A page cache. With one, a file whose bytes were seen before is not opened
            again, and only pages whose content changed are parsed.

    Returns:
        The document with its line items, totals and self-check results.

    Raises:
        InvalidDocumentError: A subclass naming the file and the reason, for every
            input the extractor cannot read.

    Example:
        >>> invoice = extract_invoice("test_invoices/CS003837319.pdf")
        >>> invoice.invoice_number, len(invoice.line_items)
        ('CS003837319', 135)
    """
    name = file or Path(path).name
    engine = get_engine(engine)
    sha256 = file_sha256(path) if cache is not None and Path(path).is_file() else None
    if sha256 is not None:
        hit = cached_document(cache, sha256, name, engine)
        if hit is not None:
            return hit
    with capture_pypdf_warnings() as pypdf_warnings, long_lived_heap_frozen():
        with PdfDocument(path, limits=limits, engine=engine, file=name, sha256=sha256) as doc:
            assembler = get_vendor().assembler(doc.file, doc.sha256, declared_pages=doc.declared_page_count)
            for result in read_pages(doc, doc.pages(), cache):
                assembler.add(result)
            invoice = assembler.finish()
    if pypdf_warnings:
        invoice = replace(invoice, warnings=(*invoice.warnings, *pypdf_warnings))
    if cache is not None:
        cache.put(document_key(invoice.sha256, engine), invoice_to_record(invoice))
    return invoice


def pdf_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand folders into the PDFs they hold (sorted); files are kept as given."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        out.extend(sorted(p for p in path.iterdir() if p.suffix.lower() == ".pdf") if path.is_dir() else [path])
    return out


def engine_differences(
    path: str | os.PathLike[str],
    *,
    engines: tuple[str | TextEngine, str | TextEngine] = ("pypdf", "pdfium"),
    limits: Limits | None = None,
    file: str | None = None,
) -> list[str]:
    """Read a document with two text engines and list every extracted field that differs.

    No cache is used: both engines read every page. Document fields (number, date, type,
    totals, warnings) are compared by name, line items by position, each field of each item;
    an item's page is named, so a difference points at the page that reads differently.

    Returns:
        One line per difference (``item 3 (DA4315, page 2) unit_price: pypdf '3.20', pdfium '3.25'``);
        empty when the engines agree.

    Raises:
        InvalidDocumentError: Either engine cannot read the document (the first engine's
            error if both fail).

    Example:
        >>> engine_differences("test_invoices/CI004848705.pdf")  # doctest: +SKIP
        []
    """
    first, second = (get_engine(e) for e in engines)
    a = invoice_to_dict(extract_invoice(path, limits=limits, engine=first, file=file))
    b = invoice_to_dict(extract_invoice(path, limits=limits, engine=second, file=file))
    names = (first.name, second.name)
    out = [
        f"{key}: {names[0]} {a.get(key)!r}, {names[1]} {b.get(key)!r}"
        for key in sorted(set(a) | set(b))
        if key != "line_items" and a.get(key) != b.get(key)
    ]
    items_a, items_b = a.get("line_items", []), b.get("line_items", [])
    if len(items_a) != len(items_b):
        out.append(f"line_items: {names[0]} {len(items_a)} items, {names[1]} {len(items_b)}")
    for index, (x, y) in enumerate(zip(items_a, items_b, strict=False)):
        where = f"item {index} ({x.get('product_code')}, page {x.get('page')})"
        out.extend(
            f"{where} {key}: {names[0]} {x.get(key)!r}, {names[1]} {y.get(key)!r}"
            for key in sorted(set(x) | set(y))
            if x.get(key) != y.get(key)
        )
    return out
