"""cluster: the same invoices through one Celery worker and through two (PostgreSQL and Redis on
loopback), against a range run on the multiprocess executor and the Pool(2) script, side by side;
then what one event costs to store in PostgreSQL against SQLite, one by one and in a batch, and a
two-worker run with ``DAGSTER_EVENT_BATCH_SIZE=0`` against the profile's default (1000).

Skipped with the reason where the cluster extra, PostgreSQL or Redis is missing. Each cluster run
gets a fresh database and Redis database, workers of one pool process each (so one worker is one
core and two workers are the machine's two), ``CC_PERF_CLUSTER_SLOTS`` equal to the workers, and
the run's coordinator in a fresh interpreter, as for the other sections.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.harness import (
    PAGES_PER_INVOICE,
    dagster_run,
    log,
    pool2,
    prepare,
    public,
    ratio,
    run_config,
    shipped_instance,
    timed_run,
    write_invoices,
)

NAME = "cluster"
KEY = "cluster"
COUNT = 200
COUNT_QUICK = 20
EVENTS = 200  # events stored per storage and mode
TWO_OVER_ONE_MAX = 0.65
TWO_OVER_MULTIPROCESS_MAX = 1.5
BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"


def run(options, workdir: Path) -> dict:
    """The section's figures (``--invoices``, else 20 with ``--quick``, else 200), or why it was skipped."""
    from cc_perf_dagster_tests.local_cluster import services_missing

    missing = services_missing()
    if missing:
        log(f"cluster: skipped: {missing}")
        return {"skipped": missing}
    return bench_cluster(options.invoices or (COUNT_QUICK if options.quick else COUNT), workdir)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` for the block (the child runs and workers inherit it), then as before."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cluster_run(files: list[Path], workdir: Path, *, workers: int, batch_size: str = "1000") -> dict:
    """A range run of ``files`` through ``workers`` fresh workers on a fresh database: the run's figures."""
    from cc_perf_dagster_tests.local_cluster import local_cluster

    label = f"cluster{workers}-batch{batch_size}"
    with environment({BATCH_ENV: batch_size}), local_cluster(workdir / label, workers=workers) as cluster:
        with environment(cluster.env):
            home, storage, keys = prepare(files, workdir, label)
            measured = timed_run(home, "adaptive", keys, run_config(storage))
            with shipped_instance(home) as instance:
                steps = step_seconds(instance, measured["run_id"])
    run = public(measured)
    run["steps"] = steps
    run["workers"] = workers
    run["invoices_per_min"] = round(len(files) / run["wall_s"] * 60, 1)
    return run


def step_seconds(instance, run_id: str) -> dict:
    """Where a run's time went: each stage's step time (start to success) and what is left around them.

    The stages run one after another (plan, the batches side by side, assemble with the booking rows), so
    the wall time less the stages' sum (the longest batch for the batch stage) is orchestration:
    run start, the coordinator's polls and each step's start before its ``STEP_START``.
    """
    from dagster import DagsterEventType

    bounds: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}):
        bounds.setdefault(entry.step_key, []).append(entry.timestamp)
    seconds = {key: round(max(times) - min(times), 3) for key, times in bounds.items()}
    batches = [v for k, v in seconds.items() if "extract_page_batch" in k]
    stages = {
        "plan_s": sum(v for k, v in seconds.items() if "plan_page_batches" in k),
        "batches": len(batches),
        "longest_batch_s": max(batches, default=0.0),
        "batch_sum_s": round(sum(batches), 3),
        "assemble_s": sum(v for k, v in seconds.items() if "assemble_invoices" in k),
    }
    stages["stages_s"] = round(stages["plan_s"] + stages["longest_batch_s"] + stages["assemble_s"], 3)
    return stages


def bench_cluster(count: int, workdir: Path) -> dict:
    """``count`` invoices of 15 pages: Pool(2), multiprocess, one worker, two workers; event costs."""
    files = write_invoices(workdir / "cluster", count)
    local = {"CC_PERF_PROFILE": "local", BATCH_ENV: "1000"}
    with environment(local):
        pool = pool2(files)
        multiprocess = dagster_run(files, workdir, design="adaptive")
    log(f"cluster: Pool(2) {pool['wall_s']} s, multiprocess {multiprocess['wall_s']} s")
    one = cluster_run(files, workdir, workers=1)
    log(f"cluster: one worker {one['wall_s']} s")
    two = cluster_run(files, workdir, workers=2)
    log(f"cluster: two workers {two['wall_s']} s")
    unbatched = cluster_run(files, workdir, workers=2, batch_size="0")
    log(f"cluster: two workers, DAGSTER_EVENT_BATCH_SIZE=0: {unbatched['wall_s']} s")
    events = event_costs(workdir)
    return {
        "invoices": count,
        "pages": PAGES_PER_INVOICE * count,
        "pool2": pool,
        "multiprocess": multiprocess,
        "one_worker": one,
        "two_workers": two,
        "two_workers_unbatched": unbatched,
        "two_over_one": ratio(two["wall_s"], one["wall_s"]),
        "two_over_multiprocess": ratio(two["wall_s"], multiprocess["wall_s"]),
        "two_over_pool2": ratio(two["wall_s"], pool["wall_s"]),
        "unbatched_over_batched": ratio(unbatched["wall_s"], two["wall_s"]),
        "target_two_over_one_max": TWO_OVER_ONE_MAX,
        "target_two_over_multiprocess_max": TWO_OVER_MULTIPROCESS_MAX,
        "events": events,
        "postgres_over_sqlite_per_event": ratio(events["postgres"]["one_by_one_ms"], events["sqlite"]["one_by_one_ms"]),
    }


# --- what an event costs to store ---------------------------------------------------------------


def _materializations(run_id: str, count: int) -> list:
    """``count`` materialization events of one run, one partition each (what a range run writes per asset)."""
    from dagster import AssetMaterialization, DagsterEvent, DagsterEventType
    from dagster._core.events import StepMaterializationData
    from dagster._core.events.log import EventLogEntry

    entries = []
    for index in range(count):
        event = DagsterEvent(
            DagsterEventType.ASSET_MATERIALIZATION.value,
            job_name="bench",
            event_specific_data=StepMaterializationData(AssetMaterialization("invoice", partition=f"k{index}")),
        )
        fields = {"error_info": None, "level": logging.INFO, "user_message": "", "run_id": run_id}
        fields.update(timestamp=time.time(), step_key="assemble", job_name="bench", dagster_event=event)
        entries.append(EventLogEntry(**fields))
    return entries


def _store_costs(instance) -> dict:
    """Per event, in ms: materializations stored one by one, and in one batch (what the variable changes)."""
    from dagster._core.utils import make_new_run_id

    storage = instance.event_log_storage
    entries = _materializations(make_new_run_id(), EVENTS)
    started = time.perf_counter()
    for entry in entries:
        storage.store_event(entry)
    one_by_one = time.perf_counter() - started
    entries = _materializations(make_new_run_id(), EVENTS)
    started = time.perf_counter()
    storage.store_event_batch(entries)
    batch = time.perf_counter() - started
    return {
        "events": EVENTS,
        "one_by_one_ms": round(one_by_one / EVENTS * 1000, 3),
        "batch_ms": round(batch / EVENTS * 1000, 3),
        "batch_over_one_by_one": ratio(batch, one_by_one),
    }


def event_costs(workdir: Path) -> dict:
    """Materialization events stored in the shipped SQLite home and in a fresh PostgreSQL database."""
    from dagster import DagsterInstance

    from cc_perf_dagster.instance import ensure_dagster_home
    from cc_perf_dagster_tests.local_cluster import local_cluster

    home = workdir / "events-sqlite"
    home.mkdir()
    with environment({"CC_PERF_PROFILE": "local"}), shipped_instance(home) as instance:
        sqlite = _store_costs(instance)
    with local_cluster(workdir / "events-postgres", workers=0) as cluster, environment(cluster.env):
        home = ensure_dagster_home(workdir / "events-postgres" / "home", export=False, profile="cluster")
        with DagsterInstance.from_config(str(home)) as instance:
            postgres = _store_costs(instance)
    return {"sqlite": sqlite, "postgres": postgres}
