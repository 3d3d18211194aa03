"""The code location loads, and the job runs through the real multiprocess executor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, execute_job, reconstructable

from cc_perf_dagster.assets import RANGE_END_TAG, RANGE_START_TAG
from cc_perf_dagster.checks import CHECKS
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import defs, storage_run_config
from cc_perf_dagster_tests.conftest import REPO, TEST_INVOICES
from cc_perf_dagster_tests.dagster_jobs import fan_out_job


def test_definitions_validate_through_the_workspace(tmp_path):
    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def test_ready_made_definitions_use_forkserver_multiprocess():
    executor = defs.resolve_job_def("process_invoices").executor_def
    assert executor.name == "multiprocess_forkserver"
    assert {a.key for a in defs.resolve_all_asset_specs()} >= {
        AssetKey("invoice_file"), AssetKey("invoice"), AssetKey("booking_rows"), AssetKey("purchasing_sheet"),
    }  # fmt: skip


def test_the_sheet_and_the_overview_carry_a_freshness_policy():
    policies = {spec.key.to_user_string(): spec.freshness_policy for spec in defs.resolve_all_asset_specs()}
    assert policies["purchasing_sheet"].fail_window.to_timedelta().total_seconds() == 3600
    assert policies["performance_overview"] == policies["purchasing_sheet"]
    assert policies["invoice"] is None


@pytest.fixture
def storage(tmp_path):
    return tmp_path / "storage"


@pytest.mark.slow
def test_multiprocess_range_run_fans_out_batches_across_invoices(storage, tmp_path):
    registry = FileRegistry(storage / "registry")
    names = ("CI004731586.pdf", "CI004790233.pdf", "CS003702114.pdf")
    keys = [registry.register(TEST_INVOICES / n).key for n in names]
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        instance.add_dynamic_partitions("invoices", keys)
        tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
        run_config = storage_run_config(str(storage))
        with execute_job(reconstructable(fan_out_job), instance=instance, tags=tags, run_config=run_config) as result:
            assert result.success
            steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
            pids = {e.pid for e in result.all_events if e.event_type_value == "STEP_START"}
            materializations = [
                e.event_specific_data.materialization for e in result.get_asset_materialization_events()
            ]
        # the merge step (a process of its own) stored each check's result under each partition
        check_keys = [AssetCheckKey(AssetKey("invoice"), name) for name in CHECKS]
        infos = instance.event_log_storage.get_asset_check_partition_info(check_keys)
        assert sorted((i.partition_key, i.check_key.name) for i in infos) == sorted(
            (key, name) for key in keys for name in CHECKS
        )
        assert all(i.latest_execution_status.value == "SUCCEEDED" and i.is_current for i in infos)
    batch_steps = sorted(s for s in steps if s.startswith("invoice.extract_page_batch["))
    assert batch_steps == ["invoice.extract_page_batch[batch_0]", "invoice.extract_page_batch[batch_1]"]
    assert len(pids) >= 4  # every step in a process of its own
    invoice_events = {m.partition: m.metadata for m in materializations if m.asset_key == AssetKey("invoice")}
    assert sorted(invoice_events) == sorted(keys)
    # 7 pages, 2 batches of 4 and 3 pages: the first batch spans the first two invoices
    assert [invoice_events[k]["batches"].value for k in keys] == [1, 1, 1]
    for metadata in invoice_events.values():
        assert metadata["line_items"].value > 0 and metadata["peak_rss_mb"].value > 20
    assert (storage / "assets" / "invoice" / f"{keys[0]}.json").exists()
