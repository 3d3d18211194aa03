"""The shipped instance's event log: Dagster's SQLite event log, writing batches of asset events together.

Dagster internals used, each for the reason given where it is used: ``SqliteEventLogStorage``'s
``_connect``, ``_db_lock``, ``_initdb``, ``_initialized_dbs``, ``_event_to_row``,
``_store_asset_event_tags`` and ``_store_asset_event``, ``store_asset_check_event`` opening the
index through ``index_connection``, and the tables ``SqlEventLogStorageTable`` and
``AssetCheckExecutionsTable``. On a Dagster release not in
:data:`~cc_perf_dagster._dagster_compat.versions.CHECKED_RELEASES` every method falls back to
Dagster's own.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from dagster import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import bindparam, create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from cc_perf_dagster._dagster_compat.versions import fast_path

# Dagster hands events to ``store_event_batch`` only when this is above 0 (it is read at every
# event, in every process). A run over N partitions writes one batch of N planned events per
# asset when it starts and one batch of N materializations per asset output.
EVENT_BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"
DEFAULT_EVENT_BATCH_SIZE = 1000
# Engines kept per process: the cross-run index and the most recent runs' databases.
_ENGINES_KEPT = 16

# The events Dagster batches that this storage writes together (the rest go one by one).
_ASSET_EVENTS = frozenset(
    {
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        DagsterEventType.ASSET_OBSERVATION,
    }
)
# Check results per partition: planned in the run's first batch, evaluated in a batch of the
# merge step (:func:`~cc_perf_dagster._dagster_compat.check_targets.check_evaluation_events`).
_CHECK_EVENTS = frozenset({DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED, DagsterEventType.ASSET_CHECK_EVALUATION})
_TOGETHER = _ASSET_EVENTS | _CHECK_EVENTS


class BatchIndexing:
    """What both batching event logs share: a batch's index rows written in one transaction.

    :meth:`_index_events` writes, for events already stored with ``event_ids``, what Dagster's
    ``store_event`` writes to the cross-run index for each: the asset events' tags, the asset's
    record (once per asset and kind, with the latest event: the row Dagster leaves after writing
    it for every event), and the check events' rows: the planned checks' rows in one insert
    (:func:`_insert_planned_checks`), the results of a run's partitions onto their planned rows
    in one update (:func:`_update_check_results`), any other through Dagster's own
    ``store_asset_check_event``, which opens the index itself: :meth:`index_connection` hands
    it the batch's transaction instead.
    """

    _batch: threading.local
    _tables_seen: set[str]
    _fast: bool

    def has_table(self, table_name: str) -> bool:
        """Whether the index has the table (a table, once there, stays: only a miss is asked again).

        Dagster asks before every check event (``supports_asset_checks``) and partition query,
        each time on a new connection: on PostgreSQL a connection per check result.
        """
        if not self._fast:
            return super().has_table(table_name)  # type: ignore[misc]
        if table_name in self._tables_seen:
            return True
        found = super().has_table(table_name)  # type: ignore[misc]
        if found:
            self._tables_seen.add(table_name)
        return found

    def index_connection(self) -> Any:
        """The index, or the transaction this thread is writing a batch in (see :meth:`_index_events`)."""
        shared = getattr(self._batch, "conn", None)
        return nullcontext(shared) if shared is not None else super().index_connection()  # type: ignore[misc]

    def _index_together(
        self, events: Sequence[EventLogEntry], items: Sequence[Any], write: Callable[[Any, Sequence, Sequence], None]
    ) -> None:
        """``write(conn, events, items)`` in one index transaction, or event by event if that fails.

        The events are stored already; storing the batch again (Dagster's fallback when a batch
        fails) would store them twice.
        """
        try:
            with self.index_transaction() as conn:  # type: ignore[attr-defined]
                write(conn, events, items)
        except Exception:
            for event, item in zip(events, items, strict=True):
                with self.index_transaction() as conn:  # type: ignore[attr-defined]
                    write(conn, [event], [item])

    def _index_events(
        self, conn: Any, events: Sequence[EventLogEntry], event_ids: Sequence[int], rows: Sequence[dict] | None = None
    ) -> None:
        """``rows``: the events' rows as stored (``_event_to_row``), so their serialized form is reused."""
        if any(event_id is None for event_id in event_ids):
            raise RuntimeError("the event log returned no id for a stored event")
        assets = [(e, i) for e, i in zip(events, event_ids, strict=True) if e.dagster_event_type in _ASSET_EVENTS]
        if assets:
            self._store_asset_event_tags(conn, [e for e, _ in assets], [i for _, i in assets])  # type: ignore[attr-defined]
        last = {(e.dagster_event.asset_key, e.dagster_event_type): n for n, (e, _) in enumerate(assets)}
        for index in sorted(last.values()):
            self._store_asset_event(conn, *assets[index])  # type: ignore[attr-defined]
        checks = [n for n, e in enumerate(events) if e.dagster_event_type in _CHECK_EVENTS]
        updated = _insert_planned_checks(conn, events, event_ids, rows, checks)
        updated |= _update_check_results(conn, events, event_ids, rows, checks)
        self._batch.conn = conn
        try:
            for n in checks:
                if n not in updated:
                    self.store_asset_check_event(events[n], event_ids[n])  # type: ignore[attr-defined]
        finally:
            self._batch.conn = None


class BatchingSqliteEventLogStorage(BatchIndexing, SqliteEventLogStorage):
    """Dagster's SQLite event log, writing batches of asset events in one transaction per database.

    Dagster's own SQLite event log writes a batch one event at a time: for each, a new engine,
    a connection and a commit to the run's database, then the same again to the cross-run index
    with the event's tags and the asset's record (about 8 ms on the reference machine, so 1.6 s
    for the 200 planned events of a 100-invoice run). This class writes the run's rows in one
    transaction and the index rows in another, the same rows Dagster's ``store_event`` writes,
    in the same order, each table's by one statement run for every row (the index's returning
    the ids its rows got, in the rows' order), except that the asset's record (which keeps the
    latest event of each kind) is written once per asset and kind instead of once per event.
    Check events (planned, and the merge step's results per partition) are indexed inside the
    same index transaction (see :class:`BatchIndexing`). Single events are stored as before.

    Two smaller savings apply to every read and write: an engine is made once per database
    and process instead of once per statement (connections are still opened and closed each
    time, as Dagster's ``NullPool`` does), and a table once seen to exist is not looked up again
    (Dagster checks for the dynamic-partitions table before every partition query, and
    asset steps query partitions for every ``add_asset_metadata`` call).

    Dagster hands it batches only where ``DAGSTER_EVENT_BATCH_SIZE`` is above 0 in the
    environment of the writing process: :func:`enable_event_batching` sets it (``cc-perf`` and the
    runner call it; ``make ui`` exports it); creating the storage changes nothing in the process.

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
        self._batch = threading.local()  # the index transaction a batch is being written in, per thread
        self._fast = fast_path("BatchingSqliteEventLogStorage")
        super().__init__(base_dir, inst_data=inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # SqliteEventLogStorage._connect, but with the shard's engine kept (its dialect set up once).
        if not self._fast:
            with super()._connect(shard) as conn:
                yield conn
            return
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

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> BatchingSqliteEventLogStorage:
        """This class (Dagster's builds a plain ``SqliteEventLogStorage`` whatever the subclass)."""
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Store events in order; consecutive asset events of one run go in together."""
        if not self._fast:
            super().store_event_batch(events)
            return
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
        # prepare_insert_event's rows, inserted by one statement run for each (executemany); the
        # index reuses their serialized events
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:  # one transaction
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        self._index_together(events, rows, self._index)

    def _index(self, conn: Any, events: Sequence[EventLogEntry], rows: Sequence[dict]) -> None:
        """Mirror the events into the cross-run index, as ``SqliteEventLogStorage.store_event`` does."""
        table = SqlEventLogStorageTable
        if conn.dialect.insert_executemany_returning_sort_by_parameter_order:
            inserted = conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
            event_ids = [row[0] for row in inserted]
        else:  # SQLite before 3.35 returns nothing from an insert: one statement per row, as Dagster's
            event_ids = [conn.execute(table.insert(), row).inserted_primary_key[0] for row in rows]
        if len(event_ids) != len(rows):
            raise RuntimeError(f"the event log returned {len(event_ids)} ids for {len(rows)} stored events")
        self._index_events(conn, events, event_ids, rows)


def _update_check_results(
    conn: Any, events: Sequence[EventLogEntry], event_ids: Sequence[int], rows: Sequence[dict] | None, checks: list[int]
) -> set[int]:
    """Record a run's partitioned check results on their planned rows in one statement; the indexes done.

    What Dagster's ``store_asset_check_event`` does for each result of a run (an ``UPDATE`` of
    the row its planned event left: status, the event, its time and id, the materialization it
    targets), here as one executemany with the serialized events already stored (Dagster
    serializes each event again, and compiles and runs the statement once per result). Unless
    every result matched exactly one planned row, nothing is kept from it and Dagster's own call
    does every one (it inserts rows that were not planned and refuses duplicates), as it does
    where the database driver cannot count the rows of an executemany.
    """
    wanted = [
        n
        for n in checks
        if events[n].dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        and events[n].run_id
        and events[n].get_dagster_event().event_specific_data.partition is not None
    ]
    if rows is None or len(wanted) < 2 or not conn.dialect.supports_sane_multi_rowcount:
        return set()
    table = AssetCheckExecutionsTable
    statement = (
        table.update()
        .where(
            table.c.asset_key == bindparam("b_asset_key"),
            table.c.check_name == bindparam("b_check_name"),
            table.c.run_id == bindparam("b_run_id"),
            table.c.partition == bindparam("b_partition"),
        )
        .values(
            execution_status=bindparam("b_status"),
            evaluation_event=bindparam("b_event"),
            evaluation_event_timestamp=bindparam("b_timestamp"),
            evaluation_event_storage_id=bindparam("b_event_id"),
            materialization_event_storage_id=bindparam("b_target_id"),
        )
    )
    parameters = []
    for n in wanted:
        evaluation = events[n].get_dagster_event().event_specific_data
        target = evaluation.target_materialization_data
        status = (
            AssetCheckExecutionRecordStatus.SUCCEEDED if evaluation.passed else AssetCheckExecutionRecordStatus.FAILED
        )
        parameters.append(
            {
                "b_asset_key": evaluation.asset_key.to_string(),
                "b_check_name": evaluation.check_name,
                "b_run_id": events[n].run_id,
                "b_partition": evaluation.partition,
                "b_status": status.value,
                "b_event": rows[n]["event"],
                "b_timestamp": rows[n]["timestamp"],
                "b_event_id": event_ids[n],
                "b_target_id": target.storage_id if target else None,
            }
        )
    # Otherwise Dagster's call does each again: its update leaves a row this one updated as it is.
    return set(wanted) if conn.execute(statement, parameters).rowcount == len(parameters) else set()


def _insert_planned_checks(
    conn: Any, events: Sequence[EventLogEntry], event_ids: Sequence[int], rows: Sequence[dict] | None, checks: list[int]
) -> set[int]:
    """Insert the rows a batch's planned checks leave, one per check and partition, in one statement.

    The rows Dagster's ``store_asset_check_event`` inserts for each planned event (one per
    partition it plans, or one without a partition), in the same order and with the same
    values, but with the event serialized once: Dagster serializes the whole event again for
    every partition, and the event holds the run's partitions, so a range run of N partitions
    paid N serializations of N keys per check (200 partitions: 1,000 serializations of 200 keys).
    """
    planned = [n for n in checks if events[n].dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED]
    if rows is None or not planned:
        return set()
    values = []
    for n in planned:
        data = events[n].get_dagster_event().event_specific_data
        keys = data.partitions_subset.get_partition_keys() if data.partitions_subset else [None]
        shared = {
            "asset_key": data.asset_key.to_string(),
            "check_name": data.check_name,
            "run_id": events[n].run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": rows[n]["event"],
            "evaluation_event_timestamp": rows[n]["timestamp"],
            "evaluation_event_storage_id": event_ids[n],
        }
        values.extend({**shared, "partition": key} for key in keys)
    conn.execute(AssetCheckExecutionsTable.insert(), values)
    return set(planned)


def _writes_together(event: EventLogEntry) -> bool:
    return event.is_dagster_event and event.dagster_event_type in _TOGETHER


def enable_event_batching(size: int = DEFAULT_EVENT_BATCH_SIZE) -> None:
    """Switch Dagster's event batching on for this process and its children, unless set already.

    Dagster reads ``DAGSTER_EVENT_BATCH_SIZE`` at every event; ``0`` writes one event at a time.
    Set but empty counts as not set (Dagster would fail every event on it).
    """
    if not os.environ.get(EVENT_BATCH_ENV, "").strip():
        os.environ[EVENT_BATCH_ENV] = str(size)
