"""Dagster's interrupt capture around a whole run, its creation included.

``execute_job`` installs Dagster's SIGINT handler (a flag its executor looks at between steps,
then stops the run's steps and fails the run as interrupted) only once the run's execution
starts. A Ctrl-C while the run is being created (its record, its planned events, the
forkserver's start) would reach the caller's handler instead, and the run would go on to its
end. Dagster's own note on the capture (``ExecutionPlanIterator.__iter__``, Dagster 1.13.27)
says it may wrap the whole process that performs an execution; nested, the inner capture hands
the outer one's handler back, and the flag stays set until the executor takes it.
"""

from __future__ import annotations

import contextlib

from cc_perf_dagster._dagster_compat.versions import fast_path


def dagster_takes_interrupts() -> contextlib.AbstractContextManager[None]:
    """A context in which SIGINT (and SIGTERM) go to Dagster's run handling, as during a run's steps."""
    if not fast_path("interrupts during a run's creation"):
        return contextlib.nullcontext()
    from dagster._utils.interrupts import capture_interrupts

    return capture_interrupts()
