"""A throwaway cluster on the loopback services, for the cluster tests and ``make bench``.

:func:`local_cluster` creates a fresh PostgreSQL database and its Dagster schema, takes a Redis
database of its own, starts Celery workers with ``scripts/cluster_worker.sh`` (each its own
process group and working folder, as separate machines would be), waits until each consumes
the queue, and removes everything afterwards whatever happened. The caller applies
:attr:`LocalCluster.env` to the process that launches runs.

The services default to loopback; ``CC_PERF_TEST_PG`` and ``CC_PERF_TEST_REDIS`` point elsewhere.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cc_perf_dagster.profiles import psycopg2_url

REPO = Path(__file__).resolve().parent.parent
PG = os.environ.get("CC_PERF_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432")
REDIS = os.environ.get("CC_PERF_TEST_REDIS", "redis://127.0.0.1:6379")
CACHE_KEY = "k" * 64
READY_TIMEOUT_S = 120

# A Redis database per cluster (2..15, never the same one twice in a process before all were
# used): a worker still shutting down from the previous cluster must not take the next one's tasks.
_REDIS_DATABASES = itertools.cycle(random.sample(range(2, 16), 14))


def services_missing() -> str | None:
    """Why the cluster cannot run here (the extra or a service missing), ``None`` when it can."""
    try:
        import psycopg2
        import redis
    except ImportError as exc:
        return f"the cluster extra is not installed ({exc.name})"
    try:
        psycopg2.connect(admin_url(), connect_timeout=3).close()
    except psycopg2.Error as exc:
        return f"no PostgreSQL at {PG}: {str(exc).strip()}"
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"no Redis at {REDIS}: {exc}"
    return None


def admin_url() -> str:
    """A libpq URL of the server's ``postgres`` database (for creating and dropping databases)."""
    return psycopg2_url(PG + "/postgres").replace("+psycopg2", "")


@dataclass
class Worker:
    """One worker's launcher process (its own process group), log and folder."""

    name: str
    process: subprocess.Popen
    folder: Path

    def log(self) -> str:
        """What the worker printed so far."""
        return (self.folder / "worker.log").read_text(errors="replace")


@dataclass
class LocalCluster:
    """A running throwaway cluster: its variables, database and workers."""

    workdir: Path
    database: str
    broker: str
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)

    def start_worker(self, name: str, concurrency: int = 1) -> Worker:
        """Start one worker (``scripts/cluster_worker.sh``) in a process group of its own."""
        folder = self.workdir / f"worker-{name}-{time.time_ns()}"
        folder.mkdir(parents=True)
        with open(folder / "worker.log", "wb") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [str(REPO / "scripts" / "cluster_worker.sh"), str(folder), f"{name}@{self.database}", str(concurrency)],
                env={**os.environ, **self.env, "VENV": str(Path(sys.executable).parent.parent)},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        worker = Worker(f"{name}@{self.database}", process, folder)
        self.workers.append(worker)
        return worker

    def wait_until_consuming(self, count: int, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Return once ``count`` workers consume the queue (a ping alone can be answered before that).

        Raises:
            RuntimeError: A worker exited, or fewer answered in time (their logs in the message).
        """
        from celery import Celery

        app = Celery(broker=self.broker)
        deadline = time.monotonic() + timeout_s
        while len([q for q in (app.control.inspect(timeout=1.0).active_queues() or {}).values() if q]) < count:
            exited = [w for w in self.workers if w.process.poll() is not None]
            if exited or time.monotonic() > deadline:
                logs = "\n".join(f"--- {w.name}:\n{w.log()[-3000:]}" for w in self.workers)
                problem = f"{len(exited)} worker(s) exited" if exited else f"not {count} workers in {timeout_s} s"
                raise RuntimeError(f"{problem}:\n{logs}")

    def stop_worker(self, worker: Worker) -> None:
        """Stop a worker's whole process group (launcher, Celery main process, pool): TERM, then KILL."""
        stop_group(worker.process)
        self.workers.remove(worker)

    def worker_hosts(self) -> list[str]:
        """The names the workers have (Celery names a worker NAME@HOST)."""
        return [w.name for w in self.workers]


def stop_group(process: subprocess.Popen, grace_s: float = 30) -> None:
    """Stop a process group: TERM, then KILL after ``grace_s``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        process.poll()
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def local_cluster(
    workdir: Path,
    *,
    workers: int = 2,
    concurrency: int = 1,
    database_url: str | None = None,
    broker: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[LocalCluster]:
    """A fresh database and Redis database, ``workers`` workers consuming; all removed afterwards.

    Args:
        workdir: Folder for the shared storage root and the workers' folders.
        workers: Workers started (each with ``concurrency`` pool processes).
        concurrency: Pool processes per worker.
        database_url: How every process reaches the new database (``{database}`` is replaced
            by its name), e.g. through a proxy; default the server itself.
        broker: Broker and backend URL; default a Redis database of its own on ``REDIS``.
        extra_env: More variables for every process of the cluster (e.g. a shorter visibility timeout).
    """
    import psycopg2
    import redis

    name = f"cc_perf_test_{secrets.token_hex(4)}"
    admin = psycopg2.connect(admin_url())
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    broker = broker or f"{REDIS}/{next(_REDIS_DATABASES)}"
    storage = workdir / "shared"
    storage.mkdir(parents=True, exist_ok=True)
    env = {
        "CC_PERF_PROFILE": "cluster",
        "CC_PERF_DATABASE_URL": (database_url or f"{PG}/{{database}}").format(database=name),
        "CC_PERF_CELERY_BROKER": broker,
        "CC_PERF_CELERY_BACKEND": broker,
        "CC_PERF_STORAGE": str(storage),
        "CC_PERF_CACHE_KEY": CACHE_KEY,
        "CC_PERF_CLUSTER_SLOTS": str(max(1, workers * concurrency)),
        **(extra_env or {}),
    }
    cluster = LocalCluster(workdir, name, broker, env)
    try:
        for index in range(1, workers + 1):
            cluster.start_worker(f"w{index}", concurrency)
        cluster.wait_until_consuming(workers)
        yield cluster
    finally:
        for worker in list(cluster.workers):
            cluster.stop_worker(worker)
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
        with contextlib.suppress(redis.RedisError):
            redis.Redis.from_url(broker).flushdb()


QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def range_run(job, instance, storage: Path, keys: list[str]) -> tuple[str, list[str]]:
    """One range run of ``keys`` (the job a reconstructable target), asserted successful.

    Returns:
        The run's id and the partitions of its ``invoice`` materializations.
    """
    from dagster import AssetKey, execute_job, reconstructable

    from cc_perf_dagster.assets import RANGE_END_TAG, RANGE_START_TAG
    from cc_perf_dagster.definitions import storage_run_config

    tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
    config = {**storage_run_config(str(storage)), **QUIET}
    with execute_job(reconstructable(job), instance=instance, tags=tags, run_config=config) as result:
        assert result.success, failure_summary(result.all_events)
        materialized = sorted(
            e.event_specific_data.materialization.partition
            for e in result.get_asset_materialization_events()
            if e.event_specific_data.materialization.asset_key == AssetKey("invoice")
        )
    return result.run_id, materialized


def failure_summary(events) -> list[str]:
    """What went wrong in a run, from its events: step failures, engine errors, the run's failure."""
    lines = []
    for event in events:
        error = None
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
        elif event.event_type_value == "ENGINE_EVENT":
            error = event.engine_event_data.error
        elif event.event_type_value == "RUN_FAILURE":
            error = getattr(event.event_specific_data, "error", None)
        if error is not None or event.event_type_value == "RUN_FAILURE":
            lines.append(f"{event.event_type_value} {event.step_key or ''}: {event.message}")
            if error is not None:
                lines.append(error.to_string()[-3000:])
    return lines


def celery_workers(instance, run_id: str) -> set[str]:
    """The Celery workers (``NAME@HOST``) that ran the run's steps."""
    from dagster import DagsterEventType, EventRecordsFilter

    return {
        str(entry.value)
        for record in instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.ENGINE_EVENT))
        if record.event_log_entry.run_id == run_id
        for label, entry in (record.event_log_entry.dagster_event.engine_event_data.metadata or {}).items()
        if label == "Celery worker"
    }
