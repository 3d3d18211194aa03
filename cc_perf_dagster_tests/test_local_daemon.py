"""Files dropped into the incoming folder under a real ``dagster-daemon run``, on the local profile.

What ``make ui`` runs for the sensors, end to end: the ready-made definitions from
``workspace.yaml``, the daemon's sensor loop and its cursor in the SQLite home, the queued run
coordinator, a run worker per run, and the failed-range sensor running a failed range's good
partitions again. No timing is asserted (the figures are ``make bench``'s);
the deadline only keeps a broken daemon from hanging the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from dagster import DagsterEventType, DagsterRunStatus, RunsFilter

from cc_perf_dagster.assets import RANGE_END_TAG, RANGE_START_TAG
from cc_perf_dagster.core.export import booking_csv
from cc_perf_dagster.core.extract import extract_invoice
from cc_perf_dagster.core.incoming import quarantine_folder
from cc_perf_dagster.sensors import RERUN_OF_TAG
from cc_perf_dagster_tests.conftest import BAD_INVOICES, TEST_INVOICES, corrupt_content_stream
from cc_perf_dagster_tests.helpers import batch_steps_started, gone, write_run_over_processes
from cc_perf_dagster_tests.local_daemon import local_daemon

pytestmark = pytest.mark.slow

DEADLINE_S = 240
GOOD = ("CI004731586.pdf", "CS003837319.pdf")
BROKEN = "CI004800000_broken"


def test_dropped_files_are_booked_once_and_bad_ones_refused_through_the_daemon(tmp_path):
    staged = tmp_path / "staged"
    staged.mkdir()
    for name in GOOD:
        shutil.copy(TEST_INVOICES / name, staged / name)
    # Passes the sensor's quick check (page 1 is fine), fails its range run on page 2. The sensor
    # orders a tick's new partitions by modification time: between the good ones, so the range run
    # holds all three and the rerun sensor runs the other two.
    corrupt_content_stream(TEST_INVOICES / "CS003837319.pdf", staged / f"{BROKEN}.pdf", page=2)
    for age, name in zip((30, 20, 10), (GOOD[0], f"{BROKEN}.pdf", GOOD[1]), strict=True):
        os.utime(staged / name, (time.time() - age, time.time() - age))
    shutil.copy(BAD_INVOICES / "encrypted.pdf", staged / "encrypted.pdf")
    hours_ago = time.time() - 7200
    os.utime(staged / "encrypted.pdf", (hours_ago, hours_ago))  # unchanged for long: quarantined, not held
    with local_daemon(tmp_path / "daemon") as daemon:
        daemon.wait_until(lambda: daemon.sensor_ticks() > 0, deadline_s=DEADLINE_S, what="the sensor's first tick")
        for path in staged.iterdir():  # all in the folder at once: one tick takes them
            path.rename(daemon.incoming / path.name)
        keys = {name.removesuffix(".pdf") for name in GOOD}
        daemon.wait_until(lambda: keys <= set(daemon.booked()), deadline_s=DEADLINE_S, what="both invoices booked")
        ticks = daemon.sensor_ticks()
        daemon.wait_until(lambda: daemon.sensor_ticks() >= ticks + 2, deadline_s=DEADLINE_S, what="two more ticks")
        booked = daemon.booked()
        runs = daemon.instance.get_runs(RunsFilter(job_name="process_invoices"))

    assert booked == {key: 1 for key in keys}  # each once, the broken one never: later ticks requested nothing again
    for name in GOOD:
        rows = (daemon.storage / "assets" / "booking_rows" / f"{name.removesuffix('.pdf')}.csv").read_text()
        assert rows == booking_csv([extract_invoice(TEST_INVOICES / name)])  # what the core books from the file
    (failed,) = [run for run in runs if run.status == DagsterRunStatus.FAILURE]
    assert failed.tags[RANGE_START_TAG] == "CI004731586" and failed.tags[RANGE_END_TAG] == "CS003837319"
    reruns = [run for run in runs if run.tags.get(RERUN_OF_TAG) == failed.run_id]
    assert len(reruns) == 2 and all(run.status == DagsterRunStatus.SUCCESS for run in reruns)
    failure = daemon.instance.get_records_for_run(failed.run_id, of_type=DagsterEventType.STEP_FAILURE).records
    assert any(BROKEN in record.event_log_entry.dagster_event.step_failure_data.error.message for record in failure)
    note = json.loads((quarantine_folder(daemon.incoming) / "encrypted.pdf.error.json").read_text())
    assert note["error"] == "invalid_document" and "password" in note["reason"]
    assert sorted(p.name for p in daemon.incoming.iterdir()) == sorted([*GOOD, f"{BROKEN}.pdf"])  # nothing lost


def staged_range(tmp_path):
    """Four 200-page files written minutes ago, all at once: one look takes them, one range run in name order."""
    staged = tmp_path / "staged"
    keys = write_run_over_processes(staged)
    written = time.time() - 600
    for path in staged.iterdir():
        os.utime(path, (written, written))
    return staged, keys


def dropped_range_running(daemon, staged, keys):
    """Move the staged files into the daemon's folder; its range run and step process ids once its batches run."""
    for path in staged.iterdir():
        path.rename(daemon.incoming / path.name)
    started = {}

    def batch_steps_running() -> bool:
        started["run"], started["pids"] = batch_steps_started(daemon.instance)
        return started["run"] is not None

    daemon.wait_until(batch_steps_running, deadline_s=DEADLINE_S, what="the page-batch steps' start")
    run = started["run"]
    assert (run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]) == (keys[0], keys[-1])
    return run, started["pids"]


def stopped(daemon):
    """Wait until the daemon and every process of its group (code server, run worker, steps) has exited."""
    daemon.process.wait(timeout=DEADLINE_S)
    deadline = time.monotonic() + DEADLINE_S
    while not gone(daemon.process.pid, group=True):
        assert time.monotonic() < deadline, "processes of the stopped daemon still running"
        time.sleep(0.1)


def run_story(daemon, run) -> str:
    """The run's engine and run events and the daemon log's tail, for a failure's message."""
    events = [
        f"{record.dagster_event.event_type_value} pid={record.dagster_event.pid}: {record.message[:200]}"
        for record in daemon.instance.all_logs(run.run_id)
        if record.dagster_event is not None and record.step_key is None
    ]
    return "\n".join([*events, daemon.log.read_text(errors="replace")[-3000:]])


def booked_again_by_one_retry(root, run_id, keys):
    """The daemon started again: each invoice booked once, by the one retry of ``run_id``."""
    with local_daemon(root) as daemon:
        booked_by_one_retry(daemon, run_id, keys)


def booked_by_one_retry(daemon, run_id, keys):
    """Each invoice booked once, by the one retry of ``run_id``."""
    daemon.wait_until(lambda: set(keys) <= set(daemon.booked()), deadline_s=DEADLINE_S, what="all booked")
    ticks = daemon.sensor_ticks()
    daemon.wait_until(lambda: daemon.sensor_ticks() >= ticks + 2, deadline_s=DEADLINE_S, what="two more ticks")
    booked = daemon.booked()
    runs = daemon.instance.get_runs(RunsFilter(job_name="process_invoices"))
    assert booked == {key: 1 for key in keys}
    retry, first = runs  # the retry, from where the first stopped; nothing else
    assert first.run_id == run_id and retry.tags["dagster/parent_run_id"] == run_id
    assert retry.status == DagsterRunStatus.SUCCESS


def test_terminate_in_the_ui_stops_a_run_over_processes_books_nothing_and_nothing_reruns_it(tmp_path):
    staged, keys = staged_range(tmp_path)
    with local_daemon(tmp_path / "daemon") as daemon:
        run, pids = dropped_range_running(daemon, staged, keys)
        # what the UI's Terminate button calls (dagster_graphql terminate_pipeline_execution)
        assert daemon.instance.run_coordinator.cancel_run(run.run_id)
        daemon.wait_until(
            lambda: daemon.instance.get_run_by_id(run.run_id).is_finished, deadline_s=DEADLINE_S, what="the run's end"
        )
        daemon.wait_until(lambda: all(gone(pid) for pid in pids), deadline_s=DEADLINE_S, what="steps gone")
        ticks = daemon.sensor_ticks("rerun_failed_ranges")
        daemon.wait_until(
            lambda: daemon.sensor_ticks("rerun_failed_ranges") >= ticks + 2, deadline_s=DEADLINE_S, what="two ticks"
        )
        runs = daemon.instance.get_runs(RunsFilter(job_name="process_invoices"))
        assert [r.status for r in runs] == [DagsterRunStatus.CANCELED]  # not run again: the user stopped it
        assert daemon.booked() == {} and daemon.instance.get_dynamic_partitions("invoices") == keys
        assert sorted(p.name for p in daemon.incoming.iterdir()) == [f"{key}.pdf" for key in keys]  # kept


def test_a_run_stopped_with_the_daemon_runs_again_once_it_restarts_and_books_each_invoice_once(tmp_path):
    (staged, keys), root = staged_range(tmp_path), tmp_path / "daemon"
    with local_daemon(root) as daemon:
        run, _ = dropped_range_running(daemon, staged, keys)
        os.killpg(daemon.process.pid, signal.SIGINT)  # Ctrl-C on `make ui`: its whole process group
        # The daemon may exit before the run worker has written the run's end (a loaded machine):
        # what is recorded counts once every process of the group has stopped.
        stopped(daemon)
        assert daemon.instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE, run_story(daemon, run)
        assert daemon.booked() == {}
    booked_again_by_one_retry(root, run.run_id, keys)


def test_runs_of_a_daemon_killed_outright_are_failed_by_make_ui_then_run_again(tmp_path):
    (staged, keys), root = staged_range(tmp_path), tmp_path / "daemon"
    with local_daemon(root) as daemon:
        run, _ = dropped_range_running(daemon, staged, keys)
        os.killpg(daemon.process.pid, signal.SIGKILL)  # as a machine stopping: nothing writes the run's end
        stopped(daemon)
        assert daemon.instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED  # for good, before
    # what `make ui` runs before `dagster dev`
    env = {**os.environ, "DAGSTER_HOME": str(root / "home"), "CC_PERF_PROFILE": "local"}
    done = subprocess.run(
        [sys.executable, "-m", "cc_perf_dagster.instance"], env=env, capture_output=True, text=True, timeout=120,
        check=True,
    )  # fmt: skip
    assert f"run {run.run_id}, left started by a process since gone: marked failed (it runs again)" in done.stdout
    booked_again_by_one_retry(root, run.run_id, keys)


def test_a_run_worker_killed_under_the_daemon_fails_its_run_which_runs_again_once(tmp_path):
    # Dagster's code server, which started the run worker, sees it die and fails its run (an
    # unexpected termination); the shipped run retries then run it again, the daemon going on.
    (staged, keys), root = staged_range(tmp_path), tmp_path / "daemon"
    with local_daemon(root) as daemon:
        run, _ = dropped_range_running(daemon, staged, keys)
        (start,) = daemon.instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_START).records
        os.kill(start.event_log_entry.dagster_event.pid, signal.SIGKILL)  # the out-of-memory killer, say
        booked_by_one_retry(daemon, run.run_id, keys)
        assert daemon.instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
