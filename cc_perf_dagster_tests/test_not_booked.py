"""Never book what was not read: unbookable documents through Dagster, the sensor and the overview.

The rule itself is tested in ``core/test_bookability.py`` and the CLI's exit status 3 in
``test_cli.py``; here a document recognised as Creative Co-op but read badly fails its own
invoice partition with the reason, and the others are booked.
"""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from dagster import AssetKey, AssetPartitionStatus, DagsterInstance

from cc_perf_dagster.assets import PARTITION_TAG, invoice_partitions
from cc_perf_dagster.core.bookability import NO_LINE_ITEMS
from cc_perf_dagster.core.incoming import quarantine_folder
from cc_perf_dagster.definitions import SUMMARY_JOB
from cc_perf_dagster.failures import NOT_BOOKED_PARTITIONS, failed_partitions
from cc_perf_dagster_tests.conftest import TEST_INVOICES, blank_page, tableless_document
from cc_perf_dagster_tests.helpers import Pipeline, sensor_setup, tick

BLANK = "CI004800000_blank"  # CI004731586 with page 2 blanked; sorts between the two good files
BLANK_REASON = "CI004800000_blank.pdf: not bookable: page 2 of 2 has no text layer (its lines were not read)"
GOOD = ("CI004790233", "CS003702114")


@pytest.fixture
def pipeline(tmp_path):
    return Pipeline(tmp_path / "storage")


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in GOOD:
        shutil.copy(TEST_INVOICES / f"{name}.pdf", folder / f"{name}.pdf")
    blank_page(TEST_INVOICES / "CI004731586.pdf", folder / f"{BLANK}.pdf", page=2)
    return folder


def sheet_numbers(root) -> set[str]:
    rows = list(csv.reader(io.StringIO((root / "assets" / "purchasing_sheet.csv").read_text())))
    return {row[2] for row in rows[1:]}


def status(instance, key):
    return instance.get_status_by_partition(AssetKey("invoice"), [key], invoice_partitions)[key]


def test_a_single_partition_run_fails_with_the_reason_and_books_nothing(pipeline, tmp_path):
    pdf = tableless_document(tmp_path / "CS004417220.pdf")
    (key,) = pipeline.register(pdf)
    result = pipeline.run([key])
    assert not result.success
    (failure,) = result.get_step_failure_events()
    user = failure.step_failure_data.user_failure_data
    assert user.description == f"CS004417220.pdf: not bookable: {NO_LINE_ITEMS}"
    assert user.metadata[NOT_BOOKED_PARTITIONS].value == [key]
    assert failed_partitions([failure]) == failed_partitions([failure], NOT_BOOKED_PARTITIONS) == {key}
    assert result.get_asset_materialization_events() == []
    assert not (pipeline.root / "assets" / "booking_rows" / f"{key}.csv").exists()
    assert status(pipeline.instance, key) == AssetPartitionStatus.FAILED


def test_a_bad_pdf_is_a_failure_but_not_a_refusal(pipeline):
    (key,) = pipeline.register(TEST_INVOICES / "bad" / "scanned.pdf")
    failures = pipeline.run([key]).get_step_failure_events()
    assert failed_partitions(failures) == {key} and failed_partitions(failures, NOT_BOOKED_PARTITIONS) == set()


def test_a_range_run_names_only_the_unbookable_partition_and_the_rest_is_booked(pipeline, folder):
    keys = pipeline.register(*sorted(folder.glob("*.pdf")))
    assert keys == [GOOD[0], BLANK, GOOD[1]]
    result = pipeline.run(keys)
    assert not result.success
    failures = result.get_step_failure_events()
    assert failed_partitions(failures) == failed_partitions(failures, NOT_BOOKED_PARTITIONS) == {BLANK}
    assert [f.step_failure_data.user_failure_data.description for f in failures] == [BLANK_REASON]
    rest = [key for key in keys if key != BLANK]
    for key in rest:  # what cc-perf process and rerun_failed_ranges run again (not adjacent here)
        assert pipeline.run([key]).success
    assert status(pipeline.instance, BLANK) == AssetPartitionStatus.FAILED
    assert all(status(pipeline.instance, key) == AssetPartitionStatus.MATERIALIZED for key in rest)
    booked = {p.stem for p in (pipeline.root / "assets" / "booking_rows").glob("*.csv")}
    assert booked == set(rest)
    assert pipeline.defs.resolve_job_def(SUMMARY_JOB).execute_in_process(instance=pipeline.instance).success
    assert sheet_numbers(pipeline.root) == set(GOOD)  # CI004731586 (the blanked copy's number) is absent

    overview = json.loads((pipeline.root / "assets" / "performance_overview.json").read_text())
    (failure,) = overview["failures"]
    assert failure["key"] == BLANK and failure["reason"] == BLANK_REASON
    assert overview["overall"]["invoices"] == 2


def test_a_booked_invoice_whose_file_is_replaced_by_an_unreadable_one_leaves_the_sheet(pipeline, tmp_path):
    path = tmp_path / "CI004731586.pdf"
    shutil.copy(TEST_INVOICES / "CI004731586.pdf", path)
    (key,) = pipeline.register(path)
    summaries = pipeline.defs.resolve_job_def(SUMMARY_JOB)
    assert pipeline.run([key]).success and summaries.execute_in_process(instance=pipeline.instance).success
    assert sheet_numbers(pipeline.root) == {"CI004731586"}
    blank_page(TEST_INVOICES / "CI004731586.pdf", path, page=2)  # same name, new bytes
    assert not pipeline.run([key]).success
    assert (pipeline.root / "assets" / "booking_rows" / f"{key}.csv").exists()  # the old rows stay on disk
    assert summaries.execute_in_process(instance=pipeline.instance).success
    assert sheet_numbers(pipeline.root) == set()


def test_the_runner_reports_it_as_not_booked_and_books_the_others(folder, tmp_path, monkeypatch):
    from cc_perf_dagster.runner import InvoiceRunner

    monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "storage"))
    seen = []
    with DagsterInstance.ephemeral() as instance:
        outcomes = InvoiceRunner(instance, in_process=True, progress=seen.append).process([folder])
    by_key = {o.partition_key: o for o in outcomes}
    assert by_key[BLANK].status == "not_booked" and by_key[BLANK].error == BLANK_REASON
    assert all(by_key[key].status == "materialized" for key in GOOD)
    assert len(seen) == 3
    assert sheet_numbers(tmp_path / "storage") == set(GOOD)


def test_the_sensor_leaves_it_in_place_and_requests_its_run(tmp_path):
    incoming, sensor, defs, instance = sensor_setup(tmp_path)
    blank_page(TEST_INVOICES / "CI004731586.pdf", incoming / f"{BLANK}.pdf", page=2)
    second = tick(sensor, instance, defs, tick(sensor, instance, defs, None).cursor)
    (add,) = second.dynamic_partitions_requests
    assert list(add.partition_keys) == [BLANK]
    (request,) = second.run_requests
    assert request.tags[PARTITION_TAG] == BLANK
    assert (incoming / f"{BLANK}.pdf").exists()
    assert not quarantine_folder(incoming).exists() or not any(quarantine_folder(incoming).iterdir())
