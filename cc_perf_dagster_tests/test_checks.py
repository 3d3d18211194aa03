"""The invoice asset's checks: each passes at its threshold and fails past it, per partition of a run."""

from __future__ import annotations

import pytest
from dagster import AssetCheckSeverity

from cc_perf_dagster.checks import CHECK_SPECS, check_output_names, evaluate_checks

BUDGETS = {"min_consistency": 0.9, "time_budget_s": 60.0, "memory_budget_mb": 800.0}


def figures(**overrides):
    good = {"consistency_score": 1.0, "totals_reconcile": True, "processing_time_s": 2.0, "peak_rss_mb": 100.0}
    return {**good, **overrides}


def evaluate(metrics):
    return {result.check_name: result for result in evaluate_checks(metrics, **BUDGETS)}


def test_one_result_per_declared_check_in_order():
    results = evaluate_checks({"A": figures()}, **BUDGETS)
    assert [r.check_name for r in results] == [spec.name for spec in CHECK_SPECS]
    assert all(r.passed and r.metadata["failing_partitions"].value == 0 for r in results)
    assert check_output_names() == [f"invoice_{spec.name}" for spec in CHECK_SPECS]


@pytest.mark.parametrize(
    ("check", "passing", "failing", "severity"),
    [
        ("consistency", {"consistency_score": 0.9}, {"consistency_score": 0.89}, AssetCheckSeverity.ERROR),
        ("processing_time", {"processing_time_s": 60.0}, {"processing_time_s": 60.01}, AssetCheckSeverity.WARN),
        ("peak_memory", {"peak_rss_mb": 800.0}, {"peak_rss_mb": 800.5}, AssetCheckSeverity.WARN),
        ("totals_reconcile", {"totals_reconcile": None}, {"totals_reconcile": False}, AssetCheckSeverity.ERROR),
        (
            "unique_invoice_number",
            {"same_invoice_number": None},
            {"same_invoice_number": "CS1 is also B.pdf"},
            AssetCheckSeverity.WARN,
        ),
    ],
)
def test_threshold_pass_and_fail(check, passing, failing, severity):
    assert evaluate({"A": figures(**passing)})[check].passed
    result = evaluate({"A": figures(**failing)})[check]
    assert not result.passed and result.severity == severity
    assert result.metadata["failing"].value == {"A": str(next(iter(failing.values())))}
    assert result.description.startswith("1 of 1 partition(s) fail")


def test_other_checks_are_unaffected_by_one_failure():
    results = evaluate({"A": figures(peak_rss_mb=5000.0)})
    assert [name for name, r in results.items() if not r.passed] == ["peak_memory"]


class TestSeveralPartitions:
    def test_a_check_fails_for_the_run_and_names_only_the_failing_partitions(self):
        result = evaluate({"A": figures(consistency_score=0.5), "B": figures(), "C": figures(consistency_score=0.7)})[
            "consistency"
        ]
        assert not result.passed
        assert result.metadata["failing"].value == {"A": "0.5", "C": "0.7"}
        assert (result.metadata["partitions"].value, result.metadata["failing_partitions"].value) == (3, 2)
        assert result.metadata["worst"].value == 0.5
        assert result.description == "2 of 3 partition(s) fail (at least 0.9): A, C"

    def test_worst_is_the_largest_time_and_memory(self):
        results = evaluate({"A": figures(processing_time_s=3.0, peak_rss_mb=90.0), "B": figures(peak_rss_mb=120.0)})
        assert results["processing_time"].metadata["worst"].value == 3.0
        assert results["peak_memory"].metadata["worst"].value == 120.0

    def test_partitions_without_a_totals_block_are_named_but_pass(self):
        result = evaluate({"A": figures(totals_reconcile=None), "B": figures()})["totals_reconcile"]
        assert result.passed
        assert result.metadata["totals_not_printed"].value == ["A"]
        assert "1 partition(s) print no totals block" in result.metadata["completeness"].value


def test_budgets_are_the_callers():
    strict = evaluate_checks({"A": figures()}, min_consistency=1.01, time_budget_s=1.0, memory_budget_mb=50.0)
    assert {r.check_name for r in strict if not r.passed} == {"consistency", "processing_time", "peak_memory"}
