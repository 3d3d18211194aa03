"""Asset checks of the invoice asset, evaluated inside its merge step (no extra step process).

* ``consistency``: the consistency score is at least the minimum (default 0.9). ERROR.
* ``totals_reconcile``: the totals block adds up, where the document prints one. ERROR.
  A partition that prints no totals block passes, and says so (``totals_printed: false``):
  its completeness rests on the page counts alone (see :mod:`cc_perf_dagster.core.bookability`).
* ``processing_time``: the invoice was processed within the time budget (default 60 s). WARN.
* ``peak_memory``: the step processes stayed within the memory budget (default 800 MB). WARN.
* ``unique_invoice_number``: no other registered partition carries the same invoice number. WARN:
  the sheet books the number once anyway (the newer file, :mod:`cc_perf_dagster.core.dedupe`);
  the result names the other partitions and files and which one is booked.

An invoice that is not bookable (no line items, consistency below the minimum, totals that do
not add up, pages not read) fails its step before the checks run, so what these checks see has
been booked.

**One result per check and partition**, also in a run covering many partitions. The specs are
partitioned (``AssetCheckSpec(partitions_def=...)``, a preview API in Dagster 1.13), so a run
plans each check once per partition it covers. Dagster's ``AssetCheckResult`` cannot say which
partition it is about: it takes the step's partition, which a range step does not have, and its
one result would leave every planned partition in progress. So the merge step yields one
``AssetCheckEvaluation`` per check and partition, pointing at that partition's materialization
of the run (:func:`check_events`): the check's *Partitions* tab in the UI shows each invoice's own
result. Each ``invoice`` materialization also carries its results as a ``checks`` table
(:func:`checks_table`), because the asset's partition page in Dagster 1.13.27 shows a
partition's materialization metadata but not its check results.

:func:`evaluate_checks` applies the same rules across partitions at once: the overview's
"checks not passing" line.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetRecordsFilter,
    MetadataValue,
    OpExecutionContext,
    Output,
    PartitionsDefinition,
    PreviewWarning,
    TableColumn,
    TableRecord,
    TableSchema,
)

from cc_perf_dagster._dagster_compat.check_targets import check_evaluation_events, materialization_target

INVOICE_ASSET = "invoice"

# Name and description of each check, in the order results are reported.
CHECKS: dict[str, str] = {
    "consistency": "Share of line items whose arithmetic holds.",
    "totals_reconcile": "The printed totals block adds up.",
    "processing_time": "Processed within the time budget.",
    "peak_memory": "Step memory within the memory budget.",
    "unique_invoice_number": "No other partition carries the same invoice number (else only the newer file is booked).",
}
# Partitioned check specs are a preview API in Dagster 1.13; used on purpose (one result per
# invoice), so its notice is not repeated on every load. Only these specs are quieted.
_ON_PURPOSE = r"Specifying a partitions_def on an AssetCheckSpec.*"


def check_specs(partitions_def: PartitionsDefinition) -> list[AssetCheckSpec]:
    """The invoice asset's check specs, one result per partition of ``partitions_def``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PreviewWarning, message=_ON_PURPOSE)
        return [
            AssetCheckSpec(name, asset=INVOICE_ASSET, description=description, partitions_def=partitions_def)
            for name, description in CHECKS.items()
        ]


def check_output_names() -> list[str]:
    """Names of the graph outputs that carry the check results (Dagster's naming)."""
    return [f"{INVOICE_ASSET}_{name}" for name in CHECKS]


@dataclass(frozen=True)
class CheckRule:
    """One check: its name and severity, the figure it reads, the target in words, and the test."""

    name: str
    severity: AssetCheckSeverity
    figure: str
    target: str
    passes: Callable[[Mapping[str, Any]], bool]


def check_rules(*, min_consistency: float, time_budget_s: float, memory_budget_mb: float) -> list[CheckRule]:
    """The rules of :data:`CHECKS`, in their order, with the caller's thresholds."""
    error, warn = AssetCheckSeverity.ERROR, AssetCheckSeverity.WARN
    return [
        CheckRule(
            "consistency",
            error,
            "consistency_score",
            f"at least {min_consistency}",
            lambda m: m["consistency_score"] >= min_consistency,
        ),
        CheckRule(
            "totals_reconcile",
            error,
            "totals_reconcile",
            "the totals block adds up (or there is none)",
            lambda m: m["totals_reconcile"] is not False,
        ),
        CheckRule(
            "processing_time",
            warn,
            "processing_time_s",
            f"at most {time_budget_s} s",
            lambda m: m["processing_time_s"] <= time_budget_s,
        ),
        CheckRule(
            "peak_memory",
            warn,
            "peak_rss_mb",
            f"at most {memory_budget_mb} MB",
            lambda m: m["peak_rss_mb"] <= memory_budget_mb,
        ),
        CheckRule(
            "unique_invoice_number",
            warn,
            "same_invoice_number",
            "no other partition carries the same invoice number",
            lambda m: m.get("same_invoice_number") is None,
        ),
    ]


@dataclass(frozen=True)
class PartitionCheck:
    """One check's result for one partition, before it is tied to the partition's materialization."""

    partition: str
    name: str
    passed: bool
    severity: AssetCheckSeverity
    value: Any
    target: str
    description: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_evaluation(self, asset_key: AssetKey, target: Any | None) -> AssetCheckEvaluation:
        """The evaluation Dagster stores for this partition (``target``: the materialization checked)."""
        return AssetCheckEvaluation(
            asset_key=asset_key,
            check_name=self.name,
            passed=self.passed,
            metadata=dict(self.metadata),
            target_materialization_data=target,
            severity=self.severity,
            description=self.description,
            blocking=False,
            partition=self.partition,
        )


def evaluate_partitions(
    metrics: Mapping[str, Mapping[str, Any]],
    *,
    min_consistency: float,
    time_budget_s: float,
    memory_budget_mb: float,
) -> dict[str, list[PartitionCheck]]:
    """Every check for every partition: per partition key, one result per check in :data:`CHECKS` order.

    Args:
        metrics: Per partition key, its figures (``consistency_score``, ``totals_reconcile``,
            ``processing_time_s``, ``peak_rss_mb``, and optionally ``same_invoice_number``: what
            :func:`cc_perf_dagster.core.dedupe.same_number_note` says, ``None`` when unique).
        min_consistency: Lowest passing consistency score.
        time_budget_s: Processing-time budget per invoice.
        memory_budget_mb: Peak-memory budget.
    """
    rules = check_rules(min_consistency=min_consistency, time_budget_s=time_budget_s, memory_budget_mb=memory_budget_mb)
    return {key: [_evaluate(rule, key, m) for rule in rules] for key, m in sorted(metrics.items())}


def _evaluate(rule: CheckRule, key: str, m: Mapping[str, Any]) -> PartitionCheck:
    passed = rule.passes(m)
    value = m.get(rule.figure)
    metadata: dict[str, Any] = {"target": rule.target}
    if value is not None:
        metadata[rule.figure] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
    if rule.name == "totals_reconcile":
        metadata["totals_printed"] = value is not None
        if value is None:
            metadata["completeness"] = "no totals block printed: completeness rests on page counts"
    found = rule.target if value is None else f"{rule.figure} {value} ({rule.target})"
    if rule.name == "totals_reconcile" and value is None:
        found = metadata["completeness"]
    description = found if passed else f"fails: {found}"
    return PartitionCheck(key, rule.name, passed, rule.severity, value, rule.target, description, metadata)


CHECKS_TABLE_SCHEMA = TableSchema(
    columns=[
        TableColumn("check", "string"),
        TableColumn("passed", "bool"),
        TableColumn("severity", "string"),
        TableColumn("value", "string"),
        TableColumn("target", "string"),
    ]
)


def checks_table(results: Sequence[PartitionCheck]) -> MetadataValue:
    """A partition's check results as a table (``checks`` on its materialization, shown on its page)."""
    return MetadataValue.table(
        records=[
            TableRecord(
                {
                    "check": r.name,
                    "passed": r.passed,
                    "severity": r.severity.value,
                    "value": "none" if r.value is None else str(r.value),
                    "target": r.target,
                }
            )
            for r in results
        ],
        schema=CHECKS_TABLE_SCHEMA,
    )


def check_events(
    context: OpExecutionContext, asset_key: AssetKey, results: Mapping[str, Sequence[PartitionCheck]]
) -> Iterator[Any]:
    """What the merge step yields for its checks, after the asset's output.

    Per check an (empty) output, then one evaluation per check and partition, each pointing at
    that partition's materialization in this run. Checks the run did not select are left out
    (as Dagster leaves out their outputs).
    """
    selected = {k.name for k in context.selected_asset_check_keys if k.asset_key == asset_key}
    for name, output_name in zip(CHECKS, check_output_names(), strict=True):
        if name in selected:
            yield Output(None, output_name=output_name)
    targets = run_materializations(context, asset_key, list(results))
    evaluations = [
        result.to_evaluation(asset_key, targets.get(key))
        for key, found in results.items()
        for result in found
        if result.name in selected
    ]
    yield from check_evaluation_events(context, evaluations)


def run_materializations(context: OpExecutionContext, asset_key: AssetKey, keys: Sequence[str]) -> dict[str, Any]:
    """Per partition among ``keys``, its materialization recorded by this run (newest first, paged).

    What the UI needs to count a partition's check result as current: the check's target is the
    partition's latest materialization. Usually one page; runs writing the same partitions at the
    same time only make it read further.
    """
    wanted, found, cursor = set(keys), {}, None
    run_id = context.run.run_id
    while wanted - found.keys():
        page = context.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=asset_key, asset_partitions=sorted(wanted - found.keys())),
            limit=max(len(wanted), 1),
            cursor=cursor,
        )
        for record in page.records:
            if record.run_id == run_id and record.partition_key in wanted and record.partition_key not in found:
                found[record.partition_key] = materialization_target(record.storage_id, record.run_id, record.timestamp)
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def evaluate_checks(
    metrics: Mapping[str, Mapping[str, Any]],
    *,
    min_consistency: float,
    time_budget_s: float,
    memory_budget_mb: float,
) -> list[AssetCheckResult]:
    """The rules over many partitions at once: per check, one result naming the partitions that fail.

    What the overview reports as "checks not passing"; the invoice asset's own results are per
    partition (:func:`evaluate_partitions`).

    Args:
        metrics: Per partition key, its figures (as :func:`evaluate_partitions` takes them).
        min_consistency: Lowest passing consistency score.
        time_budget_s: Processing-time budget per invoice.
        memory_budget_mb: Peak-memory budget.
    """
    per_partition = evaluate_partitions(
        metrics, min_consistency=min_consistency, time_budget_s=time_budget_s, memory_budget_mb=memory_budget_mb
    )
    rules = check_rules(min_consistency=min_consistency, time_budget_s=time_budget_s, memory_budget_mb=memory_budget_mb)
    results = []
    for index, rule in enumerate(rules):
        mine = [found[index] for found in per_partition.values()]
        failing = {r.partition: r.value for r in mine if not r.passed}
        numeric = [r.value for r in mine if isinstance(r.value, (int, float)) and not isinstance(r.value, bool)]
        metadata: dict[str, Any] = {"target": rule.target, "partitions": len(mine), "failing_partitions": len(failing)}
        if numeric:
            metadata["worst"] = max(numeric) if rule.name in ("processing_time", "peak_memory") else min(numeric)
        if failing:
            metadata["failing"] = {key: str(value) for key, value in sorted(failing.items())}
        unprinted = sorted(r.partition for r in mine if rule.name == "totals_reconcile" and r.value is None)
        if unprinted:
            metadata["totals_not_printed"] = unprinted
            metadata["completeness"] = (
                f"{len(unprinted)} partition(s) print no totals block: their completeness rests on page counts"
            )
        description = (
            f"all {len(mine)} partition(s): {rule.target}"
            if not failing
            else f"{len(failing)} of {len(mine)} partition(s) fail ({rule.target}): " + ", ".join(sorted(failing))
        )
        results.append(
            AssetCheckResult(
                check_name=rule.name,
                passed=not failing,
                severity=rule.severity,
                metadata=metadata,
                description=description,
            )
        )
    return results
