"""The three ops behind the invoice asset: plan page batches, extract a batch, assemble.

Only small, plain values cross step boundaries: the plan (per invoice: path, sha256, page
hashes, which pages need parsing) and batch reports (timings per page). Page results travel
through the shared page cache, keyed by content hash, never through step outputs.
"""

import time
from collections.abc import Iterable
from typing import Any

from dagster import (
    AssetExecutionContext,
    DynamicOut,
    DynamicOutput,
    Failure,
    In,
    MetadataValue,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    TableColumn,
    TableRecord,
    TableSchema,
    op,
)

from cc_perf_dagster._dagster_compat import add_metadata_per_partition
from cc_perf_dagster.checks import check_output_names, evaluate_checks
from cc_perf_dagster.core.bookability import ensure_bookable
from cc_perf_dagster.core.dedupe import registered_note
from cc_perf_dagster.core.errors import EngineUnavailableError, InvalidDocumentError, NotBookableError
from cc_perf_dagster.core.export import (
    BOOKING_HEADER,
    booking_rows,
    invoice_to_dict,
    invoice_to_record,
    money,
)
from cc_perf_dagster.core.extract import (
    PageReader,
    cached_document,
    cached_page,
    document_key,
    engine_differences,
    parse_document_page,
)
from cc_perf_dagster.core.metering import Meter, peak_rss_mb
from cc_perf_dagster.core.models import Invoice
from cc_perf_dagster.core.pdf import PdfDocument, TextEngine, engine_tag
from cc_perf_dagster.core.planning import DocumentTask, plan_batches
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.core.vendors import get_vendor
from cc_perf_dagster.resources import IO_MANAGER_KEY, ExtractionSettings, InvoiceStorage, PageCacheResource

PREVIEW_ROWS = 10
# Every log line is an event in the instance's storage (about 10 ms each on SQLite); runs over
# more partitions than this log one summary line instead of a line per invoice.
PER_INVOICE_LOG_LIMIT = 10
# Failure metadata: the partitions (invoices) that failed the step, as a JSON list of keys.
FAILED_PARTITIONS = "failed_partitions"
# Failure metadata: of those, the ones read but not bookable (core.bookability), as a JSON list.
NOT_BOOKED_PARTITIONS = "not_booked_partitions"
# Failure metadata: of those, the copies of another partition's bytes, not read again (core.dedupe).
DUPLICATE_PARTITIONS = "duplicate_partitions"


def _prefix(context: OpExecutionContext, key: str | None = None) -> str:
    run = context.run.run_id[:8]
    return f"[run {run} partition {key}]" if key else f"[run {run}]"


def run_partition_keys(context: OpExecutionContext) -> list[str]:
    """The partitions this run covers, sorted (a single key or a range)."""
    return sorted(set(context.partition_keys))


@op(
    ins={"invoice_file": In(Nothing)},
    out={
        "plan": Out(
            description="Per invoice: file, sha256, pages, whether it is cached.", io_manager_key=IO_MANAGER_KEY
        ),
        "batches": DynamicOut(io_manager_key=IO_MANAGER_KEY),
    },
    description="Check each invoice of the run against the cache and fan out batches of the pages to parse.",
)
def plan_page_batches(
    context: OpExecutionContext,
    cc_perf_storage: InvoiceStorage,
    cc_perf_page_cache: PageCacheResource,
    cc_perf_settings: ExtractionSettings,
):
    """Plan the run: one DynamicOutput per page batch (file paths and page numbers only)."""
    storage, page_cache, settings = cc_perf_storage, cc_perf_page_cache, cc_perf_settings
    started = time.time()
    engine = text_engine(settings)
    cache = page_cache.get_cache()
    registry = storage.registry()
    invoices: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    copies: set[str] = set()
    documents: list[DocumentTask] = []
    keys = run_partition_keys(context)
    for key in keys:
        entry = registry.refresh(key)
        if entry is None:
            failures[key] = f"{key}: no file registered for this partition, or the file is gone"
            continue
        original = registry.original_of(entry)
        if original is not None:  # the same bytes are another partition's invoice: read and booked there
            failures[key] = duplicate_reason(entry.file, original)
            copies.add(key)
            context.log.warning(f"{_prefix(context, key)} {failures[key]}")
            continue
        with Meter() as meter:
            try:
                plan = _plan_invoice(entry.path, entry.file, entry.sha256, cache, settings, engine)
            except InvalidDocumentError as exc:
                failures[key] = str(exc)
                continue
        plan.update(key=key, path=entry.path, plan_s=meter.wall_s, plan_cpu_s=meter.cpu_s)
        invoices[key] = plan
        if not plan["document_hit"]:
            documents.append(DocumentTask(key, entry.path, entry.file, entry.sha256, plan["page_count"]))
        if len(keys) <= PER_INVOICE_LOG_LIMIT:
            cached = " (document cached)" if plan["document_hit"] else ""
            context.log.info(f"{_prefix(context, key)} {entry.file}: {plan['page_count']} pages{cached}")
    if failures:
        raise partition_failure(failures, duplicates=copies, partitions=len(keys))
    batches = plan_batches(documents, settings.cost_model())
    pages = sum(d.page_count for d in documents)
    context.log.info(
        f"{_prefix(context)} partitions {keys[0]}..{keys[-1]} ({len(keys)}): {pages} pages of "
        f"{len(documents)} uncached invoice(s) in {len(batches)} batch(es)"
    )
    yield Output({"started": started, "invoices": invoices, "plan_peak_rss_mb": peak_rss_mb()}, "plan")
    for index, batch in enumerate(batches):
        value = {"index": index, "items": [item.to_dict() for item in batch]}
        yield DynamicOutput(value, mapping_key=f"batch_{index}", output_name="batches")


def duplicate_reason(file: str, original: Any) -> str:
    """Why a partition holding a copy of another partition's bytes is not read (``original``: a RegisteredFile)."""
    return (
        f"{file}: same content as {original.file} (partition {original.key}); "
        f"processed once, as {original.key}, and not booked again"
    )


def partition_failure(
    failures: dict[str, str], *, not_booked: Iterable[str] = (), duplicates: Iterable[str] = (), **metadata: Any
) -> Failure:
    """The step's failure: each failing partition's reason, and the keys under ``failed_partitions``.

    A run over a range fails as a whole when one invoice does; the keys let whoever launched it
    run the other partitions again without the failing ones (``cc-perf process`` does).
    ``not_booked`` names those that were read but refused (listed under ``not_booked_partitions``),
    ``duplicates`` those whose bytes are another partition's (``duplicate_partitions``).
    """
    reasons = [failures[key] for key in sorted(failures)]
    extra = {}
    for name, keys in ((NOT_BOOKED_PARTITIONS, not_booked), (DUPLICATE_PARTITIONS, duplicates)):
        named = sorted(set(keys) & set(failures))
        if named:
            extra[name] = MetadataValue.json(named)
    return Failure(
        description="\n".join(reasons),
        metadata={
            "failed": MetadataValue.json(reasons),
            FAILED_PARTITIONS: MetadataValue.json(sorted(failures)),
            **extra,
            **metadata,
        },
    )


def failed_partitions(step_failures: Iterable[Any], name: str = FAILED_PARTITIONS) -> set[str]:
    """The partitions that step-failure events (``DagsterEvent``) name under ``name``.

    ``name`` is ``failed_partitions`` (every failing partition), ``not_booked_partitions``
    (those read but refused) or ``duplicate_partitions`` (copies of another partition's bytes).
    """
    failed: set[str] = set()
    for event in step_failures:
        user = event.step_failure_data.user_failure_data
        named = user.metadata.get(name) if user else None
        if named is not None and isinstance(named.value, list):
            failed.update(str(key) for key in named.value)
    return failed


def text_engine(settings: ExtractionSettings) -> TextEngine:
    """The configured text engine; a name that is unknown or not installed fails the step with the reason."""
    try:
        return settings.text_engine()
    except (EngineUnavailableError, ValueError) as exc:
        raise Failure(description=f"text engine {settings.engine!r}: {exc}") from exc


def _plan_invoice(
    path: str, file: str, sha256: str, cache, settings: ExtractionSettings, engine: TextEngine
) -> dict[str, Any]:
    """A cached document needs nothing; any other is opened only to count (and validate) its pages."""
    record = cache.get(document_key(sha256, engine))
    if record is not None:
        hashes = list(record["page_hashes"])
        return {"file": file, "sha256": sha256, "page_count": len(hashes), "hashes": hashes, "document_hit": True}
    with PdfDocument(path, limits=settings.limits(), engine=engine, file=file, sha256=sha256) as doc:
        return {
            "file": file,
            "sha256": sha256,
            "page_count": doc.page_count,
            "declared_pages": doc.declared_page_count,
            "hashes": None,
            "document_hit": False,
        }


@op(
    out=Out(io_manager_key=IO_MANAGER_KEY),
    description="Parse one batch of pages (possibly of several invoices) into the page cache.",
)
def extract_page_batch(
    context: OpExecutionContext,
    batch: dict,
    cc_perf_page_cache: PageCacheResource,
    cc_perf_settings: ExtractionSettings,
) -> dict:
    """Parse the batch's pages (cached pages are reused); documents held whole are assembled here."""
    page_cache, settings = cc_perf_page_cache, cc_perf_settings
    cache = page_cache.get_cache()
    engine = text_engine(settings)
    pages: list[dict[str, Any]] = []
    assembled: list[str] = []
    with Meter() as meter:
        for item in batch["items"]:
            whole = len(item["pages"]) == item["page_count"]
            try:
                with PdfDocument(item["path"], limits=settings.limits(), engine=engine, file=item["file"]) as doc:
                    assembler = (
                        get_vendor().assembler(item["file"], item["sha256"], declared_pages=doc.declared_page_count)
                        if whole
                        else None
                    )
                    reader = PageReader(doc, cache)  # identical pages parsed once, time limit
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
                if assembler is not None:
                    cache.put(document_key(item["sha256"], engine), invoice_to_record(assembler.finish()))
                    assembled.append(item["key"])
            except InvalidDocumentError as exc:
                raise partition_failure({item["key"]: str(exc)}) from exc
    context.log.info(f"{_prefix(context)} batch {batch['index']}: {len(pages)} pages in {meter.wall_s:.2f} s")
    return {
        "index": batch["index"],
        "pid": meter.pid,
        "started": meter.started,
        "finished": meter.finished,
        "wall_s": meter.wall_s,
        "cpu_s": meter.cpu_s,
        "peak_rss_mb": meter.peak_rss_mb,
        "keys": sorted({p["key"] for p in pages}),
        "assembled": assembled,
        "pages": pages,
    }


@op(
    out={
        "result": Out(description="{partition: invoice JSON}", io_manager_key=IO_MANAGER_KEY),
        **{n: Out(Nothing, is_required=False) for n in check_output_names()},
    },
    description="Assemble each invoice from the cache, run the self-checks, record the metadata.",
)
def assemble_invoices(
    context: AssetExecutionContext,
    plan: dict,
    batch_reports: list[dict],
    cc_perf_page_cache: PageCacheResource,
    cc_perf_settings: ExtractionSettings,
    cc_perf_storage: InvoiceStorage,
):
    """Merge the page results into invoices; yield the asset value and the check results."""
    page_cache, settings, storage = cc_perf_page_cache, cc_perf_settings, cc_perf_storage
    cache = page_cache.get_cache()
    engine = text_engine(settings)
    keys = sorted(plan["invoices"])
    single = len(keys) == 1
    outputs: dict[str, dict] = {}
    metrics: dict[str, dict[str, Any]] = {}
    metadata: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    not_booked: set[str] = set()
    pages_by_key: dict[str, list[dict]] = {}
    reports_by_key: dict[str, list[dict]] = {}
    for report in batch_reports:
        for page in report["pages"]:
            pages_by_key.setdefault(page["key"], []).append(page)
        for key in report["keys"]:
            reports_by_key.setdefault(key, []).append(report)
    for key in keys:
        entry = plan["invoices"][key]
        reported = sorted(pages_by_key.get(key, []), key=lambda p: p["page"])
        with Meter() as meter:
            try:
                invoice, reparsed = _assemble_one(entry, [p["hash"] for p in reported], cache, settings, engine)
                ensure_bookable(invoice, min_consistency=settings.min_consistency)
            except NotBookableError as exc:  # read, but not well enough: never booked
                failures[key] = str(exc)
                not_booked.add(key)
                context.log.error(f"{_prefix(context, key)} {exc}")
                continue
            except InvalidDocumentError as exc:
                failures[key] = str(exc)
                continue
        hits = entry["page_count"] if entry["document_hit"] else sum(p["hit"] for p in reported)
        figures = _figures(entry, invoice, reports_by_key.get(key, []), reported, meter, plan, single, hits)
        figures["pages_reparsed_in_merge"] = reparsed
        metrics[key] = figures
        stored = invoice_to_dict(invoice)
        stored.update(partition_key=key, source_path=entry["path"])
        outputs[key] = stored
        metadata[key] = _metadata(invoice, figures)
        metadata[key]["text_engine"] = engine_tag(engine)
        metadata[key].update(stored_file_metadata(storage, context.asset_key_for_output("result").path, key, ".json"))
        if settings.cross_check_engines:
            metadata[key].update(_cross_check(context, key, entry, settings, engine))
        _log_budgets(context, key, figures, settings)
        if single or len(keys) <= PER_INVOICE_LOG_LIMIT:
            context.log.info(
                f"{_prefix(context, key)} {invoice.invoice_number}: {len(invoice.line_items)} lines "
                f"({len(invoice.billed_items)} billed), consistency {invoice.consistency_score:.3f}, "
                f"{figures['processing_time_s']:.2f} s, hit rate {figures['cache_hit_rate']:.2f}"
            )
    if len(keys) > PER_INVOICE_LOG_LIMIT and metrics:
        lines = sum(m["line_items"] for m in metrics.values())
        low = min(metrics, key=lambda k: metrics[k]["consistency_score"])
        context.log.info(
            f"{_prefix(context)} partitions {keys[0]}..{keys[-1]} ({len(metrics)} invoices): {lines} lines; "
            f"lowest consistency {metrics[low]['consistency_score']:.3f} (partition {low})"
        )
    if failures:
        raise partition_failure(failures, not_booked=not_booked)
    _note_invoice_numbers(context, storage.registry(), plan, outputs, metrics, metadata)
    add_metadata_per_partition(context, metadata)
    yield Output(outputs, "result")
    yield from evaluate_checks(
        metrics,
        min_consistency=settings.min_consistency,
        time_budget_s=settings.time_budget_s,
        memory_budget_mb=settings.memory_budget_mb,
    )


def _note_invoice_numbers(
    context: OpExecutionContext,
    registry: FileRegistry,
    plan: dict,
    outputs: dict[str, dict],
    metrics: dict[str, dict[str, Any]],
    metadata: dict[str, dict[str, Any]],
) -> None:
    """Record each read invoice's number; flag those another partition carries too (``unique_invoice_number``).

    All of the run's numbers are recorded before any is compared, so two partitions of one
    number in the same run see each other.
    """
    for key, stored in outputs.items():
        if stored.get("invoice_number"):
            registry.record_invoice_number(key, stored["invoice_number"], plan["invoices"][key]["sha256"])
    for key, stored in outputs.items():
        note = registered_note(registry, key, stored.get("invoice_number"))
        metrics[key]["same_invoice_number"] = note
        if note is not None:
            metadata[key]["same_invoice_number"] = note
            context.log.warning(f"{_prefix(context, key)} {note}")


def _cross_check(
    context: OpExecutionContext, key: str, entry: dict, settings: ExtractionSettings, engine: TextEngine
) -> dict[str, Any]:
    """Read the invoice with the other engine too; metadata naming every field that differs, and a warning."""
    other = "pdfium" if engine.name == "pypdf" else "pypdf"
    try:
        differences = engine_differences(
            entry["path"], engines=(engine, other), limits=settings.limits(), file=entry["file"]
        )
    except (EngineUnavailableError, InvalidDocumentError) as exc:
        context.log.warning(f"{_prefix(context, key)} engines not compared: {exc}")
        return {"engine_differences": -1}
    found: dict[str, Any] = {"engine_differences": len(differences)}
    if differences:
        found["engine_difference_list"] = MetadataValue.json(differences)
        context.log.warning(
            f"{_prefix(context, key)} {engine.name} and {other} read {len(differences)} field(s) differently: "
            + "; ".join(differences[:5])
        )
    return found


def _assemble_one(
    entry: dict, hashes: list[str], cache, settings: ExtractionSettings, engine: TextEngine
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
                doc = doc or PdfDocument(entry["path"], limits=settings.limits(), engine=engine, file=entry["file"])
                result = parse_document_page(doc, page, cache)
                reparsed += 1
            assembler.add(result)
    finally:
        if doc is not None:
            doc.close()
    invoice = assembler.finish()
    cache.put(document_key(entry["sha256"], engine), invoice_to_record(invoice))
    return invoice, reparsed


def _figures(
    entry: dict,
    invoice: Invoice,
    mine: list[dict],
    page_records: list[dict],
    merge: Meter,
    plan: dict,
    single: bool,
    hits: int,
) -> dict[str, Any]:
    """Time, memory and cache figures of one invoice (``mine``: its batch reports, ``page_records``: its pages)."""
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


# Dagster's standard metadata keys (what TableMetadataSet and UriMetadataSet write; those classes
# are not exported by the dagster package in 1.13): the UI shows row counts, columns and the file.
ROW_COUNT = "dagster/row_count"
PARTITION_ROW_COUNT = "dagster/partition_row_count"
COLUMN_SCHEMA = "dagster/column_schema"
URI = "dagster/uri"

# The booking rows' columns, as Dagster's standard ``dagster/column_schema`` (the UI's Columns table).
BOOKING_SCHEMA = TableSchema(
    columns=[
        TableColumn("Invoice Date", "date", description="Invoice date, M/D/YYYY."),
        TableColumn("Vendor", "string"),
        TableColumn("Invoice#", "string"),
        TableColumn("Description", "string", description="Product code, UPC and description."),
        TableColumn("Price", "decimal", description="Unit price with tariff, two decimals."),
        TableColumn("Qty", "int", description="Quantity billed."),
    ]
)


def stored_file_metadata(storage: InvoiceStorage, asset_path: list[str], key: str, suffix: str) -> dict[str, Any]:
    """``dagster/uri`` of a partition's file, where :class:`~cc_perf_dagster.io_manager.JsonFileIOManager` writes it."""
    path = storage.path.joinpath("assets", *asset_path, f"{key}{suffix}").resolve()
    return {URI: path.as_uri()}


def booking_preview(invoice: Invoice, limit: int = PREVIEW_ROWS) -> MetadataValue:
    """The invoice's first booking rows as a table (shown on the partition's page in the UI)."""
    rows = booking_rows(invoice)[:limit]
    return MetadataValue.table(
        records=[TableRecord(dict(zip(BOOKING_HEADER, row, strict=True))) for row in rows],
        schema=TableSchema(columns=[TableColumn(c, "string") for c in BOOKING_HEADER]),
    )


def _metadata(invoice: Invoice, figures: dict[str, Any]) -> dict[str, Any]:
    """What the buyer checks first (number, date, printed totals, rows), then what it cost."""
    metadata: dict[str, Any] = {
        "invoice_number": invoice.invoice_number,
        "invoice_date": str(invoice.invoice_date or ""),
        "document_type": invoice.document_type,
    }
    if invoice.totals is not None:  # the amounts the document prints, for the buyer to compare
        for name in ("subtotal", "tariff", "freight", "tax", "total"):
            amount = getattr(invoice.totals, name)
            if amount is not None:
                metadata[name] = float(amount)  # a number, so the UI plots it
                metadata[f"{name}_printed"] = MetadataValue.text(money(amount))  # as printed: 2770.00
    metadata.update(
        totals_reconcile=str(invoice.totals_reconcile),
        preview=booking_preview(invoice),
        warnings=len(invoice.warnings),
    )
    metadata.update((k, v) for k, v in figures.items() if k != "totals_reconcile")
    metadata[PARTITION_ROW_COUNT] = len(invoice.line_items)
    if invoice.warnings:
        metadata["warning_list"] = MetadataValue.json(list(invoice.warnings))
    return metadata


def _log_budgets(context: OpExecutionContext, key: str, figures: dict[str, Any], settings: ExtractionSettings) -> None:
    missed = []
    if figures["processing_time_s"] > settings.time_budget_s:
        missed.append(f"processing {figures['processing_time_s']:.1f} s > budget {settings.time_budget_s} s")
    if figures["peak_rss_mb"] > settings.memory_budget_mb:
        missed.append(f"peak memory {figures['peak_rss_mb']:.0f} MB > budget {settings.memory_budget_mb} MB")
    if missed:
        context.log.warning(f"{_prefix(context, key)} performance target missed: " + "; ".join(missed))
