"""The performance overview asset: what every invoice cost, what failed, which checks did not pass.

It reads the instance, not the invoice files: each current partition's latest ``invoice``
materialization (its metadata carries the figures), the partitions whose latest attempt failed,
and the invoice checks' rules applied to each partition's latest figures. The summary itself is plain Python
(:mod:`cc_perf_dagster.core.performance`). Invoice numbers carried by more than one current
partition are listed with the one booked and why (:mod:`cc_perf_dagster.core.dedupe`).
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetPartitionStatus,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    MetadataValue,
    RunsFilter,
    asset,
)

from cc_perf_dagster.assets import (
    GROUP,
    OWNERS,
    PARTITIONS_NAME,
    invoice_partitions,
    sibling_key,
    tagged_partitions,
)
from cc_perf_dagster.checks import INVOICE_ASSET, evaluate_checks
from cc_perf_dagster.core.dedupe import Candidate, Superseded, book_once, candidate, same_number_note
from cc_perf_dagster.core.performance import summarize, to_markdown
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.resources import IO_MANAGER_KEY, ExtractionSettings, InvoiceStorage

INVOICE_KEY = AssetKey(INVOICE_ASSET)
PAGE = 1000
FAILED_RUNS_SCANNED = 500
# Figures copied from each invoice's materialization metadata.
FIGURES = (
    "processing_time_s",
    "cpu_time_s",
    "pages",
    "peak_rss_mb",
    "cache_hits",
    "line_items",
    "invoice_number",
    "consistency_score",
    "totals_reconcile",
)


@asset(
    deps=[INVOICE_KEY],
    io_manager_key=IO_MANAGER_KEY,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "markdown"},
    description=(
        "Performance overview of every current invoice: p50/p95 processing time, pages/s, peak memory, "
        "cache hit rate, failures, checks that did not pass, slowest invoices. Refreshed after invoices "
        "are materialized; the numbers are plotted on this asset's Plots tab."
    ),
)
def performance_overview(
    context: AssetExecutionContext, cc_perf_settings: ExtractionSettings, cc_perf_storage: InvoiceStorage
) -> dict[str, Any]:
    """Summarize the latest materialization of every registered invoice partition."""
    summary = collect_overview(
        context.instance,
        cc_perf_settings,
        cc_perf_storage.registry(),
        invoice_key=sibling_key(context.asset_key, INVOICE_ASSET),
    )
    overall = summary["overall"]
    context.add_output_metadata(
        {
            **{k: v for k, v in overall.items() if isinstance(v, (int, float))},
            "duplicate_invoice_numbers": len({d["invoice_number"] for d in summary["duplicates"]}),
            "overview": MetadataValue.md(to_markdown(summary)),
            "slowest": MetadataValue.json(
                [{k: r[k] for k in ("key", "processing_time_s", "pages")} for r in summary["slowest"]]
            ),
        }
    )
    context.log.info(
        f"performance overview: {overall['invoices']} invoices, {overall['failures']} failing, "
        f"{overall['failed_checks']} check(s) not passing"
    )
    return summary


def collect_overview(
    instance: DagsterInstance,
    settings: ExtractionSettings,
    registry: FileRegistry | None = None,
    *,
    invoice_key: AssetKey = INVOICE_KEY,
) -> dict[str, Any]:
    """The summary of the invoice partitions registered on ``instance`` (``registry``: their files).

    ``invoice_key`` is the invoice asset's key (prefixed when the definitions were built with a key prefix).
    """
    order = instance.get_dynamic_partitions(PARTITIONS_NAME)
    latest = _latest_materializations(instance, set(order), invoice_key)
    invoices = []
    for key, record in latest.items():
        metadata = record.asset_materialization.metadata
        row = {name: metadata[name].value for name in FIGURES if name in metadata}
        if {"processing_time_s", "pages", "peak_rss_mb"} <= row.keys():
            invoices.append({"key": key, **row})
    failures = _failures(instance, order, invoice_key)
    notes, superseded = _same_numbers(invoices, {f["key"] for f in failures}, registry)
    for row in invoices:
        row["same_invoice_number"] = notes.get(row["key"])
    return summarize(
        invoices,
        failures=failures,
        failed_checks=_failed_checks(invoices, settings),
        duplicates=[s.to_dict() for s in superseded],
    )


def _same_numbers(
    invoices: list[dict[str, Any]], failed: set[str], registry: FileRegistry | None
) -> tuple[dict[str, str], list[Superseded]]:
    """Per partition, what ``unique_invoice_number`` says of it now; and the partitions not booked for it.

    Partitions whose latest attempt failed are not booked at all, so they take no part.
    """
    candidates = []
    for row in invoices:
        entry = registry.get(row["key"]) if registry is not None else None
        if row["key"] not in failed and row.get("invoice_number"):
            number = str(row["invoice_number"])
            candidates.append(candidate(entry, number) if entry else Candidate(row["key"], row["key"], number))
    notes = {c.key: same_number_note(c, candidates) for c in candidates}
    return {k: v for k, v in notes.items() if v}, book_once(candidates)[1]


def _latest_materializations(instance: DagsterInstance, keys: set[str], invoice_key: AssetKey) -> dict[str, Any]:
    """Each partition's newest materialization record."""
    found: dict[str, Any] = {}
    cursor = None
    while True:
        result = instance.fetch_materializations(AssetRecordsFilter(asset_key=invoice_key), limit=PAGE, cursor=cursor)
        for record in result.records:  # newest first
            if record.partition_key in keys and record.partition_key not in found:
                found[record.partition_key] = record
        if not result.has_more or len(found) == len(keys):
            return found
        cursor = result.cursor


def _failures(instance: DagsterInstance, order: list[str], invoice_key: AssetKey) -> list[dict[str, Any]]:
    """Partitions whose latest attempt failed (Dagster's partition status), with the run and reason."""
    if not order:
        return []
    statuses = instance.get_status_by_partition(invoice_key, order, invoice_partitions) or {}
    failed = [key for key, status in statuses.items() if status == AssetPartitionStatus.FAILED]
    if not failed:
        return []
    position = {key: index for index, key in enumerate(order)}
    runs = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE]), limit=FAILED_RUNS_SCANNED)
    out = []
    for key in failed:
        run = next((r for r in runs if key in tagged_partitions(r.tags, order, position)), None)
        out.append(
            {
                "key": key,
                "run_id": run.run_id if run else "",
                "reason": _reason(instance, run.run_id, key) if run else "",
            }
        )
    return out


def _reason(instance: DagsterInstance, run_id: str, key: str) -> str:
    """The failure line that names the partition or its file, else the first failure line."""
    lines = []
    for event in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        data = event.dagster_event.step_failure_data
        text = (
            data.user_failure_data.description if data.user_failure_data else data.error.message if data.error else ""
        )
        lines += [line.strip() for line in (text or "").splitlines() if line.strip()]
    return next((line for line in lines if line.startswith(key)), lines[0] if lines else "")


def _failed_checks(invoices: list[dict[str, Any]], settings: ExtractionSettings) -> list[dict[str, Any]]:
    """The invoice checks, re-applied per partition to each latest materialization, that fail.

    Each partition's stored check results say the same; the rules over the figures the overview
    has already read answer for every partition in one pass, without reading the check records.
    """
    metrics = {
        row["key"]: {
            "consistency_score": row.get("consistency_score", 1.0),
            "totals_reconcile": _reconciled(row.get("totals_reconcile")),
            "processing_time_s": row["processing_time_s"],
            "peak_rss_mb": row["peak_rss_mb"],
            "same_invoice_number": row.get("same_invoice_number"),
        }
        for row in invoices
    }
    if not metrics:
        return []
    results = evaluate_checks(
        metrics,
        min_consistency=settings.min_consistency,
        time_budget_s=settings.time_budget_s,
        memory_budget_mb=settings.memory_budget_mb,
    )
    return [
        {
            "check": result.check_name,
            "severity": result.severity.value,
            "partitions": sorted(result.metadata["failing"].value),
            "description": result.description or "",
        }
        for result in results
        if not result.passed
    ]


def _reconciled(value: Any) -> bool | None:
    """``totals_reconcile`` as stored in metadata (the text "True", "False" or "None")."""
    return {"True": True, "False": False}.get(str(value))
