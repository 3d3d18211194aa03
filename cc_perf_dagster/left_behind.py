"""Runs that ``cc-perf process`` left started when it was killed, marked failed by the next one.

``cc-perf process`` runs its jobs in its own process (``execute_job``), so nothing else watches
them: killed with SIGKILL (the kernel's out-of-memory killer, ``kill -9``, a closed terminal's
session) or stopped with its machine, it leaves its run ``STARTED`` in the instance for good, and
the UI shows it running. Each run it starts is tagged with its machine and process id
(:data:`LAUNCHER_TAG`); the next ``cc-perf process`` on the same instance and machine marks a
run still started whose process is gone as failed, saying so. A run of a command still running
(another terminal), or of another machine sharing the cluster's database, is left alone.
"""

from __future__ import annotations

import os
import socket

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

LAUNCHER_TAG = "cc_perf/launcher_process"
_UNFINISHED = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


def launcher_tags() -> dict[str, str]:
    """The tag naming this process as the one running a run: ``host:pid``."""
    return {LAUNCHER_TAG: f"{socket.gethostname()}:{os.getpid()}"}


def fail_runs_left_behind(instance: DagsterInstance) -> list[str]:
    """Mark failed every unfinished run whose ``cc-perf process`` on this machine is gone; their ids."""
    host = socket.gethostname()
    failed = []
    for run in instance.get_runs(RunsFilter(statuses=_UNFINISHED)):
        launcher_host, _, pid = run.tags.get(LAUNCHER_TAG, "").rpartition(":")
        if launcher_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        instance.report_run_failed(
            run,
            message=f"The cc-perf process that ran it (process {pid} on {host}) ended without finishing it "
            "(killed, or its machine stopped); marked failed by the next cc-perf process.",
        )
        failed.append(run.run_id)
    return failed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
