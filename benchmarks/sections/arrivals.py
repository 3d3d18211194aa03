"""arrivals: files dropped at once: sensor ticks and the runs they request, against Pool(2)."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.harness import (
    PAGES_PER_INVOICE,
    pool2,
    run_config,
    run_in_fresh_process,
    shipped_instance,
    write_invoices,
)

NAME = "arrivals"
KEY = "arrivals"


def run(options, workdir: Path) -> dict:
    """The section's figures (``--invoices``, else 20 with ``--quick``, else 200)."""
    return bench_arrivals(options.invoices or (20 if options.quick else 200), workdir)


def bench_arrivals(count: int, workdir: Path) -> dict:
    """``count`` files dropped at once: first sensor tick to last materialization, against Pool(2)."""
    from dagster import build_sensor_context

    from cc_perf_dagster.definitions import build_definitions
    from cc_perf_dagster.sensors import build_incoming_folder_sensor

    incoming = workdir / "arrivals"
    files = write_invoices(incoming, count)
    pool_wall = pool2(files)["wall_s"]

    storage = workdir / "arrivals-storage"
    sensor = build_incoming_folder_sensor(directory=incoming, storage_root=str(storage), minimum_interval_seconds=30)
    defs = build_definitions(storage_root=str(storage), incoming_folder=str(incoming))
    home = workdir / "arrivals-home"
    home.mkdir()
    with shipped_instance(home) as instance:
        started = time.perf_counter()
        cursor, runs, ticks = None, 0, 0
        tick_s = 0.0
        while True:
            t0 = time.perf_counter()
            result = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
            tick_s += time.perf_counter() - t0
            ticks += 1
            cursor = result.cursor
            for add in result.dynamic_partitions_requests:
                instance.add_dynamic_partitions("invoices", list(add.partition_keys))
            for request in result.run_requests:  # each in a run worker of its own, as the daemon launches them
                run_in_fresh_process(home, "adaptive", dict(request.tags), run_config(storage))
                runs += 1
            if ticks > 1 and not result.run_requests:
                break
        wall = time.perf_counter() - started
    materialized = len(list((storage / "assets" / "invoice").glob("*.json")))
    return {
        "files": count,
        "pages": PAGES_PER_INVOICE * count,
        "materialized": materialized,
        "ticks": ticks,
        "runs": runs,
        "sensor_tick_s_total": round(tick_s, 3),
        "first_tick_to_last_materialization_s": round(wall, 3),
        "note": "ticks evaluated back to back; a live daemon adds one 30 s interval for the stability wait",
        "pool2_wall_s": pool_wall,
        "arrivals_over_pool2": round(wall / pool_wall, 3),
    }
