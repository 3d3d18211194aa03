"""The cluster profile's event log: dagster-postgres's, also writing batches of check events together.

dagster-postgres 0.29.27 writes a batch in one statement only when it holds materializations
alone or observations alone; any other batch it writes event by event, and a batch holding an
event type outside Dagster's ``BATCH_WRITABLE_EVENTS`` (check results are not in it) it refuses:
Dagster then prints "Exception while storing event batch" and writes the events one by one. A
range step over 100 invoices hands over 500 check results as one batch
(:mod:`~cc_perf_dagster._dagster_compat.check_targets`); one by one, each costs its own
insert and update, each a round trip to the server in a transaction of its own.

:class:`BatchingPostgresEventLogStorage` writes such a batch (check results, planned events of
several kinds) as one multi-row insert of the events, then one index transaction with what
Dagster's ``store_event`` writes for each (:class:`~cc_perf_dagster._dagster_compat.event_log.BatchIndexing`).
Every other batch, and any batch on a Dagster release not in
:data:`~cc_perf_dagster._dagster_compat.versions.CHECKED_RELEASES`, goes to dagster-postgres's
own ``store_event_batch``. A table once seen to exist is not looked up again (dagster-postgres
opens a connection to ask before every check event). Dagster internals used: ``_event_to_row``,
``_store_asset_event_tags``, ``_store_asset_event``, ``store_asset_check_event`` opening the
index through ``index_connection``, and the tables ``SqlEventLogStorageTable`` and
``AssetCheckExecutionsTable``.

This module imports dagster-postgres (the ``cluster`` extra); only the cluster ``dagster.yaml``
names it. Configured as::

    event_log_storage:
      module: cc_perf_dagster._dagster_compat.postgres_event_log
      class: BatchingPostgresEventLogStorage
      config:
        postgres_url: postgresql+psycopg2://...
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

from dagster import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from cc_perf_dagster._dagster_compat.event_log import BatchIndexing, _writes_together
from cc_perf_dagster._dagster_compat.versions import fast_path

# The batches dagster-postgres writes in one statement itself.
_ITS_OWN = (frozenset({DagsterEventType.ASSET_MATERIALIZATION}), frozenset({DagsterEventType.ASSET_OBSERVATION}))


class BatchingPostgresEventLogStorage(BatchIndexing, PostgresEventLogStorage):
    """dagster-postgres's event log, writing a batch of check or planned events in two transactions."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: Any = None,
        token_provider: Any = None,
    ):
        self._batch = threading.local()  # the index transaction a batch is being written in, per thread
        self._tables_seen: set[str] = set()
        self._fast = fast_path("BatchingPostgresEventLogStorage")
        super().__init__(postgres_url, should_autocreate_tables, inst_data=inst_data, token_provider=token_provider)

    def wipe(self) -> None:
        """dagster-postgres's wipe, forgetting the tables seen."""
        super().wipe()
        self._tables_seen.clear()

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> BatchingPostgresEventLogStorage:
        """This class (dagster-postgres's builds a plain ``PostgresEventLogStorage`` whatever the subclass)."""
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Check and mixed planned events together; every other batch as dagster-postgres writes it."""
        kinds = frozenset(event.dagster_event_type for event in events)
        if not self._fast or len(events) < 2 or kinds in _ITS_OWN or not all(map(_writes_together, events)):
            super().store_event_batch(events)
            return
        rows, statement = self._insert_batch(events)
        with self._connect() as conn:
            event_ids = [cast("int", row[0]) for row in conn.execute(statement).fetchall()]
        self._index_together(events, list(zip(event_ids, rows, strict=True)), self._index)

    def _insert_batch(self, events: Sequence[EventLogEntry]) -> tuple[list[dict], Any]:
        """``prepare_insert_event_batch``'s statement returning the ids, and its rows (the index reuses them)."""
        rows = [self._event_to_row(event) for event in events]
        return rows, SqlEventLogStorageTable.insert().values(rows).returning(SqlEventLogStorageTable.c.id)

    def _index(self, conn: Any, events: Sequence[EventLogEntry], stored: Sequence[tuple[int, dict]]) -> None:
        self._index_events(conn, events, [event_id for event_id, _ in stored], [row for _, row in stored])
