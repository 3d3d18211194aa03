"""Executor profiles: the same definitions on one machine (``local``) or on Celery workers (``cluster``).

``local`` (the default, what ``make demo`` and ``make ui`` use): the multiprocess executor
(forkserver) and a SQLite Dagster home; no service needed.

``cluster``: one Celery task per step (``dagster_celery.celery_executor``, Redis by default),
PostgreSQL instance storage (:func:`cc_perf_dagster.instance.cluster_dagster_yaml`), the
storage root, registry and page cache on a path every worker shares, and the cache's HMAC key
from ``CC_PERF_CACHE_KEY`` in every process. Needs the ``cluster`` extra
(``pip install 'cc-perf-dagster[cluster]'``).

Choose one with ``CC_PERF_PROFILE=cluster`` (read by ``definitions.py``, ``cc-perf process``
and the instance rendering) or ``build_definitions(profile="cluster")``. Every process of a
cluster (the command or daemon that launches runs, the webserver, every worker) must see the
same variables: the :data:`CLUSTER_ENV` names below, ``DAGSTER_HOME`` (a folder holding the
cluster ``dagster.yaml``) and ``CC_PERF_CACHE_KEY``.

Example:
    >>> ClusterConfig.from_env({"CC_PERF_STORAGE": "/shared/cc_perf"}).broker
    'redis://127.0.0.1:6379/0'
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cc_perf_dagster.core.cache import DEFAULT_SECRET_ENV, MIN_KEY_LENGTH
from cc_perf_dagster.core.errors import CcPerfError

if TYPE_CHECKING:
    from dagster import ExecutorDefinition

PROFILE_ENV = "CC_PERF_PROFILE"
PROFILES = ("local", "cluster")
Profile = Literal["local", "cluster"]

BROKER_ENV = "CC_PERF_CELERY_BROKER"
BACKEND_ENV = "CC_PERF_CELERY_BACKEND"
DATABASE_ENV = "CC_PERF_DATABASE_URL"
SLOTS_ENV = "CC_PERF_CLUSTER_SLOTS"
VISIBILITY_ENV = "CC_PERF_CELERY_VISIBILITY_TIMEOUT_S"
DEFAULT_VISIBILITY_TIMEOUT_S = 600
STORAGE_ENV = "CC_PERF_STORAGE"  # same name as resources.STORAGE_ENV (not imported: no Dagster here)
CLUSTER_ENV = (PROFILE_ENV, BROKER_ENV, BACKEND_ENV, DATABASE_ENV, SLOTS_ENV, STORAGE_ENV)

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
DEFAULT_BACKEND = "redis://127.0.0.1:6379/1"
DEFAULT_DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/cc_perf"

# What one extra step costs, per profile (ExtractionSettings.step_overhead_s), measured on the
# reference machine with benchmarks/step_overhead.py (README "Running on several machines").
# local: a forkserver step starts a process and loads the instance. cluster: a warm Celery pool
# process takes the task (no process start, definitions imported), about 0.4 to 0.7 s of a
# worker slot per extra step; the coordinator's poll (dagster_celery's TICK_SECONDS, shortened to
# 0.2 s by _dagster_compat.celery_tick) is paid per stage of the run, whatever the number of
# batches in it, so it is not in here.
STEP_OVERHEAD_S: Mapping[str, float] = {"local": 0.4, "cluster": 0.6}

# Celery settings every worker and the coordinator share (dagster_celery's own defaults otherwise).
# acks_late + reject_on_worker_lost: a step whose worker process dies is handed to another
# worker instead of being lost (a lost task leaves the run waiting forever). visibility_timeout:
# how long Redis waits before redelivering the unacknowledged task of a worker that vanished
# whole (SIGKILL of the main process, machine lost); it must exceed the longest step
# ($CC_PERF_CELERY_VISIBILITY_TIMEOUT_S, default 600). Every live worker sweeps for such tasks
# every 10 s (kombu's unacked_restore_interval; its default throttle would sweep every 100 s),
# so a lost worker's step starts again within the timeout plus 10 s.
CELERY_SETTINGS: Mapping[str, object] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "broker_connection_retry_on_startup": True,
    # A broker restarted (or unreachable) for up to about a minute costs time, not the run: the
    # coordinator's polls and the workers' result writes retry a lost connection (0.01 s
    # doubling to 2 s, 40 times: about 65 s), and so does a publish (20 times, up to 3 s apart).
    "result_backend_always_retry": True,
    "result_backend_max_retries": 40,
    "result_backend_max_sleep_between_retries_ms": 2000,
    "broker_transport_options": {
        "visibility_timeout": DEFAULT_VISIBILITY_TIMEOUT_S,
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        "max_retries": 20,
        "interval_start": 0,
        "interval_step": 0.5,
        "interval_max": 3,
    },
}
# What a worker imports before it forks its pool (the nearest thing to the forkserver's preload).
WORKER_INCLUDES = ("cc_perf_dagster.definitions",)


class ProfileError(CcPerfError, ValueError):
    """A profile is unknown, or the environment lacks what it needs."""

    code = "profile"


def active_profile(profile: str | None = None, environ: Mapping[str, str] | None = None) -> Profile:
    """``profile`` if given, else ``$CC_PERF_PROFILE``, else ``"local"``.

    Raises:
        ProfileError: The name is not one of :data:`PROFILES`.
    """
    environ = os.environ if environ is None else environ
    name = (profile or environ.get(PROFILE_ENV) or "local").strip().lower()
    if name not in PROFILES:
        raise ProfileError(f"unknown profile {name!r} (choose {' or '.join(PROFILES)}; set by ${PROFILE_ENV})")
    return name  # type: ignore[return-value]


@dataclass(frozen=True)
class ClusterConfig:
    """Where a cluster's services are.

    Attributes:
        broker: Celery broker URL (``$CC_PERF_CELERY_BROKER``).
        backend: Celery result backend URL (``$CC_PERF_CELERY_BACKEND``).
        database_url: PostgreSQL URL of the Dagster instance (``$CC_PERF_DATABASE_URL``).
        storage_root: Shared storage root (``$CC_PERF_STORAGE``); ``None`` when unset.
        slots: Steps the workers run at once in total (``$CC_PERF_CLUSTER_SLOTS``): the most
            batches worth fanning out.
        visibility_timeout_s: Seconds before the step of a worker that vanished whole is
            handed to another (``$CC_PERF_CELERY_VISIBILITY_TIMEOUT_S``); longer than any step.
    """

    broker: str = DEFAULT_BROKER
    backend: str = DEFAULT_BACKEND
    database_url: str = DEFAULT_DATABASE_URL
    storage_root: str | None = None
    slots: int = 2
    visibility_timeout_s: int = DEFAULT_VISIBILITY_TIMEOUT_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClusterConfig:
        """The configuration the environment describes (defaults: services on loopback).

        Raises:
            ProfileError: ``$CC_PERF_CLUSTER_SLOTS`` or ``$CC_PERF_CELERY_VISIBILITY_TIMEOUT_S`` is
                not a positive integer.
        """
        environ = os.environ if environ is None else environ
        return cls(
            broker=environ.get(BROKER_ENV) or DEFAULT_BROKER,
            backend=environ.get(BACKEND_ENV) or DEFAULT_BACKEND,
            database_url=psycopg2_url(environ.get(DATABASE_ENV) or DEFAULT_DATABASE_URL),
            storage_root=environ.get(STORAGE_ENV) or None,
            slots=_positive(environ, SLOTS_ENV, 2),
            visibility_timeout_s=_positive(environ, VISIBILITY_ENV, DEFAULT_VISIBILITY_TIMEOUT_S),
        )

    def executor_config(self) -> dict:
        """The ``celery_executor`` config (also the ``execution: config:`` block of a worker's YAML)."""
        return {
            "broker": self.broker,
            "backend": self.backend,
            "include": list(WORKER_INCLUDES),
            "config_source": self.celery_settings(),
        }

    def celery_settings(self) -> dict:
        """:data:`CELERY_SETTINGS` with this cluster's visibility timeout (a copy, JSON values only)."""
        settings = json.loads(json.dumps(CELERY_SETTINGS))
        settings["broker_transport_options"]["visibility_timeout"] = self.visibility_timeout_s
        return settings

    def worker_yaml(self) -> str:
        """The file for ``dagster-celery worker start -A dagster_celery.app -y FILE``.

        JSON is YAML: every value is quoted whatever it holds.
        """
        config = self.executor_config()
        config.pop("include")  # dagster-celery's worker ignores it in the file; pass -i instead
        return json.dumps({"execution": {"config": config}}, indent=2) + "\n"


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name) or str(default)
    try:
        value = int(text)
        if value < 1:
            raise ValueError(value)
    except ValueError:
        raise ProfileError(f"${name} must be a positive integer, not {text!r}") from None
    return value


def psycopg2_url(url: str) -> str:
    """``url`` with the psycopg2 driver named: SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3.

    dagster-postgres depends on psycopg2-binary only, so a bare URL would fail in every process.

    Example:
        >>> psycopg2_url("postgresql://postgres@127.0.0.1:5432/cc_perf")
        'postgresql+psycopg2://postgres@127.0.0.1:5432/cc_perf'
    """
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare) :]
    return url


def check_cluster_environment(environ: Mapping[str, str] | None = None) -> ClusterConfig:
    """The cluster configuration, refused unless the shared storage and the cache key are set.

    Every process of a cluster must read and write the same storage root and sign cache entries
    with the same key; a default (a folder under the home, a key file beside it) would differ
    from machine to machine and fail later, far from the cause.

    Raises:
        ProfileError: ``$CC_PERF_STORAGE`` or ``$CC_PERF_CACHE_KEY`` is missing or unusable.
    """
    environ = os.environ if environ is None else environ
    config = ClusterConfig.from_env(environ)
    if not config.storage_root or not os.path.isabs(config.storage_root):
        raise ProfileError(
            f"the cluster profile needs ${STORAGE_ENV}: an absolute path every worker shares (the same path on each)"
        )
    key = environ.get(DEFAULT_SECRET_ENV, "")
    if len(key.encode()) < MIN_KEY_LENGTH:
        raise ProfileError(
            f"the cluster profile needs ${DEFAULT_SECRET_ENV} (at least {MIN_KEY_LENGTH} bytes, the same in every "
            "process), e.g. export CC_PERF_CACHE_KEY=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\""
        )
    return config


def step_overhead_s(profile: str | None = None) -> float:
    """The measured cost of one extra step in ``profile`` (the cost model's ``step_overhead_s``)."""
    return STEP_OVERHEAD_S[active_profile(profile)]


def profile_settings(profile: str | None = None) -> dict[str, float]:
    """``ExtractionSettings`` fields that depend on the profile (the cost of a step).

    On the cluster profile it also switches Dagster's event batching on for this process
    (``DAGSTER_EVENT_BATCH_SIZE``, unless set): dagster-postgres then writes a batch of
    materializations in one insert; and it makes new PostgreSQL connections wait out an outage
    of up to ``$CC_PERF_DATABASE_WAIT_S`` (:mod:`cc_perf_dagster.database_outages`). Every
    process of a cluster that runs steps loads the definitions (run coordinator, workers, code
    server), so each one gets both.
    """
    profile = active_profile(profile)
    if profile == "cluster":
        from cc_perf_dagster._dagster_compat import enable_event_batching
        from cc_perf_dagster.database_outages import wait_for_database_connections

        enable_event_batching()
        wait_for_database_connections()
    return {"step_overhead_s": STEP_OVERHEAD_S[profile]}


def build_executor(
    profile: str | None = None,
    *,
    max_concurrent: int = 2,
    start_method: Literal["forkserver", "spawn"] = "forkserver",
    forkserver_preload: Sequence[str] = (),
    cluster: ClusterConfig | None = None,
) -> ExecutorDefinition:
    """The executor of ``profile``: multiprocess (local) or Celery (cluster).

    Raises:
        ProfileError: The profile is unknown, or ``cluster`` and the ``cluster`` extra is missing.
    """
    if active_profile(profile) == "local":
        from dagster import multiprocess_executor

        start: dict = {"preload_modules": list(forkserver_preload)} if start_method == "forkserver" else {}
        return multiprocess_executor.configured(
            {"max_concurrent": max_concurrent, "start_method": {start_method: start}},
            name=f"multiprocess_{start_method}",
        )
    try:
        from dagster_celery import celery_executor

        from cc_perf_dagster._dagster_compat.celery_tick import shorten_coordinator_tick
    except ImportError:
        raise ProfileError("the cluster profile needs dagster-celery: pip install 'cc-perf-dagster[cluster]'") from None
    # dagster_celery registers its task again for every step it submits; Celery warns each time
    # that the (identical) first registration is kept. Nothing to act on: keep the console readable.
    warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")
    # The coordinator (the run's process, which builds this executor) looks at its steps every
    # 0.2 s instead of every second: each stage of a run starts sooner after the one before.
    shorten_coordinator_tick()
    if cluster is not None:
        return celery_executor.configured(cluster.executor_config(), name="celery_cluster")
    # Broker and backend are read when a run starts, not when the definitions load: a process
    # keeps loaded definitions (Dagster caches a reconstructed job), and the environment is
    # what says where the services are. Unset variables get the loopback defaults.
    for name, default in ((BROKER_ENV, DEFAULT_BROKER), (BACKEND_ENV, DEFAULT_BACKEND)):
        os.environ.setdefault(name, default)
    config = ClusterConfig.from_env().executor_config()
    config.update(broker={"env": BROKER_ENV}, backend={"env": BACKEND_ENV})
    return celery_executor.configured(config, name="celery_cluster")


if __name__ == "__main__":
    import sys

    # `python -m cc_perf_dagster.profiles worker-yaml`: the worker config of this environment.
    if sys.argv[1:] != ["worker-yaml"]:
        raise SystemExit("usage: python -m cc_perf_dagster.profiles worker-yaml")
    sys.stdout.write(ClusterConfig.from_env().worker_yaml())
