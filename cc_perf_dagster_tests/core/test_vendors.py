"""The vendor seam: parsers are looked up by name, and the pipeline reads through the one it gets."""

from __future__ import annotations

import pytest

from cc_perf_dagster.core import extract_invoice
from cc_perf_dagster.core.errors import UnsupportedDocumentError
from cc_perf_dagster.core.vendors import DEFAULT_VENDOR, get_vendor, register_vendor
from cc_perf_dagster.core.vendors.creative_coop import PARSER
from cc_perf_dagster_tests.conftest import TEST_INVOICES


def test_the_default_vendor_is_creative_coop():
    assert DEFAULT_VENDOR == "creative_coop" and get_vendor() is PARSER


def test_an_unknown_vendor_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown vendor parser 'acme'.*creative_coop"):
        get_vendor("acme")


def test_the_pipeline_reads_through_the_registered_parser(monkeypatch):
    class Refusing:
        """A parser that accepts no page: the pipeline must ask it, not import a vendor itself."""

        name = DEFAULT_VENDOR
        unsupported_reason = "not an Acme document"

        def parse_page(self, page, content_hash, rows):
            return PARSER.parse_page(page, content_hash, rows)

        def detect(self, page):
            return False

        def assembler(self, file, sha256, *, declared_pages=None):
            return PARSER.assembler(file, sha256, declared_pages=declared_pages)

    monkeypatch.setattr("cc_perf_dagster.core.vendors._VENDORS", {})
    register_vendor(Refusing())
    with pytest.raises(UnsupportedDocumentError, match="not an Acme document"):
        extract_invoice(TEST_INVOICES / "CI004731586.pdf")
