"""Asset checks of the invoice asset, evaluated inside its merge step (no extra step process).

* ``consistency``: the consistency score is at least the minimum (default 0.9). ERROR.
* ``totals_reconcile``: the totals block adds up, where the document prints one. ERROR.
  Its metadata names the partitions that print no totals block (``totals_not_printed``):
  their completeness rests on the page counts alone (see :mod:`cc_perf_dagster.core.bookability`).
* ``processing_time``: the invoice was processed within the time budget (default 60 s). WARN.
* ``peak_memory``: the step processes stayed within the memory budget (default 800 MB). WARN.
* ``unique_invoice_number``: no other registered partition carries the same invoice number. WARN:
  the sheet books the number once anyway (the newer file, :mod:`cc_perf_dagster.core.dedupe`);
  ``failing`` names, per partition, the other partitions and files and which one is booked.

An invoice that is not bookable (no line items, consistency below the minimum, totals that do
not add up, pages not read) fails its step before the checks run, so what these checks see has
been booked.

In a run covering several partitions, each check reports once for the run: it passes only if
every partition passes, and its metadata names the partitions that did not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec

INVOICE_ASSET = "invoice"

CHECK_SPECS = [
    AssetCheckSpec("consistency", asset=INVOICE_ASSET, description="Share of line items whose arithmetic holds."),
    AssetCheckSpec("totals_reconcile", asset=INVOICE_ASSET, description="The printed totals block adds up."),
    AssetCheckSpec("processing_time", asset=INVOICE_ASSET, description="Processed within the time budget."),
    AssetCheckSpec("peak_memory", asset=INVOICE_ASSET, description="Step memory within the memory budget."),
    AssetCheckSpec(
        "unique_invoice_number",
        asset=INVOICE_ASSET,
        description="No other partition carries the same invoice number (else only the newer file is booked).",
    ),
]


def check_output_names() -> list[str]:
    """Names of the graph outputs that carry the check results (Dagster's naming)."""
    return [f"{INVOICE_ASSET}_{spec.name}" for spec in CHECK_SPECS]


def evaluate_checks(
    metrics: Mapping[str, Mapping[str, Any]],
    *,
    min_consistency: float,
    time_budget_s: float,
    memory_budget_mb: float,
) -> list[AssetCheckResult]:
    """The check results for the partitions of one run.

    Args:
        metrics: Per partition key, its figures (``consistency_score``, ``totals_reconcile``,
            ``processing_time_s``, ``peak_rss_mb``, and optionally ``same_invoice_number``: what
            :func:`cc_perf_dagster.core.dedupe.same_number_note` says, ``None`` when unique).
        min_consistency: Lowest passing consistency score.
        time_budget_s: Processing-time budget per invoice.
        memory_budget_mb: Peak-memory budget.
    """
    rules = [
        (
            "consistency",
            AssetCheckSeverity.ERROR,
            lambda m: m["consistency_score"] >= min_consistency,
            "consistency_score",
            f"at least {min_consistency}",
        ),
        (
            "totals_reconcile",
            AssetCheckSeverity.ERROR,
            lambda m: m["totals_reconcile"] is not False,
            "totals_reconcile",
            "the totals block adds up (or there is none)",
        ),
        (
            "processing_time",
            AssetCheckSeverity.WARN,
            lambda m: m["processing_time_s"] <= time_budget_s,
            "processing_time_s",
            f"at most {time_budget_s} s",
        ),
        (
            "peak_memory",
            AssetCheckSeverity.WARN,
            lambda m: m["peak_rss_mb"] <= memory_budget_mb,
            "peak_rss_mb",
            f"at most {memory_budget_mb} MB",
        ),
        (
            "unique_invoice_number",
            AssetCheckSeverity.WARN,
            lambda m: m.get("same_invoice_number") is None,
            "same_invoice_number",
            "no other partition carries the same invoice number",
        ),
    ]
    results = []
    for name, severity, passes, figure, target in rules:
        failing = {key: m.get(figure) for key, m in metrics.items() if not passes(m)}
        values = [m.get(figure) for m in metrics.values() if m.get(figure) is not None]
        numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        metadata: dict[str, Any] = {"target": target, "partitions": len(metrics), "failing_partitions": len(failing)}
        if numeric:
            metadata["worst"] = max(numeric) if name in ("processing_time", "peak_memory") else min(numeric)
        if failing:
            metadata["failing"] = {key: str(value) for key, value in sorted(failing.items())}
        unprinted = sorted(key for key, m in metrics.items() if m.get("totals_reconcile", False) is None)
        if name == "totals_reconcile" and unprinted:
            metadata["totals_not_printed"] = unprinted
            metadata["completeness"] = (
                f"{len(unprinted)} partition(s) print no totals block: their completeness rests on page counts"
            )
        description = (
            f"all {len(metrics)} partition(s): {target}"
            if not failing
            else f"{len(failing)} of {len(metrics)} partition(s) fail ({target}): " + ", ".join(sorted(failing))
        )
        results.append(
            AssetCheckResult(
                check_name=name, passed=not failing, severity=severity, metadata=metadata, description=description
            )
        )
    return results
