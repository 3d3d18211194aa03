"""Measuring helpers shared by the benchmark runner and the plain Pool(2) script."""

from __future__ import annotations

import psutil


def tree_cpu_s() -> float:
    """CPU seconds (user + system) of this process and every descendant, dead or alive.

    A finished child's time moves into its parent's ``children_*`` fields once the parent reaps
    it: this process reaps spawned step processes, the forkserver reaps the ones it forked. So
    the difference of two snapshots is the tree's CPU in between, provided every process that
    reaps another is still alive at the second snapshot (take it before closing a pool).
    """
    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:  # gone between listing and reading: its time is in its parent
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total
