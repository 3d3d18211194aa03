"""Every field of every committed fixture, and of the producer corpus, against its ground truth: 100% required.

Every text engine is held to it (the ``engine`` fixture runs each case with pypdf and with PDFium).
"""

from __future__ import annotations

import pytest

from cc_perf_dagster.core import extract_invoice, invoice_to_dict
from cc_perf_dagster.core.extract import engine_differences
from cc_perf_dagster_tests.conftest import (
    DOCUMENT_KEYS,
    PRODUCER_INVOICES,
    expected_for,
    good_invoices,
    producer_invoices,
)

DOCUMENT_FIELDS = (*(k for k in DOCUMENT_KEYS if k != "line_items"), "totals")


def field_differences(expected: dict, actual: dict) -> tuple[int, list[str]]:
    """Count compared fields and list every difference as a readable line."""
    compared, differences = 0, []
    for name in DOCUMENT_FIELDS:
        compared += 1
        if expected.get(name) != actual.get(name):
            differences.append(f"{name}: expected {expected.get(name)!r}, got {actual.get(name)!r}")
    want, got = expected["line_items"], actual["line_items"]
    if len(want) != len(got):
        differences.append(f"line_items: expected {len(want)} items, got {len(got)}")
    for index, item in enumerate(want):
        other = got[index] if index < len(got) else {}
        for name, value in item.items():
            compared += 1
            if other.get(name) != value:
                differences.append(
                    f"item {index} ({item['product_code']}) {name}: expected {value!r}, got {other.get(name)!r}"
                )
    return compared, differences


def test_there_are_fixtures():
    assert len(good_invoices()) >= 5


def test_there_is_a_producer_corpus():
    producers = {pdf.parent.name for pdf in producer_invoices()}
    assert {"reportlab", "chromium", "cairo", "ghostscript", "mupdf", "qpdf"} <= producers


@pytest.mark.parametrize(
    "pdf",
    [*good_invoices(), *producer_invoices()],
    ids=lambda p: str(p.relative_to(PRODUCER_INVOICES)) if p.is_relative_to(PRODUCER_INVOICES) else p.name,
)
def test_every_field_matches_ground_truth(pdf, engine):
    expected = expected_for(pdf)
    actual = invoice_to_dict(extract_invoice(pdf, engine=engine))
    compared, differences = field_differences(expected, actual)
    accuracy = 1 - len(differences) / compared
    assert not differences, f"{pdf.name} ({engine}): field accuracy {accuracy:.2%}\n" + "\n".join(differences[:40])


@pytest.mark.parametrize(
    "pdf",
    [*good_invoices(), *producer_invoices()],
    ids=lambda p: str(p.relative_to(PRODUCER_INVOICES)) if p.is_relative_to(PRODUCER_INVOICES) else p.name,
)
def test_the_engines_agree_on_every_field(pdf):
    # Beyond the ground truth: warnings, totals, every field of every item, read by both engines.
    assert engine_differences(pdf, engines=("pypdf", "pdfium")) == []


def test_the_accuracy_check_sees_a_wrong_field():
    pdf = good_invoices()[0]
    expected = expected_for(pdf)
    actual = invoice_to_dict(extract_invoice(pdf))
    actual["line_items"][0]["quantity"] += 1
    _, differences = field_differences(expected, actual)
    assert len(differences) == 1 and "quantity" in differences[0]
