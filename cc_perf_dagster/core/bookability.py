"""Never book what was not read: why an extracted document must stay out of the purchasing sheet.

A document can be recognised as a Creative Co-op order confirmation or invoice and still be
read badly: a browser print whose table the text engine cannot place, a page whose content
decodes to nothing, a damaged page tree that hides a page. Such a document extracts without
an error, so this module decides, from the :class:`~cc_perf_dagster.core.models.Invoice`
alone, whether its lines may be booked. Every caller (``cc-perf extract``/``summary``, the
Dagster invoice asset, ``cc-perf process``) applies the same rule.

A document is refused when:

* no line item could be read;
* its consistency score is below the minimum (default 0.9, as the ``consistency`` check);
* it prints a totals block that does not add up to its line items;
* a line's Extended is not its quantity x Your Price (the line's own multiplication: a
  quantity or price read wrong, which the consistency score alone would let through);
* a page has no text layer (its lines, if any, were not read); a page that draws nothing at
  all (``Invoice.blank_pages``: a browser's empty last page) is let be where the other pages
  are numbered "Page 1 of M" to "Page M of M" in order, so that no page can be missing;
* fewer pages could be read than the document declares (its page tree's ``/Count``, or the M of
  its "Page N of M" lines);
* its pages' own "Page N of M" lines say a page is in the file twice, the pages are out of
  order (a row split over a page break, a tariff line, would join the wrong item), or they
  belong to more than one document; or, whatever they print, two pages have the same content;
* the reader doubts part of what it read (``Invoice.doubts``: larger text drawn across
  the table, a stamp that would land in a description or a product row, a description line
  drawn past its column that no item can take, no document date to begin its booking rows with).

A document that prints no totals block at all (order confirmations may not) is not refused:
its completeness then rests on the page counts alone (:func:`totals_printed` says which).

Example:
    >>> refused = refusal(extract_invoice("CS004417220.pdf"))        # doctest: +SKIP
    >>> print(refused)                                                # doctest: +SKIP
    CS004417220.pdf: no line items could be read (the table has no text layer?)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from cc_perf_dagster.core.errors import NotBookableError
from cc_perf_dagster.core.models import Invoice
from cc_perf_dagster.core.validation import extended_problem

DEFAULT_MIN_CONSISTENCY = 0.9
NO_LINE_ITEMS = "no line items could be read (the table has no text layer?)"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a document is not booked.

    Attributes:
        file: The document's file name.
        reasons: One sentence per broken rule, in the order of the module docstring.
    """

    file: str
    reasons: tuple[str, ...]

    code = "not_bookable"

    def __str__(self) -> str:
        return f"{self.file}: " + "; ".join(self.reasons)

    def to_dict(self) -> dict[str, object]:
        """Plain data, for JSON notes and metadata."""
        return {"error": self.code, "file": self.file, "reasons": list(self.reasons)}

    def error(self) -> NotBookableError:
        """The refusal as an exception (an ``InvalidDocumentError``), for code that raises."""
        return NotBookableError(self.reasons, file=self.file)


def refusal_reasons(invoice: Invoice, *, min_consistency: float = DEFAULT_MIN_CONSISTENCY) -> tuple[str, ...]:
    """Every reason the document must not be booked (empty when it may be).

    Args:
        invoice: The extracted document.
        min_consistency: Lowest acceptable consistency score.
    """
    reasons: list[str] = []
    if not invoice.line_items:
        reasons.append(NO_LINE_ITEMS)
    elif invoice.consistency_score < min_consistency:
        reasons.append(
            f"consistency score {invoice.consistency_score:.3f} is below the minimum {min_consistency}"
            " (the arithmetic of too many lines does not hold)"
        )
    if invoice.line_items and invoice.totals_reconcile is False:
        reasons.append("the printed totals do not add up to the line items read")
    misread = [item.product_code for item in invoice.line_items if extended_problem(item) is not None]
    if misread:
        lines = "1 line does" if len(misread) == 1 else f"{len(misread)} lines do"
        reasons.append(
            f"{lines} not multiply out (Extended is not quantity x Your Price: read or printed wrong): "
            + listed(misread)
        )
    if invoice.textless_pages:
        pages = ", ".join(str(p) for p in invoice.textless_pages)
        if len(invoice.textless_pages) == 1:
            reasons.append(f"page {pages} of {invoice.page_count} has no text layer (its lines were not read)")
        else:
            reasons.append(f"pages {pages} of {invoice.page_count} have no text layer (their lines were not read)")
    declared = {
        "the PDF's page tree declares": invoice.declared_pages,
        'its "Page N of M" lines say': invoice.footer_pages,
    }
    short = {source: count for source, count in declared.items() if count is not None and count > invoice.page_count}
    if short:
        said = ", ".join(f"{source} {count}" for source, count in short.items())
        reasons.append(f"only {invoice.page_count} of {max(short.values())} pages could be read ({said})")
    order = page_order_reasons(invoice.page_footers, invoice.page_hashes)
    reasons.extend(order or same_pages(invoice.page_hashes, invoice.textless_pages + invoice.blank_pages))
    reasons.extend(invoice.doubts)
    return tuple(reasons)


def same_pages(hashes: tuple[str, ...], textless: tuple[int, ...] = ()) -> list[str]:
    """Pages of the file with the same content (hash), whatever they print: the same page twice.

    Pages without text are left out: the text-layer rule judges them (blank pages hash alike).

    Example:
        >>> same_pages(("a", "b", "a", "c", "b"))
        ['pages 1 and 3 of the file are the same page; pages 2 and 5 too']
    """
    first: dict[str, int] = {}
    pairs = []
    for page, digest in enumerate(hashes, 1):
        if page in textless:
            continue
        if digest in first:
            pairs.append((first[digest], page))
        else:
            first[digest] = page
    if not pairs:
        return []
    said = [
        f"pages {a} and {b} of the file are the same page" if i == 0 else f"pages {a} and {b} too"
        for i, (a, b) in enumerate(pairs[:3])
    ]
    return ["; ".join(said) + and_more(len(pairs), 3)]


def page_order_reasons(footers: tuple[tuple[int, int] | None, ...], hashes: tuple[str, ...] = ()) -> list[str]:
    """What the pages' "Page N of M" lines (``(N, M)`` per page of the file, or ``None``) say is wrong.

    Pages without such a line (a cover sheet) are passed over: only the order of those that
    print one is judged. ``hashes`` (the pages' content hashes) tell a page printed twice from
    two different pages with one number.

    Example:
        >>> page_order_reasons(((1, 3), (2, 3), (2, 3), (3, 3)), ("a", "b", "b", "c"))
        ['pages 2 and 3 of the file both say "Page 2 of 3" (the same page twice)']
        >>> page_order_reasons(((1, 3), None, (3, 3), (2, 3)))
        ['its pages are out of order (page 4 of the file says "Page 2 of 3", after "Page 3 of 3")']
    """
    printed = [(page, footer) for page, footer in enumerate(footers, 1) if footer is not None]
    counts = sorted({total for _, (_, total) in printed})
    if len(counts) > 1:
        listed = " and ".join(str(count) for count in counts)
        return [f'its pages belong to more than one document (their "Page N of M" lines count {listed} pages)']
    first: dict[tuple[int, int], int] = {}
    repeated: list[tuple[int, int, tuple[int, int]]] = []
    for page, footer in printed:
        if footer in first:
            repeated.append((first[footer], page, footer))
        else:
            first[footer] = page
    if repeated:
        said = "; ".join(f'pages {a} and {b} of the file both say "Page {n} of {m}"' for a, b, (n, m) in repeated[:2])
        more = and_more(len(repeated), 2)
        same = len(hashes) == len(footers) and all(hashes[a - 1] == hashes[b - 1] for a, b, _ in repeated)
        what = "the same page twice" if same else "different pages: two documents in one file?"
        if same and len(repeated) > 1:
            what = "the same pages twice"
        return [f"{said}{more} ({what})"]
    for (_, before), (page, footer) in itertools.pairwise(printed):
        if footer[0] < before[0]:
            return [
                f'its pages are out of order (page {page} of the file says "Page {footer[0]} of {footer[1]}", '
                f'after "Page {before[0]} of {before[1]}")'
            ]
    return []


def listed(values: list[str], limit: int = 5) -> str:
    """The first ``limit`` values, comma-separated, and how many more there are."""
    return ", ".join(values[:limit]) + and_more(len(values), limit)


def and_more(count: int, shown: int) -> str:
    """`` and N more`` when ``count`` things were found and ``shown`` of them named, else nothing."""
    return f" and {count - shown} more" if count > shown else ""


def refusal(invoice: Invoice, *, min_consistency: float = DEFAULT_MIN_CONSISTENCY) -> Refusal | None:
    """The document's :class:`Refusal`, or ``None`` when it may be booked."""
    reasons = refusal_reasons(invoice, min_consistency=min_consistency)
    return Refusal(invoice.file, reasons) if reasons else None


def ensure_bookable(invoice: Invoice, *, min_consistency: float = DEFAULT_MIN_CONSISTENCY) -> Invoice:
    """The document itself, or :class:`~cc_perf_dagster.core.errors.NotBookableError` with every reason."""
    refused = refusal(invoice, min_consistency=min_consistency)
    if refused is not None:
        raise refused.error()
    return invoice


def totals_printed(invoice: Invoice) -> bool:
    """Whether the document prints a totals block (without one, completeness rests on page counts)."""
    return invoice.totals is not None
