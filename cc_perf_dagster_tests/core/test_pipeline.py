"""The pipeline's typed hand-offs between steps, and the steps as core functions."""

from __future__ import annotations

import json

import pytest

from cc_perf_dagster.core.bookability import refusal
from cc_perf_dagster.core.cache import PageCache
from cc_perf_dagster.core.errors import InvalidDocumentError
from cc_perf_dagster.core.export import invoice_to_record
from cc_perf_dagster.core.extract import extract_invoice
from cc_perf_dagster.core.pdf import Limits, get_engine
from cc_perf_dagster.core.pipeline import (
    BatchReport,
    InvoicePlan,
    assemble_from_cache,
    plan_invoice,
    read_batch_item,
    registered_pages,
    reports_by_invoice,
)
from cc_perf_dagster.core.planning import BatchItem
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster_tests.conftest import TEST_INVOICES, hide_page
from cc_perf_dagster_tests.fixtures.generate import write_large_order_confirmation

PDF = TEST_INVOICES / "CI004731586.pdf"


def plan(cache):
    from cc_perf_dagster.core.pdf import file_sha256

    return plan_invoice("ci", str(PDF), PDF.name, file_sha256(PDF), cache, Limits(), get_engine())


def test_a_run_reads_in_batches_and_assembles_from_the_cache(tmp_path):
    cache = PageCache(tmp_path / "cache", secret=b"k" * 32)
    first = plan(cache)
    assert not first.document_hit and first.page_count == 2 and first.declared_pages == 2
    halves = [BatchItem(first.task(), (1,)), BatchItem(first.task(), (2,))]
    reports = []
    for index, item in enumerate(halves):
        pages, whole = read_batch_item(item, cache, Limits(), get_engine())
        assert whole is None  # half a document is never assembled in its batch
        reports.append(BatchReport(index, 1, 0.0, 1.0, 1.0, 1.0, 50.0, ("ci",), (), tuple(pages)))
    pages, batches = reports_by_invoice(reports)
    assert [p.page for p in pages["ci"]] == [1, 2] and len(batches["ci"]) == 2
    invoice, reparsed = assemble_from_cache(first, [p.hash for p in pages["ci"]], cache, Limits(), get_engine())
    assert reparsed == 0 and invoice.invoice_number == "CI004731586" and len(invoice.line_items) == 34
    again = plan(cache)  # the whole document is cached now: nothing to parse
    assert again.document_hit and again.hashes == tuple(p.hash for p in pages["ci"])


def test_hand_offs_survive_json(tmp_path):
    cache = PageCache(tmp_path / "cache", secret=b"k" * 32)
    planned = plan(cache)
    item = BatchItem(planned.task(), (1, 2))
    pages, whole = read_batch_item(item, cache, Limits(), get_engine())
    report = BatchReport(0, 1, 0.0, 1.0, 1.0, 1.0, 50.0, ("ci",), ("ci",), tuple(pages))
    assert whole is not None
    assert InvoicePlan.from_dict(json.loads(json.dumps(planned.to_dict()))) == planned
    assert BatchItem.from_dict(json.loads(json.dumps(item.to_dict()))) == item
    assert BatchReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def set_page_count(src, dst, count):
    """Copy ``src`` to ``dst`` with its page tree's ``/Count`` set to ``count`` (the pages stay)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, NumberObject

    writer = PdfWriter(clone_from=PdfReader(src))
    writer._root_object["/Pages"][NameObject("/Count")] = NumberObject(count)
    with open(dst, "wb") as fh:
        writer.write(fh)
    return dst


def run_pipeline(path, cache, halves):
    """Plan ``path``, read it as one batch or two halves, assemble it: (plan, page reports, invoice)."""
    from cc_perf_dagster.core.pdf import file_sha256

    planned = plan_invoice("k", str(path), path.name, file_sha256(path), cache, Limits(), get_engine())
    pages = list(range(1, planned.page_count + 1))
    items = [pages[: len(pages) // 2], pages[len(pages) // 2 :]] if halves else [pages]
    reports = []
    for index, chosen in enumerate(items):
        read, _ = read_batch_item(BatchItem(planned.task(), tuple(chosen)), cache, Limits(), get_engine())
        reports.append(BatchReport(index, 1, 0.0, 1.0, 1.0, 1.0, 50.0, ("k",), (), tuple(read)))
    reported, _ = reports_by_invoice(reports)
    invoice, _ = assemble_from_cache(planned, [p.hash for p in reported["k"]], cache, Limits(), get_engine())
    return planned, reported["k"], invoice


class TestPlanFromDeclaredCount:
    """The plan counts the pages the file declares; the pages read are those that can be reached."""

    def test_the_plan_reads_the_count_without_opening_the_pages(self, tmp_path):
        planned = plan(PageCache(tmp_path / "cache", secret=b"k" * 32))
        assert (planned.page_count, planned.declared_pages) == (2, 2)

    def test_both_engines_read_the_same_count_without_opening_the_pages(self, tmp_path):
        from cc_perf_dagster.core.pdf import declared_page_count

        hidden = hide_page(PDF, tmp_path / "hidden.pdf", page=2)
        for pdf in (PDF, hidden):
            counts = {name: declared_page_count(pdf, engine=name) for name in ("pypdf", "pdfium")}
            assert counts == {"pypdf": 2, "pdfium": 2}, pdf.name  # as declared, whatever can be reached

    @pytest.mark.parametrize("halves", [False, True], ids=["one batch", "two batches"])
    def test_a_count_that_lies_high_is_refused_as_fewer_pages_than_declared(self, tmp_path, halves):
        pdf = hide_page(PDF, tmp_path / "hidden.pdf", page=2)
        cache = PageCache(tmp_path / "cache", secret=b"k" * 32)
        planned, reported, invoice = run_pipeline(pdf, cache, halves)
        assert planned.page_count == 2  # as declared
        assert [p.page for p in reported] == [1]  # the page that can be reached, nothing invented
        assert (invoice.page_count, invoice.declared_pages) == (1, 2)
        assert "only 1 of 2 pages could be read" in str(refusal(invoice))

    @pytest.mark.parametrize("halves", [False, True], ids=["one batch", "two batches"])
    def test_a_count_that_lies_low_still_has_every_page_read(self, tmp_path, halves):
        pdf = set_page_count(PDF, tmp_path / "low.pdf", 1)
        cache = PageCache(tmp_path / "cache", secret=b"k" * 32)
        planned, reported, invoice = run_pipeline(pdf, cache, halves)
        assert planned.page_count == 1
        assert [p.page for p in reported] == [1, 2]
        assert invoice.page_count == 2 and len(invoice.line_items) == 34 and refusal(invoice) is None

    def test_a_split_document_whose_count_lies_low_is_read_whole(self, tmp_path):
        big = tmp_path / "big.pdf"
        write_large_order_confirmation(big, 6, seed=1)
        pdf = set_page_count(big, tmp_path / "low.pdf", 4)
        cache = PageCache(tmp_path / "cache", secret=b"k" * 32)
        planned, reported, invoice = run_pipeline(pdf, cache, halves=True)
        assert planned.page_count == 4
        assert [p.page for p in reported] == [1, 2, 3, 4, 5, 6]
        assert invoice_to_record(invoice) == invoice_to_record(extract_invoice(pdf))  # as a whole read gives

    def test_a_count_that_is_not_a_count_is_refused_in_the_plan(self, tmp_path):
        pdf = set_page_count(PDF, tmp_path / "zero.pdf", 0)
        with pytest.raises(InvalidDocumentError, match="no pages"):
            plan_invoice("k", str(pdf), pdf.name, "0" * 64, PageCache(None), Limits(), get_engine())


class TestRegisteredPages:
    def test_counts_the_declared_pages_of_registered_files(self, tmp_path):
        registry = FileRegistry(tmp_path / "registry")
        keys = [registry.register(TEST_INVOICES / name).key for name in ("CI004731586.pdf", "CS003837319.pdf")]
        assert registered_pages(registry, keys, stop_at=1000) == 2 + 15
        assert registered_pages(registry, keys, stop_at=2) == 2  # counting stops once the bound is reached
        assert registered_pages(registry, [*keys, "unknown"], stop_at=1000) == 17

    def test_many_partitions_count_without_opening_a_file(self, tmp_path):
        assert registered_pages(FileRegistry(tmp_path / "registry"), ["a", "b", "c"], stop_at=3) == 3

    def test_the_count_recorded_at_registration_is_used_without_opening_the_file(self, tmp_path, monkeypatch):
        registry = FileRegistry(tmp_path / "registry")
        key = registry.register(TEST_INVOICES / "CS003837319.pdf").key

        def opened(*args, **kwargs):
            raise AssertionError("the file was opened to count its pages")

        monkeypatch.setattr("cc_perf_dagster.core.pipeline.declared_page_count", opened)
        assert registered_pages(registry, [key], stop_at=1000) == 15

    def test_a_file_changed_since_registration_or_registered_without_a_count_is_opened(self, tmp_path):
        registry = FileRegistry(tmp_path / "registry")
        pdf = tmp_path / "CS1.pdf"
        pdf.write_bytes((TEST_INVOICES / "CI004731586.pdf").read_bytes())  # 2 pages
        key = registry.register(pdf).key
        pdf.write_bytes((TEST_INVOICES / "CS003837319.pdf").read_bytes())  # 15 pages now
        assert registered_pages(registry, [key], stop_at=1000) == 15
        entry = json.loads((registry.root / f"{key}.json").read_text())
        del entry["pages"]  # as an earlier release wrote it, and with a field of a later one
        (registry.root / f"{key}.json").write_text(json.dumps({**entry, "added_later": 1}))
        assert registry.get(key).pages is None
        assert registered_pages(registry, [key], stop_at=1000) == 15
