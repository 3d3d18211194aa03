"""The three ops behind the invoice and booking-rows assets: plan page batches, extract a batch, assemble.

Only small, plain values cross step boundaries: the plan (per invoice: path, sha256, page
hashes, which pages need parsing) and batch reports (timings per page). Page results travel
through the shared page cache, keyed by content hash, never through step outputs.
"""

import time
from typing import Any

from dagster import (
    AssetExecutionContext,
    DynamicOut,
    DynamicOutput,
    In,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    op,
)

from cc_perf_dagster._dagster_compat import add_metadata_per_partition
from cc_perf_dagster.checks import check_events, check_output_names, checks_table, evaluate_partitions
from cc_perf_dagster.core.bookability import ensure_bookable
from cc_perf_dagster.core.errors import InvalidDocumentError, NotBookableError
from cc_perf_dagster.core.export import invoice_to_dict
from cc_perf_dagster.core.metering import Meter, peak_rss_mb
from cc_perf_dagster.core.models import Invoice
from cc_perf_dagster.core.pipeline import (
    BatchReport,
    InvoicePlan,
    PageReport,
    assemble_from_cache,
    invoice_figures,
    plan_run,
    read_batch_item,
    reports_by_invoice,
)
from cc_perf_dagster.core.planning import BatchItem, plan_batches
from cc_perf_dagster.failures import partition_failure, text_engine
from cc_perf_dagster.resources import IO_MANAGER_KEY, ExtractionSettings, InvoiceStorage, PageCacheResource
from cc_perf_dagster.step_records import (
    PER_INVOICE_LOG_LIMIT,
    booking_outputs,
    log_invoice,
    log_prefix,
    log_range,
    note_invoice_numbers,
    run_partition_keys,
    step_metadata,
)


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
    settings, started = cc_perf_settings, time.time()
    engine = text_engine(settings)
    keys = run_partition_keys(context)
    run = plan_run(keys, cc_perf_storage.registry(), cc_perf_page_cache.get_cache(), settings.limits(), engine)
    for key in sorted(run.copies):
        context.log.warning(f"{log_prefix(context, key)} {run.failures[key]}")
    for key, plan in run.invoices.items() if len(keys) <= PER_INVOICE_LOG_LIMIT else ():
        cached = " (document cached)" if plan.document_hit else ""
        context.log.info(f"{log_prefix(context, key)} {plan.file}: {plan.page_count} pages{cached}")
    if run.failures:
        raise partition_failure(dict(run.failures), duplicates=run.copies, partitions=len(keys))
    documents = run.documents
    batches = plan_batches(documents, settings.cost_model())
    pages = sum(d.page_count for d in documents)
    context.log.info(
        f"{log_prefix(context)} partitions {keys[0]}..{keys[-1]} ({len(keys)}): {pages} pages of "
        f"{len(documents)} uncached invoice(s) in {len(batches)} batch(es)"
    )
    invoices = {key: plan.to_dict() for key, plan in run.invoices.items()}
    yield Output({"started": started, "invoices": invoices, "plan_peak_rss_mb": peak_rss_mb()}, "plan")
    for index, batch in enumerate(batches):
        value = {"index": index, "items": [item.to_dict() for item in batch]}
        yield DynamicOutput(value, mapping_key=f"batch_{index}", output_name="batches")


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
    pages: list[PageReport] = []
    assembled: list[str] = []
    with Meter() as meter:
        for item in map(BatchItem.from_dict, batch["items"]):
            try:
                mine, invoice = read_batch_item(item, cache, settings.limits(), engine)
            except InvalidDocumentError as exc:
                raise partition_failure({item.document.key: str(exc)}) from exc
            pages.extend(mine)
            if invoice is not None:
                assembled.append(item.document.key)
    context.log.info(f"{log_prefix(context)} batch {batch['index']}: {len(pages)} pages in {meter.wall_s:.2f} s")
    keys = tuple(sorted({p.key for p in pages}))
    return BatchReport(
        batch["index"], meter.pid, meter.started, meter.finished, meter.wall_s, meter.cpu_s, meter.peak_rss_mb,
        keys, tuple(assembled), tuple(pages),
    ).to_dict()  # fmt: skip


@op(
    out={
        "result": Out(description="{partition: invoice JSON}", io_manager_key=IO_MANAGER_KEY),
        "booking_rows": Out(
            description="{partition: booking rows CSV}", io_manager_key=IO_MANAGER_KEY, is_required=False
        ),
        **{n: Out(Nothing, is_required=False) for n in check_output_names()},
    },
    description="Assemble each invoice from the cache, run the self-checks, write its booking rows and metadata.",
)
def assemble_invoices(
    context: AssetExecutionContext,
    plan: dict,
    batch_reports: list[dict],
    cc_perf_page_cache: PageCacheResource,
    cc_perf_settings: ExtractionSettings,
    cc_perf_storage: InvoiceStorage,
):
    """Merge the page results into invoices; yield them, their booking rows (where selected) and the check results."""
    settings, storage, cache = cc_perf_settings, cc_perf_storage, cc_perf_page_cache.get_cache()
    engine = text_engine(settings)
    invoices = {key: InvoicePlan.from_dict(value) for key, value in plan["invoices"].items()}
    keys = sorted(invoices)
    outputs: dict[str, dict] = {}
    read: dict[str, Invoice] = {}
    metrics: dict[str, dict[str, Any]] = {}
    metadata: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    not_booked: set[str] = set()
    pages_by_key, reports_by_key = reports_by_invoice([BatchReport.from_dict(r) for r in batch_reports])
    for key in keys:
        entry = invoices[key]
        reported = pages_by_key.get(key, [])
        with Meter() as meter:
            try:
                invoice, reparsed = assemble_from_cache(
                    entry, [p.hash for p in reported], cache, settings.limits(), engine
                )
                ensure_bookable(invoice, min_consistency=settings.min_consistency)
            except InvalidDocumentError as exc:  # NotBookableError: read, but not well enough, never booked
                failures[key] = str(exc)
                if isinstance(exc, NotBookableError):
                    not_booked.add(key)
                    context.log.error(f"{log_prefix(context, key)} {exc}")
                continue
        metrics[key] = figures = invoice_figures(
            entry, invoice, reports_by_key.get(key, []), reported, meter, run_started=plan["started"],
            plan_peak_rss_mb=plan["plan_peak_rss_mb"], single=len(keys) == 1, reparsed=reparsed,
        )  # fmt: skip
        read[key] = invoice
        outputs[key] = {**invoice_to_dict(invoice), "partition_key": key, "source_path": entry.path}
        metadata[key] = step_metadata(context, storage, settings, engine, key, entry, invoice, figures)
        log_invoice(context, key, invoice, figures, settings, quiet=len(keys) > PER_INVOICE_LOG_LIMIT)
    log_range(context, keys, metrics)
    if failures:
        raise partition_failure(failures, not_booked=not_booked)
    note_invoice_numbers(context, storage.registry(), invoices, outputs, metrics, metadata)
    checks = evaluate_partitions(
        metrics, min_consistency=settings.min_consistency, time_budget_s=settings.time_budget_s,
        memory_budget_mb=settings.memory_budget_mb,
    )  # fmt: skip
    for key, results in checks.items():
        metadata[key]["checks"] = checks_table(results)
    add_metadata_per_partition(context, metadata, invoice_key := context.asset_key_for_output("result"))
    yield Output(outputs, "result")
    if "booking_rows" in context.op_execution_context.selected_output_names:
        rows, booking_metadata = booking_outputs(context, storage, read, metrics)
        add_metadata_per_partition(context, booking_metadata, context.asset_key_for_output("booking_rows"))
        yield Output(rows, "booking_rows")
    # one result per check and partition, each tied to the partition's materialization above
    yield from check_events(context, invoice_key, checks)
