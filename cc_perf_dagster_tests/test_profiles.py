"""The executor profiles: local (multiprocess, SQLite) and cluster (Celery workers, PostgreSQL) on real services.

The cluster tests need PostgreSQL and Redis on loopback (``CC_PERF_TEST_PG``, ``CC_PERF_TEST_REDIS``
point elsewhere). Without them they are skipped with the reason, except under ``CI=true``, where the
services are part of the machine and their absence is a failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, DagsterEventType, DagsterInstance, EventRecordsFilter, execute_job, reconstructable

from cc_perf_dagster.assets import RANGE_END_TAG, RANGE_START_TAG
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import build_definitions, storage_run_config
from cc_perf_dagster.instance import cluster_dagster_yaml, ensure_dagster_home
from cc_perf_dagster.profiles import (
    STEP_OVERHEAD_S,
    ClusterConfig,
    ProfileError,
    active_profile,
    check_cluster_environment,
    psycopg2_url,
)
from cc_perf_dagster.resources import SETTINGS_KEY
from cc_perf_dagster_tests.conftest import TEST_INVOICES
from cc_perf_dagster_tests.dagster_jobs import cluster_fan_out_job, fan_out_job
from cc_perf_dagster_tests.local_cluster import CACHE_KEY, QUIET, celery_workers, range_run

KEY = CACHE_KEY


class TestProfileChoice:
    def test_local_is_the_default_and_unchanged(self, monkeypatch):
        monkeypatch.delenv("CC_PERF_PROFILE", raising=False)
        assert active_profile() == "local"
        job = build_definitions().resolve_job_def("process_invoices")
        assert job.executor_def.name == "multiprocess_forkserver"

    def test_an_unknown_profile_is_refused(self):
        with pytest.raises(ProfileError, match="unknown profile 'k8s'"):
            active_profile("k8s")

    def test_cluster_profile_puts_celery_on_the_jobs_and_its_step_cost_in_the_settings(self, cluster_env):
        defs = build_definitions()
        job = defs.resolve_job_def("process_invoices")
        assert job.executor_def.name == "celery_cluster"
        settings = defs.resources["cc_perf_settings"]
        assert settings.step_overhead_s == STEP_OVERHEAD_S["cluster"] and settings.max_concurrent == 2
        assert defs.resources["cc_perf_storage"].root == str(cluster_env)

    def test_the_cluster_coordinator_looks_at_its_steps_every_fifth_of_a_second(self, cluster_env, monkeypatch):
        import inspect

        from dagster_celery import core_execution_loop

        from cc_perf_dagster._dagster_compat import celery_tick, versions

        # dagster-celery's loop sleeps on the module's constant at each round: setting it counts
        assert "time.sleep(TICK_SECONDS)" in inspect.getsource(core_execution_loop.core_celery_execution_loop)
        monkeypatch.setattr(core_execution_loop, "TICK_SECONDS", 1)
        build_definitions().resolve_job_def("process_invoices")
        assert core_execution_loop.TICK_SECONDS == celery_tick.COORDINATOR_TICK_S == 0.2
        # never slower than it was; on a release nobody checked, as dagster-celery has it
        assert celery_tick.shorten_coordinator_tick(0.5) and core_execution_loop.TICK_SECONDS == 0.2
        monkeypatch.setattr(core_execution_loop, "TICK_SECONDS", 1)
        monkeypatch.setattr(versions, "CHECKED", False)
        assert not celery_tick.shorten_coordinator_tick()
        assert core_execution_loop.TICK_SECONDS == 1

    @pytest.mark.parametrize(
        ("missing", "message"), [("CC_PERF_STORAGE", "CC_PERF_STORAGE"), ("CC_PERF_CACHE_KEY", "CC_PERF_CACHE_KEY")]
    )
    def test_cluster_profile_refuses_a_missing_storage_root_or_key(self, cluster_env, monkeypatch, missing, message):
        monkeypatch.delenv(missing)
        with pytest.raises(ProfileError, match=message):
            build_definitions()

    def test_a_short_key_or_relative_storage_is_refused(self):
        with pytest.raises(ProfileError, match="at least 32 bytes"):
            check_cluster_environment({"CC_PERF_STORAGE": "/shared", "CC_PERF_CACHE_KEY": "short"})
        with pytest.raises(ProfileError, match="absolute path"):
            check_cluster_environment({"CC_PERF_STORAGE": "shared", "CC_PERF_CACHE_KEY": KEY})

    def test_cli_process_refuses_an_incomplete_cluster_environment_in_one_line(self, tmp_path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CC_PERF_")}
        env["CC_PERF_PROFILE"] = "cluster"
        cc_perf = str(Path(sys.executable).with_name("cc-perf"))
        done = subprocess.run(
            [cc_perf, "process", "--dagster-home", str(tmp_path / "home"), str(TEST_INVOICES / "CI004848705.pdf")],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and "CC_PERF_STORAGE" in done.stderr


class TestClusterConfig:
    def test_services_default_to_loopback_and_the_environment_overrides(self):
        assert ClusterConfig.from_env({}).broker == "redis://127.0.0.1:6379/0"
        config = ClusterConfig.from_env(
            {"CC_PERF_CELERY_BROKER": "amqp://guest@10.0.0.1//", "CC_PERF_CLUSTER_SLOTS": "16",
             "CC_PERF_DATABASE_URL": "postgres://u@db/x"}
        )  # fmt: skip
        assert config.broker == "amqp://guest@10.0.0.1//" and config.slots == 16
        assert config.database_url == "postgresql+psycopg2://u@db/x"

    def test_bad_slots_are_refused(self):
        with pytest.raises(ProfileError, match="positive integer"):
            ClusterConfig.from_env({"CC_PERF_CLUSTER_SLOTS": "0"})

    def test_psycopg2_is_named_in_bare_urls_only(self):
        assert psycopg2_url("postgresql+psycopg2://a@b/c") == "postgresql+psycopg2://a@b/c"
        assert psycopg2_url("postgresql://a@b/c") == "postgresql+psycopg2://a@b/c"

    def test_the_visibility_timeout_comes_from_the_environment_and_must_be_positive(self):
        def transport(environ):
            return ClusterConfig.from_env(environ).executor_config()["config_source"]["broker_transport_options"]

        assert transport({})["visibility_timeout"] == 600
        assert transport({"CC_PERF_CELERY_VISIBILITY_TIMEOUT_S": "30"})["visibility_timeout"] == 30
        assert transport({})["unacked_restore_throttle"] == 1  # a sweep every unacked_restore_interval
        with pytest.raises(ProfileError, match="CC_PERF_CELERY_VISIBILITY_TIMEOUT_S must be a positive integer"):
            ClusterConfig.from_env({"CC_PERF_CELERY_VISIBILITY_TIMEOUT_S": "0"})
        with pytest.raises(ProfileError, match="CC_PERF_CLUSTER_SLOTS must be a positive integer"):
            ClusterConfig.from_env({"CC_PERF_CLUSTER_SLOTS": "two"})

    def test_worker_yaml_is_what_dagster_celery_reads(self):
        parsed = yaml.safe_load(ClusterConfig(broker="redis://h:1/3").worker_yaml())
        config = parsed["execution"]["config"]
        assert config["broker"] == "redis://h:1/3" and config["config_source"]["task_acks_late"] is True

    def test_cluster_dagster_yaml_has_postgres_storage_for_runs_events_and_schedules(self):
        parsed = yaml.safe_load(cluster_dagster_yaml('postgresql+psycopg2://u@h:5432/d "quoted"'))
        import importlib

        from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

        wanted = {
            "run_storage": PostgresRunStorage,
            "event_log_storage": PostgresEventLogStorage,  # cc-perf's batching subclass
            "schedule_storage": PostgresScheduleStorage,
        }
        for storage, base in wanted.items():
            named = getattr(importlib.import_module(parsed[storage]["module"]), parsed[storage]["class"])
            assert issubclass(named, base), storage
            assert parsed[storage]["config"]["postgres_url"] == 'postgresql+psycopg2://u@h:5432/d "quoted"'

    def test_a_home_switches_profile_and_back(self, tmp_path, monkeypatch):
        monkeypatch.setenv("CC_PERF_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
        home = ensure_dagster_home(tmp_path / "home", export=False, profile="cluster")
        assert "dagster_postgres" in (home / "dagster.yaml").read_text()
        ensure_dagster_home(home, export=False, profile="local")
        assert "BatchingSqliteEventLogStorage" in (home / "dagster.yaml").read_text()


# --- on real services ------------------------------------------------------------------------


# Tests on real workers, brokers and databases race the machine's load (a killed process's task
# coming back); each is retried at most twice before it fails, and every assertion stays as it is.
# The CI log shows each rerun.
pytestmark = pytest.mark.flaky(reruns=2)


def _outputs(storage, keys):
    outputs = {}
    for key in keys:
        document = json.loads((storage / "assets" / "invoice" / f"{key}.json").read_text())
        document.pop("source_path", None)
        outputs[key] = (document, (storage / "assets" / "booking_rows" / f"{key}.csv").read_text())
    return outputs


@pytest.mark.slow
def test_a_range_run_on_two_celery_workers_matches_the_multiprocess_run(cluster, tmp_path):
    running, instance = cluster
    worker_names = running.worker_hosts()
    names = ("CI004731586.pdf", "CI004790233.pdf", "CS003702114.pdf", "CS003964075.pdf")
    local_storage, cluster_storage = tmp_path / "local", Path(os.environ["CC_PERF_STORAGE"])
    keys = [FileRegistry(local_storage / "registry").register(TEST_INVOICES / n).key for n in names]
    for name in names:
        FileRegistry(cluster_storage / "registry").register(TEST_INVOICES / name)
    instance.add_dynamic_partitions("invoices", keys)
    run_id, materialized = range_run(cluster_fan_out_job, instance, cluster_storage, keys)
    workers = celery_workers(instance, run_id)
    assert materialized == sorted(keys)
    # every step ran on one of the two workers (Celery names a worker NAME@HOST)
    assert workers and all(any(w.startswith(n) for n in worker_names) for w in workers), workers
    (tmp_path / "local_home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "local_home")) as local:
        local.add_dynamic_partitions("invoices", keys)
        local_run_id, local_materialized = range_run(fan_out_job, local, local_storage, keys)
        assert celery_workers(local, local_run_id) == set()
    assert local_materialized == materialized
    assert _outputs(cluster_storage, keys) == _outputs(local_storage, keys)


def _killed_mid_batch(cluster, tmp_path, kill) -> tuple[str, str]:
    """A range run over three 150-page invoices in 100-page batches, ``kill(pid)`` called with the
    process of the first batch step to start. Asserts that the run succeeded, that the killed step
    started twice (the killed attempt and the redelivered one) and every other step once, and that
    each invoice and its booking rows were materialized exactly once. Returns (run id, killed step).
    """
    from collections import Counter

    from cc_perf_dagster_tests.fixtures.generate import write_large_order_confirmation

    _, instance = cluster
    storage = Path(os.environ["CC_PERF_STORAGE"])
    keys = []
    for index in range(3):
        pdf = tmp_path / f"CS00700000{index}.pdf"
        write_large_order_confirmation(pdf, 150, seed=index)
        keys.append(FileRegistry(storage / "registry").register(pdf).key)
    instance.add_dynamic_partitions("invoices", keys)
    killed = []

    def kill_a_batch_step():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            for record in instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.STEP_START)):
                event = record.event_log_entry
                if "extract_page_batch" in (event.step_key or ""):
                    kill(event.dagster_event.pid)
                    killed.append(event.step_key)
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_batch_step)
    killer.start()
    config = {**storage_run_config(str(storage)), **QUIET}
    config["resources"][SETTINGS_KEY] = {"config": {"pages_per_batch": 100}}  # 450 pages: 5 batches
    tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
    try:
        with execute_job(reconstructable(cluster_fan_out_job), instance=instance, tags=tags, run_config=config) as run:
            assert run.success, [e.step_failure_data.error.message for e in run.get_step_failure_events()]
            run_id = run.run_id
    finally:
        killer.join()
    assert killed
    starts = Counter(
        r.event_log_entry.step_key
        for r in instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.STEP_START))
        if r.event_log_entry.run_id == run_id
    )
    assert starts.pop(killed[0]) == 2 and set(starts.values()) == {1}, starts
    for asset in ("invoice", "booking_rows"):
        materialized = [
            r.event_log_entry.dagster_event.partition
            for r in instance.get_event_records(
                EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION, asset_key=AssetKey(asset))
            )
        ]
        assert sorted(materialized) == sorted(keys), asset
    assert all((storage / "assets" / "booking_rows" / f"{key}.csv").exists() for key in keys)
    return run_id, killed[0]


@pytest.mark.slow
def test_a_worker_process_killed_mid_batch_is_redelivered_and_each_invoice_materializes_once(cluster, tmp_path):
    # The step's process (a Celery pool process) dies with SIGKILL while reading a batch. With
    # task_acks_late and task_reject_on_worker_lost the broker still holds the task, so it is run
    # again by a worker; Dagster's own retries never see it (no step failure event is written).
    _killed_mid_batch(cluster, tmp_path, lambda pid: os.kill(pid, signal.SIGKILL))


@pytest.mark.slow
@pytest.mark.cluster_env(CC_PERF_CELERY_VISIBILITY_TIMEOUT_S="15")
def test_a_whole_worker_killed_mid_batch_hands_its_step_to_the_other_after_the_visibility_timeout(cluster, tmp_path):
    # The whole worker (launcher, Celery main process, pool) dies with SIGKILL while its pool
    # process reads a batch, as when its machine is lost: nobody is left to hand the task back.
    # Redis still holds it as unacknowledged; once it is older than the visibility timeout (15 s
    # here, 600 s by default) the surviving worker's sweep (every 10 s) puts it back on the queue
    # and runs it. The run waits meanwhile and then succeeds, each invoice materialized once.
    running, instance = cluster
    victims = []

    def kill_its_worker(pid):
        group = os.getpgid(pid)
        victims.extend(w for w in running.workers if w.process.pid == group)
        os.killpg(group, signal.SIGKILL)

    started = time.monotonic()
    run_id, step = _killed_mid_batch(cluster, tmp_path, kill_its_worker)
    assert len(victims) == 1
    survivor = next(w.name for w in running.workers if w is not victims[0])
    assert any(w.startswith(survivor) for w in celery_workers(instance, run_id))  # NAME@HOST
    # the redelivered attempt began on the survivor, at least the visibility timeout after the first
    attempts = sorted(
        r.event_log_entry.timestamp
        for r in instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.STEP_START))
        if r.event_log_entry.run_id == run_id and r.event_log_entry.step_key == step
    )
    assert attempts[1] - attempts[0] >= 15
    assert time.monotonic() - started < 300
