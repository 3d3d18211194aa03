"""Runs left started by a process that is gone, marked failed so that they can run again.

A run's status is written by the process that executes it. Killed outright (SIGKILL, the
out-of-memory killer) or stopped with its machine (a laptop's battery, a reboot), that process
leaves its run ``STARTED`` for good, and the UI shows it running. Two kinds are found here:

* runs of ``cc-perf process``, which executes its jobs in its own process: each carries
  :data:`LAUNCHER_TAG` (machine and process id), so the machine is known;
* on a single-machine instance (SQLite storage, the local profile), runs of the daemon or the
  UI: the process that started executing them (the ``RUN_START`` event's) is on this machine.

A run of a process still alive, or of another machine, is left alone. The next ``cc-perf
process`` and ``make ui`` (``python -m cc_perf_dagster.instance``, before ``dagster dev``) look;
the shipped ``dagster.yaml``'s run retries then run a daemon's run again once (``cc-perf
process`` tags its own runs not to be retried: it runs its files again itself).
"""

from __future__ import annotations

import os
import socket

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

LAUNCHER_TAG = "cc_perf/launcher_process"
_UNFINISHED = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


def launcher_tags() -> dict[str, str]:
    """The tag naming this process as the one running a run: ``host:pid``."""
    return {LAUNCHER_TAG: f"{socket.gethostname()}:{os.getpid()}"}


def fail_runs_left_behind(instance: DagsterInstance) -> list[str]:
    """Mark failed every unfinished run whose process (as above) is gone; their ids."""
    host, single_machine = socket.gethostname(), _single_machine(instance)
    failed = []
    for run in instance.get_runs(RunsFilter(statuses=_UNFINISHED)):
        tag = run.tags.get(LAUNCHER_TAG)
        if tag is not None:
            launcher_host, _, text = tag.rpartition(":")
            pid = int(text) if launcher_host == host and text.isdigit() else None
            what = "The cc-perf process that ran it"
        else:
            pid = _run_process(instance, run.run_id) if single_machine else None
            what = "The process that ran it"
        if pid is None or _alive(pid):
            continue
        instance.report_run_failed(
            run,
            message=f"{what} (process {pid} on {host}) ended without finishing it (killed, or its "
            "machine stopped); marked failed by cc-perf so that it can run again.",
        )
        failed.append(run.run_id)
    return failed


def _single_machine(instance: DagsterInstance) -> bool:
    """Whether every run of the instance runs on this machine: its runs are in SQLite."""
    try:
        from dagster._core.storage.runs import SqliteRunStorage
    except ImportError:  # another Dagster release: no sweep of the daemon's runs
        return False
    return isinstance(instance.run_storage, SqliteRunStorage)


def _run_process(instance: DagsterInstance, run_id: str) -> int | None:
    """The id of the process that started executing the run (its ``RUN_START`` event), if it has."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_START, limit=1).records
    event = records[0].event_log_entry.dagster_event if records else None
    return event.pid if event is not None else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
