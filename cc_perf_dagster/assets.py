"""The assets: invoice file -> invoice -> booking rows -> purchasing sheet.

* ``invoice_file`` (observable source): one dynamic partition per PDF; its data version per
  partition is the file's sha256, so an unchanged file never makes its invoice stale.
* ``invoice`` (graph-backed): plan page batches, extract them in parallel steps, assemble.
  Its code version is the parser version: bumping it makes every partition stale.
* ``booking_rows``: the six-column rows of each invoice, as CSV.
* ``purchasing_sheet``: every invoice's booking rows in one CSV, ready for the sheet; each
  invoice number once (the newer file of a number wins, :mod:`cc_perf_dagster.core.dedupe`).
"""

import csv
import io
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetObservation,
    AssetPartitionStatus,
    BackfillPolicy,
    BetaWarning,
    DataVersion,
    DataVersionsByPartition,
    DynamicPartitionsDefinition,
    MetadataValue,
    asset,
    graph_asset,
    observable_source_asset,
)

from cc_perf_dagster._dagster_compat import add_metadata_per_partition
from cc_perf_dagster.checks import check_output_names, check_specs
from cc_perf_dagster.core.dedupe import candidate, registered_note, sheet_by_invoice_number
from cc_perf_dagster.core.export import booking_csv, invoice_from_record
from cc_perf_dagster.core.extract import PARSER_VERSION
from cc_perf_dagster.ops import assemble_invoices, extract_page_batch, plan_page_batches
from cc_perf_dagster.resources import IO_MANAGER_KEY, InvoiceStorage
from cc_perf_dagster.step_records import (
    BOOKING_SCHEMA,
    COLUMN_SCHEMA,
    PARTITION_ROW_COUNT,
    ROW_COUNT,
    booking_preview,
    stored_file_metadata,
)

# BackfillPolicy and observable source assets are beta in Dagster 1.13; this project relies on
# both on purpose (range runs, file data versions), so their notices are not repeated on every
# load. Only the definitions below are quieted: the process's warning filters stay as they are.
_ON_PURPOSE = r".*(backfill_policy|observable_source_asset).*"


def _beta(factory: Any, **kwargs: Any) -> Any:
    """The decorator ``factory(**kwargs)``, made without the notice for the beta features used on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=BetaWarning, message=_ON_PURPOSE)
        return factory(**kwargs)


PARTITIONS_NAME = "invoices"
# Run and event tags Dagster reads for partitions and data versions.
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
DATA_VERSION_TAG = "dagster/data_version"
invoice_partitions = DynamicPartitionsDefinition(name=PARTITIONS_NAME)


def partition_tags(keys: Sequence[str]) -> dict[str, str]:
    """Run tags for one partition, or for a range of adjacent ones (first and last key)."""
    if len(keys) == 1:
        return {PARTITION_TAG: keys[0]}
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}


def tagged_partitions(
    tags: Mapping[str, str], order: Sequence[str], position: Mapping[str, int] | None = None
) -> list[str]:
    """The partitions a run's tags cover, in ``order`` (empty when a range end is not in it).

    ``position`` (each key's index in ``order``) may be passed when asking for many runs.
    """
    if PARTITION_TAG in tags:
        return [tags[PARTITION_TAG]]
    if position is None:
        position = {key: index for index, key in enumerate(order)}
    start, end = position.get(tags.get(RANGE_START_TAG, "")), position.get(tags.get(RANGE_END_TAG, ""))
    return list(order[start : end + 1]) if start is not None and end is not None else []


# Runs covering many partitions stay one run per up to 100 invoices: batches then span invoices.
DEFAULT_BACKFILL_POLICY = BackfillPolicy.multi_run(max_partitions_per_run=100)
GROUP = "invoices"
OWNERS = ["team:purchasing"]
FILE_KEY = AssetKey("invoice_file")


def sibling_key(key: AssetKey, name: str) -> AssetKey:
    """The key of this project's asset ``name`` beside ``key`` (the same prefix, if any)."""
    return AssetKey([*key.path[:-1], name])


def file_observation(key: str, sha256: str, asset_key: AssetKey = FILE_KEY) -> AssetObservation:
    """The observation that records a file's sha256 as the data version of its partition.

    ``asset_key`` is the file asset's key (prefixed when the definitions were built with a key prefix).
    """
    return AssetObservation(asset_key=asset_key, partition=key, tags={DATA_VERSION_TAG: sha256})


# No group here: a source asset's group cannot be replaced once set; build_definitions sets it.
@_beta(
    observable_source_asset,
    partitions_def=invoice_partitions,
    io_manager_key=IO_MANAGER_KEY,
    owners=OWNERS,
    kinds={"pdf"},
    description="A vendor PDF registered as an invoice partition. Data version: the file's sha256.",
)
def invoice_file(context, cc_perf_storage: InvoiceStorage) -> DataVersionsByPartition:
    """Observe every registered file: re-hash those whose size or time changed."""
    registry = cc_perf_storage.registry()
    versions = {}
    for key in context.instance.get_dynamic_partitions(PARTITIONS_NAME):
        entry = registry.refresh(key)
        if entry is None:
            context.log.warning(f"[partition {key}] no file on disk; not observed")
            continue
        versions[key] = DataVersion(entry.sha256)
    return DataVersionsByPartition(versions)


@_beta(
    graph_asset,
    partitions_def=invoice_partitions,
    ins={"invoice_file": AssetIn("invoice_file")},
    check_specs=check_specs(invoice_partitions),
    backfill_policy=DEFAULT_BACKFILL_POLICY,
    code_version=PARSER_VERSION,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "pdf", "json"},
    description=(
        "Line items of one Creative Co-op order confirmation or invoice, with arithmetic self-checks. "
        "Pages are parsed in batches fanned out over the executor as a cost model decides; "
        "every materialization records time, memory and cache figures."
    ),
)
def invoice(invoice_file):
    """Plan batches, extract them in parallel, assemble the invoice."""
    plan, batches = plan_page_batches(invoice_file)
    merged = assemble_invoices(plan, batches.map(extract_page_batch).collect())
    return {"result": merged.result, **{name: getattr(merged, name) for name in check_output_names()}}


@_beta(
    asset,
    partitions_def=invoice_partitions,
    ins={"invoice": AssetIn("invoice")},
    backfill_policy=DEFAULT_BACKFILL_POLICY,
    code_version="1",
    io_manager_key=IO_MANAGER_KEY,
    metadata={COLUMN_SCHEMA: MetadataValue.table_schema(BOOKING_SCHEMA)},
    group_name=GROUP,
    owners=OWNERS,
    kinds={"csv"},
    description="Booking rows of one invoice (Date, Vendor, Invoice#, Description, Price, Qty), billed lines only.",
)
def booking_rows(
    context: AssetExecutionContext, invoice: dict[str, dict], cc_perf_storage: InvoiceStorage
) -> dict[str, str]:
    """One CSV text per partition; ``same_invoice_number`` says when another partition carries its number."""
    registry = cc_perf_storage.registry()
    out, metadata = {}, {}
    for key, data in sorted(invoice.items()):
        parsed = invoice_from_record(data)
        out[key] = booking_csv([parsed])
        metadata[key] = {
            "rows": len(parsed.billed_items),
            "invoice_number": parsed.invoice_number,
            "invoice_date": str(parsed.invoice_date or ""),
            "preview": booking_preview(parsed),
            PARTITION_ROW_COUNT: len(parsed.billed_items),
            COLUMN_SCHEMA: MetadataValue.table_schema(BOOKING_SCHEMA),
            **stored_file_metadata(cc_perf_storage, context.asset_key.path, key, ".csv"),
        }
        note = registered_note(registry, key, parsed.invoice_number)
        if note is not None:
            metadata[key]["same_invoice_number"] = note
    add_metadata_per_partition(context, metadata)
    return out


@asset(
    ins={"booking_rows": AssetIn("booking_rows")},
    io_manager_key=IO_MANAGER_KEY,
    metadata={COLUMN_SCHEMA: MetadataValue.table_schema(BOOKING_SCHEMA)},
    group_name=GROUP,
    owners=OWNERS,
    kinds={"csv"},
    description="Every invoice's booking rows in one table, ready to paste into the purchasing sheet.",
)
def purchasing_sheet(
    context: AssetExecutionContext, booking_rows: dict[str, str], cc_perf_storage: InvoiceStorage
) -> str:
    """The per-invoice CSVs under one header, each invoice number once, without invoices whose latest attempt failed.

    An invoice refused after it was booked once (its file replaced by one that is not read
    well) still has its old booking rows on disk; they are not the current file's, so they stay out.
    Of the partitions carrying one invoice number, only the newer file's rows are taken
    (:func:`cc_perf_dagster.core.dedupe.sheet_by_invoice_number`); the others are listed under
    ``superseded`` with the reason.
    """
    failed = _failed_invoices(context, sorted(booking_rows))
    if failed:
        context.log.warning(f"not in the sheet, their latest invoice run failed: {', '.join(failed)}")
    booking_rows = {key: text for key, text in booking_rows.items() if key not in failed}
    registry = cc_perf_storage.registry()
    entries = {key: registry.get(key) for key in booking_rows}
    sheet = sheet_by_invoice_number(
        booking_rows, {key: candidate(entry, "") for key, entry in entries.items() if entry is not None}
    )
    for superseded in sheet.superseded:
        context.log.warning(f"not in the sheet: {superseded.reason}")
    context.add_output_metadata(
        {
            "invoices": sheet.invoices,
            "rows": sheet.rows,
            "not_booked": MetadataValue.json(failed),
            "superseded": MetadataValue.json([s.to_dict() for s in sheet.superseded]),
            "duplicate_invoice_numbers": len({s.invoice_number for s in sheet.superseded}),
            "preview": MetadataValue.md(_preview(sheet.text)),
            ROW_COUNT: sheet.rows,
            COLUMN_SCHEMA: MetadataValue.table_schema(BOOKING_SCHEMA),
        }
    )
    return sheet.text


def _failed_invoices(context: AssetExecutionContext, keys: list[str]) -> list[str]:
    """The partitions among ``keys`` whose latest ``invoice`` attempt failed (Dagster's partition status)."""
    if not keys:
        return []
    invoice_key = sibling_key(context.asset_key, "invoice")
    statuses = context.instance.get_status_by_partition(invoice_key, keys, invoice_partitions) or {}
    return sorted(key for key, status in statuses.items() if status == AssetPartitionStatus.FAILED)


def _preview(text: str, limit: int = 10) -> str:
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        return ""
    header, body = lines[0], lines[1 : limit + 1]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in body]
    return "\n".join(out)
