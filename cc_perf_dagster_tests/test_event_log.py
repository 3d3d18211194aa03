"""The shipped instance's batching event log leaves the instance as Dagster's own SQLite event log does.

The same range run (three invoices; then one of them failing) is executed on two instances that
differ only in the event log: Dagster's ``SqliteEventLogStorage`` and cc-perf's
``BatchingSqliteEventLogStorage``. Everything the UI, the automation and the runner read back
must agree: the run's events, materialized and failed partitions, planned events, latest
materializations with their metadata, asset records, data-version tags, check executions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance, EventRecordsFilter
from dagster._core.storage.event_log import SqliteEventLogStorage

from cc_perf_dagster import _dagster_compat
from cc_perf_dagster._dagster_compat import BatchingSqliteEventLogStorage
from cc_perf_dagster.assets import RANGE_END_TAG, RANGE_START_TAG, file_observation, invoice_partitions
from cc_perf_dagster.checks import CHECKS
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import PROCESS_JOB, build_definitions
from cc_perf_dagster.instance import dagster_yaml
from cc_perf_dagster_tests.conftest import TEST_INVOICES

INVOICES = ("CI004731586.pdf", "CI004848705.pdf", "CS003702114.pdf")
ASSETS = (AssetKey("invoice"), AssetKey("booking_rows"))
# Fields that differ between any two runs: ids, times, and figures measured on the clock.
# Timings vary between runs; dagster/uri names each world's own storage folder; the checks table
# shows the timings too (the check results themselves are compared as check executions).
VOLATILE = {
    "processing_time_s", "run_wall_s", "cpu_time_s", "peak_rss_mb", "pages_per_s", "parallel_speedup", "dagster/uri",
    "checks",
}  # fmt: skip


def _instance(home, *, batching: bool) -> DagsterInstance:
    config = yaml.safe_load(dagster_yaml(home))
    if not batching:
        del config["event_log_storage"]  # Dagster's default SQLite storage under the same home
    home.mkdir(parents=True)
    return DagsterInstance.local_temp(str(home), overrides=config)


class World:
    """One instance, one storage root, the three invoices registered; runs recorded.

    The instance: the shipped SQLite home with the batching event log or Dagster's own, or
    ``instance`` where given.
    """

    def __init__(self, root, *, batching: bool, instance: DagsterInstance | None = None):
        self.instance = instance or _instance(root / "home", batching=batching)
        self.defs = build_definitions(storage_root=str(root / "storage"))
        registry = FileRegistry(root / "storage" / "registry")
        folder = root / "invoices"
        folder.mkdir()
        self.paths = [Path(shutil.copy(TEST_INVOICES / name, folder)) for name in INVOICES]
        entries = [registry.register(p) for p in self.paths]
        self.keys = [e.key for e in entries]
        self.instance.add_dynamic_partitions("invoices", self.keys)
        for entry in entries:
            self.instance.report_runless_asset_event(file_observation(entry.key, entry.sha256))
        self.run_ids: list[str] = []

    def range_run(self) -> bool:
        job = self.defs.resolve_job_def(PROCESS_JOB)
        tags = {RANGE_START_TAG: self.keys[0], RANGE_END_TAG: self.keys[-1]}
        result = job.execute_in_process(instance=self.instance, tags=tags, raise_on_error=False)
        self.run_ids.append(result.run_id)
        return result.success

    def state(self) -> dict:
        """What a reader of the instance sees, with run ids replaced by the run's ordinal."""
        instance = self.instance
        ordinal = {run_id: index for index, run_id in enumerate(self.run_ids)}
        state: dict = {"runs": []}
        for run_id in self.run_ids:
            records = instance.get_records_for_run(run_id, limit=100_000).records
            kinds = [r.event_log_entry.dagster_event_type for r in records if r.event_log_entry.is_dagster_event]
            state["runs"].append(sorted(str(k) for k in kinds))
        for key in ASSETS:
            name = key.to_user_string()
            state[f"{name}.materialized"] = sorted(instance.get_materialized_partitions(key))
            planned = instance.get_event_records(
                EventRecordsFilter(DagsterEventType.ASSET_MATERIALIZATION_PLANNED, asset_key=key), limit=10_000
            )
            state[f"{name}.planned"] = sorted(
                (ordinal[r.run_id], r.event_log_entry.dagster_event.event_specific_data.partition) for r in planned
            )
            latest = instance.get_latest_materialization_event(key)
            state[f"{name}.latest_run"] = ordinal[latest.run_id]
            record = instance.get_asset_records([key])[0].asset_entry
            state[f"{name}.record"] = (
                ordinal[record.last_run_id],
                ordinal[record.last_materialization_record.run_id],
                record.last_materialization_record.event_log_entry.dagster_event.partition,
            )
            for partition in self.keys:
                wanted = AssetRecordsFilter(asset_key=key, asset_partitions=[partition])
                event = instance.fetch_materializations(wanted, limit=1).records
                materialization = event[0].asset_materialization if event else None
                state[f"{name}[{partition}].metadata"] = (
                    None
                    if materialization is None
                    else sorted((k, str(v.value)) for k, v in materialization.metadata.items() if k not in VOLATILE)
                )
            tags = instance.event_log_storage.get_event_tags_for_asset(key)
            state[f"{name}.tags"] = sorted(tuple(sorted(t.items())) for t in tags)
            state[f"{name}.tag_count"] = len(tags)
            status = instance.get_status_by_partition(key, self.keys, self.defs.get_assets_def(key).partitions_def)
            state[f"{name}.status"] = {k: str(v) for k, v in sorted((status or {}).items())}
        storage = instance.event_log_storage
        for name in CHECKS:  # every check, every partition: status, and whether it targets that run's materialization
            executions = storage.get_asset_check_execution_history(_check_key(name), limit=100)
            state[f"{name}.executions"] = sorted(
                (ordinal[c.run_id], c.partition, str(c.status), self._targets_its_materialization(c))
                for c in executions
            )
        infos = storage.get_asset_check_partition_info([_check_key(name) for name in CHECKS])
        state["checks.current"] = sorted((i.check_key.name, i.partition_key, i.is_current) for i in infos)
        return state

    def _targets_its_materialization(self, execution) -> bool | None:
        """Whether a check result points at its partition's materialization by the same run (None: no result)."""
        evaluation = execution.event.dagster_event.event_specific_data if execution.event else None
        target = getattr(evaluation, "target_materialization_data", None)
        if target is None:
            return None
        wanted = AssetRecordsFilter(asset_key=AssetKey("invoice"), asset_partitions=[execution.partition])
        records = self.instance.fetch_materializations(wanted, limit=100).records
        return any(r.storage_id == target.storage_id and r.run_id == execution.run_id for r in records)


def _check_key(name):
    from dagster import AssetCheckKey

    return AssetCheckKey(AssetKey("invoice"), name)


def _count_batches(monkeypatch, storage: type = BatchingSqliteEventLogStorage, write: str = "_store_together") -> list:
    """How many events each batched write of ``storage`` holds, from now on (``write``: its method)."""
    sizes: list[int] = []
    original = getattr(storage, write)

    def counting(self, events):
        sizes.append(len(events))
        return original(self, events)

    monkeypatch.setattr(storage, write, counting)
    return sizes


def _dagster_check_calls(monkeypatch) -> list[str]:
    """The event type of each check event Dagster's own ``store_asset_check_event`` stores, from now on."""
    calls: list[str] = []
    original = SqliteEventLogStorage.store_asset_check_event

    def counted(self, event, event_id):
        calls.append(event.dagster_event_type.value)
        return original(self, event, event_id)

    monkeypatch.setattr(SqliteEventLogStorage, "store_asset_check_event", counted)
    return calls


@pytest.fixture
def counted_batches(monkeypatch):
    """How many events each batched write of the batching storage held (Dagster's batching on)."""
    monkeypatch.setenv(_dagster_compat.EVENT_BATCH_ENV, str(_dagster_compat.DEFAULT_EVENT_BATCH_SIZE))
    return _count_batches(monkeypatch)


@pytest.mark.parametrize("through", ["runner", "executor"])
def test_a_run_writes_its_batches_though_nothing_switched_batching_on(tmp_path, monkeypatch, through):
    """The runner (``cc-perf``, the benchmarks) and the executor (a run a webserver or daemon
    launched) switch Dagster's batching on themselves: without it, each of a range step's check
    results costs three transactions (about 5 s of a 100-invoice run)."""
    from dagster import execute_job, reconstructable

    from cc_perf_dagster.definitions import process_invoices_job, storage_run_config
    from cc_perf_dagster.runner import executed_run

    monkeypatch.setenv(_dagster_compat.EVENT_BATCH_ENV, "")  # restored afterwards, whatever the run sets
    monkeypatch.delenv(_dagster_compat.EVENT_BATCH_ENV)
    sizes = _count_batches(monkeypatch)
    world = World(tmp_path, batching=True)
    tags = {RANGE_START_TAG: world.keys[0], RANGE_END_TAG: world.keys[-1]}
    config = storage_run_config(str(tmp_path / "storage"))
    if through == "runner":
        run = executed_run(world.instance, process_invoices_job, tags=tags, run_config=config)
    else:
        run = execute_job(reconstructable(process_invoices_job), instance=world.instance, tags=tags, run_config=config)
    with run as result:
        assert result.success
    assert len(INVOICES) * len(CHECKS) in sizes  # the merge step's check results, one batch
    assert world.instance.get_materialized_partitions(AssetKey("invoice")) == set(world.keys)


def test_the_shipped_home_uses_the_batching_event_log(tmp_path):
    with _instance(tmp_path / "home", batching=True) as instance:
        assert isinstance(instance.event_log_storage, BatchingSqliteEventLogStorage)
        # step processes rebuild the instance from its ref: they must get the same storage
        with DagsterInstance.from_ref(instance.get_ref()) as rebuilt:
            assert isinstance(rebuilt.event_log_storage, BatchingSqliteEventLogStorage)


def test_batched_writes_leave_the_same_state_as_dagsters_own_sqlite_event_log(tmp_path, counted_batches):
    worlds = {}
    for batching in (False, True):
        world = World(tmp_path / f"batching-{batching}", batching=batching)
        assert world.range_run()
        # the second run fails: one file is now damaged, so the range run fails and marks it
        damaged = world.paths[1]
        damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
        world.range_run()
        worlds[batching] = world
    plain, batched = (worlds[False].state(), worlds[True].state())
    assert batched.keys() == plain.keys()
    for name in plain:
        assert batched[name] == plain[name], name
    # and the batching storage really wrote batches: planned events, per-partition materializations
    # and the merge step's check results (5 per invoice)
    assert counted_batches and max(counted_batches) >= len(INVOICES)
    assert len(INVOICES) * len(CHECKS) in counted_batches
    first_run = [e for e in plain["consistency.executions"] if e[0] == 0]
    assert first_run == [(0, key, "AssetCheckExecutionRecordStatus.SUCCEEDED", True) for key in worlds[False].keys]
    assert plain["invoice.materialized"] == sorted(worlds[False].keys)


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "sqlite-before-3.35"])
def test_the_index_rows_of_a_batch_point_at_the_events_they_describe(tmp_path, counted_batches, monkeypatch, returning):
    """Each tag row and check result names its event by the id the batch's insert returned for it.

    Where SQLite returns nothing from an insert (before 3.35), each row is inserted alone.
    """
    import sqlalchemy as sa
    from sqlalchemy.dialects.sqlite.base import SQLiteDialect

    if not returning:
        monkeypatch.setattr(SQLiteDialect, "insert_returning", False)
    from dagster._core.storage.event_log.schema import (
        AssetCheckExecutionsTable,
        AssetEventTagsTable,
        SqlEventLogStorageTable,
    )
    from dagster._serdes import deserialize_value

    world = World(tmp_path / "world", batching=True)
    assert world.range_run() and world.range_run()  # the second run's rows follow the first's
    assert max(counted_batches) >= len(INVOICES)
    storage = world.instance.event_log_storage
    with storage.index_connection() as conn:
        events = dict(conn.execute(sa.select(SqlEventLogStorageTable.c.id, SqlEventLogStorageTable.c.event)).all())
        tags = conn.execute(sa.select(AssetEventTagsTable)).mappings().all()
        executions = conn.execute(sa.select(AssetCheckExecutionsTable)).mappings().all()
    assert tags and executions
    for tag in tags:
        event = deserialize_value(events[tag["event_id"]]).get_dagster_event()
        assert event.asset_key.to_string() == tag["asset_key"]
        data = event.event_specific_data  # a materialization, or the file's observation
        asset_event = getattr(data, "materialization", None) or data.asset_observation
        assert asset_event.tags[tag["key"]] == tag["value"]
    for execution in executions:
        event = deserialize_value(events[execution["evaluation_event_storage_id"]]).get_dagster_event()
        evaluation = event.event_specific_data
        assert (evaluation.check_name, evaluation.partition) == (execution["check_name"], execution["partition"])
        target = deserialize_value(events[execution["materialization_event_storage_id"]])
        assert target.run_id == execution["run_id"] and target.get_dagster_event().partition == evaluation.partition


def test_check_results_go_onto_their_planned_rows_in_one_statement_and_unplanned_ones_as_dagster_writes_them(
    tmp_path, monkeypatch
):
    import logging
    import time

    from dagster import AssetCheckEvaluation, AssetCheckKey, DagsterEvent, EventLogEntry
    from dagster._core.events import AssetCheckEvaluationPlanned

    instance = _instance(tmp_path / "home", batching=True)
    storage = instance.event_log_storage
    dagsters = _dagster_check_calls(monkeypatch)
    keys = ["a", "b", "c"]
    instance.add_dynamic_partitions("invoices", keys)
    check = AssetCheckKey(AssetKey("invoice"), "consistency")

    def entry(run_id: str, kind: DagsterEventType, data) -> EventLogEntry:
        event = DagsterEvent(kind.value, job_name="j", event_specific_data=data)
        return EventLogEntry(None, logging.INFO, "", run_id, time.time(), dagster_event=event)

    def results(run_id: str) -> list[EventLogEntry]:
        kind = DagsterEventType.ASSET_CHECK_EVALUATION
        made = (AssetCheckEvaluation(check.asset_key, check.name, passed=key != "b", partition=key) for key in keys)
        return [entry(run_id, kind, evaluation) for evaluation in made]

    subset = invoice_partitions.subset_with_partition_keys(keys)
    planned = entry("planned", DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
                    AssetCheckEvaluationPlanned(asset_key=check.asset_key, check_name=check.name,
                                                partitions_subset=subset))  # fmt: skip
    storage.store_event_batch([planned])
    dagsters.clear()
    storage.store_event_batch(results("planned"))
    assert dagsters == []  # one statement, not Dagster's call per result
    storage.store_event_batch(results("unplanned"))  # no planned rows: Dagster's call inserts each
    assert dagsters == ["ASSET_CHECK_EVALUATION"] * len(keys)
    history = storage.get_asset_check_execution_history(check, limit=10)
    found = sorted((r.run_id, r.partition, r.status.value, r.event.dagster_event.event_type_value) for r in history)
    assert found == sorted(
        (run, key, "FAILED" if key == "b" else "SUCCEEDED", "ASSET_CHECK_EVALUATION")
        for run in ("planned", "unplanned")
        for key in keys
    )
    instance.dispose()


def test_a_batch_of_planned_checks_leaves_dagsters_rows_with_each_event_serialized_once(tmp_path, monkeypatch):
    """The rows a range run's planned checks leave (one per check and partition) are the rows
    Dagster's own SQLite event log writes for the same batch, column for column; Dagster's call,
    which serializes the whole event again for every partition, is not made for them."""
    import logging
    import time

    import sqlalchemy as sa
    from dagster import AssetCheckKey, DagsterEvent, EventLogEntry
    from dagster._core.events import AssetCheckEvaluationPlanned
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable

    keys = [f"k{n:03d}" for n in range(40)]
    subset = invoice_partitions.subset_with_partition_keys(keys)
    stamp = time.time()

    def planned(name: str, partitions) -> EventLogEntry:
        data = AssetCheckEvaluationPlanned(asset_key=AssetKey("invoice"), check_name=name, partitions_subset=partitions)
        kind = DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED.value
        event = DagsterEvent(kind, job_name="j", event_specific_data=data)
        return EventLogEntry(None, logging.INFO, "", "run", stamp, dagster_event=event)

    names = list(CHECKS)
    batch = [planned(name, subset) for name in names[:2]] + [planned(names[2], None)]  # and one unpartitioned
    dagsters = _dagster_check_calls(monkeypatch)
    rows, calls, history = {}, {}, {}
    for batching in (False, True):
        instance = _instance(tmp_path / f"batching-{batching}", batching=batching)
        instance.add_dynamic_partitions("invoices", keys)
        storage = instance.event_log_storage
        dagsters.clear()
        storage.store_event_batch(batch)
        calls[batching] = list(dagsters)
        with storage.index_connection() as conn:
            found = conn.execute(sa.select(AssetCheckExecutionsTable)).mappings()
            rows[batching] = [{k: v for k, v in r.items() if k != "create_timestamp"} for r in found]
        executions = storage.get_asset_check_execution_history(AssetCheckKey(AssetKey("invoice"), names[0]), limit=100)
        history[batching] = sorted((r.partition, r.status.value, r.run_id) for r in executions)
        instance.dispose()
    assert len(rows[True]) == 2 * len(keys) + 1
    assert rows[True] == rows[False]  # the database's own insert time aside
    assert calls == {False: ["ASSET_CHECK_EVALUATION_PLANNED"] * len(batch), True: []}
    assert history[True] == history[False] == [(key, "PLANNED", "run") for key in keys]


def test_a_wiped_instance_starts_again_from_empty_databases(tmp_path):
    world = World(tmp_path, batching=True)
    assert world.range_run()
    world.instance.wipe()  # runs, events, assets and dynamic partitions
    assert world.instance.get_materialized_partitions(AssetKey("invoice")) == set()
    world.instance.add_dynamic_partitions("invoices", world.keys)
    assert world.range_run()  # the run's and the index's databases are made again
    assert world.instance.get_materialized_partitions(AssetKey("invoice")) == set(world.keys)


def test_on_an_unchecked_dagster_release_everything_falls_back_to_dagsters_own(tmp_path, monkeypatch, caplog):
    from cc_perf_dagster._dagster_compat import event_log, metadata, versions

    monkeypatch.setattr(versions, "CHECKED", False)
    monkeypatch.setattr(versions, "RUNNING", "9.9.9")
    monkeypatch.setattr(versions, "_told", set())
    worlds = {}
    for batching in (False, True):
        world = World(tmp_path / f"batching-{batching}", batching=batching)
        assert world.range_run()
        worlds[batching] = world
    assert not worlds[True].instance.event_log_storage._fast
    plain, fallback = worlds[False].state(), worlds[True].state()
    assert {name: fallback[name] for name in plain} == plain
    told = [r.getMessage() for r in caplog.records if "9.9.9" in r.getMessage()]
    assert any(m.startswith("BatchingSqliteEventLogStorage") for m in told)
    assert event_log.fast_path is versions.fast_path and metadata.fast_path is versions.fast_path


def test_importing_the_overrides_changes_no_environment_or_warning_filter():
    import subprocess
    import sys

    probe = (
        "import os, warnings; before = (dict(os.environ), list(warnings.filters)); "
        "import cc_perf_dagster._dagster_compat, cc_perf_dagster.assets, cc_perf_dagster.definitions; "
        "print((dict(os.environ), list(warnings.filters)) == before)"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != _dagster_compat.EVENT_BATCH_ENV}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "True", done.stderr


def test_batching_is_switched_on_unless_the_environment_says_otherwise(monkeypatch):
    import os

    name, default = _dagster_compat.EVENT_BATCH_ENV, str(_dagster_compat.DEFAULT_EVENT_BATCH_SIZE)
    for value, expected in (("", default), (" ", default), ("0", "0"), ("50", "50")):
        monkeypatch.setenv(name, value)
        _dagster_compat.enable_event_batching()
        assert os.environ[name] == expected, value
    monkeypatch.delenv(name)
    _dagster_compat.enable_event_batching()
    assert os.environ[name] == default


def _postgres_instance(home, url: str, *, batching: bool) -> DagsterInstance:
    from cc_perf_dagster.instance import cluster_dagster_yaml

    config = yaml.safe_load(cluster_dagster_yaml(url))
    if not batching:  # dagster-postgres's own event log on the same database
        config["event_log_storage"].update(module="dagster_postgres.event_log", **{"class": "PostgresEventLogStorage"})
    home.mkdir(parents=True)
    return DagsterInstance.local_temp(str(home), overrides=config)


def test_the_cluster_event_log_leaves_the_same_state_as_dagster_postgres_and_writes_check_results_together(
    tmp_path, postgres_databases, monkeypatch, capfd
):
    """On dagster-postgres's own event log a batch of check results is refused ("Exception while
    storing event batch") and written one by one; the cluster profile's writes it as one batch,
    leaving the same state."""
    from cc_perf_dagster._dagster_compat.event_log import BatchIndexing
    from cc_perf_dagster._dagster_compat.postgres_event_log import BatchingPostgresEventLogStorage

    monkeypatch.setenv(_dagster_compat.EVENT_BATCH_ENV, str(_dagster_compat.DEFAULT_EVENT_BATCH_SIZE))
    sizes: list[int] = []
    original = BatchIndexing._index_events

    def counting(self, conn, events, *rest):
        sizes.append(len(events))
        return original(self, conn, events, *rest)

    monkeypatch.setattr(BatchIndexing, "_index_events", counting)
    worlds, refused = {}, {}
    for batching in (False, True):
        root = tmp_path / f"batching-{batching}"
        instance = _postgres_instance(root / "home", postgres_databases(), batching=batching)
        assert isinstance(instance.event_log_storage, BatchingPostgresEventLogStorage) is batching
        world = World(root, batching=batching, instance=instance)
        capfd.readouterr()
        assert world.range_run()
        damaged = world.paths[1]
        damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
        world.range_run()
        refused[batching] = "Exception while storing event batch" in capfd.readouterr().err
        worlds[batching] = world
    plain, batched = worlds[False].state(), worlds[True].state()
    assert batched.keys() == plain.keys()
    for name in plain:
        assert batched[name] == plain[name], name
    assert refused == {False: True, True: False}
    assert len(INVOICES) * len(CHECKS) in sizes  # the merge step's check results, one batch
    for world in worlds.values():
        world.instance.dispose()


def test_the_cluster_event_log_hands_dagster_postgres_what_it_writes_itself_and_everything_on_other_releases(
    monkeypatch,
):
    """Batches of materializations (or observations) alone, batches with other events, and any
    batch on a Dagster release the override was not checked against go to dagster-postgres's own
    ``store_event_batch``; check results and planned events are written together. No database:
    the storage is built without creating tables, and the writes are recorded, not made."""
    import logging
    import time

    from dagster import AssetCheckEvaluation, AssetMaterialization, DagsterEvent, EventLogEntry
    from dagster._core.events import StepMaterializationData
    from dagster_postgres import PostgresEventLogStorage

    from cc_perf_dagster._dagster_compat import postgres_event_log, versions

    def entry(kind: DagsterEventType, data=None) -> EventLogEntry:
        event = DagsterEvent(kind.value, job_name="j", event_specific_data=data)
        return EventLogEntry(None, logging.INFO, "", "run", time.time(), dagster_event=event)

    class Ours(Exception):
        """Raised where the override would build its one insert (the database is not reached)."""

    materialization = StepMaterializationData(AssetMaterialization("invoice", partition="p"))
    evaluation = AssetCheckEvaluation(asset_key=AssetKey("invoice"), check_name="consistency", passed=True)
    theirs: list[int] = []
    ours: list[int] = []
    monkeypatch.setattr(PostgresEventLogStorage, "store_event_batch", lambda self, events: theirs.append(len(events)))

    def storage():
        made = postgres_event_log.BatchingPostgresEventLogStorage(
            "postgresql+psycopg2://nobody@127.0.0.1:1/none", should_autocreate_tables=False
        )

        def insert(events):
            ours.append(len(events))
            raise Ours

        monkeypatch.setattr(made, "_insert_batch", insert)
        return made

    checks = [entry(DagsterEventType.ASSET_CHECK_EVALUATION, evaluation) for _ in range(3)]
    materializations = [entry(DagsterEventType.ASSET_MATERIALIZATION, materialization) for _ in range(3)]
    mixed = [*materializations, EventLogEntry(None, logging.INFO, "a log line", "run", time.time())]
    fast = storage()
    fast.store_event_batch(materializations)
    fast.store_event_batch(mixed)
    assert theirs == [3, 4] and ours == []
    with pytest.raises(Ours):
        fast.store_event_batch(checks)
    assert ours == [3]
    monkeypatch.setattr(versions, "CHECKED", False)
    monkeypatch.setattr(versions, "_told", set())
    storage().store_event_batch(checks)
    assert theirs == [3, 4, 3] and ours == [3]
