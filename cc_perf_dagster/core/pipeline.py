"""The pipeline steps on their own, free of Dagster: plan a run, read a batch, assemble, figures.

The ops (:mod:`cc_perf_dagster.ops`) call these and only translate between Dagster's context
and these values. What crosses a step boundary is small and typed: an :class:`InvoicePlan` per
invoice (file, sha256, page count, cached page hashes), a :class:`~cc_perf_dagster.core.planning.BatchItem`
per document in a batch, a :class:`BatchReport` per batch with a :class:`PageReport` per page;
each turns into a plain dict for storage (``to_dict``) and back (``from_dict``). Page results
themselves travel through the page cache, never through step outputs.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from cc_perf_dagster.core.cache import PageCache
from cc_perf_dagster.core.errors import InvalidDocumentError
from cc_perf_dagster.core.export import invoice_to_record
from cc_perf_dagster.core.extract import PageReader, cached_document, cached_page, document_key, parse_document_page
from cc_perf_dagster.core.heap import long_lived_heap_frozen
from cc_perf_dagster.core.metering import Meter
from cc_perf_dagster.core.models import Invoice
from cc_perf_dagster.core.pdf import Limits, PdfDocument, TextEngine, declared_page_count
from cc_perf_dagster.core.planning import BatchItem, DocumentTask
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.core.vendors import get_vendor


@dataclass(frozen=True, slots=True)
class InvoicePlan:
    """One invoice of a run, as planned: what it is, and what of it the cache holds already.

    Attributes:
        key: The partition key.
        path: The file.
        file: The name reported in results and errors.
        sha256: The file's hash.
        page_count: Pages in the document: as its page tree declares them (``/Count``), or as
            reached when the engine has no cheap count or the document is cached.
        declared_pages: The page tree's ``/Count`` (``None`` when unread: the document is cached).
        hashes: The pages' content hashes when the whole document is cached, else ``None``.
        plan_s: Wall seconds spent planning it.
        plan_cpu_s: CPU seconds spent planning it.
    """

    key: str
    path: str
    file: str
    sha256: str
    page_count: int
    declared_pages: int | None = None
    hashes: tuple[str, ...] | None = None
    plan_s: float = 0.0
    plan_cpu_s: float = 0.0

    @property
    def document_hit(self) -> bool:
        """Whether the whole document comes from the cache (nothing to parse)."""
        return self.hashes is not None

    def task(self) -> DocumentTask:
        """The document as the batch planner deals it out."""
        return DocumentTask(self.key, self.path, self.file, self.sha256, self.page_count)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able form."""
        data = asdict(self)
        data["hashes"] = None if self.hashes is None else list(self.hashes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InvoicePlan:
        """Rebuild from :meth:`to_dict`."""
        hashes = data.get("hashes")
        return cls(**{**data, "hashes": None if hashes is None else tuple(hashes)})


@dataclass(frozen=True, slots=True)
class PageReport:
    """One page read in a batch: its content hash, whether the cache had it, and what it cost."""

    key: str
    page: int
    hash: str
    hit: bool
    wall_s: float
    cpu_s: float


@dataclass(frozen=True, slots=True)
class BatchReport:
    """One batch step: its pages, the invoices it held whole (assembled there), its costs."""

    index: int
    pid: int
    started: float
    finished: float
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    keys: tuple[str, ...]
    assembled: tuple[str, ...]
    pages: tuple[PageReport, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able form."""
        data = asdict(self)
        data.update(keys=list(self.keys), assembled=list(self.assembled), pages=[asdict(p) for p in self.pages])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchReport:
        """Rebuild from :meth:`to_dict`."""
        return cls(
            **{
                **data,
                "keys": tuple(data["keys"]),
                "assembled": tuple(data["assembled"]),
                "pages": tuple(PageReport(**p) for p in data["pages"]),
            }
        )


@dataclass(frozen=True)
class RunPlan:
    """What a run's invoices need before any page is read.

    Attributes:
        invoices: Per partition key, its plan.
        failures: Per partition key that cannot run, the reason (one line naming the file).
        copies: Of those, the partitions whose bytes another partition holds (read there).
    """

    invoices: dict[str, InvoicePlan] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    copies: frozenset[str] = frozenset()

    @property
    def documents(self) -> list[DocumentTask]:
        """The invoices whose pages need reading, in key order."""
        return [plan.task() for plan in self.invoices.values() if not plan.document_hit]


def duplicate_reason(file: str, original: Any) -> str:
    """Why a partition holding a copy of another partition's bytes is not read (``original``: a RegisteredFile)."""
    return (
        f"{file}: same content as {original.file} (partition {original.key}); "
        f"processed once, as {original.key}, and not booked again"
    )


def plan_invoice(
    key: str, path: str, file: str, sha256: str, cache: PageCache, limits: Limits, engine: TextEngine
) -> InvoicePlan:
    """A cached document needs nothing; any other is counted from its page tree's ``/Count``.

    Reading ``/Count`` skips loading every page object (most of what opening a document
    costs); the file still passes the checks of its structure. The pages that can be reached
    are counted where they are read (:func:`read_batch_item`): a file declaring more pages than
    it holds is refused at assembly, one holding more has every page read. An engine without
    such a count opens the document.
    """
    with Meter() as meter:
        record = cache.get(document_key(sha256, engine))
        if record is not None:
            hashes: tuple[str, ...] | None = tuple(record["page_hashes"])
            count, declared = len(hashes), None
        else:
            hashes = None
            declared = declared_page_count(path, limits=limits, engine=engine, file=file)
            if declared is not None:
                count = declared
            else:
                with PdfDocument(path, limits=limits, engine=engine, file=file, sha256=sha256) as doc:
                    count, declared = doc.page_count, doc.declared_page_count
    return InvoicePlan(key, path, file, sha256, count, declared, hashes, meter.wall_s, meter.cpu_s)


def plan_run(keys: list[str], registry: FileRegistry, cache: PageCache, limits: Limits, engine: TextEngine) -> RunPlan:
    """Plan every partition of a run: its file, whether it is cached whole, its page count."""
    invoices: dict[str, InvoicePlan] = {}
    failures: dict[str, str] = {}
    copies: set[str] = set()
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
        try:
            invoices[key] = plan_invoice(key, entry.path, entry.file, entry.sha256, cache, limits, engine)
        except InvalidDocumentError as exc:
            failures[key] = str(exc)
    return RunPlan(invoices, failures, frozenset(copies))


def registered_pages(registry: FileRegistry, keys: list[str], *, stop_at: int) -> int:
    """The pages the partitions' files declare, counted until ``stop_at`` is reached.

    Each file's page tree ``/Count`` as recorded when it was registered, or, for a file changed
    on disk since or registered by an earlier release, read without loading its pages (about a
    millisecond a file, after pypdf's import: a run whose pages are all cached opens no PDF).
    A partition with no file or a file that cannot be read counts nothing here: the run's plan
    fails it with its reason.

    Example:
        >>> registered_pages(FileRegistry("/storage/registry"), ["CS003837319"], stop_at=500)  # doctest: +SKIP
        15
    """
    if len(keys) >= stop_at:  # every document has a page at least
        return len(keys)
    total = 0
    for key in keys:
        entry = registry.get(key)
        if entry is None:
            continue
        if entry.pages is not None and not entry.changed_on_disk():
            total += entry.pages
        else:
            try:
                total += declared_page_count(entry.path, file=entry.file) or 0
            except (InvalidDocumentError, OSError):
                continue
        if total >= stop_at:
            break
    return total


def read_batch_item(
    item: BatchItem, cache: PageCache, limits: Limits, engine: TextEngine
) -> tuple[list[PageReport], Invoice | None]:
    """Parse one invoice's pages of a batch (cached pages reused; identical pages once).

    Returns a report per page and, when the batch holds the whole document, the document
    itself (stored in the cache). The pages planned are those the file declares; where fewer
    can be reached, those beyond are not read (the document is refused at assembly: fewer
    pages read than declared), and where more can be, they are read too (by the batch that
    holds the last page planned), so no page of the document is ever left out.

    Raises:
        InvalidDocumentError: The document or one of its pages cannot be read.
    """
    task = item.document
    pages: list[PageReport] = []
    # One count of the cache's usage for the document's entries (one lock, not one a page)
    with (
        long_lived_heap_frozen(),
        cache.accounted_once(),
        PdfDocument(task.path, limits=limits, engine=engine, file=task.file) as doc,
    ):
        assembler = (
            get_vendor().assembler(task.file, task.sha256, declared_pages=doc.declared_page_count)
            if item.whole
            else None
        )
        reader = PageReader(doc, cache)
        for page in reachable_pages(item, doc.page_count):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            result, hit = reader.read(page)
            if assembler is not None:
                assembler.add(result)
            pages.append(
                PageReport(
                    task.key, page, result.content_hash, hit, time.perf_counter() - wall0, time.process_time() - cpu0
                )
            )
        if assembler is None:
            return pages, None
        invoice = assembler.finish()
        cache.put(document_key(task.sha256, engine), invoice_to_record(invoice))
    return pages, invoice


def reachable_pages(item: BatchItem, reachable: int) -> list[int]:
    """The batch's pages of a document with ``reachable`` pages (its planned count may be the declared one).

    Example:
        >>> task = DocumentTask("k", "k.pdf", "k.pdf", "0" * 64, 3)
        >>> reachable_pages(BatchItem(task, (2, 3)), 2), reachable_pages(BatchItem(task, (2, 3)), 4)
        ([2], [2, 3, 4])
    """
    planned = item.document.page_count
    pages = [page for page in item.pages if page <= reachable]
    if planned in item.pages:  # the batch with the last page planned reads any page beyond it
        pages.extend(range(planned + 1, reachable + 1))
    return pages


def reports_by_invoice(
    batch_reports: list[BatchReport],
) -> tuple[dict[str, list[PageReport]], dict[str, list[BatchReport]]]:
    """Per invoice: its page reports in page order, and the batch reports that read any of its pages."""
    pages: dict[str, list[PageReport]] = {}
    batches: dict[str, list[BatchReport]] = {}
    for report in batch_reports:
        for page in report.pages:
            pages.setdefault(page.key, []).append(page)
        for key in report.keys:
            batches.setdefault(key, []).append(report)
    for reported in pages.values():
        reported.sort(key=lambda p: p.page)
    return pages, batches


def assemble_from_cache(
    plan: InvoicePlan, hashes: list[str], cache: PageCache, limits: Limits, engine: TextEngine
) -> tuple[Invoice, int]:
    """The invoice from the cache; pages missing there (evicted, failed write) are parsed here."""
    cached = cached_document(cache, plan.sha256, plan.file, engine)  # self-checks run again
    if cached is not None:
        return cached, 0
    assembler = get_vendor().assembler(plan.file, plan.sha256, declared_pages=plan.declared_pages)
    reparsed = 0
    doc: PdfDocument | None = None
    # The batches report every page that can be reached: as many as planned, unless the file
    # declares a count its page tree does not hold.
    count = len(hashes) if hashes and not plan.document_hit else plan.page_count
    try:
        for page in range(1, count + 1):
            result = cached_page(cache, hashes[page - 1], page, engine) if len(hashes) == count else None
            if result is None:
                doc = doc or PdfDocument(plan.path, limits=limits, engine=engine, file=plan.file)
                result = parse_document_page(doc, page, cache)
                reparsed += 1
            assembler.add(result)
    finally:
        if doc is not None:
            doc.close()
    invoice = assembler.finish()
    cache.put(document_key(plan.sha256, engine), invoice_to_record(invoice))
    return invoice, reparsed


def invoice_figures(
    plan: InvoicePlan,
    invoice: Invoice,
    mine: list[BatchReport],
    page_records: list[PageReport],
    merge: Meter,
    *,
    run_started: float,
    plan_peak_rss_mb: float,
    single: bool,
    reparsed: int = 0,
) -> dict[str, Any]:
    """Time, memory and cache figures of one invoice (``mine``: its batch reports, ``page_records``: its pages).

    ``reparsed``: the pages the merge step parsed again (missing from the cache).
    """
    hits = plan.page_count if plan.document_hit else sum(p.hit for p in page_records)
    page_wall = sum(p.wall_s for p in page_records)
    page_cpu = sum(p.cpu_s for p in page_records)
    run_wall = merge.finished - run_started
    # One invoice per run: the real wall time. Several: the time attributable to this invoice.
    processing = run_wall if single else plan.plan_s + page_wall + merge.wall_s
    if mine:
        span = max(r.finished for r in mine) - min(r.started for r in mine)
        speedup = sum(r.wall_s for r in mine) / span if span > 0 else 1.0
    else:
        speedup = 1.0
    pages = invoice.page_count  # the pages read (the plan may hold the count the file declares)
    return {
        "processing_time_s": round(processing, 4),
        "run_wall_s": round(run_wall, 4),
        "cpu_time_s": round(plan.plan_cpu_s + page_cpu + merge.cpu_s, 4),
        "peak_rss_mb": round(max([plan_peak_rss_mb, merge.peak_rss_mb] + [r.peak_rss_mb for r in mine]), 1),
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
        "pages_reparsed_in_merge": reparsed,
    }
