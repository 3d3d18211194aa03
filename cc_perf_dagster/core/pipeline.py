"""The pipeline steps on their own, free of Dagster: plan a document, read a batch, assemble, figures.

The ops (:mod:`cc_perf_dagster.ops`) call these and only translate between Dagster's context
and plain values: a plan entry per invoice (file, sha256, page count, cached page hashes), a
report per page, the :class:`~cc_perf_dagster.core.models.Invoice`, and its figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from cc_perf_dagster.core.cache import PageCache
from cc_perf_dagster.core.errors import InvalidDocumentError
from cc_perf_dagster.core.export import invoice_to_record
from cc_perf_dagster.core.extract import PageReader, cached_document, cached_page, document_key, parse_document_page
from cc_perf_dagster.core.metering import Meter
from cc_perf_dagster.core.models import Invoice
from cc_perf_dagster.core.pdf import Limits, PdfDocument, TextEngine
from cc_perf_dagster.core.planning import DocumentTask
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.core.vendors import get_vendor


def plan_invoice(
    path: str, file: str, sha256: str, cache: PageCache, limits: Limits, engine: TextEngine
) -> dict[str, Any]:
    """A cached document needs nothing; any other is opened only to count (and validate) its pages."""
    record = cache.get(document_key(sha256, engine))
    if record is not None:
        hashes = list(record["page_hashes"])
        return {"file": file, "sha256": sha256, "page_count": len(hashes), "hashes": hashes, "document_hit": True}
    with PdfDocument(path, limits=limits, engine=engine, file=file, sha256=sha256) as doc:
        return {
            "file": file,
            "sha256": sha256,
            "page_count": doc.page_count,
            "declared_pages": doc.declared_page_count,
            "hashes": None,
            "document_hit": False,
        }


def assemble_from_cache(
    entry: dict, hashes: list[str], cache: PageCache, limits: Limits, engine: TextEngine
) -> tuple[Invoice, int]:
    """The invoice from the cache; pages missing there (evicted, failed write) are parsed here."""
    cached = cached_document(cache, entry["sha256"], entry["file"], engine)  # self-checks run again
    if cached is not None:
        return cached, 0
    assembler = get_vendor().assembler(entry["file"], entry["sha256"], declared_pages=entry.get("declared_pages"))
    reparsed = 0
    doc: PdfDocument | None = None
    try:
        for page in range(1, entry["page_count"] + 1):
            result = cached_page(cache, hashes[page - 1], page, engine) if len(hashes) == entry["page_count"] else None
            if result is None:
                doc = doc or PdfDocument(entry["path"], limits=limits, engine=engine, file=entry["file"])
                result = parse_document_page(doc, page, cache)
                reparsed += 1
            assembler.add(result)
    finally:
        if doc is not None:
            doc.close()
    invoice = assembler.finish()
    cache.put(document_key(entry["sha256"], engine), invoice_to_record(invoice))
    return invoice, reparsed


def invoice_figures(
    entry: dict,
    invoice: Invoice,
    mine: list[dict],
    page_records: list[dict],
    merge: Meter,
    plan: dict,
    single: bool,
) -> dict[str, Any]:
    """Time, memory and cache figures of one invoice (``mine``: its batch reports, ``page_records``: its pages)."""
    hits = entry["page_count"] if entry["document_hit"] else sum(p["hit"] for p in page_records)
    page_wall = sum(p["wall_s"] for p in page_records)
    page_cpu = sum(p["cpu_s"] for p in page_records)
    run_wall = merge.finished - plan["started"]
    # One invoice per run: the real wall time. Several: the time attributable to this invoice.
    processing = run_wall if single else entry["plan_s"] + page_wall + merge.wall_s
    if mine:
        span = max(r["finished"] for r in mine) - min(r["started"] for r in mine)
        speedup = sum(r["wall_s"] for r in mine) / span if span > 0 else 1.0
    else:
        speedup = 1.0
    pages = entry["page_count"]
    return {
        "processing_time_s": round(processing, 4),
        "run_wall_s": round(run_wall, 4),
        "cpu_time_s": round(entry["plan_cpu_s"] + page_cpu + merge.cpu_s, 4),
        "peak_rss_mb": round(max([plan["plan_peak_rss_mb"], merge.peak_rss_mb] + [r["peak_rss_mb"] for r in mine]), 1),
        "pages": pages,
        "batches": len(mine),
        "line_items": len(invoice.line_items),
        "billed_lines": len(invoice.billed_items),
        "cache_hits": hits,
        "cache_misses": pages - hits,
        "cache_hit_rate": round(hits / pages, 4) if pages else 0.0,
        "parallel_speedup": round(speedup, 3),
        "pages_per_s": round(pages / processing, 2) if processing > 0 else 0.0,
        "consistency_score": invoice.consistency_score,
        "totals_reconcile": invoice.totals_reconcile,
    }


def read_batch_item(
    item: dict, cache: PageCache, limits: Limits, engine: TextEngine
) -> tuple[list[dict], Invoice | None]:
    """Parse one invoice's pages of a batch (cached pages reused; identical pages once).

    Returns a report per page (key, page, content hash, cache hit, wall and CPU seconds) and,
    when the batch holds the whole document, the document itself (stored in the cache).

    Raises:
        InvalidDocumentError: The document or one of its pages cannot be read.
    """
    whole = len(item["pages"]) == item["page_count"]
    pages: list[dict] = []
    with PdfDocument(item["path"], limits=limits, engine=engine, file=item["file"]) as doc:
        assembler = (
            get_vendor().assembler(item["file"], item["sha256"], declared_pages=doc.declared_page_count)
            if whole
            else None
        )
        reader = PageReader(doc, cache)
        for page in item["pages"]:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            result, hit = reader.read(page)
            if assembler is not None:
                assembler.add(result)
            pages.append(
                {
                    "key": item["key"],
                    "page": page,
                    "hash": result.content_hash,
                    "hit": hit,
                    "wall_s": time.perf_counter() - wall0,
                    "cpu_s": time.process_time() - cpu0,
                }
            )
    if assembler is None:
        return pages, None
    invoice = assembler.finish()
    cache.put(document_key(item["sha256"], engine), invoice_to_record(invoice))
    return pages, invoice


def reports_by_invoice(batch_reports: list[dict]) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """Per invoice: its page reports in page order, and the batch reports that read any of its pages."""
    pages: dict[str, list[dict]] = {}
    batches: dict[str, list[dict]] = {}
    for report in batch_reports:
        for page in report["pages"]:
            pages.setdefault(page["key"], []).append(page)
        for key in report["keys"]:
            batches.setdefault(key, []).append(report)
    for reported in pages.values():
        reported.sort(key=lambda p: p["page"])
    return pages, batches


@dataclass(frozen=True)
class RunPlan:
    """What a run's invoices need before any page is read.

    Attributes:
        invoices: Per partition key, its plan entry (file, sha256, pages, cached hashes, timings).
        failures: Per partition key that cannot run, the reason (one line naming the file).
        copies: Of those, the partitions whose bytes another partition holds (read there).
        documents: The invoices whose pages need reading, for the batch planner.
    """

    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    copies: frozenset[str] = frozenset()
    documents: tuple[DocumentTask, ...] = ()


def duplicate_reason(file: str, original: Any) -> str:
    """Why a partition holding a copy of another partition's bytes is not read (``original``: a RegisteredFile)."""
    return (
        f"{file}: same content as {original.file} (partition {original.key}); "
        f"processed once, as {original.key}, and not booked again"
    )


def plan_run(keys: list[str], registry: FileRegistry, cache: PageCache, limits: Limits, engine: TextEngine) -> RunPlan:
    """Plan every partition of a run: its file, whether it is cached whole, its page count."""
    invoices: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    copies: set[str] = set()
    documents: list[DocumentTask] = []
    for key in keys:
        entry = registry.refresh(key)
        if entry is None:
            failures[key] = f"{key}: no file registered for this partition, or the file is gone"
            continue
        original = registry.original_of(entry)
        if original is not None:  # the same bytes are another partition's invoice: read and booked there
            failures[key] = duplicate_reason(entry.file, original)
            copies.add(key)
            continue
        with Meter() as meter:
            try:
                plan = plan_invoice(entry.path, entry.file, entry.sha256, cache, limits, engine)
            except InvalidDocumentError as exc:
                failures[key] = str(exc)
                continue
        plan.update(key=key, path=entry.path, plan_s=meter.wall_s, plan_cpu_s=meter.cpu_s)
        invoices[key] = plan
        if not plan["document_hit"]:
            documents.append(DocumentTask(key, entry.path, entry.file, entry.sha256, plan["page_count"]))
    return RunPlan(invoices, failures, frozenset(copies), tuple(documents))
