import dataclasses
import json
from decimal import Decimal

import pytest

from cc_perf_dagster.core.bookability import refusal_reasons
from cc_perf_dagster.core.errors import UnsupportedDocumentError
from cc_perf_dagster.core.layout import build_rows
from cc_perf_dagster.core.models import ItemRecord, PageResult, TariffRecord, TextRun, TotalRecord
from cc_perf_dagster.core.vendors.creative_coop import assemble, looks_unsupported, parse_page
from cc_perf_dagster.core.vendors.creative_coop.wrapped_upc import join_wrapped_upcs

SIZE = 8.0
OC_HEADER = [
    (20, "Product Code"),
    (70, "UPC"),
    (130, "Description"),
    (300, "Qty Ord"),
    (330, "Qty Alloc"),
    (360, "Qty Shipped"),
    (395, "Qty BkOrd"),
    (430, "U/M"),
    (460, "List Price"),
    (500, "Your Price"),
    (540, "Your Extd Price"),
]
INVOICE_HEADER = [
    (20, "Item"),
    (70, "UPC"),
    (130, "Description"),
    (330, "Shipped"),
    (370, "Back Ordered"),
    (430, "U/M"),
    (460, "List Price"),
    (500, "Your Price"),
    (540, "Extended"),
]


def text(value, x, y):
    return TextRun(value, x, x + 0.4 * SIZE * len(value), y, SIZE)


def right(value, x_right, y):
    return TextRun(value, x_right - 0.4 * SIZE * len(value), x_right, y, SIZE)


def oc_row(y, code, upc, desc, qtys, unit, amounts):
    runs = [text(code, 20, y), text(upc, 70, y)]
    if desc:
        runs.append(text(desc, 130, y))
    runs += [right(q, x, y) for q, x in zip(qtys, (325, 355, 385, 420), strict=True)]
    runs.append(text(unit, 430, y))
    runs += [
        right(a, x, y)
        for a, x in zip(
            amounts, (490, 530, 575)[-len(amounts) :] if len(amounts) == 2 else (490, 530, 575), strict=False
        )
    ]
    return runs


def header_runs(number, date, title="ORDER CONFIRMATION", date_label="ORDER DATE:", number_label="ORDER NO:"):
    return [
        text("Creative Co-op, Inc.", 20, 760),
        text(title, 400, 760),
        text(number_label, 400, 745),
        text(number, 470, 745),
        text(date_label, 400, 735),
        text(date, 470, 735),
        text("SHIP DATE:", 400, 725),
        text("2/3/2025", 470, 725),
        text("1234 Main Street, Memphis, TN 38118", 20, 745),
    ]


def page(number, runs, page_no=1):
    return parse_page(page_no, f"hash{page_no}", build_rows(runs))


def oc_page(runs, page_no=1, number="CS003837319", date="1/17/2025"):
    return page(number, header_runs(number, date) + [text(v, x, 700) for x, v in OC_HEADER] + runs, page_no)


class TestProductRows:
    def test_numbers_inside_descriptions_are_not_quantities(self):
        runs = oc_row(
            680,
            "XS3350",
            "191009571414",
            'S/3 28"L x 18"W Cotton Tea Towels, Set of 4',
            ["12", "0", "0", "12"],
            "Set",
            ["10.00", "8.00", "96.00"],
        )
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        (item,) = invoice.line_items
        assert item.description == 'S/3 28"L x 18"W Cotton Tea Towels, Set of 4'
        assert (item.qty_ordered, item.qty_allocated, item.qty_shipped, item.qty_backordered) == (12, 0, 0, 12)
        assert (item.unit, item.list_price, item.unit_price, item.extended_price) == (
            "Set",
            Decimal("10.00"),
            Decimal("8.00"),
            Decimal("96.00"),
        )
        assert item.quantity == 12

    def test_wrapped_description_and_tariff_attach_to_their_item(self):
        runs = oc_row(
            680,
            "XS9840A",
            "191009727910",
            '2-1/2"H 3-1/4"H Metal &',
            ["24", "14", "0", "24"],
            "each",
            ["3.50", "2.80", "67.20"],
        )
        runs += [text("Glass Ornaments,", 130, 670), text("2 Styles", 130, 660)]
        runs += [text("Tariff Surcharge", 130, 650), right("10.08", 575, 650)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        (item,) = invoice.line_items
        assert item.description == '2-1/2"H 3-1/4"H Metal & Glass Ornaments, 2 Styles'
        assert item.tariff_surcharge == Decimal("10.08")
        assert invoice.consistency_score == 1.0 and invoice.warnings == ()

    def test_zero_line_is_kept_with_quantity_zero(self):
        runs = oc_row(
            680,
            "XS8911A",
            "191009710615",
            '4-3/4"L x 3-1/2"W x 10"H Metal',
            ["12", "0", "0", "0"],
            "each",
            ["10.00", "8.00", "0.00"],
        )
        (item,) = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert item.quantity == 0 and item.extended_price == 0 and not item.is_billed
        assert item.tariff_surcharge is None

    def test_missing_your_price_is_inferred_from_extended(self):
        runs = oc_row(
            680,
            "XS9482",
            "191009714712",
            '8.25"H Wood Shoe Ornament',
            ["12", "0", "0", "12"],
            "each",
            ["3.50", "33.60"],
        )
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        (item,) = invoice.line_items
        assert (item.list_price, item.unit_price, item.extended_price) == (
            Decimal("3.50"),
            Decimal("2.80"),
            Decimal("33.60"),
        )
        assert not item.unit_price_printed
        assert invoice.consistency_score == 1.0

    def test_row_split_over_a_page_boundary(self):
        first = oc_row(
            60,
            "XS7529",
            "191009690856",
            '14" Rd Metal Leaves & Flowers',
            ["18", "0", "0", "18"],
            "each",
            ["10.00", "8.00", "144.00"],
        )
        first += [text("Page 1 of 2", 280, 30)]
        second = [text("Wall Decor, 2 Styles", 130, 680), text("Tariff Surcharge 21.60", 130, 670)]
        invoice = assemble("t.pdf", "sha", [oc_page(first, 1), oc_page(second, 2)])
        (item,) = invoice.line_items
        assert item.page == 1
        assert item.description == '14" Rd Metal Leaves & Flowers Wall Decor, 2 Styles'
        assert item.tariff_surcharge == Decimal("21.60")

    def test_footer_below_the_table_is_not_a_continuation(self):
        runs = oc_row(
            680,
            "XS9482",
            "191009714712",
            '8.25"H Wood Shoe Ornament',
            ["12", "0", "0", "12"],
            "each",
            ["3.50", "2.80", "33.60"],
        )
        runs += [text("Thank you", 150, 640), text("for your business!", 150, 630)]
        (item,) = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert item.description == '8.25"H Wood Shoe Ornament'


class TestInvoices:
    # An invoice row (code, UPC, description, shipped, back ordered, unit, prices, tariff).
    VASE = (
        "DF6642",
        "191009514312",
        '12-1/4"H Stoneware Vase',
        "8",
        "0",
        "each",
        ["22.50", "18.00", "144.00"],
        "21.60",
    )

    def invoice_page(self, rows, extra=()):
        runs = header_runs("CI004848705", "3/4/2025", "INVOICE", "INVOICE DATE:", "INVOICE NO:")
        runs += [text("ORDER NO:", 20, 725), text("CS003837319", 70, 725)]  # the order it bills
        runs += [text(v, 700 if False else x, 700) for x, v in INVOICE_HEADER]
        y = 680
        for code, upc, desc, shipped, back, unit, amounts, tariff in rows:
            runs += [
                text(code, 20, y),
                text(upc, 70, y),
                right(shipped, 355, y),
                right(back, 400, y),
                text(unit, 430, y),
            ]
            if desc:
                runs.append(text(desc, 130, y))
            runs += [right(a, x, y) for a, x in zip(amounts, (490, 530, 575), strict=True)]
            y -= 10
            if tariff:
                runs += [text("TRF-CCOI", 130, y), right(tariff, 575, y)]
                y -= 10
        return page("CI004848705", runs + list(extra))

    def test_invoice_identity_prefers_the_ci_number_and_invoice_date(self):
        rows = [
            (
                "DA4315",
                "807472767956",
                '3-1/4" Rnd x 4"H 12 oz. Embossed Drinking Glass, Green',
                "12",
                "0",
                "each",
                ["4.00", "3.20", "38.40"],
                "5.76",
            )
        ]
        invoice = assemble("i.pdf", "sha", [self.invoice_page(rows)])
        assert (invoice.document_type, invoice.invoice_number, str(invoice.invoice_date)) == (
            "invoice",
            "CI004848705",
            "2025-03-04",
        )
        (item,) = invoice.line_items
        assert (item.qty_ordered, item.qty_allocated, item.qty_shipped, item.qty_backordered) == (None, None, 12, 0)
        assert item.description.endswith("12 oz. Embossed Drinking Glass, Green")
        assert item.tariff_surcharge == Decimal("5.76") and item.quantity == 12

    def test_backordered_zero_line(self):
        rows = [
            (
                "DF0716",
                "191009197164",
                '6"L x 8"H Bone Photo Frame (Holds 4" x 6" Photo)',
                "0",
                "6",
                "each",
                ["15.00", "12.00", "0.00"],
                None,
            )
        ]
        (item,) = assemble("i.pdf", "sha", [self.invoice_page(rows)]).line_items
        assert (item.qty_shipped, item.qty_backordered, item.quantity) == (0, 6, 0)
        assert item.description == '6"L x 8"H Bone Photo Frame (Holds 4" x 6" Photo)'

    def test_totals_block_in_any_wording(self):
        rows = [self.VASE]
        extra = [
            text("Sub-Total", 430, 400),
            right("144.00", 575, 400),
            text("Total Tariff", 430, 390),
            right("21.60", 575, 390),
            text("Shipping & Handling", 430, 380),
            right("12.00", 575, 380),
            text("Total Due", 430, 370),
            right("177.60", 575, 370),
        ]
        invoice = assemble("i.pdf", "sha", [self.invoice_page(rows, extra)])
        assert invoice.totals.subtotal == Decimal("144.00") and invoice.totals.tariff == Decimal("21.60")
        assert invoice.totals.freight == Decimal("12.00") and invoice.totals.total == Decimal("177.60")
        assert invoice.totals_reconcile is True

    @pytest.mark.parametrize("lone", ["amount", "note"])
    def test_a_totals_label_ending_a_page_takes_the_amount_heading_the_next(self, lone):
        # PDFKit moves on to a new page between a totals label and its amount: "Tariff Total"
        # ends page 1, "21.60" heads page 2, both on lines of their own. The total was left out
        # without a word (the block still added up from the lines' tariffs). An amount alone
        # anywhere else in the block is a doubt; a note that speaks of balances is let be.
        rows = [self.VASE]
        extra = [text("Sub-Total", 430, 400), right("144.00", 575, 400), text("Tariff Total", 430, 390)]
        second = [right("21.60", 575, 700), text("Total Due", 430, 690), right("165.60", 575, 690)]
        if lone == "amount":
            second.append(right("12.00", 575, 670))
        else:
            second.append(text("Past-due balances accrue a monthly service charge.", 20, 670))
        invoice = assemble("i.pdf", "sha", [self.invoice_page(rows, extra), page("", second, 2)])
        assert invoice.totals.tariff == Decimal("21.60") and invoice.totals.total == Decimal("165.60")
        if lone == "amount":
            assert invoice.doubts == (
                "page 2: an amount on a line of its own in the totals block, with no label ('12.00'): "
                "the totals may be read wrong",
            )
        else:
            assert invoice.doubts == ()

    def test_totals_that_do_not_add_up_are_reported(self):
        rows = [self.VASE]
        extra = [text("Invoice Total", 430, 370), right("999.00", 575, 370)]
        invoice = assemble("i.pdf", "sha", [self.invoice_page(rows, extra)])
        assert invoice.totals_reconcile is False
        assert any("total 999.00 does not add up" in w for w in invoice.warnings)

    def test_a_totals_block_read_without_its_total_is_a_doubt(self):
        # Found by damaging a font program: PDFium drew the block's bold amounts in another
        # font, the subtotal and total were lost, and what was left (tariff, freight) "added up".
        rows = [("DF6642", "191009514312", '12-1/4"H Vase', "8", "0", "each", ["22.50", "18.00", "144.00"], "21.60")]
        block = [
            text("Subtotal", 430, 400),
            right("144.00", 575, 400),
            text("Tariff", 430, 390),
            right("21.60", 575, 390),
            text("Total", 430, 370),
            right("165.60", 575, 370),
        ]
        whole = assemble("i.pdf", "sha", [self.invoice_page(rows, block)])
        assert whole.totals.total == Decimal("165.60") and not whole.doubts
        cut = assemble("i.pdf", "sha", [self.invoice_page(rows, block[2:4])])
        assert cut.totals.tariff == Decimal("21.60") and cut.totals.total is None and cut.totals_reconcile
        assert cut.doubts == ("its totals block was read without a Total: part of it was not read",)


class TestHeader:
    def test_date_is_the_one_labelled_order_date_not_the_ship_date(self):
        result = oc_page([])
        labels = {d.value: d.label for d in result.header.dates}
        assert labels == {"2025-01-17": "ORDER DATE", "2025-02-03": "SHIP DATE"}

    def test_values_below_their_labels(self):
        runs = [
            text("Creative Co-op", 20, 760),
            text("ORDER DATE", 300, 740),
            text("SHIP DATE", 400, 740),
            text("ORDER NO", 500, 740),
            text("2/3/2025", 400, 728),
            text("1/17/2025", 300, 728),
            text("CS003837319", 500, 728),
        ]
        invoice = assemble("t.pdf", "sha", [page("CS003837319", runs)])
        assert str(invoice.invoice_date) == "2025-01-17" and invoice.invoice_number == "CS003837319"

    def test_a_value_drawn_over_the_end_of_its_label(self):
        # A label cell narrower than its label (MuPDF's HTML tables): "DATE:" runs 4 pt into
        # the value's cell, over the date's first digit. The date is still the one on its
        # label's row, not the nearest label above it ("INVOICE NO:").
        runs = [
            text("Creative Co-op", 20, 760),
            TextRun("INVOICE NO:", 400, 440, 745, SIZE), TextRun("CI004848705", 436, 480, 745, SIZE),
            TextRun("INVOICE DATE:", 400, 448, 736, SIZE), TextRun("2/4/2025", 444, 476, 736, SIZE),
            TextRun("DUE DATE:", 400, 436, 727, SIZE), TextRun("3/6/2025", 444, 476, 727, SIZE),
        ]  # fmt: skip
        result = page("CI004848705", runs)
        assert {d.value: d.label for d in result.header.dates} == {
            "2025-02-04": "INVOICE DATE",
            "2025-03-06": "DUE DATE",
        }
        invoice = assemble("i.pdf", "sha", [result])
        assert str(invoice.invoice_date) == "2025-02-04" and invoice.invoice_number == "CI004848705"

    def test_a_document_whose_date_cannot_be_read_is_a_doubt(self):
        # Only a due date: the invoice's own date was not read, and the booking rows need it.
        runs = [
            text("Creative Co-op", 20, 760), text("INVOICE NO:", 400, 745), text("CI004848705", 470, 745),
            text("DUE DATE:", 400, 725), text("3/6/2025", 470, 725),
        ]  # fmt: skip
        invoice = assemble("i.pdf", "sha", [page("CI004848705", runs)])
        assert invoice.invoice_date is None
        assert invoice.doubts == ("no invoice date could be read: its rows would be booked undated",)

    def test_another_vendor_is_refused(self):
        runs = [
            text("Acme Home Goods", 20, 760),
            text("Invoice No: INV-20931", 400, 745),
            text("Date: 3/1/2025", 400, 735),
        ]
        result = page(None, runs)
        assert looks_unsupported(result)
        with pytest.raises(UnsupportedDocumentError, match="not a Creative Co-op document"):
            assemble("acme.pdf", "sha", [result])


class TestPageResult:
    def test_records_and_json_round_trip(self):
        runs = oc_row(
            680,
            "XS9826A",
            "191009727774",
            '6"H Metal Ballerina Ornament,',
            ["24", "0", "0", "24"],
            "each",
            ["2.00", "1.60", "38.40"],
        )
        runs += [text("Tariff Surcharge 5.76", 130, 670), text("Order Total", 430, 400), right("44.16", 575, 400)]
        result = oc_page(runs)
        kinds = [type(r) for r in result.records]
        assert kinds == [ItemRecord, TariffRecord, TotalRecord]
        again = PageResult.from_dict(json.loads(json.dumps(result.to_dict())))
        assert again == result
        ocr = dataclasses.replace(result, invisible_text=True, doubts=("a doubt",))
        assert PageResult.from_dict(json.loads(json.dumps(ocr.to_dict()))) == ocr


class TestFamilyVariants:
    """Variations a real Creative Co-op document may show that the committed fixtures do not."""

    @pytest.mark.parametrize(
        ("label", "value"),
        [("INVOICE DATE:", "2/4/2025"), ("Inv. Date:", "2/4/2025"), ("Invoice Date", "2025-02-04"),
         ("INVOICE DATE:", "Feb 4, 2025"), ("INVOICE DATE:", "04-Feb-2025"), ("Date:", "2-4-2025"),
         ("INVOICE DATE:", "02/04/25"), ("INVOICE DATE:", "04-FEB-25"), ("INVOICE DATE:", "2025/02/04")],
    )  # fmt: skip
    def test_invoice_date_labels_and_formats(self, label, value):
        runs = [
            text("Creative Co-op", 20, 760), text("INVOICE NO:", 400, 745), text("CI004848705", 470, 745),
            text("DUE DATE:", 400, 725), text("3/6/2025", 470, 725),
            text(label, 400, 735), text(value, 470, 735),
        ]  # fmt: skip
        invoice = assemble("i.pdf", "sha", [page("CI004848705", runs)])
        assert str(invoice.invoice_date) == "2025-02-04"

    def test_upc_drawn_against_the_description_is_split_off(self):
        runs = [TextRun("XS9482", 20, 48, 680, SIZE), TextRun("191009714712", 50, 100, 680, SIZE)]
        runs += [TextRun('4-3/4"L Wood Shoe', 100.2, 170, 680, SIZE)]  # 0.2 pt gap: glued by position
        runs += [right(q, x, 680) for q, x in zip(["12", "0", "0", "12"], (325, 355, 385, 420), strict=True)]
        runs += [text("each", 430, 680), right("3.50", 490, 680), right("2.80", 530, 680), right("33.60", 575, 680)]
        (item,) = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert (item.upc, item.description) == ("191009714712", '4-3/4"L Wood Shoe')

    def test_tariff_amount_before_its_label(self):
        runs = oc_row(
            680, "XS9482", "191009714712", "Wood Shoe", ["12", "0", "0", "12"], "each", ["3.50", "2.80", "33.60"]
        )
        runs += [right("5.04", 120, 670), text("Tariff Surcharge", 130, 670)]
        (item,) = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert item.tariff_surcharge == Decimal("5.04")

    def test_a_tariff_total_after_a_last_zero_line_stays_a_total(self):
        runs = oc_row(
            680, "XS9482", "191009714712", "Wood Shoe", ["12", "0", "0", "12"], "each", ["3.50", "2.80", "33.60"]
        )
        runs += [text("Tariff Surcharge", 130, 670), right("5.04", 575, 670)]
        runs += oc_row(
            660, "XS8911A", "191009710615", "Lantern", ["12", "0", "0", "0"], "each", ["10.00", "8.00", "0.00"]
        )
        runs += [text("Tariff Surcharge", 430, 600), right("5.04", 575, 600)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert invoice.line_items[1].tariff_surcharge is None
        assert invoice.totals.tariff == Decimal("5.04") and invoice.totals_reconcile is True

    def test_hidden_your_price_uses_the_billed_quantity_first(self):
        # Alloc 8 x List 5.00 = 40.00 = BkOrd 10 x Your 4.00: the billed reading wins.
        runs = oc_row(680, "XS1234", "191009000001", "Candle", ["10", "8", "0", "10"], "each", ["5.00", "40.00"])
        (item,) = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert (item.list_price, item.unit_price, item.quantity) == (Decimal("5.00"), Decimal("4.00"), 10)

    def test_units_with_digits_and_line_numbers_with_a_dot(self):
        runs = [text("1.", 5, 680)]
        runs += oc_row(680, "XS1234", "191009000001", "Candle", ["6", "0", "0", "6"], "PK6", ["5.00", "4.00", "24.00"])
        (item,) = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert (item.product_code, item.unit, item.quantity) == ("XS1234", "PK6", 6)

    def test_blank_zero_quantities_are_placed_by_the_header_labels(self):
        # Qty Alloc and Qty Shipped printed blank on every row: no row shows all four columns.
        runs = oc_row(
            680,
            "XS9826A",
            "191009727774",
            '6"H Metal Ornament',
            ["24", "", "", "24"],
            "each",
            ["2.00", "1.60", "38.40"],
        )
        runs += oc_row(
            670, "XS8911A", "191009710615", "Metal Lantern", ["12", "", "", ""], "each", ["10.00", "8.00", "0.00"]
        )
        first, second = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert (first.qty_ordered, first.qty_allocated, first.qty_shipped, first.qty_backordered) == (24, 0, 0, 24)
        assert (second.qty_ordered, second.qty_backordered, second.quantity) == (12, 0, 0)
        assert first.description == '6"H Metal Ornament' and second.description == "Metal Lantern"

    def test_totals_block_as_a_grid_of_labels_over_amounts(self):
        runs = oc_row(
            680, "XS9482", "191009714712", "Wood Shoe", ["12", "0", "0", "12"], "each", ["3.50", "2.80", "33.60"]
        )
        runs += [text("Tariff Surcharge", 130, 670), right("5.04", 575, 670)]
        runs += [right("Subtotal", 300, 600), right("Tariff Surcharge Total", 400, 600), right("Order Total", 575, 600)]
        runs += [right("33.60", 300, 590), right("5.04", 400, 590), right("38.64", 575, 590)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert (invoice.totals.subtotal, invoice.totals.tariff, invoice.totals.total) == (
            Decimal("33.60"), Decimal("5.04"), Decimal("38.64"),
        )  # fmt: skip
        assert invoice.totals_reconcile is True


class TestProducerShapes:
    """Shapes other PDF producers draw the same table in (issue 13)."""

    ITEM = ("XS9840A", "191009727910", ["24", "14", "0", "24"], "each", ["3.50", "2.80", "67.20"])

    def numbers(self, y):
        code, upc, qtys, unit, amounts = self.ITEM
        return [r for r in oc_row(y, code, upc, "", qtys, unit, amounts) if r.x0 >= 300]

    def code(self, y):
        return [text(self.ITEM[0], 20, y), text(self.ITEM[1], 70, y)]

    def test_header_values_above_their_labels(self):
        runs = [
            text("Creative Co-op", 20, 760),
            text("1/17/2025", 300, 740),
            text("2/3/2025", 400, 740),
            text("CS003837319", 500, 740),
            text("ORDER DATE", 300, 728),
            text("SHIP DATE", 400, 728),
            text("ORDER NO", 500, 728),
        ]
        invoice = assemble("t.pdf", "sha", [page("CS003837319", runs)])
        assert str(invoice.invoice_date) == "2025-01-17" and invoice.invoice_number == "CS003837319"

    def test_tariff_on_a_continuation_row(self):
        runs = [*self.code(680), text('2-1/2"H 3-1/4"H Metal &', 130, 680), *self.numbers(680)]
        runs += [text("Glass Ornaments", 130, 670), text("Tariff Surcharge", 430, 670), right("10.08", 575, 670)]
        (item,) = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert item.description == '2-1/2"H 3-1/4"H Metal & Glass Ornaments'
        assert item.tariff_surcharge == Decimal("10.08")

    def test_continuation_across_a_page_break_without_a_table_header(self):
        first = [*self.code(60), text('2-1/2"H 3-1/4"H Metal &', 130, 60), *self.numbers(60)]
        second = header_runs("CS003837319", "1/17/2025")
        second += [text("Glass Ornaments", 130, 690), text("Tariff Surcharge 10.08", 130, 680)]
        pages = [oc_page(first, 1), page("CS003837319", second, 2)]
        (item,) = assemble("t.pdf", "sha", pages).line_items
        assert (item.page, item.description) == (1, '2-1/2"H 3-1/4"H Metal & Glass Ornaments')
        assert item.tariff_surcharge == Decimal("10.08")

    def test_a_tariff_line_after_a_page_the_table_overflowed_onto(self):
        # The item ends page 1; page 2 holds only the page's footer (the table overflowed by a
        # line, a browser's own header and footer taking the room); its tariff line opens page 3.
        first = [*self.code(60), text("Glass Ornaments", 130, 60), *self.numbers(60)]
        second = [text("Continued on next page", 20, 700), text("Page 1 of 2", 20, 690)]
        third = header_runs("CS003837319", "1/17/2025")
        third += [text("Tariff Surcharge", 430, 690), right("10.08", 575, 690)]
        pages = [oc_page(first, 1), page("CS003837319", second, 2), page("CS003837319", third, 3)]
        invoice = assemble("t.pdf", "sha", pages)
        (item,) = invoice.line_items
        assert item.tariff_surcharge == Decimal("10.08") and not invoice.warnings

    def test_numbers_below_the_first_description_line(self):
        # Code cells aligned top, number cells bottom: the numbers share the last line.
        runs = [*self.code(680), text('2-1/2"H 3-1/4"H Metal &', 130, 680)]
        runs += [text("Glass", 130, 670), text("Ornaments", 130, 660), *self.numbers(660)]
        (item,) = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert item.description == '2-1/2"H 3-1/4"H Metal & Glass Ornaments'
        assert (item.qty_ordered, item.qty_allocated, item.quantity, item.extended_price) == (
            24,
            14,
            24,
            Decimal("67.20"),
        )

    def test_a_number_in_the_description_line_beside_the_numbers_stays_in_the_description(self):
        # iText, Courier, cells aligned bottom: the numbers share the description's last line,
        # "Stem, 6 Styles". The cells right of the description were taken from the line's first
        # number on, so "Styles" and the first line's words past "6" were sorted in with them by
        # where they stand: "11-3/4" Stem, 6 Dia Styles Paper Mache Pumpkin w/ Real", booked so.
        runs = [*self.code(680), text('11-3/4" Dia Paper Mache Pumpkin w/ Real', 130, 680)]
        runs += [text("Stem,", 130, 670), text("6", 152, 670), text("Styles", 160, 670), *self.numbers(670)]
        (item,) = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert item.description == '11-3/4" Dia Paper Mache Pumpkin w/ Real Stem, 6 Styles'
        assert (item.qty_ordered, item.quantity, item.extended_price) == (24, 24, Decimal("67.20"))

    def test_a_description_that_starts_with_only_the_rest_of_a_number_is_a_doubt(self):
        # Chromium, flex rows aligned middle, larger type: the UPC "191009438007" runs over the
        # description's cell, its last "7" drawn where the description's "7-1/4"" starts, and the
        # two glyphs were read as one. DG2174 was booked '-1/4" Rd x 2"H Seagrass Basket'.
        runs = [*self.code(680), text('-1/4" Rd x 2"H Seagrass Basket', 130, 680), *self.numbers(680)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert invoice.doubts == (
            "1 description(s) start with only the rest of a number (XS9840A: '-1/4\" Rd x 2\"H Seagr'): "
            "its first characters were not read, the description read short",
        )

    @pytest.mark.parametrize("row_gap", [14, 20, 30])
    @pytest.mark.parametrize("align", ["top", "middle", "bottom"])
    def test_description_lines_above_beside_or_below_the_numbers(self, align, row_gap):
        # Three items of three description lines each, 10 pt apart, the cells' last and first
        # lines row_gap apart (cell padding): wider than a cell's line spacing (17.6 pt at
        # 8 pt) from 20 on, where the lines above a row were left out of its description.
        descriptions = [("Alpha one", "Alpha two", "Alpha three"), ("Beta one", "Beta two", "Beta three")]
        descriptions.append(("Gamma one", "Gamma two", "Gamma three"))
        runs, y = [], 690.0
        for index, lines in enumerate(descriptions):
            anchor = {"top": y, "middle": y - 10, "bottom": y - 20}[align]
            code = f"XS{9840 + index}A"
            runs += [text(code, 20, anchor), text(self.ITEM[1], 70, anchor), *self.numbers(anchor)]
            runs += [text(line, 130, y - 10 * n) for n, line in enumerate(lines)]
            y -= 20 + row_gap
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items] == [" ".join(lines) for lines in descriptions]
        assert invoice.doubts == ()

    @pytest.mark.parametrize(
        ("y", "why"),
        [
            (660, "lies below a tariff line, far above the next row"),  # 10 pt below the tariff line
            (645, "lies far from the rows above and below it"),  # 25 pt from both
        ],
    )
    def test_a_line_among_the_rows_that_no_item_can_take_is_a_doubt(self, y, why):
        runs = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680)]
        runs += [text("Tariff Surcharge", 430, 670), right("10.08", 575, 670), text("Stray", 130, y)]
        runs += [*self.code(620), text("Beta", 130, 620), *self.numbers(620)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items] == ["Alpha", "Beta"]
        assert invoice.doubts == (
            f"page 1: a line among the line items {why} and no item can take it ('Stray'): "
            "a description may be read short",
        )

    def test_a_product_row_that_cannot_be_read_is_a_doubt_and_so_is_its_tariff(self):
        # Firefox, letter-spaced: "19.60" drawn as "19." and "60", apart; the row was left out
        # and its tariff line dropped with a warning, and 45 items of 46 booked.
        runs = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680), text("Tariff Surcharge 9.12", 130, 670)]
        broken = [r if r.text != "2.80" else TextRun("2.", r.x0, r.x0 + 5.5, 650, SIZE) for r in self.numbers(650)]
        runs += [*self.code(650), text("Beta", 130, 650), *broken, right("80", 530, 650)]
        runs += [text("Tariff Surcharge 10.08", 130, 640), *self.code(620), text("Gamma", 130, 620), *self.numbers(620)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items] == ["Alpha", "Gamma"]
        assert invoice.doubts == (
            "page 1: the row of XS9840A opens as a product row, but its quantities and prices cannot be read "
            '("XS9840A 191009727910 Beta 24 14 0 24 each 3.50 2. 80 67.20"): the item would be left out',
            "1 tariff line(s) among the line items belong to no item (10.08): the rows they belong to may "
            "not have been read",
        )

    def test_a_code_wrapped_onto_the_next_line_is_joined_where_it_makes_one_code(self):
        # LibreOffice from a Word table with a narrow code column: "XS9840A" breaks into "XS9840"
        # and "A" below it, beside the description's second line; the code was booked "XS9840",
        # then refused naming the piece. The piece ends a code and the two make one: joined.
        def wrapped(code, piece):
            runs = [text(code, 20, 680), text(self.ITEM[1], 70, 680), text("Alpha one", 130, 680)]
            runs += [*self.numbers(680), text(piece, 20, 670), text("Alpha two", 130, 670)]
            runs += [*self.code(640), text("Beta", 130, 640), *self.numbers(640)]
            return assemble("t.pdf", "sha", [oc_page(runs)])

        invoice = wrapped("XS9840", "A")
        assert [(i.product_code, i.description) for i in invoice.line_items] == [
            ("XS9840A", "Alpha one Alpha two"),
            ("XS9840A", "Beta"),
        ]
        assert invoice.doubts == ()
        # "XS9840AB" and "C" make no code the vendor prints: the piece stays a doubt.
        assert wrapped("XS9840AB", "C").doubts == (
            'page 1: below the row of XS9840AB, "C" lies in its code and UPC cells ("C Alpha two"): '
            "a product code or UPC wrapped, read short",
        )

    def test_a_upc_wrapped_below_its_row_is_joined_where_its_check_digit_is_right(self):
        # iText's PdfPTable, four points of padding: the UPC column holds eleven digits, so
        # "191009727910" prints as "19100972791" on the row and "0" beside the description's
        # second line. Read as printed, the row had no UPC and the document was refused.
        runs = [text(self.ITEM[0], 20, 680), text("19100972791", 70, 680), text("Alpha one", 130, 680)]
        runs += [*self.numbers(680), text("0", 70, 670), text("Alpha two", 130, 670)]
        runs += [*self.code(640), text("Beta", 130, 640), *self.numbers(640)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [(i.upc, i.description) for i in invoice.line_items] == [
            ("191009727910", "Alpha one Alpha two"),
            ("191009727910", "Beta"),
        ]
        assert invoice.doubts == ()

    def test_a_upc_wrapped_above_its_row_is_joined(self):
        # Cells aligned bottom: the UPC's last digits share the row's line, the first the line above.
        above = [text("1910097279", 70, 690), text("Alpha one", 130, 690)]
        row = [text(self.ITEM[0], 20, 680), text("10", 70, 680), text("Alpha two", 130, 680), *self.numbers(680)]
        rows = join_wrapped_upcs(build_rows([*above, *row]))
        assert [r.text for r in rows] == ["Alpha one", "XS9840A 191009727910 Alpha two 24 14 0 24 each 3.50 2.80 67.20"]

    def test_a_upc_whose_pieces_pair_two_ways_is_joined_the_way_the_pages_other_upcs_wrapped(self):
        # iText, cells aligned bottom: DF7222A's "1" pairs with the line above ("19100954169") and,
        # by the check digit's one chance in ten, with the next row's first piece below it
        # ("19100996257" + its own "1"): the row was left without its UPC and the document refused.
        # Every other UPC of the page wrapped above its row: so did this one.
        def row(y, code, first, last):
            return [
                text(first, 70, y + 8),
                text(code, 20, y),
                text(last, 70, y),
                text("Dish", 130, y),
                *self.numbers(y),
            ]

        runs = [*row(680, "DF6870", "19100920620", "0"), *row(640, "DF7222A", "19100954169", "1")]
        runs += row(624, "DF7271", "19100996257", "1")
        rows = join_wrapped_upcs(build_rows(runs))
        assert [r.words[1].text for r in rows if r.words[0].text.startswith("DF")] == [
            "191009206200",
            "191009541691",
            "191009962571",
        ]
        # With no other UPC of the page to say which way they wrap, the row stays without its UPC.
        alone = join_wrapped_upcs(build_rows(runs[4 + len(self.numbers(0)) :]))
        assert [r.words[1].text for r in alone if r.words[0].text.startswith("DF")] == ["1", "191009962571"]

    def test_a_upc_wrapped_around_its_row_is_joined(self):
        # Cells aligned middle: a UPC of two lines straddles the row's line, like the
        # description beside it; the row's line holds the code and the numbers only.
        above = [text("19100972791", 70, 684), text("Alpha one", 130, 684)]
        below = [text("0", 70, 676), text("Alpha two", 130, 676)]
        runs = [*above, text(self.ITEM[0], 20, 680), *self.numbers(680), *below]
        runs += [*self.code(650), text("Beta", 130, 650), *self.numbers(650)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [(i.upc, i.description) for i in invoice.line_items] == [
            ("191009727910", "Alpha one Alpha two"),
            ("191009727910", "Beta"),
        ]
        assert invoice.doubts == ()

    def test_a_upc_wrapped_beside_a_description_column_narrower_than_two_upcs_is_not_joined(self):
        # TCPDF: a description column as narrow as the UPC's breaks longer words inside too
        # ("Ha" / "nd-Carved"), where no gap says so: the UPC is left unread, and the row refused.
        line = [text(self.ITEM[0], 20, 680), text("19100972791", 70, 680), text("Ha", 110, 680)]
        numbers = [
            text(v, x, 680) for v, x in (("24", 150), ("each", 160), ("2.00", 180), ("1.60", 200), ("38.40", 220))
        ]
        rows = build_rows([*line, *numbers, text("0", 70, 672), text("nd-Carved", 110, 672)])
        assert join_wrapped_upcs(rows) == rows

    def test_digits_under_a_short_upc_that_fail_its_check_digit_are_not_joined(self):
        runs = [text(self.ITEM[0], 20, 680), text("19100972791", 70, 680), text("Alpha one", 130, 680)]
        runs += [*self.numbers(680), text("1", 70, 670), text("Alpha two", 130, 670)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.upc for i in invoice.line_items] == [""]
        assert any("read without the UPC every line prints: XS9840A" in r for r in invoice.doubts)

    def bottom_aligned_unit_piece(self, piece):
        # iText, Courier, cells aligned bottom, leading 1.2: DF3007's first line and its unit's
        # first part ("lo" of "lo each") share a line 2.3 font sizes under the tariff line above.
        runs = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680)]
        runs += [text("Tariff Surcharge", 130, 670), right("10.08", 575, 670)]
        runs += [text("Beta one", 130, 670 - 2.3 * SIZE), text(piece, 430, 670 - 2.3 * SIZE)]
        runs += [*self.code(640), text("Beta two", 130, 640), *self.numbers(640)]
        return assemble("t.pdf", "sha", [oc_page(runs)])

    def test_a_unit_wrapped_above_its_row_with_cells_aligned_bottom_is_joined(self):
        # "lo" over "each" makes the vendor's "lo each"; the line left fits the description column.
        invoice = self.bottom_aligned_unit_piece("lo")
        assert invoice.doubts == ()
        assert [(i.description, i.unit) for i in invoice.line_items] == [
            ("Alpha", "each"),
            ("Beta one Beta two", "lo each"),
        ]

    def test_a_line_past_the_description_column_far_below_a_tariff_and_above_a_row_is_a_doubt(self):
        # The same line with a word that makes no unit of the vendor's with the row's ("pk each"):
        # it was let be as a note under the table, and the item booked short, saying nothing.
        invoice = self.bottom_aligned_unit_piece("pk")
        assert invoice.doubts == (
            "page 1: a line among the line items does not fit the description column and no item can take it "
            "('Beta one pk'): a description may be read short",
        )

    def test_an_amount_under_its_tariff_label_in_the_description_column_is_the_items_tariff(self):
        # TCPDF, a narrow description column: the tariff line "Tariff Surcharge 23.76" wraps
        # into "Tariff" / "Surcharge" / "23.76", all in the description column, the amount
        # under its label. The three lines were once booked as the end of the item's
        # description and its tariff left out, silently; then the amount was a doubt.
        runs = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680)]
        runs += [text("Tariff", 130, 672), text("Surcharge", 130, 664), text("23.76", 130, 656)]
        runs += [*self.code(630), text("Beta", 130, 630), *self.numbers(630)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [(i.description, str(i.tariff_surcharge)) for i in invoice.line_items] == [
            ("Alpha", "23.76"),
            ("Beta", "None"),
        ]
        assert not any("23.76" in doubt for doubt in invoice.doubts)

    def test_a_line_past_the_description_column_far_below_the_last_row_is_a_note(self):
        runs = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680)]
        runs += [text("All sales final; see terms", 130, 660), text("overleaf", 430, 660)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items] == ["Alpha"] and invoice.doubts == ()

    def test_a_note_under_the_table_across_the_code_and_upc_cells_is_no_wrapped_code(self):
        # jsPDF: "Thank you for your business!" at the page margin, just under the last row.
        runs = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680), text("Thank you for your", 20, 668)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.product_code for i in invoice.line_items] == ["XS9840A"] and invoice.doubts == ()

    def test_description_lines_that_overlap_the_next_row_are_a_doubt(self):
        # LibreOffice Calc, a sheet of rows of fixed height with wrapped cells aligned top: a
        # description's second line sits 6.8 pt under its row and the next row 5.4 pt under it,
        # so the lines overlap (font 6.1 pt). The narrower gap was taken for the cell's line
        # spacing and "Alpha two" booked as the start of Beta's description.
        lines = [text("Alpha one", 130, 680), text("Alpha two", 130, 680 - 6.8 * SIZE / 6.1)]
        below = 680 - 12.2 * SIZE / 6.1
        runs = [*self.code(680), *lines, *self.numbers(680), *self.code(below), text("Beta one", 130, below)]
        runs += self.numbers(below)
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert invoice.doubts == (
            "page 1: a line among the line items overlaps the line above or below it (a cell's text runs "
            "past its row) and no item can take it ('Alpha two'): a description may be read short",
        )

    @pytest.mark.parametrize(
        "spacing, growth, lines",
        [
            (0.9, 0.9, (2, 1, 2, 1)),
            (0.9, 0.9, (2, 3, 2, 2)),
            (0.9, None, (2, 1, 2, 1)),
            (0.79, 0.79, (2, 1, 2, 1)),
            (0.79, 0.79, (2, 3, 2, 2)),
            (0.79, 0.95, (2, 1, 2, 1)),
            (0.79, None, (2, 1, 2, 1)),
        ],
    )
    def test_lines_set_tightly_are_read_where_the_rows_grow_with_them(self, spacing, growth, lines):
        # pdfmake's spacing in Helvetica (0.925 font sizes), or CSS line-height 1 rounded to
        # Chromium's pixel (0.88 to 1.02): a description's second line 0.9 sizes under its row,
        # the next row 1.25 under that (the cells' padding). Where a row of more lines stands
        # further above the next by them (of one line 1.25 sizes; or of three lines 0.9 further
        # than of two), the rows grow with their cells and no text can have run past its row:
        # "Alpha two" is Alpha's (it was a doubt). Where every row stands as far below the one
        # above, whatever its lines (growth None), they overlap as in the Calc sheet above.
        # pdfmake sets Courier's lines 0.79 sizes apart (its ascent less its descent), closer
        # than TIGHT_LINES: they are read where the rows grow by that spacing a line, and
        # overlap where the rows grow by more than their lines are apart (0.95 a line).
        runs, descriptions = self.tight_rows(("Alpha", "Beta", "Gamma", "Delta"), lines, growth, spacing)
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        if growth == spacing:
            assert invoice.doubts == ()
            assert [i.description for i in invoice.line_items] == descriptions
        else:
            overlapping = [d for d in invoice.doubts if "overlaps the line above or below it" in d]
            assert [d.split("(")[-1] for d in overlapping] == [
                "'Alpha two'): a description may be read short",
                "'Gamma two'): a description may be read short",
            ]

    def tight_rows(self, names, lines, growth, spacing=0.9):
        """Product rows of ``lines[i]`` description lines ``spacing`` font sizes apart, each ``growth``
        font sizes a line taller (``None``: every row as tall), 1.25 apart; and the descriptions."""
        line, y, runs, descriptions = spacing * SIZE, 680.0, [], []
        for name, count in zip(names, lines, strict=True):
            texts = [f"{name} {n}" for n in ("one", "two", "three")[:count]]
            runs += [*self.code(y), *self.numbers(y), *(text(t, 130, y - n * line) for n, t in enumerate(texts))]
            y -= ((count - 1) * growth * SIZE if growth else line) + 1.25 * SIZE
            descriptions.append(" ".join(texts))
        return runs, descriptions

    @pytest.mark.parametrize(("lines", "growth"), [((2, 1, 2, 1), 0.9), ((2, 2, 2, 2), 0.9), ((2, 1, 2, 1), None)])
    def test_lines_set_tightly_on_a_page_that_shows_nothing_go_as_the_documents_other_pages_show(self, lines, growth):
        # pdfmake in Times (lines 0.9 font sizes apart) on shorter pages: every measured row of
        # page 1 holds two lines, so page 1 shows nothing of how its rows are made, and its
        # tight lines were doubts of text run past its row while page 2 showed the rows growing
        # by their lines. The table is the document's: page 1 goes as page 2 shows. Where page
        # 2 shows nothing either (every row two lines), or rows of one height, they overlap.
        first, expected = self.tight_rows(("Alpha", "Beta", "Gamma"), (2, 2, 2), 0.9)
        second, more = self.tight_rows(("Delta", "Epsilon", "Zeta", "Eta"), lines, growth)
        invoice = assemble("t.pdf", "sha", [oc_page(first), oc_page(second, 2)])
        if lines[1] == 1 and growth:
            assert invoice.doubts == ()
            assert [i.description for i in invoice.line_items] == expected + more
        else:
            overlapping = {d.split("(")[-1][1:-35] for d in invoice.doubts if "overlaps the line above or" in d}
            assert {"Alpha two", "Beta two"} <= overlapping

    @pytest.mark.parametrize("headings", [True, False])
    def test_a_line_heading_a_page_in_the_code_and_upc_cells_is_a_doubt(self, headings):
        # pdfmake in Times, a narrow code column, a shorter page: XS3016A's row breaks across the
        # page, "XS3016" and its description's first line end page 1, "A" and "w Pleats" head
        # page 2 right under the column headings. The line starts left of the description
        # column, so it was no description line and was left out: XS3016 booked without its "A"
        # and its description short, without a word. So too on a page with no column headings
        # (a heading row on the first page only), where the open item's row broke.
        first = [*self.code(120), text("Alpha one", 130, 120), *self.numbers(120)]
        second = [text("A", 20, 688), text("Alpha two", 130, 688), text("Tariff Surcharge", 130, 676)]
        second += [right("10.08", 575, 676), *self.code(660), text("Beta one", 130, 660), *self.numbers(660)]
        pages = [oc_page(first), oc_page(second, 2) if headings else page("CS003837319", second, 2)]
        invoice = assemble("t.pdf", "sha", pages)
        assert invoice.doubts == (
            "page 2: a line among the line items heads the page's rows in the code and UPC cells and no item "
            "can take it ('A Alpha two'): a description may be read short",
        )

    def test_a_line_heading_a_page_with_no_column_headings_after_a_closed_item_is_let_be(self):
        # The item before took its tariff line on its own page: nothing of its row went on over
        # the page break, and a line at the page's left edge above the next rows is the page's own.
        first = [*self.code(130), text("Alpha one", 130, 130), *self.numbers(130)]
        first += [text("Tariff Surcharge", 130, 118), right("10.08", 575, 118)]
        second = [text("Packing list continued", 20, 700), *self.code(680), text("Beta one", 130, 680)]
        second += self.numbers(680)
        invoice = assemble("t.pdf", "sha", [oc_page(first), page("CS003837319", second, 2)])
        assert invoice.doubts == ()
        assert [i.description for i in invoice.line_items] == ["Alpha one", "Beta one"]

    def fixed_rows(self, pitch, line, aligned, lines=(2, 1)):
        """Product rows, each with its tariff row below, every row ``pitch`` below the one above;
        a description of ``lines[i]`` lines, ``line`` apart, aligned ``top`` or ``bottom`` in its row."""
        runs, y = [], 680.0
        for index, count in enumerate(lines):
            texts = [f"{('Alpha', 'Beta', 'Gamma')[index]} {n}" for n in range(1, count + 1)]
            first = y if aligned == "top" else y + (count - 1) * line
            runs += [*self.code(y), *self.numbers(y)]
            runs += [text(value, 130, first - n * line) for n, value in enumerate(texts)]
            runs += [text("Tariff Surcharge", 130, y - pitch), right("10.08", 575, y - pitch)]
            y -= 2 * pitch
        return runs

    @pytest.mark.parametrize(
        "aligned, lines, descriptions",
        [
            ("top", (2, 1), ["Alpha 1 Alpha 2", "Beta 1"]),
            ("bottom", (1, 2, 1), ["Alpha 1", "Beta 1 Beta 2", "Gamma 1"]),
        ],
    )
    def test_a_cell_filled_to_its_last_line_in_rows_of_one_height_is_a_doubt(self, aligned, lines, descriptions):
        # LibreOffice Calc, a sheet whose rows keep their default height (13.2 pt at 5.7 pt type):
        # a description of three lines at 6.7 pt spacing shows two, the third cut off and not in
        # the PDF. The rows of one line stand 13.2 pt apart too: the height is the sheet's, not
        # the cell's. The two lines were booked for a longer description.
        runs = self.fixed_rows(13.2 * SIZE / 5.7, 6.7 * SIZE / 5.7, aligned, lines)
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items] == descriptions
        assert len(invoice.doubts) == 1
        assert invoice.doubts[0].startswith("page 1: product row XS9840A's cell holds as many lines as its row's")
        assert "may have been cut off" in invoice.doubts[0]

    @pytest.mark.parametrize(
        "pitch, lines",
        [
            (13.2, (1, 1)),  # one line each: nothing says the height is fixed
            (20.1, (2, 1)),  # rows of one height with room for a third line
        ],
    )
    def test_rows_of_one_height_with_room_or_without_evidence_are_no_doubt(self, pitch, lines):
        runs = self.fixed_rows(pitch * SIZE / 5.7, 6.7 * SIZE / 5.7, "top", lines)
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        # (At 20.1 the last tariff line, a whole row below its item with no table row after it,
        # reads as a totals block of a tariff alone; that block, without a Total, is its own doubt.)
        assert [doubt for doubt in invoice.doubts if "totals block" not in doubt] == []

    def test_rows_that_grow_with_their_cells_are_no_doubt(self):
        # The usual table: a cell of two lines is a line's spacing taller than one of one line.
        line = 6.7 * SIZE / 5.7
        runs = [*self.code(680), *self.numbers(680), text("Alpha 1", 130, 680), text("Alpha 2", 130, 680 - line)]
        runs += [text("Tariff Surcharge", 130, 680 - 2 * line), right("10.08", 575, 680 - 2 * line)]
        y = 680 - 3.5 * line
        runs += [*self.code(y), *self.numbers(y), text("Beta 1", 130, y)]
        runs += [text("Tariff Surcharge", 130, y - line), right("10.08", 575, y - line)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items] == ["Alpha 1 Alpha 2", "Beta 1"]
        assert invoice.doubts == ()

    def test_a_line_above_the_first_row_starts_its_description(self):
        # Cells aligned bottom, one item: nothing else shows how the cells align, and no item
        # above could have carried a line over.
        runs = [text("Alpha 1", 130, 688), *self.code(680), text("Alpha 2", 130, 680), *self.numbers(680)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert ([i.description for i in invoice.line_items], invoice.doubts) == (["Alpha 1 Alpha 2"], ())

    def test_a_quantity_drawn_against_its_unit_reads_as_both(self):
        # TCPDF's writeHTML(): the right-aligned Qty BkOrd cell and the left-aligned U/M cell
        # after it with no room between them, "24each" one word. It was booked as the unit
        # "24each", the back-ordered quantity 0.
        runs = [r for r in oc_row(680, *self.ITEM[:2], "Alpha", *self.ITEM[2:]) if r.x0 < 390 or r.x0 > 440]
        runs.append(TextRun("24each", 413.6, 432.8, 680, SIZE))
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        (item,) = invoice.line_items
        assert (item.qty_ordered, item.qty_allocated, item.qty_shipped, item.qty_backordered) == (24, 14, 0, 24)
        assert (item.unit, item.description, invoice.doubts) == ("each", "Alpha", ())

    @pytest.mark.parametrize("bottom_aligned", [False, True])
    def test_a_line_heading_a_page_after_a_tariff_line_starts_the_next_item_only_in_cells_aligned_bottom(
        self, bottom_aligned
    ):
        # TCPDF: the tariff row's "Tariff Surcharge", wrapped in its cell, split by the page
        # break: "Surcharge" heads the next page, a line above the next product row. It was
        # booked as the start of Beta's description. Where descriptions start above their rows
        # elsewhere (Gamma's), such a line is the next item's start, as before.
        first = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680)]
        first += [text("Tariff", 130, 670), right("10.08", 575, 670)]
        second = [text("Surcharge", 130, 690), *self.code(680), text("Beta", 130, 680), *self.numbers(680)]
        if bottom_aligned:
            second += [text("Gamma 1", 130, 665), *self.code(655), text("Gamma 2", 130, 655), *self.numbers(655)]
        invoice = assemble("t.pdf", "sha", [oc_page(first), oc_page(second, 2)])
        descriptions = [i.description for i in invoice.line_items]
        if bottom_aligned:
            assert (descriptions, invoice.doubts) == (["Alpha", "Surcharge Beta", "Gamma 1 Gamma 2"], ())
        else:
            assert descriptions == ["Alpha", "Beta"]
            assert invoice.doubts == (
                "page 2: a line heads the page after a tariff line, in a table whose descriptions never "
                "start above their rows ('Surcharge'): it belongs to no item",
            )

    def bottom_aligned(self, y, name, lines):
        """A product row whose cell of ``lines`` lines is aligned bottom, its row at ``y``, lines 9 pt apart."""
        texts = [text(f"{name} {n}", 130, y + 9 * (lines - n)) for n in range(1, lines + 1)]
        return [*texts, *self.code(y), *self.numbers(y)]

    def test_a_row_broken_across_pages_in_cells_aligned_bottom_keeps_its_last_line(self):
        # jsPDF's autotable breaking a row whose cells are aligned bottom: Alpha's last line
        # ("Colors") heads the next page, 15 pt above Beta's first line, which stands 9 pt (a
        # line) above Beta's row. Gaps either side of a page break say nothing of each other,
        # so the document's alignment gave both lines to Beta, silently ("Colors 12-1/4"H ...").
        # On the lower row's page the gaps compare: the wider one is the cell boundary.
        first = [*self.bottom_aligned(680, "Zeta", 2), *self.bottom_aligned(100, "Alpha", 2)]
        second = [text("Alpha 3", 130, 690), *self.bottom_aligned(666, "Beta", 2)]
        invoice = assemble("t.pdf", "sha", [oc_page(first), oc_page(second, 2)])
        assert [i.description for i in invoice.line_items] == [
            "Zeta 1 Zeta 2",
            "Alpha 1 Alpha 2 Alpha 3",
            "Beta 1 Beta 2",
        ]
        assert invoice.doubts == ()

    @pytest.mark.parametrize(
        ("gap", "alpha", "beta"), [(15, "Alpha 1 Alpha 2 Alpha 3", "Beta"), (9, "Alpha 1 Alpha 2", "Alpha 3 Beta")]
    )
    def test_a_broken_rows_lone_line_heading_a_page_is_told_by_the_documents_line_spacing(self, gap, alpha, beta):
        # The same table, Beta's cell one line: Alpha's last line alone heads page 2, 15 pt above
        # Beta's row, where the document's cells space their lines 9 pt apart: a cell boundary,
        # the line is Alpha's (it went to Beta, silently: "Dish, 3 Styles 72"L Paper Garland").
        # A line one line's spacing above the row is Beta's, as cells aligned bottom put it.
        first = [*self.bottom_aligned(680, "Zeta", 2), *self.bottom_aligned(100, "Alpha", 2)]
        second = [text("Alpha 3", 130, 690), *self.code(690 - gap), text("Beta", 130, 690 - gap)]
        invoice = assemble("t.pdf", "sha", [oc_page(first), oc_page([*second, *self.numbers(690 - gap)], 2)])
        assert [i.description for i in invoice.line_items] == ["Zeta 1 Zeta 2", alpha, beta]
        assert invoice.doubts == ()

    @pytest.mark.parametrize("laid_out_from_its_top", [False, True])
    def test_lines_a_broken_row_carried_below_it_are_no_evidence_of_cells_aligned_middle(self, laid_out_from_its_top):
        # The same table: Alpha's row broken across pages 1 and 2, its last line and then its
        # tariff line heading page 2, so Alpha has a line below its row. Taken for evidence that
        # descriptions go on below rows too, the document was read as aligned middle, and
        # Gamma's first line, heading page 3 above its row, went to Beta, which "owed" a line
        # below for the one above it: booked wrong, silently. Cells aligned bottom put every
        # line of a whole cell above its row. Chromium lays such a broken row out from its top:
        # Alpha's code and numbers at the foot of page 1 beside its first line, its second line
        # under them on the same page ("Red & Green 14" Rd Porcelain Dish w/ Gold" was booked).
        first = self.bottom_aligned(680, "Zeta", 2)
        if laid_out_from_its_top:
            first += [*self.code(100), text("Alpha 1", 130, 100), *self.numbers(100), text("Alpha 2", 130, 91)]
        else:
            first += self.bottom_aligned(100, "Alpha", 2)
        second = [text("Alpha 3", 130, 690), text("Tariff Surcharge", 130, 680), right("10.08", 575, 680)]
        second += self.bottom_aligned(100, "Beta", 2)
        third = self.bottom_aligned(681, "Gamma", 2)
        invoice = assemble("t.pdf", "sha", [oc_page(first), oc_page(second, 2), oc_page(third, 3)])
        assert [i.description for i in invoice.line_items] == [
            "Zeta 1 Zeta 2",
            "Alpha 1 Alpha 2 Alpha 3",
            "Beta 1 Beta 2",
            "Gamma 1 Gamma 2",
        ]
        assert invoice.doubts == ()

    def unit_around_the_row(self, above, below):
        # pdfLaTeX's longtable, cells aligned middle, a U/M column too narrow for "lo each": "lo"
        # half a line above the row, "each" half a line below.
        code, upc, qtys, _, amounts = self.ITEM
        runs = [*self.code(690), text("Zeta", 130, 690), *self.numbers(690)]
        runs += [text("Tariff Surcharge", 130, 680), right("10.08", 575, 680)]
        runs += [text("Alpha 1", 130, 670), text(above, 430, 666), *self.code(662), text("Alpha 2", 130, 662)]
        runs += [r for r in oc_row(662, code, upc, "", qtys, "", amounts) if r.x0 >= 300 and r.text]
        runs += [text(below, 430, 658), text("Alpha 3", 130, 654)]
        return assemble("t.pdf", "sha", [oc_page(runs)])

    def test_a_unit_wrapped_above_and_below_its_row_is_joined(self):
        # A text line outside the description column once sent the line above ("Alpha 1")
        # nowhere, and the item was booked with no unit and its description short; then both
        # pieces were doubts. They make the vendor's "lo each": the row reads whole.
        invoice = self.unit_around_the_row("lo", "each")
        assert invoice.doubts == ()
        assert [(i.description, i.unit) for i in invoice.line_items] == [
            ("Zeta", "each"),
            ("Alpha 1 Alpha 2 Alpha 3", "lo each"),
        ]

    def test_pieces_around_a_row_that_make_no_unit_of_the_vendors_are_doubts(self):
        invoice = self.unit_around_the_row("lo", "pk")
        assert invoice.doubts == (
            'page 1: "lo" lies on a line of its own in the quantity, unit and price columns, above the row of '
            "XS9840A: a value wrapped in its cell, read short",
            'page 1: "pk" lies on a line of its own in the quantity, unit and price columns, below the row of '
            "XS9840A: a value wrapped in its cell, read short",
        )

    def test_a_description_ending_in_a_number_above_its_row_is_no_wrapped_value(self):
        # Cells aligned bottom: "Glass, Set of" a line above the row, "4" on the row with its four
        # quantities. The row's trailing integers are five; only the last four are quantities.
        runs = [text("Glass, Set of", 130, 688), *self.code(680), text("4", 130, 680), *self.numbers(680)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert not [doubt for doubt in invoice.doubts if "quantity, unit and price columns" in doubt]

    @pytest.mark.parametrize("ending", ["Amber,", "Cream &", "Pillow w/", '8"L x'])
    def test_a_description_that_ends_as_only_a_wrapped_line_does_is_a_doubt(self, ending):
        # Gnumeric printing a sheet whose rows keep two lines' height, cells aligned middle:
        # a description's third line is cut off, not in the PDF, and every row stands at the
        # same pitch whatever it holds, so nothing in the layout tells. It was booked short.
        runs = [*self.code(680), text("Bottle Brush Tree", 130, 680), *self.numbers(680), text(ending, 130, 672)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert invoice.doubts == (
            f"1 description(s) end as only a wrapped line does (XS9840A: {('Bottle Brush Tree ' + ending)[-30:]!r}): "
            "a line after it was cut off or not read, the description read short",
        )

    def test_a_line_heading_a_page_without_column_headings_above_its_first_row_is_a_doubt(self):
        # Chromium printing flex rows (no <table>, so no heading repeated), cells aligned middle:
        # Alpha's last line ends page 1; Beta's first line heads page 2, above its row. Taken
        # for a page header while Alpha's line waited, it was dropped without a word.
        first = [text("Alpha 1", 130, 108), *self.code(100), text("Alpha 2", 130, 100), *self.numbers(100)]
        first += [text("Alpha 3", 130, 92)]
        second = [text("Beta 1", 130, 700), *self.code(692), text("Beta 2", 130, 692), *self.numbers(692)]
        second += [text("Beta 3", 130, 684)]
        invoice = assemble("t.pdf", "sha", [oc_page(first), page("", second, 2)])  # (no page header either)
        assert invoice.doubts == (
            "page 2: a line among the line items heads a page with no column headings, just above a product "
            "row, and no item can take it ('Beta 1'): a description may be read short",
        )

    @pytest.mark.parametrize(("header", "lines"), [(False, 1), (True, 1), (False, 2), (False, 3)])
    def test_lines_heading_a_page_without_column_headings_just_above_the_items_tariff_line_are_its(self, header, lines):
        # jsPDF with the table's heading row on its first page only: page 1 ends inside Alpha's
        # cell ("Dish w/ Gold Edge, Cream & Black,"), page 2 starts with its last lines and then
        # its tariff line, with no column headings. The first line was taken for a page header
        # and left out without a word (only the comma it was cut after gave it away). They are
        # Alpha's; a page header far above them is still let be.
        first = [*self.code(100), text("Alpha 1", 130, 100), *self.numbers(100), text("Alpha 2", 130, 90)]
        second = [text("Acme Gift Shop order", 20, 740)] if header else []
        rest = [f"Alpha {n}" for n in range(3, 3 + lines)]
        second += [text(line, 130, 710 - 10 * n) for n, line in enumerate(rest)]
        y = 710 - 10 * lines
        second += [text("Tariff Surcharge", 130, y), right("10.08", 575, y)]
        second += [*self.code(y - 14), text("Beta 1", 130, y - 14), *self.numbers(y - 14)]
        invoice = assemble("t.pdf", "sha", [oc_page(first), page("", second, 2)])
        assert [(i.description, str(i.tariff_surcharge)) for i in invoice.line_items] == [
            (" ".join(["Alpha 1", "Alpha 2", *rest]), "10.08"),
            ("Beta 1", "None"),
        ]
        assert invoice.doubts == ()

    def test_lines_heading_a_page_without_column_headings_just_above_a_product_row_are_a_doubt(self):
        # The same page starting with two lines and then Beta's row: they may end Alpha's cell or
        # start Beta's. Only the second was judged (it ran down to the row); the first was left
        # out without a word, the second booked as the end of Alpha's description.
        first = [*self.code(100), text("Alpha 1", 130, 100), *self.numbers(100), text("Alpha 2", 130, 90)]
        second = [text("Beta 0a", 130, 710), text("Beta 0b", 130, 700), *self.code(690), text("Beta 1", 130, 690)]
        invoice = assemble("t.pdf", "sha", [oc_page(first), page("", [*second, *self.numbers(690)], 2)])
        assert invoice.doubts == (
            "page 2: a line among the line items heads a page with no column headings, just above a product "
            "row, and no item can take it ('Beta 0a'): a description may be read short",
        )

    @pytest.mark.parametrize("below", ["totals", "row"])
    def test_a_line_heading_a_page_without_column_headings_that_no_row_runs_up_to_is_a_doubt(self, below):
        # Page 1 ends inside Alpha's cell; page 2 starts with a line in the description column,
        # then the totals block, or a product row three font sizes below (rows padded apart):
        # Alpha's last line, or a page header. It was taken for a page header and left out
        # without a word; nothing tells, so it is a doubt.
        first = [*self.code(100), text("Alpha 1", 130, 100), *self.numbers(100), text("Alpha 2", 130, 90)]
        second = [text("Alpha 3", 130, 710)]
        if below == "totals":
            second += [text("Sub-Total", 430, 690), right("67.20", 575, 690)]
            second += [text("Total", 430, 680), right("67.20", 575, 680)]
        else:
            second += [*self.code(686), text("Beta 1", 130, 686), *self.numbers(686)]
        invoice = assemble("t.pdf", "sha", [oc_page(first), page("", second, 2)])
        assert invoice.line_items[0].description == "Alpha 1 Alpha 2"
        assert invoice.doubts == (
            "page 2: a line among the line items heads a page with no column headings, where the page "
            "before's last lines waited, and no item can take it ('Alpha 3'): a description may be read short",
        )

    def test_a_line_heading_a_page_just_above_the_items_tariff_line_outside_its_column_is_no_description(self):
        # The same page with a header line just above the tariff line, starting left of the
        # description column: no line of Alpha's cell. It stays a page header.
        first = [*self.code(100), text("Alpha 1", 130, 100), *self.numbers(100), text("Alpha 2", 130, 92)]
        second = [text("Acme Gift Shop", 20, 700), text("Tariff Surcharge", 130, 688), right("10.08", 575, 688)]
        second += [*self.code(676), text("Beta 1", 130, 676), *self.numbers(676)]
        invoice = assemble("t.pdf", "sha", [oc_page(first), page("", second, 2)])
        assert [(i.description, str(i.tariff_surcharge)) for i in invoice.line_items] == [
            ("Alpha 1 Alpha 2", "10.08"),
            ("Beta 1", "None"),
        ]
        assert invoice.doubts == ()

    def test_a_cell_aligned_middle_under_an_overrunning_upc_keeps_its_lines(self):
        # WeasyPrint, DejaVu Sans, flex rows aligned middle: the UPC (ending at 108.4) overruns
        # the description column, which starts at 100, and the row prints none of its
        # description on its own line. Its lines, above and below, start left of where the UPC
        # ends, and were left out without a word: the item was booked with no description.
        heading = [text(label, 100 if label == "Description" else x, 700) for x, label in OC_HEADER]
        runs = [text("Alpha 1", 100, 684), *self.code(680), *self.numbers(680), text("Alpha 2", 100, 676)]
        invoice = assemble(
            "t.pdf", "sha", [page("CS003837319", header_runs("CS003837319", "1/17/2025") + heading + runs)]
        )
        assert ([i.description for i in invoice.line_items], invoice.doubts) == (["Alpha 1 Alpha 2"], ())

    def test_a_total_drawn_against_its_label_is_read(self):
        # WeasyPrint's flex rows, no room between the label's cell and the amount's: "Sub-Total6706.28".
        runs = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680)]
        runs += [text("Sub-Total67.20", 480, 660), text("Total Due67.20", 480, 650)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert (invoice.totals.subtotal, invoice.totals.total, invoice.doubts) == (
            Decimal("67.20"),
            Decimal("67.20"),
            (),
        )

    def test_a_product_row_read_with_no_description_is_a_doubt(self):
        # WeasyPrint lost a flex row's description at a page break: the row prints none.
        runs = [*self.code(680), *self.numbers(680)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert invoice.doubts == ("1 product row(s) read with no description, where every line prints one: XS9840A",)

    def test_lines_half_a_line_from_a_row_with_no_description_words_are_no_overlap(self):
        # Cells aligned middle, a two-line description: the row's code and numbers sit between
        # its lines, half a line from each, in other columns. Nothing overlaps.
        runs = [text("Alpha one", 130, 684), *self.code(680), *self.numbers(680), text("Alpha two", 130, 676)]
        runs += [text("Beta one", 130, 654), *self.code(650), *self.numbers(650), text("Beta two", 130, 646)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items] == ["Alpha one Alpha two", "Beta one Beta two"]
        assert invoice.doubts == ()

    @pytest.mark.parametrize("column_headers", [True, False])
    def test_cells_aligned_middle_share_their_lines_at_a_page_break_by_alignment(self, column_headers):
        # reportlab's platypus table, cells aligned middle: a cell's last line at the foot of one
        # page, a full line under its row; the next row half a line under its cell's first line
        # at the head of the next page. The wider gap, across the page break, was taken for the
        # cell boundary, and "Beta two" booked as the start of Gamma's description. Without the
        # column headers on page 2, "Beta two" is Beta's before Gamma's row comes, and Beta took
        # "Gamma one" as well (as many lines below its row as above, those it had not counted).
        first = [text("Alpha one", 130, 690), *self.code(682), text("Alpha mid", 130, 682), *self.numbers(682)]
        first += [text("Alpha two", 130, 674), text("Beta one", 130, 650), *self.code(642)]
        first += [text("Beta mid", 130, 642), *self.numbers(642), text("Beta two", 130, 634)]
        second = [text("Gamma one", 130, 690), *self.code(686), *self.numbers(686), text("Gamma two", 130, 682)]
        second_page = (
            oc_page(second, 2) if column_headers else page("", header_runs("CS003837319", "1/17/2025") + second, 2)
        )
        invoice = assemble("t.pdf", "sha", [oc_page(first, 1), second_page])
        assert [i.description for i in invoice.line_items] == [
            "Alpha one Alpha mid Alpha two",
            "Beta one Beta mid Beta two",
            "Gamma one Gamma two",
        ]
        assert invoice.doubts == ()

    def _split_cell(self, whole):
        # jsPDF's autotable, cells aligned middle, breaks a row across pages: Alpha's first line
        # ends page 1 on its row, "Alpha two" heads page 2 above Beta's first line. Before
        # them, ``whole`` cells of two lines, one above and one below their rows.
        first = []
        for n in range(whole):
            y = 680 - 30 * n
            first += [
                text(f"Zeta {n} one", 130, y + 4),
                *self.code(y),
                *self.numbers(y),
                text(f"Zeta {n} two", 130, y - 4),
            ]
        first += [*self.code(560), text("Alpha one", 130, 560), *self.numbers(560)]
        second = [text("Alpha two", 130, 690), text("Beta one", 130, 676), *self.code(672), *self.numbers(672)]
        second += [text("Beta two", 130, 668)]
        return assemble("t.pdf", "sha", [oc_page(first, 1), oc_page(second, 2)])

    def test_a_cell_split_by_a_page_break_when_cells_align_middle_goes_by_the_lower_cell(self):
        # Beta took both lines ("Alpha two Beta one Beta two") and Alpha was booked short: Alpha
        # owed no line below (none above its row). Beta, whole on its page and one line below
        # its row, takes one above; the document's whole cells all align middle.
        invoice = self._split_cell(whole=3)
        assert [i.description for i in invoice.line_items][-2:] == ["Alpha one Alpha two", "Beta one Beta two"]
        assert invoice.doubts == ()

    def test_a_cell_split_by_a_page_break_is_a_doubt_where_the_alignment_cannot_be_told(self):
        # One whole cell says too little of how the document aligns its cells (bottom-aligned
        # cells with a row carried over below also show lines on both sides of their rows).
        invoice = self._split_cell(whole=1)
        assert invoice.doubts == (
            "page 2: lines between two product rows ('Alpha two / Beta one') that the cells' alignment "
            "gives to neither clearly: a description may be read short or long",
        )

    def test_quantities_whose_columns_are_unknown_are_a_doubt(self):
        # No column headers and no row printing every quantity: "24" and "24" cannot be put in
        # their columns. They were booked in the description ("Alpha 24 24"), every quantity 0,
        # with a warning; with Extended 0.00 no arithmetic sees it.
        runs = [*self.code(680), text("Alpha", 130, 680), right("24", 325, 680), right("24", 420, 680)]
        runs += [text("each", 430, 680), right("3.50", 490, 680), right("2.80", 530, 680), right("0.00", 575, 680)]
        invoice = assemble("t.pdf", "sha", [page("CS003837319", header_runs("CS003837319", "1/17/2025") + runs)])
        assert [d for d in invoice.doubts if d.startswith("XS9840A: ")] == [
            "XS9840A: its quantities could not be told apart into their columns: "
            "a quantity may be booked in the wrong column or in the description"
        ]

    def test_a_note_ending_a_page_far_below_its_last_row_is_let_be(self):
        first = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680), text("See terms overleaf", 130, 600)]
        second = [*header_runs("CS003837319", "1/17/2025"), *self.code(690), text("Beta", 130, 690), *self.numbers(690)]
        invoice = assemble("t.pdf", "sha", [oc_page(first, 1), page("CS003837319", second, 2)])
        assert [i.description for i in invoice.line_items] == ["Alpha", "Beta"] and invoice.doubts == ()

    def test_a_note_far_below_the_rows_is_no_description(self):
        runs = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680), text("Alpha two", 130, 670)]
        runs += [text("All sales final", 130, 600)]  # a note under the table, in the description column
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items] == ["Alpha Alpha two"] and invoice.doubts == ()

    @pytest.mark.parametrize("align", ["top", "bottom"])
    def test_a_description_line_drawn_past_its_column_is_a_doubt_not_left_out(self, align):
        # A producer that ignores the table's column widths (xhtml2pdf) draws a long line of
        # a description over the quantity column. No item can take it for sure; left out, the
        # description would be booked short, so the document is refused, naming the line.

        long_line = 'S/2 3-1/2"H Hand-Painted Stoneware Mug w/ Gold Handle, Natural, 2 Styles'
        assert text(long_line, 130, 0).x1 > self.numbers(0)[0].x0
        runs = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680)]
        # Lines 10 pt apart, rows 14 pt apart: below the first row (top), above the second (bottom).
        second = 656
        runs += [text(long_line, 130, 670 if align == "top" else 666)]
        runs += [text("XS9841A", 20, second), text(self.ITEM[1], 70, second), text("Beta", 130, second)]
        runs += self.numbers(second)
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items] == ["Alpha", "Beta"]
        (doubt,) = invoice.doubts
        assert doubt.startswith("page 1: a line among the line items does not fit the description column")
        assert repr(long_line) in doubt and doubt in refusal_reasons(invoice)

    def test_text_beside_the_description_column_is_let_be(self):
        # The last letter of a column header wrapped onto a line of its own ("Shippe" / "d",
        # LibreOffice) lies in a quantity column, not in the description's: not a description.
        runs = [text("d", 370, 690), *self.code(680), text("Alpha", 130, 680), *self.numbers(680)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items] == ["Alpha"] and invoice.doubts == ()

    @pytest.mark.parametrize("value", ["each", "12", "2.40"])
    def test_a_value_right_under_the_column_headings_in_a_number_column_is_a_doubt(self, value):
        # The same place holds the rest of a value wrapped in a row broken across pages (pdfmake:
        # "lo" ends the page on the row's line, "each" heads the next just under the headings).
        # Taken for a header's wrapped letters, it was left out and the unit booked "lo".
        runs = [text(value, 430, 686), *self.code(676), text("Alpha", 130, 676), *self.numbers(676)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert invoice.doubts == (
            f'page 1: "{value}" lies on a line of its own in the quantity, unit and price columns, above the row '
            "of XS9840A: a value wrapped in its cell, read short",
        )

    def glued_row(self, y, code="XC1223"):
        # A description filling its cell to the edge, touching the flush-right Qty Ord "48": one run.
        numbers = [
            r for r in oc_row(y, code, self.ITEM[1], "", ["48", "0", "0", "48"], "each", ["2.00", "1.60", "76.80"])
        ]
        glued = TextRun("Brown48", 325 - 0.4 * SIZE * 7, 325, y, SIZE)
        description = text("Knit Plush Animal,", 130, y)
        return [text(code, 20, y), text(self.ITEM[1], 70, y), description, glued, *(r for r in numbers if r.x0 > 326)]

    def test_a_quantity_glued_to_the_description_is_split_off_where_its_column_ends(self):
        runs = [*self.code(680), text("Alpha", 130, 680), *self.numbers(680), *self.glued_row(666)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        item = invoice.line_items[1]
        assert (item.description, item.qty_ordered, item.qty_backordered) == ("Knit Plush Animal, Brown", 48, 48)
        assert invoice.doubts == () and invoice.warnings == ()

    def test_a_glued_quantity_on_a_page_s_first_row_is_split_by_the_rows_below(self):
        # The page's columns are learned from all its rows that print every quantity first.
        runs = [*self.glued_row(680), *self.code(666), text("Alpha", 130, 666), *self.numbers(666)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [(i.description, i.qty_ordered) for i in invoice.line_items] == [
            ("Knit Plush Animal, Brown", 48),
            ("Alpha", 24),
        ]
        assert invoice.doubts == ()

    def test_a_glued_quantity_that_cannot_be_split_for_sure_is_a_doubt(self):
        # The first row: no row printed every quantity yet, so the columns' edges are not known.
        invoice = assemble("t.pdf", "sha", [oc_page(self.glued_row(680))])
        (item,) = invoice.line_items
        assert item.qty_ordered == 0  # as read; the doubt refuses the document
        (doubt,) = invoice.doubts
        assert doubt.startswith("XC1223: its description runs into the quantity columns") and "'Brown48'" in doubt

    def test_a_quantity_glued_to_the_description_in_a_column_set_flush_left_is_a_doubt(self):
        # Numbers set flush left (TCPDF, a look of the document's own): a description filling its
        # cell touches the Qty Ord "7" where the column's numbers start, read "Brown7". It ends
        # short of the column's middle, where a glued quantity set flush right would end, and was
        # booked "Knit Plush Animal, Brown7" with nothing ordered, without a word.
        def row(y, code, description, quantities):
            runs = [text(code, 20, y), text(self.ITEM[1], 70, y), text(description, 130, y)]
            runs += [text(q, x, y) for q, x in zip(quantities, (305, 335, 365, 400), strict=True) if q]
            return runs + [r for r in self.numbers(y) if r.x0 >= 430]

        runs = [*row(680, "XS9840A", "Alpha", ["24", "14", "0", "24"]), *row(666, "XS9841A", "Beta", ["24"] * 4)]
        runs += row(652, "XS9842A", "Delta", ["12", "14", "0", "24"])
        glued = TextRun("Brown7", 305 - 0.4 * SIZE * 5, 305 + 0.4 * SIZE, 638, SIZE)
        runs += [*row(638, "XC1223", "Knit Plush Animal,", ["", "14", "0", "24"]), glued]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [i.description for i in invoice.line_items[:3]] == ["Alpha", "Beta", "Delta"]
        (doubt,) = invoice.doubts
        assert doubt.startswith("XC1223: its description runs into the quantity columns") and "'Brown7'" in doubt
        assert doubt in refusal_reasons(invoice)

    def test_a_quantity_glued_to_the_description_where_no_row_prints_every_quantity_is_a_doubt(self):
        # A report that leaves zero quantities blank: no row prints every quantity, so the
        # columns are the header labels', and where the numbers start is not known. Qty Ord's
        # "24" touching "Handle," ended short of its label's middle and was booked in the
        # description ("Gold Handle,24"), nothing ordered, without a word.
        def row(y, code, description, quantities):
            runs = [text(code, 20, y), text(self.ITEM[1], 70, y), text(description, 130, y)]
            runs += [right(q, x, y) for q, x in zip(quantities, (325, 355, 385, 420), strict=True) if q]
            return runs + [r for r in self.numbers(y) if r.x0 >= 430]

        runs = [*row(680, "XS9840A", "Alpha", ["24", "", "", "24"]), *row(666, "XS9841A", "Beta", ["12", "", "", "12"])]
        glued = TextRun("Handle,24", 310 - 0.4 * SIZE * 9, 310, 652, SIZE)
        runs += [*row(652, "XC1223", "Mug w/ Gold", ["", "", "", "24"]), glued]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [(i.description, i.qty_ordered) for i in invoice.line_items[:2]] == [("Alpha", 24), ("Beta", 12)]
        (doubt,) = invoice.doubts
        assert doubt.startswith("XC1223: its description runs into the quantity columns") and "'Handle,24'" in doubt

    def full_rows(self, names, top=680):
        runs = []
        for n, name in enumerate(names):
            runs += [*self.code(top - 14 * n), text(name, 130, top - 14 * n), *self.numbers(top - 14 * n)]
        return runs

    def test_a_number_ending_the_description_beside_a_blank_cell_is_no_quantity(self):
        # Once three rows have printed every quantity, a row's numbers are held to their columns:
        # the "12" of "Gamma 12" lies left of them all, in the description.
        runs = self.full_rows(["Alpha", "Beta", "Delta"])
        runs += [*self.code(624), text("Gamma 12", 130, 624), *(r for r in self.numbers(624) if r.x0 > 326)]
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert (invoice.line_items[3].description, invoice.line_items[3].qty_ordered) == ("Gamma 12", 0)
        assert invoice.doubts == ()

    def test_columns_that_move_on_the_next_page_are_learned_afresh(self):
        # Each page's table laid out on its own (HTML with automatic column widths): page 2's
        # columns sit 40 pt further right, and its last row leaves Qty Ord blank.
        def moved(runs):
            return [TextRun(r.text, r.x0 + 40, r.x1 + 40, r.y, r.size) for r in runs]

        first = self.full_rows(["Alpha", "Beta", "Delta"])
        second = header_runs("CS003837319", "1/17/2025") + [text(v, x + 40, 700) for x, v in OC_HEADER]
        second += moved(self.full_rows(["Eta", "Theta", "Iota"]))
        second += moved([*self.code(624), text("Gamma 12", 130, 624), *(r for r in self.numbers(624) if r.x0 > 326)])
        invoice = assemble("t.pdf", "sha", [oc_page(first, 1), page("CS003837319", second, 2)])
        quantities = [(i.description, i.qty_ordered, i.qty_allocated, i.qty_backordered) for i in invoice.line_items]
        assert quantities[-1] == ("Gamma 12", 0, 14, 24)
        assert all(q[1:] == (24, 14, 24) for q in quantities[:-1]) and invoice.doubts == ()

    @pytest.mark.parametrize("align", ["top", "middle", "bottom"])
    @pytest.mark.parametrize("overrun", [1.4, 8.0])
    def test_a_upc_drawn_over_the_start_of_the_description(self, align, overrun):
        # A font wider than the columns were made for: the UPC overruns its cell by 1.4 pt, into
        # the description's (the row's own description words touch it and are glued on, a
        # "2 Colors" line reading "1910097279102"). Or a layout engine that does not widen a
        # column for its text (MuPDF's HTML tables) draws it 8 pt over the description's first
        # letters. The lines above and below the row start left of where the UPC ends, and are
        # the description's all the same (at 8 pt, 3367b84 left them out without a word).
        upc = self.ITEM[1]
        start = text(upc, 70, 0).x1 - overrun
        descriptions = [("Alpha one", "2 Colors", "Alpha three"), ("Beta one", "Beta two", "Beta three")]
        runs, y = [], 690.0
        for index, lines in enumerate(descriptions):
            anchor = {"top": y, "middle": y - 10, "bottom": y - 20}[align]
            runs += [text(f"XS{9840 + index}A", 20, anchor), *self.numbers(anchor)]
            drawn = [text(line, start, y - 10 * n) for n, line in enumerate(lines)]
            on_row = next(r for r in drawn if r.y == anchor)
            if overrun < 0.4 * SIZE:  # within a glyph's width: the layout glues them into one word
                first, *rest = on_row.text.split(maxsplit=1)
                glued = TextRun(upc + first, 70, on_row.x0 + 0.4 * SIZE * len(first), anchor, SIZE)
                runs += [glued, *(text(r, glued.x1 + 0.4 * SIZE, anchor) for r in rest)]
            else:
                runs += [text(upc, 70, anchor), on_row]
            runs += [r for r in drawn if r is not on_row]
            y -= 34
        invoice = assemble("t.pdf", "sha", [oc_page(runs)])
        assert [(i.upc, i.description) for i in invoice.line_items] == [(upc, " ".join(d)) for d in descriptions]
        assert invoice.doubts == ()

    def test_baseline_jitter_keeps_one_row(self):
        runs = [*self.code(680), text('2-1/2"H 3-1/4"H Metal &', 130, 680.6)]
        runs += [TextRun(r.text, r.x0, r.x1, r.y - 0.9, r.size) for r in self.numbers(680)]
        (item,) = assemble("t.pdf", "sha", [oc_page(runs)]).line_items
        assert item.quantity == 24 and item.description == '2-1/2"H 3-1/4"H Metal &'

    def test_two_line_column_headers(self):
        header = [(20, "Product"), (20, "Code"), (70, "UPC"), (130, "Description")]
        header += [(300, "Qty"), (300, "Ord"), (330, "Qty"), (330, "Alloc"), (360, "Qty"), (360, "Shipped")]
        header += [(395, "Qty"), (395, "BkOrd"), (430, "U/M"), (460, "List"), (460, "Price")]
        runs = header_runs("CS003837319", "1/17/2025")
        stacked = {"Product", "Qty", "List"}
        seen: set[int] = set()
        for x, label in header:
            top = label in stacked or (x not in seen and label in {"UPC", "Description", "U/M"})
            runs.append(text(label, x, 706 if label in stacked else (700 if top else 694)))
            seen.add(x)
        runs += [*self.code(680), text("Metal", 130, 680), *self.numbers(680)]
        result = page("CS003837319", runs)
        assert result.header.table_kind == "order_confirmation" and len(result.header.quantity_columns) == 4
        (item,) = assemble("t.pdf", "sha", [result]).line_items
        assert item.description == "Metal" and item.quantity == 24


def test_a_product_row_read_without_its_upc_is_a_doubt():
    # Every line prints its 12-digit UPC (a scanner's text layer put some into descriptions):
    # a row read without one was not read whole, and the document is refused, naming it.
    import dataclasses

    from cc_perf_dagster.core.extract import read_pages
    from cc_perf_dagster.core.pdf import PdfDocument
    from cc_perf_dagster_tests.conftest import TEST_INVOICES

    with PdfDocument(TEST_INVOICES / "CI004731586.pdf") as doc:
        pages = list(read_pages(doc, doc.pages()))
    index = next(i for i, r in enumerate(pages[0].records) if isinstance(r, ItemRecord))
    record = pages[0].records[index]
    records = (*pages[0].records[:index], dataclasses.replace(record, upc=""), *pages[0].records[index + 1 :])
    changed = [dataclasses.replace(pages[0], records=records), *pages[1:]]
    assert assemble("CI004731586.pdf", "0" * 64, pages).doubts == ()
    invoice = assemble("CI004731586.pdf", "0" * 64, changed)
    doubt = f"1 product row(s) read without the UPC every line prints: {record.code}"
    assert invoice.doubts == (doubt,) and doubt in refusal_reasons(invoice)


def test_larger_text_among_the_product_rows_is_a_doubt_and_smaller_text_is_let_be():
    from cc_perf_dagster.core.models import TextRecord
    from cc_perf_dagster.core.vendors.creative_coop.document import odd_sizes_in_table

    def item(code, y, size=7.5):
        return ItemRecord(code, "191009000000", (), "each", ("1.00", "0.80", "0.80"), y, size)

    def text(words, y, size):
        return TextRecord(words, 137.0, 200.0, y, size, False)

    rows = [item("DF0001", 600), text("Stoneware", 590, 6.0), item("DF0002", 580), text("COPY", 570, 10.0)]
    rows += [item("DF0003", 560), text("below the table", 400, 12.0)]  # outside the product rows
    assert odd_sizes_in_table(rows) == (
        'text "COPY" is drawn at 10.0 pt among product rows of 7.5 pt (larger text across the table: a stamp?)',
    )
    # A producer shrinking a long description to fit its cell: no doubt.
    assert odd_sizes_in_table([item("DF0001", 600), text("a long description", 590, 5.5), item("DF0002", 580)]) == ()


@pytest.mark.parametrize(("label", "doubted"), [("INVOICE NO", True), ("", False), ("REF", False)])
def test_a_second_invoice_number_is_a_doubt_only_under_an_invoice_label(label, doubted):
    import dataclasses

    from cc_perf_dagster.core.extract import read_pages
    from cc_perf_dagster.core.models import LabelledValue
    from cc_perf_dagster.core.pdf import PdfDocument
    from cc_perf_dagster_tests.conftest import TEST_INVOICES

    with PdfDocument(TEST_INVOICES / "CI004731586.pdf") as doc:
        first, second = read_pages(doc, doc.pages())
    numbers = (*second.header.numbers, LabelledValue("CI004790233", label))
    second = dataclasses.replace(second, header=dataclasses.replace(second.header, numbers=numbers))
    doubts = assemble("CI004731586.pdf", "0" * 64, [first, second]).doubts
    expected = ("its pages name more than one invoice number (CI004731586, CI004790233): two documents?",)
    assert doubts == (expected if doubted else ())


UNREAD_ITEM = (["24", "14", "0", "24"], "each", ["3.50", "2.80", "67.20"])


@pytest.mark.parametrize("char", ["\x1b", "\x01", "\ufffd", "\ue01b"])
def test_a_row_of_the_table_with_characters_its_font_maps_to_no_text_is_a_doubt(char):
    # A Type 3 font of made-up glyph names leaves a control character where its "ff" ligature
    # was drawn: "Tari\x1b Surcharge", "Faux Fur Cu\x1b". Such a row is not what the page says.
    row = oc_row(
        680, "XS9840A", "191009727910", "Faux Fur Cu" + char, ["24", "14", "0", "24"], "each", ["3.50", "2.80", "67.20"]
    )
    result = oc_page([*row, text(f"Tari{char} Surcharge 10.08", 130, 670)])
    (doubt,) = result.doubts
    escaped = "Faux Fur Cu" + ("\\x01" if char == "\x01" else "\\x1b" if char == "\x1b" else char)
    assert doubt.startswith(f"2 row(s) with characters their font maps to no text (U+{ord(char):04X}), first ")
    assert escaped in doubt and doubt.endswith(": the page cannot be read in full")
    assert assemble("t.pdf", "sha", [result]).doubts == (f"page 1: {doubt}",)


def test_characters_with_no_text_above_the_table_are_let_be_and_whitespace_is_text():
    # The addresses above the table are not booked: an unmapped ligature there refuses nothing.
    row = oc_row(
        680, "XS9840A", "191009727910", "Metal\tLantern", ["24", "14", "0", "24"], "each", ["3.50", "2.80", "67.20"]
    )
    result = oc_page([text("Bu\x1balo O\x1b\x1bice Out\x1b\x1bers", 20, 720), *row])
    assert result.doubts == ()
    (item,) = assemble("t.pdf", "sha", [result]).line_items
    assert item.product_code == "XS9840A"


def test_a_page_mostly_of_characters_with_no_text_is_undecodable_a_few_are_not():
    from cc_perf_dagster.core.errors import UndecodableTextError

    garbage = page("x", [text("&UHDWLYH\x03&R\x10RS\x0f\x03,QF\x11", 20, 760), text("\x17\x14\x1b\x13\x03", 20, 745)])
    assert garbage.unread == 10
    with pytest.raises(UndecodableTextError, match="its fonts map 10 of its characters to no text"):
        assemble("t.pdf", "sha", [garbage])
    # Another vendor's page with a bullet from a symbol font: not Creative Co-op's, and says so.
    other = page("x", [text("\ue000 Acme Supplies, Invoice 1234, Net 30", 20, 760)])
    assert other.unread == 0
    with pytest.raises(UnsupportedDocumentError, match="not a Creative Co-op document") as raised:
        assemble("t.pdf", "sha", [other])
    assert not isinstance(raised.value, UndecodableTextError)


def test_a_description_drawn_over_its_quantity_is_a_doubt():
    # Chromium, letters spaced apart: "Canister" ran over its cell onto Qty Ord's "288", its "r"
    # drawn over the "2", and the glyphs, read in order across the page, made the words
    # "Caniste2" and "r88", the second starting left of where the first ends. "r88" ends where
    # the column's numbers end, so "88" was split off and booked as the quantity ordered.
    from cc_perf_dagster.core.models import Word
    from cc_perf_dagster.core.vendors.creative_coop.columns import QuantityColumns

    def numbers(*cells):
        return [Word(text, right - 2.6 * len(text), right) for text, right in cells]

    columns = QuantityColumns(4)
    full = numbers(("24", 280.2), ("12", 308.1), ("0", 341.6), ("12", 371.4))
    for _ in range(3):
        columns.split([Word("Alpha", 120.0, 140.0), *full], 6.2)
    body = [Word("Metal", 226.8, 243.7), Word("Caniste2", 246.3, 272.4), Word("r88", 270.4, 280.2)]
    split = columns.split([*body, *numbers(("240", 308.1), ("0", 341.6), ("48", 371.4))], 6.2, learn=False)
    assert split.quantities == [88, 240, 0, 48]  # as read: the doubt refuses the document
    assert split.doubts("XS6867") == [
        "XS6867: its words are drawn over one another ('Caniste2' over 'r88'): a description or quantity "
        "may be read wrong"
    ]
    assert columns.split([*body[:1], *full], 6.2).doubts("XS1") == []
