"""The performance overview: its figures match the materializations it summarizes."""

from __future__ import annotations

import dataclasses
import json
import random
import statistics

import pytest
from dagster import AssetKey

from cc_perf_dagster.core.performance import percentile, summarize, to_markdown
from cc_perf_dagster.definitions import SUMMARY_JOB, build_definitions
from cc_perf_dagster.resources import ExtractionSettings
from cc_perf_dagster_tests.conftest import TEST_INVOICES
from cc_perf_dagster_tests.fixtures.generate import write_document
from cc_perf_dagster_tests.fixtures.model import Misprint
from cc_perf_dagster_tests.fixtures.specs import ci004731586
from cc_perf_dagster_tests.helpers import Pipeline


@pytest.mark.parametrize("size", [1, 2, 5, 20, 101])
def test_percentile_agrees_with_the_standard_library(size):
    values = [random.Random(size).uniform(0.1, 30) for _ in range(size)]
    if size == 1:
        assert percentile(values, 50) == percentile(values, 95) == values[0]
        return
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    assert percentile(values, 50) == pytest.approx(statistics.median(values))
    assert percentile(values, 95) == pytest.approx(cuts[18])
    assert percentile(values, 0) == min(values) and percentile(values, 100) == max(values)


def test_percentile_refuses_nothing_and_out_of_range():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_weights_the_hit_rate_by_pages_and_orders_the_slowest_first():
    rows = [
        {"key": "a", "processing_time_s": 2.0, "pages": 10, "peak_rss_mb": 90.0, "cache_hits": 10},
        {"key": "b", "processing_time_s": 8.0, "pages": 30, "peak_rss_mb": 140.0, "cache_hits": 0},
        {"key": "c", "processing_time_s": 4.0, "pages": 20, "peak_rss_mb": 100.0, "cache_hits": 5},
    ]
    summary = summarize(rows, failures=[{"key": "z", "run_id": "r1", "reason": "no text layer"}], slowest=2)
    overall = summary["overall"]
    assert overall["invoices"] == 3 and overall["pages"] == 60 and overall["failures"] == 1
    assert overall["cache_hit_rate"] == round(15 / 60, 4)
    assert overall["pages_per_s"] == round(60 / 14, 2)
    assert overall["p50_processing_time_s"] == 4.0 and overall["peak_rss_mb"] == 140.0
    assert [r["key"] for r in summary["slowest"]] == ["b", "c"]
    text = to_markdown(summary)
    assert "| z | r1 | no text layer |" in text and text.index("| b |") < text.index("| a |")


def test_an_empty_summary_has_counts_and_no_percentiles():
    summary = summarize([])
    assert summary["overall"] == {"invoices": 0, "pages": 0, "line_items": 0, "failures": 0, "failed_checks": 0}
    assert "## Overall" in to_markdown(summary)


@pytest.mark.slow
def test_the_overview_matches_the_latest_materialization_of_every_partition(tmp_path):
    pipeline = Pipeline(tmp_path / "storage")
    # A budget every run misses: a check that fails without timing anything.
    pipeline.defs = build_definitions(storage_root=str(pipeline.root), settings=ExtractionSettings(memory_budget_mb=1))
    good = pipeline.register(*(TEST_INVOICES / n for n in ("CI004731586.pdf", "CI004790233.pdf", "CS003702114.pdf")))
    doctored_pdf = tmp_path / "doctored.pdf"
    spec = dataclasses.replace(ci004731586(), misprints=(Misprint(0, "extended_price", "99.99"),))
    write_document(doctored_pdf, spec, write_truth=False)
    (doctored,) = pipeline.register(doctored_pdf)
    (bad,) = pipeline.register(TEST_INVOICES / "bad" / "scanned.pdf")

    latest = {}
    for keys in (good, [good[0]]):  # good[0] twice: its second run is all cache hits
        result = pipeline.run(keys)
        assert result.success
        latest.update({key: pipeline.materialization(result, key) for key in keys})
    assert not pipeline.run([bad]).success
    assert not pipeline.run([doctored]).success  # its totals do not add up: not booked
    assert latest[good[0]]["cache_hit_rate"] == 1.0

    result = pipeline.defs.resolve_job_def(SUMMARY_JOB).execute_in_process(instance=pipeline.instance)
    assert result.success
    (event,) = [
        e.event_specific_data.materialization
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key == AssetKey("performance_overview")
    ]
    shown = {k: v.value for k, v in event.metadata.items()}
    times = [m["processing_time_s"] for m in latest.values()]
    pages = sum(m["pages"] for m in latest.values())
    assert shown["invoices"] == 3 and shown["pages"] == pages
    assert shown["p50_processing_time_s"] == pytest.approx(statistics.median(times), abs=1e-4)
    assert shown["p95_processing_time_s"] == pytest.approx(
        statistics.quantiles(times, n=20, method="inclusive")[18], abs=1e-4
    )
    assert shown["peak_rss_mb"] == pytest.approx(max(m["peak_rss_mb"] for m in latest.values()), abs=0.1)
    assert shown["cache_hit_rate"] == round(sum(m["cache_hits"] for m in latest.values()) / pages, 4)
    assert shown["pages_per_s"] == round(pages / sum(times), 2)
    assert shown["line_items"] == sum(m["line_items"] for m in latest.values())
    assert shown["failures"] == 2 and shown["failed_checks"] == 1

    stored = json.loads((pipeline.root / "assets/performance_overview.json").read_text())
    reasons = {f["key"]: f["reason"] for f in stored["failures"]}
    assert sorted(reasons) == sorted([bad, doctored])
    assert "no text layer" in reasons[bad]
    assert reasons[
        doctored
    ] == "doctored.pdf: not bookable: the printed totals do not add up to the line items read; " + (
        "1 line does not multiply out (Extended is not quantity x Your Price: read or printed wrong): DA1067"
    )
    (check,) = stored["failed_checks"]
    assert check["check"] == "peak_memory" and check["partitions"] == sorted(good)
    assert stored["slowest"][0]["processing_time_s"] == max(times)
    markdown = shown["overview"]
    assert f"| {bad} |" in markdown and "## Checks that did not pass" in markdown
