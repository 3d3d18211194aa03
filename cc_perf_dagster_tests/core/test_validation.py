from decimal import Decimal

import pytest

from cc_perf_dagster.core.models import LineItem, Totals
from cc_perf_dagster.core.validation import (
    check_document,
    expected_tariff,
    expected_unit_price,
    item_problems,
    totals_problems,
)


def item(**overrides):
    values = dict(
        page=1,
        product_code="XS9826A",
        upc="191009727774",
        description='6"H Metal Ballerina Ornament,',
        qty_ordered=24,
        qty_allocated=0,
        qty_shipped=0,
        qty_backordered=24,
        unit="each",
        list_price=Decimal("2.00"),
        unit_price=Decimal("1.60"),
        extended_price=Decimal("38.40"),
        tariff_surcharge=Decimal("5.76"),
        quantity=24,
    )
    values.update(overrides)
    return LineItem(**values)


class TestRules:
    @pytest.mark.parametrize(
        ("list_price", "unit"), [("2.00", "1.60"), ("3.50", "2.80"), ("0.99", "0.79"), ("12.25", "9.80")]
    )
    def test_unit_price_is_80_percent_of_list(self, list_price, unit):
        assert expected_unit_price(Decimal(list_price)) == Decimal(unit)

    @pytest.mark.parametrize(
        ("extended", "tariff"), [("38.40", "5.76"), ("67.20", "10.08"), ("1.30", "0.20"), ("0.00", "0.00")]
    )
    def test_tariff_is_15_percent_rounded_half_up(self, extended, tariff):
        assert expected_tariff(Decimal(extended)) == Decimal(tariff)

    def test_a_correct_item_has_no_problems(self):
        assert item_problems(item()) == []

    def test_wrong_extended_is_named(self):
        problems = item_problems(item(extended_price=Decimal("40.00"), tariff_surcharge=Decimal("6.00")))
        assert problems == ["Extended 40.00 is not quantity 24 x Your Price 1.60 (= 38.40)"]

    def test_wrong_unit_price_and_tariff_are_named(self):
        problems = item_problems(item(unit_price=Decimal("1.70"), extended_price=Decimal("40.80")))
        assert problems[0].startswith("Your Price 1.70 is not 80% of List 2.00")
        assert problems[1].startswith("tariff 5.76 is not 15% of Extended 40.80")

    def test_one_cent_of_rounding_is_tolerated(self):
        assert item_problems(item(tariff_surcharge=Decimal("5.77"))) == []


class TestDocument:
    def test_score_is_share_of_consistent_items_with_a_warning_per_failure(self):
        items = [item(), item(page=2, product_code="XS9482", extended_price=Decimal("1.00")), item(), item()]
        report = check_document(items, None)
        assert report.consistency_score == 0.75
        assert len(report.warnings) == 1 and report.warnings[0].startswith("page 2, XS9482: Extended 1.00")
        assert report.totals_reconcile is None

    def test_no_items_scores_zero(self):
        report = check_document([], None)
        assert report.consistency_score == 0.0
        assert report.warnings == ("no line items found",)

    def test_totals_reconcile(self):
        items = [item(), item(extended_price=Decimal("0.00"), quantity=0, qty_backordered=0, tariff_surcharge=None)]
        good = Totals(
            subtotal=Decimal("38.40"), tariff=Decimal("5.76"), freight=Decimal("10.00"), total=Decimal("54.16")
        )
        assert totals_problems(items, good) == []
        assert check_document(items, good).totals_reconcile is True
        bad = Totals(subtotal=Decimal("38.40"), total=Decimal("50.00"))
        problems = totals_problems(items, bad)
        assert len(problems) == 1 and "total 50.00 does not add up" in problems[0]
        assert check_document(items, bad).totals_reconcile is False
