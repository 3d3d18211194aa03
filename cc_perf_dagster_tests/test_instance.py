"""The project-local Dagster home: its dagster.yaml, safe concurrent first use, repair of a raced home."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cc_perf_dagster._dagster_compat import LAST_KNOWN_STAMPED_SQLITE_ALEMBIC_REVISION as FALLBACK
from cc_perf_dagster.instance import (
    SQLITE_DATABASES,
    DagsterHomeError,
    open_instance,
    repair_alembic_versions,
)
from cc_perf_dagster_tests.conftest import TEST_INVOICES

CC_PERF = str(Path(sys.executable).with_name("cc-perf"))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))  # open_instance exports it; restored after
    monkeypatch.delenv("CC_PERF_STORAGE", raising=False)
    return tmp_path / "home"


def versions(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]


def stamp(path: Path, *rows: str) -> None:
    """Give a database the alembic_version rows a first-use race can leave (the table rebuilt without its key)."""
    db = sqlite3.connect(path)
    with db:
        db.execute("DROP TABLE alembic_version")
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.executemany("INSERT INTO alembic_version VALUES (?)", [(row,) for row in rows])
    db.close()


@pytest.mark.slow
def test_twelve_commands_started_together_on_a_new_home_all_succeed(tmp_path):
    home = tmp_path / "new-home"
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "CC_PERF_STORAGE")}
    pdf = str(TEST_INVOICES / "CI004848705.pdf")
    command = [CC_PERF, "process", "--in-process", "--no-sheet", "--dagster-home", str(home), pdf]
    procs = [
        subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(12)
    ]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    failed = [err for status, err in results if status != 0]
    assert not failed, failed[0]
    for name in SQLITE_DATABASES:
        assert len(versions(home / name)) == 1, name


@pytest.fixture
def made(home):
    """The home after a first command: its databases made and stamped (every repair test starts here)."""
    with open_instance(home):
        pass
    return home


@pytest.mark.usefixtures("made")
class TestRepair:
    def test_a_duplicated_revision_row_is_reduced_to_one(self, home):
        runs = home / "history/runs.db"
        (head,) = versions(runs)
        stamp(runs, head, head)
        with open_instance(home) as instance:
            assert instance.get_dynamic_partitions("invoices") == []
        assert versions(runs) == [head]

    def test_the_race_signature_keeps_dagsters_fallback_revision(self, home):
        schedules = home / "schedules/schedules.db"
        (head,) = versions(schedules)
        stamp(schedules, head, FALLBACK)
        assert repair_alembic_versions(home) == ["schedules/schedules.db"]
        assert versions(schedules) == [FALLBACK]
        with open_instance(home) as instance:
            instance.add_dynamic_partitions("invoices", ["A"])
            assert instance.get_dynamic_partitions("invoices") == ["A"]

    def test_any_other_mix_is_refused_with_one_line(self, home):
        runs = home / "history/runs.db"
        stamp(runs, "0123456789ab", "ba9876543210")
        with pytest.raises(DagsterHomeError) as caught:
            open_instance(home)
        message = str(caught.value)
        assert len(message.splitlines()) == 1
        assert str(runs) in message and "dagster instance migrate" in message
        assert versions(runs) == ["0123456789ab", "ba9876543210"]  # left as it was

    def test_the_cli_reports_a_refused_home_in_one_line(self, home, tmp_path):
        stamp(home / "history/runs.db", "0123456789ab", "ba9876543210")
        done = subprocess.run(
            [CC_PERF, "process", "--dagster-home", str(home), str(TEST_INVOICES / "CI004848705.pdf")],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("cc-perf: ")


def test_a_shipped_home_starts_queued_runs_within_a_second_and_keeps_skipped_sensor_ticks_a_day(home):
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.scheduler.instigation import TickStatus

    with open_instance(home) as instance:
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        assert coordinator.dequeue_interval_seconds == 1  # Dagster's default: 5
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
        retention = instance.get_tick_retention_settings(InstigatorType.SENSOR)
        assert retention[TickStatus.SKIPPED] == 1 and retention[TickStatus.SUCCESS] == -1  # others as Dagster's


def test_a_cluster_home_shares_the_coordinator_and_retention_settings():
    import yaml

    from cc_perf_dagster.instance import cluster_dagster_yaml, dagster_yaml

    local = yaml.safe_load(dagster_yaml("/home"))
    cluster = yaml.safe_load(cluster_dagster_yaml("postgresql://postgres@127.0.0.1:5432/x"))
    for shared in ("run_coordinator", "retention", "run_retries"):
        assert cluster[shared] == local[shared], shared
    # a run stopped from outside its steps runs again once; one its steps failed is left to the sensor
    assert local["run_retries"] == {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": False}
    assert cluster["concurrency"]["runs"]["max_concurrent_runs"] == 4
