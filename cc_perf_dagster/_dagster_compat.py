"""The one module that touches Dagster internals, each use with the reason it has to.

1. :data:`STEP_STORAGE_MODULES`: what the forkserver preloads for every step process.
2. :class:`BatchingSqliteEventLogStorage`: the shipped instance's event log, a SQLite event log
   that writes a batch of asset events in one transaction per database instead of one each.
3. :func:`add_metadata_per_partition`: a range step's metadata for each of its partitions,
   with the step's partitions resolved once instead of once per partition.
4. :data:`LAST_KNOWN_STAMPED_SQLITE_ALEMBIC_REVISION`: the schema revision Dagster itself
   stamps on a SQLite database whose revision it cannot know (all later migrations are
   guarded); :func:`~cc_perf_dagster.instance.repair_alembic_versions` keeps it when a
   first-use race left it beside another revision.

All three are needed because a run covering many invoices is bounded by Dagster's bookkeeping on
SQLite, not by parsing (README "Benchmarks"). Everything here is pinned to Dagster 1.13.27
(``pyproject.toml``); ``test_event_log.py`` checks that the batched storage leaves the instance
in the same state as Dagster's own, so an upgrade that changes the internals fails there.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dagster import DagsterEventType, DagsterInvariantViolationError
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_result

# Re-exported for cc_perf_dagster.instance (item 4 above): Dagster's fallback schema stamp.
from dagster._core.storage.sqlite import (
    LAST_KNOWN_STAMPED_SQLITE_ALEMBIC_REVISION as LAST_KNOWN_STAMPED_SQLITE_ALEMBIC_REVISION,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

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
    __name__,
)

# Dagster hands events to ``store_event_batch`` only when this is above 0 (it is read at every
# event, in every process). A run over N partitions writes one batch of N planned events per
# asset when it starts and one batch of N materializations per asset output.
EVENT_BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"
DEFAULT_EVENT_BATCH_SIZE = 1000
# Engines kept per process: the cross-run index and the most recent runs' databases.
_ENGINES_KEPT = 16

# The events Dagster batches that this storage writes together (the rest go one by one).
_TOGETHER = frozenset(
    {
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        DagsterEventType.ASSET_OBSERVATION,
    }
)


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, writing batches of asset events in one transaction per database.

    Dagster's own SQLite event log writes a batch one event at a time: for each, a new engine,
    a connection and a commit to the run's database, then the same again to the cross-run index
    with the event's tags and the asset's record (about 8 ms on the reference machine, so 1.6 s
    for the 200 planned events of a 100-invoice run). This class writes the run's rows in one
    transaction and the index rows in another, with the same statements Dagster's
    ``store_event`` uses, in the same order, except that the asset's record (which keeps the
    latest event of each kind) is written once per asset and kind instead of once per event.
    Single events are stored as before.

    Two smaller savings apply to every read and write: an engine is made once per database
    and process instead of once per statement (connections are still opened and closed each
    time, as Dagster's ``NullPool`` does), and a table once seen to exist is not looked up again
    (Dagster checks for the dynamic-partitions table before every partition query, and
    asset steps query partitions for every ``add_asset_metadata`` call).

    Creating it switches Dagster's event batching on for the process (``DAGSTER_EVENT_BATCH_SIZE``,
    default 1000) unless the variable is set already; set it to ``0`` to write one by one.

    Configured in ``dagster.yaml`` (``cc-perf`` writes this into the homes it creates)::

        event_log_storage:
          module: cc_perf_dagster._dagster_compat
          class: BatchingSqliteEventLogStorage
          config:
            base_dir: /path/to/dagster_home/history/runs/
    """

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_seen: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)
        os.environ.setdefault(EVENT_BATCH_ENV, str(DEFAULT_EVENT_BATCH_SIZE))

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # SqliteEventLogStorage._connect, but with the shard's engine kept (its dialect set up once).
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                self._engines[shard] = engine
                if len(self._engines) > _ENGINES_KEPT:
                    self._engines.popitem(last=False)[1].dispose()
            else:
                self._engines.move_to_end(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def wipe(self) -> None:
        """Dagster's wipe (every run database removed), forgetting the engines and tables seen."""
        super().wipe()
        with self._db_lock:
            self._tables_seen.clear()
            while self._engines:
                self._engines.popitem()[1].dispose()

    def has_table(self, table_name: str) -> bool:
        """Whether the index has the table (a table, once there, stays: only a miss is asked again)."""
        if table_name in self._tables_seen:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_seen.add(table_name)
        return found

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> BatchingSqliteEventLogStorage:
        """This class (Dagster's builds a plain ``SqliteEventLogStorage`` whatever the subclass)."""
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Store events in order; consecutive asset events of one run go in together."""
        together: list[EventLogEntry] = []
        for event in events:
            if together and (event.run_id != together[0].run_id or not _writes_together(event)):
                self._store_together(together)
                together = []
            if _writes_together(event):
                together.append(event)
            else:
                self.store_event(event)
        if together:
            self._store_together(together)

    def _store_together(self, events: list[EventLogEntry]) -> None:
        if len(events) == 1:
            self.store_event(events[0])
            return
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:  # one transaction
            for statement in statements:
                conn.execute(statement)
        try:
            with self.index_transaction() as conn:
                self._index(conn, events, statements)
        except Exception:
            # The run's database holds the events already; storing the batch again (Dagster's
            # fallback) would duplicate them there. Index them one by one instead.
            for event, statement in zip(events, statements, strict=True):
                with self.index_transaction() as conn:
                    self._index(conn, [event], [statement])

    def _index(self, conn: Any, events: Sequence[EventLogEntry], statements: Sequence[Any]) -> None:
        """Mirror asset events into the cross-run index, as ``SqliteEventLogStorage.store_event`` does."""
        event_ids = []
        for statement in statements:
            with db_result(conn, statement) as result:
                event_ids.append(result.inserted_primary_key[0])
        if any(event_id is None for event_id in event_ids):
            raise RuntimeError("the index returned no id for a stored asset event")
        self._store_asset_event_tags(conn, events, event_ids)
        # The asset's record keeps the latest event of each kind: writing it for every event
        # (serializing each whole event again) leaves the same row as writing the last of each.
        last = {(e.dagster_event.asset_key, e.dagster_event_type): i for i, e in enumerate(events) if e.dagster_event}
        for index in sorted(last.values()):
            self._store_asset_event(conn, events[index], event_ids[index])


def _writes_together(event: EventLogEntry) -> bool:
    return event.is_dagster_event and event.dagster_event_type in _TOGETHER


def add_metadata_per_partition(context: Any, metadata: Mapping[str, Mapping[str, Any]]) -> None:
    """``context.add_asset_metadata(values, partition_key=key)`` for every key of ``metadata``.

    Dagster's call checks that the key is one the step targets by resolving the step's whole
    partition range each time: every dynamic partition read from storage and both ends looked
    up, three queries per call (about a quarter of the merge and booking steps of a 200-invoice
    run). Here the first key goes through Dagster's call, with all its checks; the others are
    checked against the step's partitions, resolved once, and added to the step's metadata
    the way Dagster's call adds them. Where the step keeps no metadata accumulator (a
    different Dagster, or a direct invocation) every key goes through Dagster's call.
    """
    items = list(metadata.items())
    if not items:
        return
    (first_key, first), rest = items[0], items[1:]
    context.add_asset_metadata(first, partition_key=first_key)
    step = getattr(context, "_step_execution_context", None)
    accumulator = getattr(step, "_metadata_accumulator", None)
    if not rest or not hasattr(accumulator, "with_additional_asset_metadata"):
        for key, values in rest:
            context.add_asset_metadata(values, partition_key=key)
        return
    targeted = set(context.partition_keys)
    for key, _ in rest:
        if key not in targeted:
            raise DagsterInvariantViolationError(
                f"Attempted to add metadata for partition key '{key}' that is not being targeted."
            )
    asset_key = step.assets_def.key
    for key, values in rest:
        accumulator = accumulator.with_additional_asset_metadata(
            asset_key=asset_key, partition_key=key, metadata=values
        )
    step._metadata_accumulator = accumulator
