"""The executor: a small run in the run's own process, a larger one over processes, the same outputs either way."""

from __future__ import annotations

import os

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, execute_job, reconstructable

from cc_perf_dagster.assets import PARTITION_TAG
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import build_definitions, defs, process_invoices_job, storage_run_config
from cc_perf_dagster.executor import BELOW_PAGES, OVER_PROCESSES_RUN_CONFIG, start_processes_early
from cc_perf_dagster.resources import ExtractionSettings
from cc_perf_dagster.runner import executed_run
from cc_perf_dagster_tests.conftest import TEST_INVOICES

KEY = "CI004731586"


def test_the_threshold_is_the_cost_models_and_a_fixed_batch_size_keeps_the_processes():
    schema = defs.resolve_job_def("process_invoices").executor_def.config_schema.as_field().config_type
    assert schema.fields[BELOW_PAGES].default_value == ExtractionSettings().cost_model().in_process_below_pages()
    naive = build_definitions(pages_per_batch=1).resolve_job_def("process_invoices").executor_def
    assert BELOW_PAGES not in getattr(naive.config_schema.as_field().config_type, "fields", {})


def run_one(tmp_path, name: str, extra_config: dict) -> dict:
    """One run of the invoice job over one 2-page invoice on storage of its own: what it did and wrote."""
    storage = tmp_path / name
    FileRegistry(storage / "registry").register(TEST_INVOICES / f"{KEY}.pdf")
    (tmp_path / f"home-{name}").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / f"home-{name}")) as instance:
        instance.add_dynamic_partitions("invoices", [KEY])
        with execute_job(
            reconstructable(process_invoices_job),
            instance=instance,
            tags={PARTITION_TAG: KEY},
            run_config={**storage_run_config(str(storage)), **extra_config},
        ) as result:
            assert result.success
            events = result.all_events
            logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    materialized = {
        (e.event_specific_data.materialization.asset_key, e.event_specific_data.materialization.partition): sorted(
            e.event_specific_data.materialization.metadata
        )
        for e in events
        if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
    }
    return {
        "pids": {e.pid for e in events if e.event_type_value == "STEP_START"},
        "steps": sorted(e.step_key for e in events if e.event_type_value == "STEP_SUCCESS"),
        "materialized": materialized,
        "checks": sorted(
            (e.asset_check_evaluation_data.check_name, e.asset_check_evaluation_data.passed)
            for e in events
            if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        ),
        "choice": [line for line in logs if "pages to read: steps run" in line],
        "files": {
            path.relative_to(storage / "assets").as_posix(): path.read_bytes()
            for path in sorted((storage / "assets").rglob("*"))
            if path.is_file()
        },
    }


@pytest.mark.slow
def test_a_small_run_stays_in_its_process_and_gives_what_a_run_over_processes_gives(tmp_path):
    small = run_one(tmp_path, "small", {})  # the default config: what the UI's Materialize launches
    over = run_one(tmp_path, "processes", OVER_PROCESSES_RUN_CONFIG)
    assert small["pids"] == {os.getpid()}
    assert (
        os.getpid() not in over["pids"] and len(over["pids"]) == len(over["steps"]) == 3
    )  # plan, batch, merge: each in a process of its own
    assert len(small["choice"]) == 1 and "2 pages to read: steps run in the run's own" in small["choice"][0]
    assert "steps run in processes of their own (in_process_below_pages: 0)" in over["choice"][0]
    for figure in ("steps", "materialized", "checks", "files"):
        assert small[figure] == over[figure], figure
    assert {key for key, _ in small["materialized"]} == {AssetKey("invoice"), AssetKey("booking_rows")}
    assert small["checks"] and set(small["files"]) == {f"invoice/{KEY}.json", f"booking_rows/{KEY}.csv"}


@pytest.mark.slow
def test_the_forkserver_starts_before_a_run_that_goes_over_processes(tmp_path):
    storage = tmp_path / "storage"
    FileRegistry(storage / "registry").register(TEST_INVOICES / f"{KEY}.pdf")
    (tmp_path / "home").mkdir()
    job = process_invoices_job()
    tags = {PARTITION_TAG: KEY}
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        instance.add_dynamic_partitions("invoices", [KEY])
        config = storage_run_config(str(storage))
        assert not start_processes_early(job, instance, tags=tags, run_config=config)  # 2 pages: no processes
        config = {**config, **OVER_PROCESSES_RUN_CONFIG}
        assert start_processes_early(job, instance, tags=tags, run_config=config)
        with executed_run(instance, process_invoices_job, tags=tags, run_config=config) as result:
            assert result.success
            assert os.getpid() not in {e.pid for e in result.all_events if e.event_type_value == "STEP_START"}
