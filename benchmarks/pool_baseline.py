"""The baseline every Dagster figure is held against: a plain ``multiprocessing.Pool(2)`` script.

It runs the same core (``extract_invoice``) over the same files, two worker processes started
with forkserver, and nothing else: no orchestration, no storage, no cache. The benchmark runs it
in a fresh interpreter of its own, as a user would run a script, so that it shares no process
state (such as Python's one forkserver) with the Dagster runs it is compared with.

Usage: ``python -m benchmarks.pool_baseline FILE.pdf ...`` prints one JSON object: wall and CPU
seconds from the pool's creation to its last result (the pool's start included), line items.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time

from benchmarks.measure import tree_cpu_s
from cc_perf_dagster.core import extract_invoice


def line_items(path: str) -> int:
    """Extract one document; the number of its line items (so the work cannot be skipped)."""
    return len(extract_invoice(path).line_items)


def main(paths: list[str]) -> dict:
    """Run the pool over ``paths`` and measure it."""
    cpu0, started = tree_cpu_s(), time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        lines = sum(pool.map(line_items, paths))
        wall, cpu = time.perf_counter() - started, tree_cpu_s() - cpu0
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "line_items": lines, "files": len(paths)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
