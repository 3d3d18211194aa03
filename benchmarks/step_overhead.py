"""What one extra step costs on the active profile (``CC_PERF_PROFILE``): the cost model's ``step_overhead_s``.

Runs the invoice job on one 15-page invoice twice, as one batch and as one step per page, each
on a fresh storage root (so the page cache never answers), and prints the extra wall time per
extra step, divided by nothing: with N slots the extra steps run N at a time, so the figure is
what an extra step costs the run on this executor with this many workers.

    CC_PERF_PROFILE=local .venv/bin/python benchmarks/step_overhead.py
    CC_PERF_PROFILE=cluster ... .venv/bin/python benchmarks/step_overhead.py   # workers running
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from dagster import DagsterInstance, execute_job, reconstructable

from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import process_invoices_job, storage_run_config
from cc_perf_dagster.executor import OVER_PROCESSES_RUN_CONFIG
from cc_perf_dagster.instance import open_instance
from cc_perf_dagster.profiles import active_profile

PDF = Path(__file__).resolve().parent.parent / "test_invoices" / "CS003837319.pdf"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# Locally a run this small would stay in its own process (cc_perf_dagster.executor): measure the processes.
OVER_PROCESSES = OVER_PROCESSES_RUN_CONFIG if active_profile() == "local" else {}


def timed_run(instance: DagsterInstance, root: Path, pages_per_batch: int | None) -> tuple[float, int]:
    key = FileRegistry(root / "registry").register(PDF).key
    instance.add_dynamic_partitions("invoices", [key])
    config = storage_run_config(str(root))
    config["resources"]["settings"] = {"config": {"pages_per_batch": pages_per_batch}}
    started = time.perf_counter()
    with execute_job(
        reconstructable(process_invoices_job),
        instance=instance,
        tags={"dagster/partition": key},
        run_config={**config, **QUIET, **OVER_PROCESSES},
    ) as result:
        assert result.success
        steps = sum(e.event_type_value == "STEP_SUCCESS" for e in result.all_events)
    return time.perf_counter() - started, steps


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as folder, open_instance(Path(folder) / "home") as instance:
        timed_run(instance, Path(folder) / "warm", None)  # first run: imports, database tables
        figures = []
        for index in range(rounds):
            one, one_steps = timed_run(instance, Path(folder) / f"one{index}", None)
            many, many_steps = timed_run(instance, Path(folder) / f"many{index}", 1)
            figures.append((many - one) / (many_steps - one_steps))
            print(
                f"{active_profile()}: 1 batch {one:.2f} s ({one_steps} steps), "
                f"per page {many:.2f} s ({many_steps} steps): {figures[-1]:.3f} s per extra step"
            )
        figures.sort()
        print(f"{active_profile()}: median {figures[len(figures) // 2]:.3f} s per extra step")


if __name__ == "__main__":
    main()
