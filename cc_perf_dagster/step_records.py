"""What the invoice steps record beside their outputs: metadata, log lines, cross-checks.

Numbers the UI plots, the buyer's fields (number, date, printed totals, a row preview),
Dagster's standard keys (row counts, columns, the stored file), and warnings where an invoice
runs over its time or memory budget.
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    MetadataValue,
    OpExecutionContext,
    TableColumn,
    TableRecord,
    TableSchema,
)

from cc_perf_dagster.core.dedupe import registered_note
from cc_perf_dagster.core.errors import EngineUnavailableError, InvalidDocumentError
from cc_perf_dagster.core.export import BOOKING_HEADER, booking_rows, money, rows_csv
from cc_perf_dagster.core.extract import engine_differences
from cc_perf_dagster.core.models import Invoice
from cc_perf_dagster.core.pdf import TextEngine, engine_tag
from cc_perf_dagster.core.pipeline import InvoicePlan
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.resources import ExtractionSettings, InvoiceStorage

# Dagster's standard metadata keys (what TableMetadataSet and UriMetadataSet write; those classes
# are not exported by the dagster package in 1.13): the UI shows row counts, columns and the file.
ROW_COUNT = "dagster/row_count"
PARTITION_ROW_COUNT = "dagster/partition_row_count"
COLUMN_SCHEMA = "dagster/column_schema"
URI = "dagster/uri"

# The booking rows' code version: bump it when the rows change for the same invoice.
BOOKING_ROWS_VERSION = "1"

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


PREVIEW_ROWS = 10


# Every log line is an event in the instance's storage (about 10 ms each on SQLite); runs over
# more partitions than this log one summary line instead of a line per invoice.
PER_INVOICE_LOG_LIMIT = 10


def log_prefix(context: OpExecutionContext, key: str | None = None) -> str:
    """``[run 1a2b3c4d partition KEY]``: every log line names its run and, where it has one, its invoice."""
    run = context.run.run_id[:8]
    return f"[run {run} partition {key}]" if key else f"[run {run}]"


def run_partition_keys(context: OpExecutionContext) -> list[str]:
    """The partitions this run covers, sorted (a single key or a range)."""
    return sorted(set(context.partition_keys))


def note_invoice_numbers(
    context: OpExecutionContext,
    registry: FileRegistry,
    invoices: dict[str, InvoicePlan],
    outputs: dict[str, dict],
    metrics: dict[str, dict[str, Any]],
    metadata: dict[str, dict[str, Any]],
) -> None:
    """Record each read invoice's number; flag those another partition carries too (``unique_invoice_number``).

    All of the run's numbers are recorded before any is compared, so two partitions of one
    number in the same run see each other.
    """
    registry.record_invoice_numbers(
        {
            key: (stored["invoice_number"], invoices[key].sha256)
            for key, stored in outputs.items()
            if stored.get("invoice_number")
        }
    )
    for key, stored in outputs.items():
        note = registered_note(registry, key, stored.get("invoice_number"))
        metrics[key]["same_invoice_number"] = note
        if note is not None:
            metadata[key]["same_invoice_number"] = note
            context.log.warning(f"{log_prefix(context, key)} {note}")


def cross_check(
    context: OpExecutionContext, key: str, entry: InvoicePlan, settings: ExtractionSettings, engine: TextEngine
) -> dict[str, Any]:
    """Read the invoice with the other engine too; metadata naming every field that differs, and a warning."""
    other = "pdfium" if engine.name == "pypdf" else "pypdf"
    try:
        differences = engine_differences(entry.path, engines=(engine, other), limits=settings.limits(), file=entry.file)
    except (EngineUnavailableError, InvalidDocumentError) as exc:
        context.log.warning(f"{log_prefix(context, key)} engines not compared: {exc}")
        return {"engine_differences": -1}
    found: dict[str, Any] = {"engine_differences": len(differences)}
    if differences:
        found["engine_difference_list"] = MetadataValue.json(differences)
        context.log.warning(
            f"{log_prefix(context, key)} {engine.name} and {other} read {len(differences)} field(s) differently: "
            + "; ".join(differences[:5])
        )
    return found


def stored_file_metadata(storage: InvoiceStorage, asset_path: list[str], key: str, suffix: str) -> dict[str, Any]:
    """``dagster/uri`` of a partition's file, where :class:`~cc_perf_dagster.io_manager.JsonFileIOManager` writes it."""
    path = storage.path.joinpath("assets", *asset_path, f"{key}{suffix}").resolve()
    return {URI: path.as_uri()}


def booking_preview(rows: list[tuple[str, ...]], limit: int = PREVIEW_ROWS) -> MetadataValue:
    """An invoice's first booking rows as a table, shown on the partition's page in the UI.

    ``rows``: the invoice's :func:`~cc_perf_dagster.core.export.booking_rows`.
    """
    return MetadataValue.table(
        records=[TableRecord(dict(zip(BOOKING_HEADER, row, strict=True))) for row in rows[:limit]],
        schema=TableSchema(columns=[TableColumn(c, "string") for c in BOOKING_HEADER]),
    )


def booking_outputs(
    context: OpExecutionContext, storage: InvoiceStorage, read: dict[str, Invoice], metrics: dict[str, dict[str, Any]]
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Each invoice's booking rows (CSV text) and their partition's metadata (``metrics``: the invoices' figures)."""
    path = context.asset_key_for_output("booking_rows").path
    rows, metadata = {}, {}
    for key, invoice in sorted(read.items()):
        lines = booking_rows(invoice)  # once, for the file and its preview
        rows[key] = rows_csv(lines)
        metadata[key] = {
            "rows": len(invoice.billed_items),
            "invoice_number": invoice.invoice_number,
            "invoice_date": str(invoice.invoice_date or ""),
            "preview": booking_preview(lines),
            PARTITION_ROW_COUNT: len(invoice.billed_items),
            COLUMN_SCHEMA: MetadataValue.table_schema(BOOKING_SCHEMA),
            **stored_file_metadata(storage, path, key, ".csv"),
        }
        if metrics[key].get("same_invoice_number") is not None:
            metadata[key]["same_invoice_number"] = metrics[key]["same_invoice_number"]
    return rows, metadata


def invoice_metadata(invoice: Invoice, figures: dict[str, Any]) -> dict[str, Any]:
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
        preview=booking_preview(booking_rows(invoice)),
        warnings=len(invoice.warnings),
    )
    metadata.update((k, v) for k, v in figures.items() if k != "totals_reconcile")
    metadata[PARTITION_ROW_COUNT] = len(invoice.line_items)
    if invoice.warnings:
        metadata["warning_list"] = MetadataValue.json(list(invoice.warnings))
    return metadata


def log_budgets(context: OpExecutionContext, key: str, figures: dict[str, Any], settings: ExtractionSettings) -> None:
    """A warning where an invoice ran over its time or memory budget."""
    missed = []
    if figures["processing_time_s"] > settings.time_budget_s:
        missed.append(f"processing {figures['processing_time_s']:.1f} s > budget {settings.time_budget_s} s")
    if figures["peak_rss_mb"] > settings.memory_budget_mb:
        missed.append(f"peak memory {figures['peak_rss_mb']:.0f} MB > budget {settings.memory_budget_mb} MB")
    if missed:
        context.log.warning(f"{log_prefix(context, key)} performance target missed: " + "; ".join(missed))


def step_metadata(
    context: AssetExecutionContext,
    storage: InvoiceStorage,
    settings: ExtractionSettings,
    engine: TextEngine,
    key: str,
    entry: InvoicePlan,
    invoice: Invoice,
    figures: dict[str, Any],
) -> dict[str, Any]:
    """Everything one invoice's materialization records: the buyer's fields, figures, engine, file."""
    metadata = invoice_metadata(invoice, figures)
    metadata["text_engine"] = engine_tag(engine)
    metadata.update(stored_file_metadata(storage, context.asset_key_for_output("result").path, key, ".json"))
    if settings.cross_check_engines:
        metadata.update(cross_check(context, key, entry, settings, engine))
    return metadata


def log_invoice(
    context: OpExecutionContext,
    key: str,
    invoice: Invoice,
    figures: dict[str, Any],
    settings: ExtractionSettings,
    *,
    quiet: bool,
) -> None:
    """One line per invoice (unless ``quiet``: a large range logs one summary), and budget warnings."""
    log_budgets(context, key, figures, settings)
    if not quiet:
        context.log.info(
            f"{log_prefix(context, key)} {invoice.invoice_number}: {len(invoice.line_items)} lines "
            f"({len(invoice.billed_items)} billed), consistency {invoice.consistency_score:.3f}, "
            f"{figures['processing_time_s']:.2f} s, hit rate {figures['cache_hit_rate']:.2f}"
        )


def log_range(context: OpExecutionContext, keys: list[str], metrics: dict[str, dict[str, Any]]) -> None:
    """The summary line of a range too large to log invoice by invoice."""
    if len(keys) <= PER_INVOICE_LOG_LIMIT or not metrics:
        return
    lines = sum(m["line_items"] for m in metrics.values())
    low = min(metrics, key=lambda k: metrics[k]["consistency_score"])
    context.log.info(
        f"{log_prefix(context)} partitions {keys[0]}..{keys[-1]} ({len(metrics)} invoices): {lines} lines; "
        f"lowest consistency {metrics[low]['consistency_score']:.3f} (partition {low})"
    )
