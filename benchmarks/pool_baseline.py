"""The baseline every Dagster figure is held against: a plain ``multiprocessing.Pool(2)`` script.

It runs the same core (``extract_invoice``) over the same files, two worker processes started
with forkserver, and nothing else: no orchestration, no storage, no cache. The benchmark runs it
in a fresh interpreter of its own, as a user would run a script, so that it shares no process
state (such as Python's one forkserver) with the Dagster runs it is compared with.

Usage: ``python -m benchmarks.pool_baseline [--engine pypdf|pdfium] FILE.pdf ...`` prints one JSON
object: wall and CPU seconds from the pool's creation to its last result (the pool's start
included), line items.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import sys
import time

from benchmarks.harness import default_signals
from benchmarks.measure import tree_cpu_s
from cc_perf_dagster.core import extract_invoice


def line_items(path: str, engine: str | None = None) -> int:
    """Extract one document; the number of its line items (so the work cannot be skipped)."""
    return len(extract_invoice(path, engine=engine).line_items)


def main(paths: list[str], engine: str | None = None) -> dict:
    """Run the pool over ``paths`` with the text engine ``engine`` (default pypdf) and measure it."""
    cpu0, started = tree_cpu_s(), time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        lines = sum(pool.map(functools.partial(line_items, engine=engine), paths))
        wall, cpu = time.perf_counter() - started, tree_cpu_s() - cpu0
        # Workers leave on the end-of-work message; the ``with`` block's terminate alone relies
        # on SIGTERM, which a worker started with it ignored never acts on.
        pool.close()
        pool.join()
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "line_items": lines, "files": len(paths)}


if __name__ == "__main__":
    default_signals()
    args = sys.argv[1:]
    chosen = None
    if args[:1] == ["--engine"]:
        chosen, args = args[1], args[2:]
    print(json.dumps(main(args, chosen)))
