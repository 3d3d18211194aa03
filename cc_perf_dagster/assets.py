"""The assets: invoice file -> invoice -> booking rows -> purchasing sheet.

* ``invoice_file`` (observable source): one dynamic partition per PDF; its data version per
  partition is the file's sha256, so an unchanged file never makes its invoice stale.
* ``invoice`` and ``booking_rows`` (one graph): plan page batches, extract them in parallel
  steps, assemble; the merge step writes each invoice and its six-column booking rows (CSV).
  The invoice's code version is the parser version: bumping it makes every partition stale.
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
    AssetsDefinition,
    BackfillPolicy,
    BetaWarning,
    DataVersion,
    DataVersionsByPartition,
    DynamicPartitionsDefinition,
    GraphIn,
    GraphOut,
    MetadataValue,
    asset,
    graph,
    observable_source_asset,
)

from cc_perf_dagster.checks import check_output_names, check_specs
from cc_perf_dagster.core.dedupe import candidate, sheet_by_invoice_number
from cc_perf_dagster.core.extract import PARSER_VERSION
from cc_perf_dagster.ops import assemble_invoices, extract_page_batch, plan_page_batches
from cc_perf_dagster.resources import IO_MANAGER_KEY, InvoiceStorage
from cc_perf_dagster.step_records import BOOKING_ROWS_VERSION, BOOKING_SCHEMA, COLUMN_SCHEMA, ROW_COUNT

# BackfillPolicy and observable source assets are beta in Dagster 1.13; this project relies on
# both on purpose (range runs, file data versions), so their notices are not repeated on every
# load. Only the definitions below are quieted: the process's warning filters stay as they are.
_ON_PURPOSE = r".*(backfill_policy|observable_source_asset).*"


def _beta(factory: Any, **kwargs: Any) -> Any:
    """``factory(**kwargs)`` (a decorator or a definition), without the notice for beta features used on purpose."""
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


@graph(
    name="invoice",
    ins={"invoice_file": GraphIn()},
    out={name: GraphOut() for name in ("invoice", "booking_rows", *check_output_names())},
)
def _invoice_graph(invoice_file):
    """Plan batches, extract them in parallel, assemble the invoices and their booking rows."""
    plan, batches = plan_page_batches(invoice_file)
    merged = assemble_invoices(plan, batches.map(extract_page_batch).collect())
    return {
        "invoice": merged.result,
        "booking_rows": merged.booking_rows,
        **{name: getattr(merged, name) for name in check_output_names()},
    }


INVOICE_KEY, BOOKING_KEY = AssetKey("invoice"), AssetKey("booking_rows")


def _kinds(*kinds: str) -> dict[str, str]:
    """Dagster's kind tags (what ``kinds=`` sets on a single asset)."""
    return {f"dagster/kind/{kind}": "" for kind in kinds}


# One graph, two assets: the merge step writes each invoice and its booking rows, so a run has
# no step of its own for the rows. ``booking_rows`` keeps its dependency on ``invoice`` (internal
# asset deps), so lineage, staleness and automation see invoice -> booking_rows as before. A run
# may select ``invoice`` alone (the extract job): the merge step then yields no booking rows.
invoice = _beta(
    AssetsDefinition.from_graph,
    graph_def=_invoice_graph,
    keys_by_input_name={"invoice_file": FILE_KEY},
    keys_by_output_name={"invoice": INVOICE_KEY, "booking_rows": BOOKING_KEY},
    internal_asset_deps={"invoice": {FILE_KEY}, "booking_rows": {INVOICE_KEY}},
    partitions_def=invoice_partitions,
    check_specs=check_specs(invoice_partitions),
    backfill_policy=DEFAULT_BACKFILL_POLICY,
    can_subset=True,
    group_name=GROUP,
    code_versions_by_output_name={"invoice": PARSER_VERSION, "booking_rows": BOOKING_ROWS_VERSION},
    owners_by_output_name={"invoice": OWNERS, "booking_rows": OWNERS},
    tags_by_output_name={"invoice": _kinds("python", "pdf", "json"), "booking_rows": _kinds("csv")},
    metadata_by_output_name={"booking_rows": {COLUMN_SCHEMA: MetadataValue.table_schema(BOOKING_SCHEMA)}},
    descriptions_by_output_name={
        "invoice": (
            "Line items of one Creative Co-op order confirmation or invoice, with arithmetic self-checks. "
            "Pages are parsed in batches fanned out over the executor as a cost model decides; "
            "every materialization records time, memory and cache figures."
        ),
        "booking_rows": (
            "Booking rows of one invoice (Date, Vendor, Invoice#, Description, Price, Qty), billed lines only. "
            "Written by the invoice's merge step, from the invoice it has just read."
        ),
    },
)


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
