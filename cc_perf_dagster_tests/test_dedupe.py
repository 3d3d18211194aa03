"""One booking per invoice through Dagster: copies, the incoming sensor, the runner, numbers in two files.

The rule itself is tested in ``core/test_dedupe.py`` and ``core/test_registry.py``; ``cc-perf
process`` through a subprocess in ``test_cli.py``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil

import pytest
from dagster import AssetCheckSeverity, AssetKey, AssetPartitionStatus, DagsterInstance

from cc_perf_dagster.assets import PARTITION_TAG, invoice_partitions
from cc_perf_dagster.definitions import SUMMARY_JOB
from cc_perf_dagster.failures import DUPLICATE_PARTITIONS, failed_partitions
from cc_perf_dagster_tests.conftest import TEST_INVOICES
from cc_perf_dagster_tests.helpers import Pipeline, sensor_setup, tick

NUMBER = "CS003702114"  # 41 billed lines
BILLED = 41


@pytest.fixture
def pipeline(tmp_path):
    return Pipeline(tmp_path / "storage")


def sheet_rows(root) -> list[list[str]]:
    return list(csv.reader(io.StringIO((root / "assets" / "purchasing_sheet.csv").read_text())))[1:]


def variant(dst, *, mtime: float):
    """CS003702114 with a comment appended: other bytes, the same invoice, a given modification time."""
    shutil.copy(TEST_INVOICES / f"{NUMBER}.pdf", dst)
    with dst.open("ab") as fh:
        fh.write(f"\n% re-sent {dst.name}\n".encode())
    os.utime(dst, (mtime, mtime))
    return dst


def summaries(pipeline):
    result = pipeline.defs.resolve_job_def(SUMMARY_JOB).execute_in_process(instance=pipeline.instance)
    assert result.success
    return result


class TestSameBytes:
    def test_a_partition_holding_a_copy_fails_unread_with_the_reason(self, pipeline, tmp_path):
        """The UI route: a partition whose file's bytes another partition already holds."""
        for name in ("a.pdf", "b.pdf"):
            shutil.copy(TEST_INVOICES / f"{NUMBER}.pdf", tmp_path / name)
        a, b = pipeline.register(tmp_path / "a.pdf", tmp_path / "b.pdf")
        assert pipeline.run([a]).success
        result = pipeline.run([b])
        assert not result.success
        (failure,) = result.get_step_failure_events()
        user = failure.step_failure_data.user_failure_data
        assert (
            user.description == "b.pdf: same content as a.pdf (partition a); processed once, as a, and not booked again"
        )
        assert failed_partitions([failure], DUPLICATE_PARTITIONS) == {b}
        assert result.get_asset_materialization_events() == []
        statuses = pipeline.instance.get_status_by_partition(AssetKey("invoice"), [a, b], invoice_partitions)
        assert statuses == {a: AssetPartitionStatus.MATERIALIZED, b: AssetPartitionStatus.FAILED}
        summaries(pipeline)
        assert len(sheet_rows(pipeline.root)) == BILLED
        overview = json.loads((pipeline.root / "assets" / "performance_overview.json").read_text())
        assert [(f["key"], f["reason"]) for f in overview["failures"]] == [(b, user.description)]

    def test_a_range_run_books_the_others_and_names_the_copy(self, pipeline, tmp_path):
        for name in ("a.pdf", "b.pdf"):
            shutil.copy(TEST_INVOICES / f"{NUMBER}.pdf", tmp_path / name)
        keys = pipeline.register(TEST_INVOICES / "CI004731586.pdf", tmp_path / "a.pdf", tmp_path / "b.pdf")
        result = pipeline.run(keys)
        assert not result.success
        assert failed_partitions(result.get_step_failure_events(), DUPLICATE_PARTITIONS) == {"b"}
        assert all(pipeline.run([key]).success for key in keys[:2])  # what cc-perf process does next

    def test_the_runner_processes_two_copies_once(self, tmp_path, monkeypatch):
        from cc_perf_dagster.runner import InvoiceRunner

        monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "storage"))
        folder = tmp_path / "in"
        folder.mkdir()
        for name in ("a.pdf", "b.pdf"):
            shutil.copy(TEST_INVOICES / f"{NUMBER}.pdf", folder / name)
        seen = []
        with DagsterInstance.ephemeral() as instance:
            outcomes = InvoiceRunner(instance, in_process=True, progress=seen.append).process([folder])
            assert instance.get_dynamic_partitions("invoices") == ["a"]
        by_file = {o.file: o for o in outcomes}
        assert by_file["a.pdf"].status == "materialized"
        copy = by_file["b.pdf"]
        assert (copy.status, copy.duplicate_of, copy.error) == ("duplicate", "a", None)
        assert copy.note == f"same content as a.pdf ({NUMBER}), processed once"
        assert [o.file for o in seen] == ["a.pdf", "b.pdf"]
        assert len(sheet_rows(tmp_path / "storage")) == BILLED


def test_the_sensor_takes_two_copies_once(tmp_path):
    incoming, sensor, defs, instance = sensor_setup(tmp_path)
    for name in ("a.pdf", "b.pdf"):
        shutil.copy(TEST_INVOICES / f"{NUMBER}.pdf", incoming / name)
    second = tick(sensor, instance, defs, tick(sensor, instance, defs, None).cursor)
    (add,) = second.dynamic_partitions_requests
    (request,) = second.run_requests
    assert list(add.partition_keys) == [request.tags[PARTITION_TAG]] == ["a"]
    instance.add_dynamic_partitions("invoices", list(add.partition_keys))
    third = tick(sensor, instance, defs, second.cursor)
    assert third.run_requests == [] and not third.dynamic_partitions_requests


class TestSameNumberInTwoFiles:
    def test_flagged_on_both_booked_once_from_the_newer_file(self, pipeline, tmp_path):
        older = variant(tmp_path / "CS003702114-first.pdf", mtime=1_700_000_000)
        newer = variant(tmp_path / "CS003702114-resent.pdf", mtime=1_700_086_400)
        old_key, new_key = pipeline.register(older, newer)

        first = pipeline.run([old_key])  # alone: unique so far
        assert first.success and pipeline.checks(first)["unique_invoice_number"].passed
        second = pipeline.run([new_key])
        assert second.success  # a warning, not a failure: the number is booked once anyway
        check = pipeline.checks(second)["unique_invoice_number"]
        assert not check.passed and check.severity == AssetCheckSeverity.WARN
        note = check.metadata["same_invoice_number"].value
        assert note.startswith(f"{NUMBER} is also in partition {old_key} (CS003702114-first.pdf); this one is booked")
        assert pipeline.materialization(second, new_key)["same_invoice_number"] == note
        assert pipeline.materialization(second, new_key, "booking_rows")["same_invoice_number"] == note

        both = pipeline.run([old_key, new_key])  # the older one, evaluated again, is told it is not booked
        older_check, newer_check = (pipeline.checks(both, key)["unique_invoice_number"] for key in (old_key, new_key))
        assert not older_check.passed and not newer_check.passed
        assert f"{new_key} (CS003702114-resent.pdf) is booked" in older_check.metadata["same_invoice_number"].value

        result = summaries(pipeline)
        rows = sheet_rows(pipeline.root)
        assert [r[2] for r in rows] == [NUMBER] * BILLED
        sheet = next(
            e.event_specific_data.materialization
            for e in result.get_asset_materialization_events()
            if e.event_specific_data.materialization.asset_key == AssetKey("purchasing_sheet")
        )
        (superseded,) = sheet.metadata["superseded"].value
        assert (superseded["key"], superseded["booked_key"]) == (old_key, new_key)
        assert sheet.metadata["invoices"].value == 1 and sheet.metadata["rows"].value == BILLED

        overview = json.loads((pipeline.root / "assets" / "performance_overview.json").read_text())
        (listed,) = overview["duplicates"]
        assert (listed["invoice_number"], listed["key"], listed["booked_key"]) == (NUMBER, old_key, new_key)
        (flag,) = [c for c in overview["failed_checks"] if c["check"] == "unique_invoice_number"]
        assert flag["partitions"] == sorted([old_key, new_key])
        shown = next(
            e.event_specific_data.materialization.metadata
            for e in result.get_asset_materialization_events()
            if e.event_specific_data.materialization.asset_key == AssetKey("performance_overview")
        )
        assert shown["duplicate_invoice_numbers"].value == 1
        markdown = shown["overview"].value
        assert "## Invoice numbers in more than one partition" in markdown
        assert f"| {NUMBER} | {old_key} (CS003702114-first.pdf) | {new_key} (CS003702114-resent.pdf) |" in markdown

    def test_the_newer_file_wins_whatever_the_order_of_registration(self, pipeline, tmp_path):
        newer = variant(tmp_path / "a-resent.pdf", mtime=1_700_086_400)
        older = variant(tmp_path / "z-first.pdf", mtime=1_700_000_000)
        keys = pipeline.register(newer, older)
        assert pipeline.run(keys).success
        summaries(pipeline)
        rows = sheet_rows(pipeline.root)
        assert len(rows) == BILLED
        booked = json.loads((pipeline.root / "assets" / "performance_overview.json").read_text())["duplicates"]
        assert [(d["key"], d["booked_key"]) for d in booked] == [("z-first", "a-resent")]
