"""The project-local Dagster home that ``make demo``, ``make ui`` and ``cc-perf process`` share.

A SQLite instance tuned for a 2-core machine: no compute-log capture (it starts tail
processes for every step and costs about 0.1 s a step; structured logs still reach the
event log), at most 2 runs at once (each run uses up to 2 step processes), no telemetry, and
an event log that writes the per-partition events of a range run in batches
(:class:`~cc_perf_dagster._dagster_compat.BatchingSqliteEventLogStorage`; same databases,
same layout as Dagster's own, so an existing home keeps its history).
Move to PostgreSQL when several machines or many concurrent runs share the instance: on the
cluster profile (``CC_PERF_PROFILE=cluster``, :mod:`cc_perf_dagster.profiles`) the same home
gets :func:`cluster_dagster_yaml` instead, dagster-postgres's run, event-log and schedule
storage in the database ``$CC_PERF_DATABASE_URL``.

Concurrent first use: writing ``dagster.yaml`` and creating (or migrating) the SQLite
databases happen under an inter-process lock on ``HOME/.cc_perf.lock``, so any number of
``cc-perf`` commands started together on a home that does not exist yet all succeed.
A home that an earlier race left with several rows in a database's ``alembic_version`` table
is repaired (see :func:`repair_alembic_versions`) or refused with one line saying how to fix it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cc_perf_dagster.core.errors import CcPerfError
from cc_perf_dagster.core.files import atomic_write_text
from cc_perf_dagster.core.locking import file_lock

if TYPE_CHECKING:
    from dagster import DagsterInstance

log = logging.getLogger(__name__)

LOCK_FILE = ".cc_perf.lock"
# The SQLite databases a home's instance opens itself (per-run event databases are created
# by their own run only, so they cannot race).
SQLITE_DATABASES = ("history/runs.db", "history/runs/index.db", "schedules/schedules.db")


class DagsterHomeError(CcPerfError, RuntimeError):
    """The Dagster home is in a state cc-perf will not repair on its own."""

    code = "dagster_home"


# What both kinds of home share: no compute-log capture (tail processes per step), no telemetry;
# queued runs started within a second (Dagster's default looks every 5 s), and the sensors'
# skipped ticks (one every 5 s from the incoming folder's sensor) kept a day, not seven.
_COMMON = """\
compute_logs:
  module: dagster._core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
concurrency:
  runs:
    max_concurrent_runs: {max_runs}
retention:
  sensor:
    purge_after_days:
      skipped: 1
python_logs:
  python_log_level: INFO
telemetry:
  enabled: false
# A run stopped from outside its steps (`make ui` interrupted mid-run, a run worker lost) runs
# again once, from where it stopped, when the daemon next runs. A run failed by its own steps (an
# invoice that cannot be read) does not: rerun_failed_ranges runs the rest of its range again.
# Runs of `cc-perf process` are tagged never to be retried (a Ctrl-C there is deliberate).
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
"""

HEADER = "# Written by cc-perf for a project-local Dagster home (SQLite storage under this folder)."
_TEMPLATE = """\
{header}
# Tuned for a 2-core machine; see README "Operations" before changing it. cc-perf rewrites this
# file when the home moves or the project ships a new version of it; remove the first line to
# keep your own changes.
{common}# Dagster's SQLite event log, writing the per-partition events of a range run in batches.
event_log_storage:
  module: cc_perf_dagster._dagster_compat
  class: BatchingSqliteEventLogStorage
  config:
    base_dir: {event_log_dir}
"""


CLUSTER_HEADER = "# Written by cc-perf for a cluster Dagster home (PostgreSQL storage, CC_PERF_PROFILE=cluster)."
_CLUSTER_TEMPLATE = """\
{header}
# Every process of the cluster (cc-perf, webserver, daemon, each Celery worker's home) uses the
# same database. cc-perf rewrites this file when the database URL changes; remove the first line
# to keep your own changes (e.g. postgres_url: {{env: SOME_VARIABLE}} to keep a password out of it).
{common}run_storage:
  module: dagster_postgres.run_storage
  class: PostgresRunStorage
  config:
    postgres_url: {url}
event_log_storage:
  module: cc_perf_dagster._dagster_compat.postgres_event_log
  class: BatchingPostgresEventLogStorage
  config:
    postgres_url: {url}
schedule_storage:
  module: dagster_postgres.schedule_storage
  class: PostgresScheduleStorage
  config:
    postgres_url: {url}
"""


def cluster_dagster_yaml(database_url: str) -> str:
    """The ``dagster.yaml`` of a cluster home: dagster-postgres storage in ``database_url``.

    Example:
        >>> "postgres_url" in cluster_dagster_yaml("postgresql://postgres@127.0.0.1:5432/cc_perf")
        True
    """
    common = _COMMON.format(max_runs=4)
    return _CLUSTER_TEMPLATE.format(header=CLUSTER_HEADER, common=common, url=json.dumps(database_url))


def wanted_dagster_yaml(home: str | os.PathLike[str], profile: str | None = None) -> str:
    """The ``dagster.yaml`` of ``home`` on ``profile`` (default ``$CC_PERF_PROFILE``, else local)."""
    from cc_perf_dagster.profiles import ClusterConfig, active_profile

    if active_profile(profile) == "cluster":
        return cluster_dagster_yaml(ClusterConfig.from_env().database_url)
    return dagster_yaml(home)


def dagster_yaml(home: str | os.PathLike[str]) -> str:
    """The ``dagster.yaml`` cc-perf writes into the Dagster home ``home`` (an absolute path)."""
    event_log_dir = os.path.join(Path(home).resolve(), "history", "runs", "")
    # A JSON string is a YAML scalar whatever the path holds (spaces, colons, '#').
    return _TEMPLATE.format(header=HEADER, common=_COMMON.format(max_runs=2), event_log_dir=json.dumps(event_log_dir))


def default_dagster_home() -> Path:
    """``$DAGSTER_HOME`` if set, else ``./.dagster_home``."""
    return Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home")


def ensure_dagster_home(
    path: str | os.PathLike[str] | None = None, *, export: bool = True, profile: str | None = None
) -> Path:
    """Create the Dagster home and its ``dagster.yaml``; export ``DAGSTER_HOME`` unless told not to.

    A ``dagster.yaml`` that cc-perf wrote (its first line says so) is brought up to date for the
    profile (default ``$CC_PERF_PROFILE``); any other is left as it is.
    """
    home = Path(path).resolve() if path else default_dagster_home().resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = wanted_dagster_yaml(home, profile)
    with home_lock(home):
        try:
            current = config.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        ours = current is not None and current.startswith((HEADER, CLUSTER_HEADER))
        if current is None or (ours and current != wanted):
            atomic_write_text(config, wanted)
    if export:
        os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextmanager
def home_lock(home: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the Dagster home's inter-process lock (``HOME/.cc_perf.lock``) for the block."""
    with file_lock(Path(home) / LOCK_FILE) as lock:
        yield lock


def open_instance(path: str | os.PathLike[str] | None = None) -> DagsterInstance:
    """The Dagster instance of the home ``path`` (default as :func:`ensure_dagster_home`), created safely.

    The home, its ``dagster.yaml`` and its databases are created (or migrated, or repaired)
    under the home's lock; ``DAGSTER_HOME`` is exported. Use it as a context manager, like
    ``DagsterInstance.get()``.

    Raises:
        DagsterHomeError: A database of the home is damaged in a way that needs a person.
    """
    from dagster import DagsterInstance

    home = ensure_dagster_home(path)
    with home_lock(home), cluster_schema_lock():
        repair_alembic_versions(home)
        return DagsterInstance.get()


# Any constant shared by every cc-perf process: the key of the advisory lock below.
_SCHEMA_LOCK_KEY = 0x63635F70657266  # "cc_perf"


@contextmanager
def cluster_schema_lock(profile: str | None = None) -> Iterator[None]:
    """On the cluster profile, hold a PostgreSQL advisory lock of the instance's database for the block.

    Opening an instance on a database without Dagster's tables creates them. Workers started
    together on a fresh database (``make cluster-demo``, the tests, a fleet coming up) race on
    ``CREATE TABLE``; dagster-postgres retries a collision 5 times, 0.2 s apart, which a loaded
    machine can exhaust, and the worker then exits while starting. Under the lock the first
    process creates the schema and the others find it. On the local profile it does nothing.
    """
    from cc_perf_dagster.profiles import ClusterConfig, active_profile

    if active_profile(profile) != "cluster":
        yield
        return
    import psycopg2

    connection = psycopg2.connect(ClusterConfig.from_env().database_url.replace("+psycopg2", "", 1))
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK_KEY,))
        yield
    finally:
        connection.close()  # the session's advisory locks end with it


def repair_alembic_versions(home: str | os.PathLike[str]) -> list[str]:
    """Repair the ``alembic_version`` tables that a first-use race left with several rows.

    Two processes creating the same database at once can both stamp its schema revision:
    the same revision twice, or Dagster's fallback revision (what it stamps on tables it
    finds already created) beside the head. After that every command fails with "more than
    one head present". Identical rows are reduced to one; beside the fallback revision,
    only the fallback is kept (Dagster's own choice for a schema it cannot date: every later
    migration is guarded). Any other mix is refused.

    Returns:
        The databases repaired (relative to ``home``).

    Raises:
        DagsterHomeError: Several different revisions that are not the race's signature.
    """
    from cc_perf_dagster._dagster_compat import LAST_KNOWN_STAMPED_SQLITE_ALEMBIC_REVISION as FALLBACK

    repaired = []
    for name in SQLITE_DATABASES:
        path = Path(home) / name
        if not path.is_file():
            continue
        with _closing(sqlite3.connect(path, timeout=60)) as db:
            try:
                versions = [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
            except sqlite3.OperationalError:
                continue  # no version table (yet): Dagster creates it
            if len(versions) <= 1:
                continue
            if len(set(versions)) == 1:
                keep = versions[0]
            elif FALLBACK in versions:
                keep = FALLBACK
            else:
                raise DagsterHomeError(
                    f"table alembic_version holds several schema revisions ({', '.join(sorted(set(versions)))}); "
                    f'back the file up, then run: sqlite3 {path} "DELETE FROM alembic_version; INSERT INTO '
                    f"alembic_version VALUES ('{FALLBACK}')\" && dagster instance migrate",
                    file=path,
                )
            with db:
                db.execute("DELETE FROM alembic_version")
                db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (keep,))
        log.warning("repaired %s: alembic_version had %d rows (%s), kept %s", path, len(versions), versions, keep)
        repaired.append(name)
    return repaired


@contextmanager
def _closing(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield db
    finally:
        db.close()


if __name__ == "__main__":
    from cc_perf_dagster.left_behind import fail_runs_left_behind

    with open_instance() as _instance:  # create the databases under the lock before `dagster dev` opens them
        print(_instance.root_directory)  # noqa: T201 (used by `make ui`)
        for _run_id in fail_runs_left_behind(_instance):  # left started when the machine stopped, say
            print(f"run {_run_id}, left started by a process since gone: marked failed (it runs again)")  # noqa: T201
