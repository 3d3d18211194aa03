"""The cluster run coordinator's poll: how long it waits between looks at the steps it submitted.

dagster-celery's coordinator (``dagster_celery.core_execution_loop``, Dagster 1.13.27) sleeps
``TICK_SECONDS`` (1 s) between rounds in which it collects finished steps and submits the steps
they free. Each stage of a run (plan, the batches, the merge) so starts up to a second after the
stage before it ended, and the run ends up to a second after its last step: about 1.5 s of a
three-stage run, on average, in which every worker idles (``benchmarks/sections/cluster.py``
times the stages against the run). The sleep reads the module's constant at each round, so
setting it shortens the wait; a round costs one result-backend lookup per step in flight (a
Redis ``GET``), so at :data:`COORDINATOR_TICK_S` even a hundred steps in flight cost Redis about
500 lookups a second.
"""

from __future__ import annotations

from cc_perf_dagster._dagster_compat.versions import fast_path

# Seconds the coordinator waits between rounds (dagster-celery's own: 1).
COORDINATOR_TICK_S = 0.2


def shorten_coordinator_tick(seconds: float = COORDINATOR_TICK_S) -> bool:
    """Make dagster-celery's coordinator look at its steps every ``seconds``, never less often than it did.

    Returns whether it did: not on a Dagster release nobody checked, nor without dagster-celery.
    """
    if not fast_path("dagster-celery's coordinator tick"):
        return False
    try:
        from dagster_celery import core_execution_loop
    except ImportError:
        return False
    tick = getattr(core_execution_loop, "TICK_SECONDS", None)
    if not isinstance(tick, (int, float)):
        return False  # renamed: the loop waits as it always did
    core_execution_loop.TICK_SECONDS = min(tick, seconds)
    return True
