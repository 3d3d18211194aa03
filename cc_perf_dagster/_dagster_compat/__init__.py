"""Dagster internals this project overrides for speed, each in its own module with the reason.

* :mod:`.event_log`: :class:`BatchingSqliteEventLogStorage`, the shipped instance's event log,
  writing a batch of asset events in one transaction per database instead of one each.
* :mod:`.postgres_event_log`: :class:`BatchingPostgresEventLogStorage`, the cluster profile's
  event log: dagster-postgres's, also writing a batch of check results (which dagster-postgres
  refuses as a batch) or of planned events in one insert and one index transaction. It imports
  dagster-postgres, so it is not imported here; only the cluster ``dagster.yaml`` names it.
* :mod:`.metadata`: :func:`add_metadata_per_partition`, a range step's metadata for each of its
  partitions with the step's partitions resolved once instead of once per partition.
* :mod:`.check_targets`: a range step's check results per partition, each pointing at the
  partition's materialization and all logged as one batch (Dagster's ``AssetCheckResult``
  names no partition in a range step, and one event per result costs three transactions).
* :mod:`.runless_events`: :func:`~.runless_events.report_observations`, the observations
  ``cc-perf process`` and the incoming-folder sensor report for the files they register
  (outside any run), written as one batch instead of three transactions each.
* :mod:`.celery_tick`: the cluster run coordinator looks at its steps every 0.2 s instead of
  dagster-celery's every second, so each stage of a run starts sooner after the one before. It
  imports dagster-celery, so it is not imported here; the cluster executor calls it.
* :mod:`.interrupts`: :func:`~.interrupts.dagster_takes_interrupts`, Dagster's interrupt capture
  around a whole run, its creation included, so that Ctrl-C then stops the run's steps.
* :data:`STEP_STORAGE_MODULES`: what the forkserver preloads for every step process.
* :data:`LAST_KNOWN_STAMPED_SQLITE_ALEMBIC_REVISION`: the schema revision Dagster stamps on a
  SQLite database whose revision it cannot know;
  :func:`~cc_perf_dagster.instance.repair_alembic_versions` keeps it when a first-use race left
  it beside another revision.

They are needed because a run covering many invoices is bounded by Dagster's bookkeeping on
SQLite, not by parsing (README "Benchmarks"). :mod:`.versions` names the Dagster release they
were checked against; on any other, each falls back to Dagster's own storage or call and logs
why. Importing this package changes no environment variable and no warning filter.
"""

from __future__ import annotations

# Re-exported for cc_perf_dagster.instance: Dagster's fallback schema stamp.
from dagster._core.storage.sqlite import (
    LAST_KNOWN_STAMPED_SQLITE_ALEMBIC_REVISION as LAST_KNOWN_STAMPED_SQLITE_ALEMBIC_REVISION,
)

from cc_perf_dagster._dagster_compat.event_log import (
    DEFAULT_EVENT_BATCH_SIZE,
    EVENT_BATCH_ENV,
    BatchingSqliteEventLogStorage,
    enable_event_batching,
)
from cc_perf_dagster._dagster_compat.metadata import add_metadata_per_partition
from cc_perf_dagster._dagster_compat.versions import CHECKED, CHECKED_RELEASES

# Modules every step process of the multiprocess executor imports while it starts: the
# instance's SQLite storages, which pull in SQLAlchemy and alembic (about 0.7 s a step on the
# reference machine), and this module. Preloaded in the forkserver, each step inherits them
# already imported. Dagster 1.13.27 documents that the job's own module is preloaded when none
# is configured, but hands the forkserver an empty list instead (its config reader turns a
# missing key into []), so the list has to be explicit. The forkserver skips a module that
# fails to import, so a renamed internal costs speed, never a run.
STEP_STORAGE_MODULES: tuple[str, ...] = (
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.event_log",
    "dagster._core.storage.runs",
    "cc_perf_dagster._dagster_compat.event_log",
)


# The module Dagster's multiprocess executor puts first in the forkserver's preload list
# (dagster._core.executor.multiprocess, Dagster 1.13.27). A forkserver started ahead of the run
# (cc_perf_dagster.executor.start_processes_early) must be started with the same list, or Dagster
# would find a server preloaded differently from the one it asks for.
DAGSTER_FORKSERVER_PRELOAD: tuple[str, ...] = ("dagster._core.executor.multiprocess",)


__all__ = [
    "CHECKED",
    "CHECKED_RELEASES",
    "DAGSTER_FORKSERVER_PRELOAD",
    "DEFAULT_EVENT_BATCH_SIZE",
    "EVENT_BATCH_ENV",
    "LAST_KNOWN_STAMPED_SQLITE_ALEMBIC_REVISION",
    "STEP_STORAGE_MODULES",
    "BatchingSqliteEventLogStorage",
    "add_metadata_per_partition",
    "enable_event_batching",
]
