"""The executor: a small run in the run's own process, a larger one over processes, the same outputs either way."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, execute_job, reconstructable

from cc_perf_dagster.assets import PARTITION_TAG
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import build_definitions, defs, process_invoices_job, storage_run_config
from cc_perf_dagster.executor import (
    BELOW_PAGES,
    OVER_PROCESSES_RUN_CONFIG,
    start_processes_early,
    start_processes_for_pages,
)
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


def test_a_caller_that_knows_its_pages_starts_the_forkserver_for_runs_over_processes_only():
    job = process_invoices_job()
    below = job.executor_def.below_pages
    assert not start_processes_for_pages(job, below - 1, run_config={})
    assert not start_processes_for_pages(job, 10 * below, run_config={"execution": {"config": {BELOW_PAGES: 10**9}}})
    assert not start_processes_for_pages(
        build_definitions(start_method="spawn").resolve_job_def("process_invoices"), 10 * below, run_config={}
    )


# In a fresh interpreter with event batching off: start the forkserver as ``cc-perf process``
# does, then read the environment a step process forked from it gets.
_STEP_ENVIRONMENT = """
import json, multiprocessing, os, sys
from cc_perf_dagster.definitions import process_invoices_job
from cc_perf_dagster.executor import start_processes_for_pages

def batch_size(_):
    return os.environ.get("DAGSTER_EVENT_BATCH_SIZE")

if __name__ == "__main__":  # (the step re-imports this module: nothing above may touch the environment)
    os.environ.pop("DAGSTER_EVENT_BATCH_SIZE", None)
    started = start_processes_for_pages(process_invoices_job(), 10**6, run_config={})
    os.environ.pop("DAGSTER_EVENT_BATCH_SIZE", None)  # the step's environment is the server's, not ours
    with multiprocessing.get_context("forkserver").Pool(1) as pool:
        print(json.dumps({"started": started, "batch_size": pool.map(batch_size, [0])[0]}))
"""


@pytest.mark.slow
def test_steps_of_a_forkserver_started_early_write_their_events_in_batches(tmp_path):
    script = tmp_path / "step_environment.py"
    script.write_text(_STEP_ENVIRONMENT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["started"] and outcome["batch_size"] not in (None, "", "0")


@pytest.mark.slow
def test_cc_perf_process_asks_for_the_forkserver_with_its_files_pages_before_it_adds_partitions(tmp_path, monkeypatch):
    import cc_perf_dagster.runner as runner

    monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "storage"))
    asked: list[tuple[int, list[str]]] = []
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:

        def record(job, pages, *, run_config):
            asked.append((pages, instance.get_dynamic_partitions("invoices")))
            return start_processes_for_pages(job, pages, run_config=run_config)

        monkeypatch.setattr(runner, "start_processes_for_pages", record)
        files = [TEST_INVOICES / f"{KEY}.pdf", TEST_INVOICES / "CS003837319.pdf"]
        outcomes = runner.InvoiceRunner(instance).process(files, refresh_sheet=False)
        assert [o.status for o in outcomes] == ["materialized", "materialized"]
        assert asked == [(2, []), (2 + 15, [])]  # the pages the files declare so far; no partition added yet
        runner.InvoiceRunner(instance, in_process=True).process(files[:1], refresh_sheet=False)
        assert len(asked) == 2  # steps in this process: no forkserver


@pytest.mark.slow
def test_cc_perf_process_checks_its_files_over_processes_once_the_forkserver_is_asked_for(tmp_path, monkeypatch):
    import multiprocessing

    import cc_perf_dagster.runner as runner
    from cc_perf_dagster.core.screening import quick_checks
    from cc_perf_dagster_tests.conftest import BAD_INVOICES

    monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "storage"))
    checked: list[dict] = []

    def record(paths, *, stop, **kwargs):
        assert stop() is False  # the runner's interrupt watch: nothing received
        checked.append({"files": [p.name for p in paths], **kwargs})
        return quick_checks(paths, stop=stop, **kwargs)

    monkeypatch.setattr(runner, "quick_checks", record)
    # as if a run over 15 pages went over processes (the runs themselves stay in this process)
    monkeypatch.setattr(runner, "start_processes_for_pages", lambda job, pages, *, run_config: pages >= 15)
    files = [TEST_INVOICES / f"{KEY}.pdf", TEST_INVOICES / "CS003837319.pdf", BAD_INVOICES / "scanned.pdf"]
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        outcomes = runner.InvoiceRunner(instance).process(files, refresh_sheet=False)
        assert [o.status for o in outcomes] == ["materialized", "materialized", "failed"]
        runner.InvoiceRunner(instance).process(files[:1], refresh_sheet=False)  # 2 pages: checked here
    forkserver = multiprocessing.get_context("forkserver")
    over = {"engine": None, "processes": runner.QUICK_CHECK_PROCESSES, "context": forkserver}
    assert checked == [
        {"files": [f.name for f in files], **over},
        {"files": [files[0].name], **over, "processes": 1},
    ]
