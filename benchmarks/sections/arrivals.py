"""arrivals: files dropped at once (sensor ticks and the runs they request) against Pool(2); and one
file at a time under a live daemon, from the drop to its booked rows, against ``cc-perf process``."""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

from dagster import RunsFilter

from benchmarks.harness import (
    PAGES_PER_INVOICE,
    cc_perf_process,
    pool2,
    ratio,
    run_config,
    run_in_fresh_process,
    shipped_instance,
    write_invoices,
)
from cc_perf_dagster.assets import partition_tags

NAME = "arrivals"
KEY = "arrivals"


DROP_ROUNDS = 3


def run(options, workdir: Path) -> dict:
    """The section's figures (``--invoices``, else 20 with ``--quick``, else 200)."""
    figures = bench_arrivals(options.invoices or (20 if options.quick else 200), workdir)
    figures["drop"] = bench_drop_latency(workdir, rounds=1 if options.quick else DROP_ROUNDS)
    return figures


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
        "note": "ticks evaluated back to back; under a live daemon they are about 5 s apart (the drop figures)",
        "pool2_wall_s": pool_wall,
        "arrivals_over_pool2": round(wall / pool_wall, 3),
    }


def bench_drop_latency(workdir: Path, rounds: int) -> dict:
    """One 15-page invoice at a time dropped into the folder a live daemon watches: drop to booked rows.

    The daemon is ``dagster-daemon run -w workspace.yaml`` on a shipped home (what ``make ui``
    runs). Each round copies a new invoice into the incoming folder (a new modification time:
    the sensor takes it on its second look) and waits for its ``booking_rows`` materialization,
    then moves one in (its time kept from minutes before: taken on the first look); side by
    side, alternating, ``cc-perf process`` on the copied file (a fresh home and storage: the
    whole command) is the baseline. Medians of ``rounds``.
    """
    from cc_perf_dagster_tests.local_daemon import local_daemon

    files = write_invoices(workdir / "drop-files", 2 * rounds)
    drops, moves, commands = [], [], []
    with local_daemon(workdir / "drop") as daemon:
        daemon.wait_until(lambda: daemon.sensor_ticks() > 0, deadline_s=300, what="the sensor's first tick")
        for copied, moved in zip(files[::2], files[1::2], strict=True):
            commands.append(cc_perf_process([copied], workdir)["wall_s"])
            drops.append(_drop_one(daemon, copied, shutil.copy))
            moves.append(_drop_one(daemon, moved, shutil.move))
    drop_s = statistics.median(d["booked_s"] for d in drops)
    command_s = statistics.median(commands)
    return {
        "rounds": drops,
        "moved_rounds": moves,
        "command_wall_s": commands,
        "drop_to_booked_s": round(drop_s, 3),
        "drop_to_run_requested_s": round(statistics.median(d["requested_s"] for d in drops), 3),
        "moved_to_booked_s": round(statistics.median(d["booked_s"] for d in moves), 3),
        "command_s": round(command_s, 3),
        "drop_over_command": ratio(drop_s, command_s),
    }


def _drop_one(daemon, path: Path, put) -> dict:
    """``put(path, target)`` into the incoming folder; seconds until its run is requested and its rows booked."""
    key, requested = path.stem, None
    started = time.perf_counter()
    put(path, daemon.incoming / path.name)

    def booked() -> bool:
        nonlocal requested
        if requested is None and daemon.instance.get_runs_count(RunsFilter(tags=partition_tags([key]))):
            requested = time.perf_counter() - started
        return key in daemon.booked()

    daemon.wait_until(booked, deadline_s=300, what=f"{path.name} booked")
    return {"requested_s": round(requested, 3), "booked_s": round(time.perf_counter() - started, 3)}
