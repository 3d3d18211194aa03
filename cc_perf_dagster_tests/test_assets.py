"""The invoice pipeline through Dagster, in process: materializations, metadata, checks, ranges."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest
from dagster import AssetKey

from cc_perf_dagster.checks import CHECKS
from cc_perf_dagster.definitions import EXTRACT_JOB, SUMMARY_JOB, build_definitions
from cc_perf_dagster_tests.conftest import TEST_INVOICES, expected_for
from cc_perf_dagster_tests.fixtures.generate import write_document
from cc_perf_dagster_tests.fixtures.model import Misprint
from cc_perf_dagster_tests.fixtures.specs import ci004731586
from cc_perf_dagster_tests.helpers import Pipeline

NUMERIC_METADATA = (
    "processing_time_s", "cpu_time_s", "peak_rss_mb", "pages", "batches", "line_items", "billed_lines",
    "cache_hits", "cache_misses", "cache_hit_rate", "parallel_speedup", "pages_per_s", "consistency_score",
)  # fmt: skip


@pytest.fixture
def pipeline(tmp_path):
    return Pipeline(tmp_path / "storage")


def test_one_invoice_materializes_with_metadata_checks_and_files(pipeline):
    pdf = TEST_INVOICES / "CS003837319.pdf"
    (key,) = pipeline.register(pdf)
    result = pipeline.run([key])
    assert result.success
    metadata = pipeline.materialization(result, key)
    for name in NUMERIC_METADATA:
        assert isinstance(metadata[name], (int, float)), name
    assert metadata["pages"] == 15 and metadata["line_items"] == 135 and metadata["invoice_number"] == "CS003837319"
    assert metadata["cache_misses"] == 15 and metadata["cache_hit_rate"] == 0.0
    assert metadata["batches"] == 1  # 15 pages on 2 cores: fanning out would not pay
    assert metadata["processing_time_s"] > 0 and metadata["cpu_time_s"] > 0 and metadata["peak_rss_mb"] > 20
    assert metadata["pages_per_s"] == pytest.approx(15 / metadata["processing_time_s"], rel=0.01)
    assert len(metadata["preview"].records) == 10
    expected = expected_for(pdf)
    assert metadata["invoice_date"] == expected["invoice_date"]
    for name, amount in expected["totals"].items():  # what the buyer compares with the paper
        assert metadata[name] == float(amount), name  # plotted
        assert metadata[f"{name}_printed"] == f"{float(amount):.2f}", name  # read as money: 2770.00
    assert metadata["dagster/partition_row_count"] == 135
    assert metadata["dagster/uri"] == (pipeline.root / "assets/invoice" / f"{key}.json").resolve().as_uri()
    checks = pipeline.checks(result)
    assert set(checks) == {"consistency", "totals_reconcile", "processing_time", "peak_memory", "unique_invoice_number"}
    assert all(c.passed for c in checks.values())

    stored = json.loads((pipeline.root / "assets/invoice" / f"{key}.json").read_text())
    expected = expected_for(pdf)
    assert stored["line_items"] == expected["line_items"] and stored["partition_key"] == key
    rows = list(csv.reader(io.StringIO((pipeline.root / "assets/booking_rows" / f"{key}.csv").read_text())))
    assert len(rows) - 1 == sum(1 for i in expected["line_items"] if i["quantity"] > 0)
    assert not list(pipeline.root.rglob("*.pkl")) and not list(pipeline.root.rglob("*.pickle"))


def test_second_materialization_is_all_cache_hits_with_identical_output(pipeline):
    (key,) = pipeline.register(TEST_INVOICES / "CI004848705.pdf")
    first = pipeline.run([key])
    stored = (pipeline.root / "assets/invoice" / f"{key}.json").read_text()
    second = pipeline.run([key])
    assert first.success and second.success
    metadata = pipeline.materialization(second, key)
    assert metadata["cache_hit_rate"] == 1.0 and metadata["cache_misses"] == 0 and metadata["batches"] == 0
    assert (pipeline.root / "assets/invoice" / f"{key}.json").read_text() == stored


def test_range_run_writes_metadata_and_files_per_partition(pipeline):
    keys = pipeline.register(*(TEST_INVOICES / n for n in ("CI004731586.pdf", "CI004790233.pdf", "CS003702114.pdf")))
    result = pipeline.run(keys)
    assert result.success
    for key in keys:
        metadata = pipeline.materialization(result, key)
        assert metadata["invoice_number"] == key
        assert metadata["consistency_score"] == 1.0
        assert (pipeline.root / "assets/invoice" / f"{key}.json").exists()
        rows = pipeline.materialization(result, key, "booking_rows")
        assert rows["rows"] > 0 and rows["invoice_date"] == metadata["invoice_date"] != ""
        assert rows["dagster/partition_row_count"] == rows["rows"]
        assert [c.name for c in rows["dagster/column_schema"].columns][-2:] == ["Price", "Qty"]
        assert rows["dagster/uri"].endswith(f"/assets/booking_rows/{key}.csv")
        assert rows["preview"].records[0].data["Invoice#"] == key
    for key in keys:  # each partition's own results, as the instance keeps them
        stored = pipeline.stored_checks(key)
        assert set(stored) == set(CHECKS)
        assert all(r.run_id == result.run_id and r.status.value == "SUCCEEDED" for r in stored.values())
    totals = pipeline.checks(result, "CS003702114")["totals_reconcile"]  # prints no totals block: booked, said so
    assert totals.passed and totals.metadata["totals_printed"].value is False
    assert "completeness rests on page counts" in totals.metadata["completeness"].value
    assert pipeline.checks(result, "CI004731586")["totals_reconcile"].metadata["totals_printed"].value is True

    sheet = pipeline.defs.resolve_job_def(SUMMARY_JOB).execute_in_process(instance=pipeline.instance)
    assert sheet.success
    text = (pipeline.root / "assets/purchasing_sheet.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    standard = pipeline.materialization(sheet, None, "purchasing_sheet")
    assert standard["dagster/row_count"] == len(rows) - 1
    assert standard["dagster/uri"] == (pipeline.root / "assets/purchasing_sheet.csv").resolve().as_uri()
    assert rows[0] == ["Invoice Date", "Vendor", "Invoice#", "Description", "Price", "Qty"]
    assert {r[2] for r in rows[1:]} == set(keys)


def test_the_merge_step_writes_the_booking_rows_and_the_extract_job_leaves_them_out(pipeline):
    keys = pipeline.register(*(TEST_INVOICES / n for n in ("CI004731586.pdf", "CS003702114.pdf")))
    result = pipeline.run(keys)
    assert result.success
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert not any("booking" in step for step in steps), steps  # no step of its own
    rows = {e.step_key for e in result.get_asset_materialization_events() if e.asset_key == AssetKey("booking_rows")}
    assert rows == {"invoice.assemble_invoices"}
    graph = pipeline.defs.resolve_asset_graph()
    assert graph.get(AssetKey("booking_rows")).parent_keys == {AssetKey("invoice")}  # lineage as before
    assert graph.get(AssetKey("invoice")).parent_keys == {AssetKey("invoice_file")}

    (third,) = pipeline.register(TEST_INVOICES / "CS003837319.pdf")
    extract = pipeline.run([third], job=EXTRACT_JOB)
    assert extract.success
    assert {e.asset_key for e in extract.get_asset_materialization_events()} == {AssetKey("invoice")}
    assert set(pipeline.checks(extract)) == set(CHECKS)
    assert (pipeline.root / "assets/invoice" / f"{third}.json").exists()
    assert not (pipeline.root / "assets/booking_rows" / f"{third}.csv").exists()


def test_a_doctored_invoice_whose_totals_do_not_add_up_is_not_booked(pipeline, tmp_path):
    doctored = tmp_path / "CI004731586-doctored.pdf"
    spec = dataclasses.replace(ci004731586(), misprints=(Misprint(0, "extended_price", "99.99"),))
    write_document(doctored, spec, write_truth=False)
    (key,) = pipeline.register(doctored)
    result = pipeline.run([key])
    assert not result.success  # 33 of 34 lines hold (0.97), but the printed totals do not add up
    (failure,) = result.get_step_failure_events()
    assert failure.step_failure_data.user_failure_data.description == (
        "CI004731586-doctored.pdf: not bookable: the printed totals do not add up to the line items read; "
        "1 line does not multiply out (Extended is not quantity x Your Price: read or printed wrong): DA1067"
    )
    assert result.get_asset_materialization_events() == [] and pipeline.checks(result) == {}


def test_consistency_below_the_configured_minimum_is_not_booked(tmp_path):
    pipeline = Pipeline(tmp_path / "storage")
    from cc_perf_dagster.resources import ExtractionSettings

    pipeline.defs = build_definitions(
        storage_root=str(pipeline.root), settings=ExtractionSettings(min_consistency=0.99)
    )
    doctored = tmp_path / "doctored.pdf"
    spec = dataclasses.replace(ci004731586(), misprints=(Misprint(0, "extended_price", "99.99"),))
    write_document(doctored, spec, write_truth=False)
    (key,) = pipeline.register(doctored)
    result = pipeline.run([key])
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert (
        "consistency score 0.971 is below the minimum 0.99" in failure.step_failure_data.user_failure_data.description
    )


class TestEngines:
    def test_the_configured_engine_reads_and_its_results_are_cached_apart(self, tmp_path):
        from cc_perf_dagster.core.extract import document_key

        pipeline = Pipeline(tmp_path / "storage")
        (key,) = pipeline.register(TEST_INVOICES / "CI004848705.pdf")
        first = pipeline.run([key])
        assert pipeline.materialization(first, key)["text_engine"].startswith("pypdf-")
        pipeline.defs = build_definitions(storage_root=str(pipeline.root), engine="pdfium")
        second = pipeline.run([key])
        assert second.success
        metadata = pipeline.materialization(second, key)
        assert metadata["text_engine"].startswith("pdfium-")
        assert metadata["cache_hits"] == 0  # pypdf's cached document and pages are not pdfium's
        stored = json.loads((pipeline.root / "assets/invoice" / f"{key}.json").read_text())
        assert stored["line_items"] == expected_for(TEST_INVOICES / "CI004848705.pdf")["line_items"]
        from cc_perf_dagster.core.cache import PageCache

        sha256 = pipeline.registry.get(key).sha256
        cache = PageCache(pipeline.root / "cache")
        assert cache.get(document_key(sha256, "pdfium")) is not None
        assert cache.get(document_key(sha256, "pypdf")) is not None

    def test_cross_check_reports_no_difference_on_a_good_invoice(self, tmp_path):
        pipeline = Pipeline(tmp_path / "storage")
        pipeline.defs = build_definitions(storage_root=str(pipeline.root), cross_check_engines=True)
        (key,) = pipeline.register(TEST_INVOICES / "CS003702114.pdf")
        result = pipeline.run([key])
        assert result.success
        assert pipeline.materialization(result, key)["engine_differences"] == 0

    def test_cross_check_is_off_by_default(self, pipeline):
        (key,) = pipeline.register(TEST_INVOICES / "CS003702114.pdf")
        assert "engine_differences" not in pipeline.materialization(pipeline.run([key]), key)

    def test_an_unknown_engine_fails_when_the_definitions_are_built(self, tmp_path):
        with pytest.raises(ValueError, match="unknown text engine 'mupdf'"):
            build_definitions(storage_root=str(tmp_path), engine="mupdf")


def test_a_bad_file_fails_its_run_with_its_reason(pipeline):
    (key,) = pipeline.register(TEST_INVOICES / "bad" / "scanned.pdf")
    result = pipeline.run([key])
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "scanned.pdf: no text layer" in failure.step_failure_data.user_failure_data.description


def test_a_partition_without_a_registered_file_fails_clearly(pipeline):
    pipeline.instance.add_dynamic_partitions("invoices", ["ghost"])
    result = pipeline.run(["ghost"])
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "ghost: no file registered" in failure.step_failure_data.user_failure_data.description


def test_a_tampered_cached_document_is_checked_again_before_it_is_booked(pipeline):
    from cc_perf_dagster.core.cache import PageCache
    from cc_perf_dagster.core.extract import document_key

    (key,) = pipeline.register(TEST_INVOICES / "CI004731586.pdf")
    assert pipeline.run([key]).success
    cache = PageCache(pipeline.root / "cache")
    doc_key = document_key(pipeline.registry.get(key).sha256)
    record = cache.get(doc_key)
    forged = dict(record, line_items=[dict(record["line_items"][0]), *record["line_items"][1:]])
    forged["line_items"][0]["list_price"] = "2800.00"  # forged, still claiming consistency 1.0
    forged["consistency_score"], forged["warnings"] = 1.0, []
    cache.put(doc_key, forged)
    result = pipeline.run([key])
    metadata = pipeline.materialization(result, key)
    assert metadata["cache_hit_rate"] == 1.0  # served from the cache, and yet
    assert metadata["consistency_score"] == round(1 - 1 / metadata["line_items"], 4)
    stored = json.loads((pipeline.root / "assets/invoice" / f"{key}.json").read_text())
    assert stored["consistency_score"] < 1.0 and any("2800.00" in w for w in stored["warnings"])

    # A forged price that breaks the line's own multiplication is not booked at all.
    forged["line_items"][0] = dict(record["line_items"][0], unit_price="2240.00")
    cache.put(doc_key, forged)
    result = pipeline.run([key])
    (failure,) = result.get_step_failure_events()
    code = record["line_items"][0]["product_code"]
    assert f"1 line does not multiply out (Extended is not quantity x Your Price: read or printed wrong): {code}" in (
        failure.step_failure_data.user_failure_data.description
    )
