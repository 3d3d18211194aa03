import dataclasses
import shutil

from cc_perf_dagster.core import extract_invoice, invoice_to_dict
from cc_perf_dagster.core.cache import PageCache
from cc_perf_dagster.core.export import invoice_from_record, invoice_to_record
from cc_perf_dagster_tests.conftest import TEST_INVOICES
from cc_perf_dagster_tests.fixtures.generate import write_document
from cc_perf_dagster_tests.fixtures.model import Misprint
from cc_perf_dagster_tests.fixtures.specs import ci004848705

PDF = TEST_INVOICES / "CS003837319.pdf"


def test_record_round_trip_is_lossless():
    invoice = extract_invoice(TEST_INVOICES / "CI004731586.pdf")  # rows without Your Price
    again = invoice_from_record(invoice_to_record(invoice))
    assert again == invoice


class TestWithCache:
    def test_second_extraction_is_a_document_hit_with_identical_output(self, tmp_path):
        cache = PageCache(tmp_path / "cache")
        first = extract_invoice(PDF, cache=cache)
        lookups = cache.counters.misses
        second = extract_invoice(PDF, cache=PageCache(tmp_path / "cache"))
        assert invoice_to_dict(second) == invoice_to_dict(first)
        assert lookups == 1 + first.page_count  # the document, then every page, missed once

    def test_a_renamed_copy_is_a_document_hit_under_its_new_name(self, tmp_path):
        cache = PageCache(tmp_path / "cache")
        extract_invoice(PDF, cache=cache)
        copy = tmp_path / "renamed copy.pdf"
        shutil.copy(PDF, copy)
        fresh = PageCache(tmp_path / "cache")
        invoice = extract_invoice(copy, cache=fresh)
        assert invoice.file == "renamed copy.pdf"
        assert (fresh.counters.l2_hits, fresh.counters.misses) == (1, 0)
        assert invoice_to_dict(invoice)["line_items"] == invoice_to_dict(extract_invoice(PDF))["line_items"]

    def test_one_changed_page_reparses_only_that_page(self, tmp_path):
        spec = ci004848705()
        original = tmp_path / "a.pdf"
        write_document(original, spec, write_truth=False)
        changed = tmp_path / "b.pdf"
        write_document(
            changed, dataclasses.replace(spec, misprints=(Misprint(0, "extended_price", "38.41"),)), write_truth=False
        )
        cache = PageCache(tmp_path / "cache")
        first = extract_invoice(original, cache=cache)
        fresh = PageCache(tmp_path / "cache")
        second = extract_invoice(changed, cache=fresh)
        # one document miss, then every page a hit but page 1
        assert fresh.counters.misses == 2
        assert fresh.counters.l2_hits == first.page_count - 1
        assert str(second.line_items[0].extended_price) == "38.41"
        assert second.line_items[1:] == first.line_items[1:]
