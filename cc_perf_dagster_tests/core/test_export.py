"""Export: booking-row CSV against the ground truth, lossless records."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from cc_perf_dagster.core.export import (
    BOOKING_HEADER,
    booking_csv,
    invoice_from_record,
    invoice_to_dict,
    invoice_to_json,
    invoice_to_record,
    money,
)
from cc_perf_dagster.core.extract import extract_invoice
from cc_perf_dagster_tests.conftest import TEST_INVOICES, expected_for, good_invoices


def truth_invoice(pdf):
    """The ground truth as an Invoice (no extraction involved)."""
    return invoice_from_record({"invoice": expected_for(pdf)})


def expected_rows(truth: dict) -> list[list[str]]:
    """The booking rows a buyer expects, written out from the ground truth by hand."""
    year, month, day = (int(part) for part in truth["invoice_date"].split("-"))
    rows = []
    for item in truth["line_items"]:
        if item["quantity"] <= 0:
            continue
        upc = f" - UPC: 0{item['upc']}" if item["upc"] else ""
        rows.append(
            [
                f"{month}/{day}/{year}",
                truth["vendor"],
                truth["invoice_number"],
                f"{item['product_code']}{upc} - {item['description']}",
                item["unit_price"],
                str(item["quantity"]),
            ]
        )
    return rows


class TestBookingCsv:
    @pytest.mark.parametrize("pdf", good_invoices(), ids=lambda p: p.name)
    def test_columns_and_every_value_against_ground_truth(self, pdf):
        truth = expected_for(pdf)
        header, *rows = list(csv.reader(io.StringIO(booking_csv([truth_invoice(pdf)]))))
        assert tuple(header) == BOOKING_HEADER == ("Invoice Date", "Vendor", "Invoice#", "Description", "Price", "Qty")
        assert rows == expected_rows(truth)

    def test_the_first_line_of_cs003837319_as_the_buyer_books_it(self):
        _, first, *_ = booking_csv([truth_invoice(TEST_INVOICES / "CS003837319.pdf")]).splitlines()
        assert first == (
            '1/17/2025,Creative Co-op,CS003837319,"XS9826A - UPC: 0191009727774 - 6""H Metal Ballerina Ornament, '
            'Gold",1.60,24'
        )

    def test_lines_with_nothing_billed_are_left_out(self):
        pdf = TEST_INVOICES / "CS003837319.pdf"
        truth = expected_for(pdf)
        unbilled = [i for i in truth["line_items"] if i["quantity"] <= 0]
        assert unbilled  # the fixture has backordered lines
        rows = booking_csv([truth_invoice(pdf)]).splitlines()[1:]
        assert len(rows) == len(truth["line_items"]) - len(unbilled)

    def test_several_invoices_share_one_header(self):
        pdfs = good_invoices()[:3]
        text = booking_csv([truth_invoice(p) for p in pdfs])
        rows = list(csv.reader(io.StringIO(text)))
        assert rows.count(list(BOOKING_HEADER)) == 1
        assert rows[1:] == [row for p in pdfs for row in expected_rows(expected_for(p))]


class TestRecords:
    @pytest.mark.parametrize("pdf", good_invoices(), ids=lambda p: p.name)
    def test_an_extracted_invoice_survives_its_record_and_json(self, pdf):
        invoice = extract_invoice(pdf)
        record = json.loads(json.dumps(invoice_to_record(invoice)))  # as stored: plain JSON
        assert invoice_from_record(record) == invoice

    def test_another_file_name_on_the_way_back(self):
        invoice = extract_invoice(TEST_INVOICES / "CI004731586.pdf")
        renamed = invoice_from_record(invoice_to_record(invoice), file="copy.pdf")
        assert renamed.file == "copy.pdf" and renamed.line_items == invoice.line_items

    def test_the_json_schema_is_the_ground_truths(self):
        pdf = TEST_INVOICES / "CI004731586.pdf"
        document = json.loads(invoice_to_json(extract_invoice(pdf)))
        truth = expected_for(pdf)
        assert {k: document[k] for k in truth} == truth
        assert document == invoice_to_dict(extract_invoice(pdf))

    def test_money_has_two_decimals(self):
        assert (money(Decimal("1.5")), money(Decimal("38.4")), money(Decimal("0")), money(None)) == (
            "1.50", "38.40", "0.00", None,
        )  # fmt: skip
