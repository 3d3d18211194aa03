"""The pipeline's typed hand-offs between steps, and the steps as core functions."""

from __future__ import annotations

import json

from cc_perf_dagster.core.cache import PageCache
from cc_perf_dagster.core.pdf import Limits, get_engine
from cc_perf_dagster.core.pipeline import (
    BatchReport,
    InvoicePlan,
    assemble_from_cache,
    plan_invoice,
    read_batch_item,
    reports_by_invoice,
)
from cc_perf_dagster.core.planning import BatchItem
from cc_perf_dagster_tests.conftest import TEST_INVOICES

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
