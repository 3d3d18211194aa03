"""The pricing rules: which quantity was billed and at what price (Your Price = 0.80 x List)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from cc_perf_dagster.core import validation
from cc_perf_dagster.core.models import (
    DocumentType,
    TariffRecord,
)
from cc_perf_dagster.core.validation import CENT


def prices(amounts: Sequence[str], candidates: Sequence[int]) -> tuple[Decimal, Decimal, Decimal, bool]:
    """List, unit (Your Price), extended, and whether the unit price was printed.

    With two amounts, the first is normally List (Your Price left out); it is Your Price
    instead when a billed quantity times it gives the extended price and the List reading
    does not. Candidates are tried in billing order, the List reading first for each.
    """
    values = [Decimal(a) for a in amounts]
    if len(values) == 3:
        return values[0], values[1], values[2], True
    first, extended = values
    for quantity in candidates:
        if not quantity:
            continue
        if quantity * validation.expected_unit_price(first) == extended:
            break
        if (first * quantity).quantize(CENT) == extended:
            return (first / validation.DISCOUNT).quantize(CENT), first, extended, True
    return first, Decimal(0), extended, False


def billed_quantity(
    document_type: DocumentType,
    quantities: Sequence[int],
    list_price: Decimal,
    unit_price: Decimal | None,
    extended: Decimal,
) -> int:
    """The quantity the extended price was computed on.

    Invoices bill the shipped quantity. Order confirmations bill the back-ordered one
    (nothing has shipped yet), which usually equals the ordered one; when the arithmetic
    says another column was billed, that column wins.
    """
    candidates = billing_candidates(document_type, quantities)
    if extended == 0:
        return next((q for q in candidates if q == 0), candidates[0])
    price = unit_price if unit_price is not None else validation.expected_unit_price(list_price)
    for quantity in candidates:
        if quantity and abs(quantity * price - extended) <= CENT:
            return quantity
    return candidates[0]


def billing_candidates(document_type: DocumentType, quantities: Sequence[int]) -> list[int]:
    """The quantity columns that may have been billed, most likely first."""
    if document_type == "order_confirmation":
        ordered, allocated, shipped, backordered = quantities
        return [backordered, ordered, allocated, shipped]
    return [quantities[0]]


def inferred_unit_price(list_price: Decimal, extended: Decimal, quantity: int) -> Decimal:
    """Your Price when the row does not print it: Extended over the quantity, else 80% of List."""
    if quantity:
        return (extended / quantity).quantize(CENT)
    return validation.expected_unit_price(list_price)


def totals_key(label: str) -> str:
    """The totals field a totals block's label names: subtotal, tariff, freight, tax or total."""
    lower = label.lower()
    if "sub" in lower or "merchandise" in lower:
        return "subtotal"
    if "tariff" in lower or "trf" in lower:
        return "tariff"
    if "freight" in lower or "shipping" in lower or "handling" in lower:
        return "freight"
    return "tax" if "tax" in lower else "total"


def far_tariff(stray: Sequence[tuple[int, TariffRecord]], page: int, extended: Decimal) -> Decimal | None:
    """The tariff of the item above (on ``page``, with no tariff) among the ``stray`` lines no item took after it.

    A tariff line follows its product row. So the one such line on the item's page is that
    item's where its amount is 15% of the item's ``extended`` price, to a cent: a table padding
    its rows generously draws it further below its row than ``TARIFF_GAP`` font sizes. ``None``
    for two or more, one on another page, or another amount. (What follows the lines decides
    the rest: :mod:`~.tariffs`.)

    Example:
        >>> far_tariff([(1, TariffRecord("80.64", 519.4))], 1, Decimal("537.60"))
        Decimal('80.64')
        >>> far_tariff([(1, TariffRecord("5.76", 519.4))], 1, Decimal("537.60")) is None
        True
    """
    if len(stray) != 1 or stray[0][0] != page:
        return None
    amount = Decimal(stray[0][1].amount)
    return amount if abs(amount - validation.expected_tariff(extended)) <= CENT else None
