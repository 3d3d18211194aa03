"""Arithmetic self-checks of line items and documents.

The rules held on every observed Creative Co-op line:

* Your Price = 0.80 x List Price (rounded half up to the cent);
* Extended = billed quantity x Your Price;
* tariff surcharge = 15% of Extended (rounded half up to the cent);
* a totals block, when printed, adds up: subtotal = sum of Extended, tariff = sum of
  tariffs, total = sum of Extended + tariffs + freight + tax.

A difference of one cent is tolerated everywhere (the vendor rounds per line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from cc_perf_dagster.core.models import Invoice, LineItem, Totals

CENT = Decimal("0.01")
DISCOUNT = Decimal("0.80")
TARIFF_RATE = Decimal("0.15")


def expected_unit_price(list_price: Decimal) -> Decimal:
    """Your Price implied by a list price."""
    return (list_price * DISCOUNT).quantize(CENT, rounding=ROUND_HALF_UP)


def expected_tariff(extended: Decimal) -> Decimal:
    """Tariff surcharge implied by an extended price."""
    return (extended * TARIFF_RATE).quantize(CENT, rounding=ROUND_HALF_UP)


def item_problems(item: LineItem) -> list[str]:
    """Every arithmetic rule the item breaks, as readable sentences (empty when it holds)."""
    problems = []
    unit = expected_unit_price(item.list_price)
    if abs(item.unit_price - unit) > CENT:
        problems.append(f"Your Price {item.unit_price} is not 80% of List {item.list_price} (expected {unit})")
    extended = extended_problem(item)
    if extended is not None:
        problems.append(extended)
    if item.tariff_surcharge is not None:
        tariff = expected_tariff(item.extended_price)
        if abs(item.tariff_surcharge - tariff) > CENT:
            problems.append(
                f"tariff {item.tariff_surcharge} is not 15% of Extended {item.extended_price} (expected {tariff})"
            )
    return problems


def extended_problem(item: LineItem) -> str | None:
    """The sentence saying Extended is not quantity x Your Price, or ``None`` when it is.

    Unlike the pricing rules (80% of List, 15% tariff), which a promotion may bend, this is the
    line's own multiplication: where it fails, a quantity or a price was read wrong.
    """
    product = (item.quantity * item.unit_price).quantize(CENT)
    if abs(product - item.extended_price) <= CENT:
        return None
    return (
        f"Extended {item.extended_price} is not quantity {item.quantity} x Your Price {item.unit_price} (= {product})"
    )


@dataclass(frozen=True, slots=True)
class DocumentReport:
    """The outcome of the document's self-checks.

    Attributes:
        consistency_score: Share of line items whose arithmetic holds, in [0, 1]
            (0 when there are no items).
        warnings: One sentence per failed item or totals rule.
        totals_reconcile: Whether the totals block adds up; ``None`` without a block.
    """

    consistency_score: float
    warnings: tuple[str, ...]
    totals_reconcile: bool | None


def check_document(items: Sequence[LineItem], totals: Totals | None) -> DocumentReport:
    """Run every item check and the totals check."""
    warnings: list[str] = []
    consistent = 0
    for item in items:
        problems = item_problems(item)
        if problems:
            warnings.append(f"page {item.page}, {item.product_code}: " + "; ".join(problems))
        else:
            consistent += 1
    if not items:
        warnings.append("no line items found")
    score = round(consistent / len(items), 4) if items else 0.0
    reconcile = None
    if totals is not None:
        totals_warnings = totals_problems(items, totals)
        warnings.extend(totals_warnings)
        reconcile = not totals_warnings
    return DocumentReport(consistency_score=score, warnings=tuple(warnings), totals_reconcile=reconcile)


def totals_problems(items: Sequence[LineItem], totals: Totals) -> list[str]:
    """Every totals rule the document breaks."""
    extended = sum((i.extended_price for i in items), Decimal(0))
    tariffs = sum((i.tariff_surcharge or Decimal(0) for i in items), Decimal(0))
    problems = []
    if totals.subtotal is not None and abs(totals.subtotal - extended) > CENT:
        problems.append(f"totals: subtotal {totals.subtotal} is not the sum of the lines' Extended ({extended})")
    if totals.tariff is not None and abs(totals.tariff - tariffs) > CENT:
        problems.append(f"totals: tariff {totals.tariff} is not the sum of the lines' tariffs ({tariffs})")
    if totals.total is not None:
        expected = extended + tariffs + (totals.freight or 0) + (totals.tax or 0)
        if abs(totals.total - expected) > CENT:
            problems.append(f"totals: total {totals.total} does not add up (lines, tariffs, freight, tax: {expected})")
    return problems


def recheck(invoice: Invoice) -> Invoice:
    """The invoice with its self-checks run again on its own line items and totals.

    For documents that come from somewhere other than the parser (a cache, a stored record):
    the consistency score and the totals verdict are replaced by freshly computed ones, and
    every warning of the fresh check that the stored warnings lack is added, with one more
    saying that the stored figures disagreed. A faithful record comes back unchanged.
    """
    report = check_document(invoice.line_items, invoice.totals)
    missing = [w for w in report.warnings if w not in invoice.warnings]
    if (
        not missing
        and report.consistency_score == invoice.consistency_score
        and report.totals_reconcile == invoice.totals_reconcile
    ):
        return invoice
    note = (
        f"stored self-check figures did not hold (consistency {invoice.consistency_score}, "
        f"recomputed {report.consistency_score}; totals reconcile {invoice.totals_reconcile}, "
        f"recomputed {report.totals_reconcile})"
    )
    return replace(
        invoice,
        consistency_score=report.consistency_score,
        totals_reconcile=report.totals_reconcile,
        warnings=(*invoice.warnings, *missing, note),
    )
