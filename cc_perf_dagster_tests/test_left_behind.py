"""Runs a killed ``cc-perf process`` left started: the next one marks them failed, and does the work."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.test_utils import create_run_for_test

from cc_perf_dagster.left_behind import LAUNCHER_TAG, fail_runs_left_behind, launcher_tags
from cc_perf_dagster_tests.helpers import write_run_over_processes
from cc_perf_dagster_tests.test_interrupts import process_stopped_mid_run


def a_gone_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_unfinished_runs_of_a_gone_process_on_this_machine_are_marked_failed():
    host, gone = socket.gethostname(), a_gone_pid()
    with DagsterInstance.ephemeral() as instance:

        def run(status, tag):
            tags = {LAUNCHER_TAG: tag} if tag else {}
            return create_run_for_test(instance, status=status, tags=tags).run_id

        left = run(DagsterRunStatus.STARTED, f"{host}:{gone}")
        starting = run(DagsterRunStatus.STARTING, f"{host}:{gone}")
        kept = {
            run(DagsterRunStatus.STARTED, launcher_tags()[LAUNCHER_TAG]): DagsterRunStatus.STARTED,  # this process
            run(DagsterRunStatus.STARTED, f"another-{host}:{gone}"): DagsterRunStatus.STARTED,  # another machine
            run(DagsterRunStatus.STARTED, None): DagsterRunStatus.STARTED,  # launched otherwise
            run(DagsterRunStatus.SUCCESS, f"{host}:{gone}"): DagsterRunStatus.SUCCESS,  # finished
        }
        assert sorted(fail_runs_left_behind(instance)) == sorted([left, starting])
        assert instance.get_run_by_id(left).status == DagsterRunStatus.FAILURE
        assert {run_id: instance.get_run_by_id(run_id).status for run_id in kept} == kept
        (failure,) = [e for e in instance.all_logs(left) if e.dagster_event and e.dagster_event.is_run_failure]
        assert f"process {gone} on {host}" in failure.message
        assert fail_runs_left_behind(instance) == []  # once


def test_on_a_single_machine_instance_a_run_whose_process_is_gone_is_marked_failed_whoever_ran_it(tmp_path):
    from dagster._core.events import DagsterEvent, DagsterEventType

    gone = a_gone_pid()
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:  # SQLite: one machine

        def started(pid):
            run = create_run_for_test(instance, status=DagsterRunStatus.STARTED)
            if pid is not None:  # what the process executing it writes first (the daemon's run worker, say)
                event = DagsterEvent(DagsterEventType.RUN_START.value, job_name=run.job_name, pid=pid)
                instance.report_dagster_event(event, run.run_id)
            return run.run_id

        left, alive, unknown = started(gone), started(os.getpid()), started(None)
        assert fail_runs_left_behind(instance) == [left]
        statuses = [instance.get_run_by_id(run_id).status for run_id in (left, alive, unknown)]
        assert statuses == [DagsterRunStatus.FAILURE, DagsterRunStatus.STARTED, DagsterRunStatus.STARTED]


def test_the_runner_tags_its_runs_with_its_process(tmp_path, monkeypatch):
    from cc_perf_dagster.runner import InvoiceRunner
    from cc_perf_dagster_tests.conftest import TEST_INVOICES

    monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "storage"))
    with DagsterInstance.ephemeral() as instance:
        InvoiceRunner(instance, in_process=True).process([TEST_INVOICES / "CI004731586.pdf"], refresh_sheet=False)
        (run,) = instance.get_runs()
        assert run.tags[LAUNCHER_TAG] == f"{socket.gethostname()}:{os.getpid()}"


@pytest.mark.slow
def test_a_run_of_a_killed_cc_perf_process_is_marked_failed_by_the_next_which_does_the_rest(tmp_path):
    folder, home = tmp_path / "in", tmp_path / "home"
    keys = write_run_over_processes(folder)
    proc, run_id, _, _ = process_stopped_mid_run(home, folder, signal.SIGKILL)  # kill -9: nothing runs after
    assert proc.returncode == -signal.SIGKILL
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED  # what the UI would show for good
    again = subprocess.run(
        [sys.executable, "-m", "cc_perf_dagster.cli", "process", "--dagster-home", str(home), str(folder)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"cc-perf: run {run_id}, left started by a cc-perf process since gone: marked failed" in again.stderr
    assert [line.split()[1] for line in again.stdout.splitlines() if line.startswith("CS007")] == ["materialized"] * 4
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
        assert instance.get_dynamic_partitions("invoices") == keys
