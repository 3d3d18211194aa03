"""Dagster-side helpers shared by several test modules (the core's tests import none of this)."""

from __future__ import annotations

from dagster import AssetCheckKey, AssetKey, DagsterEventType, DagsterInstance, build_sensor_context
from dagster._core.event_api import PartitionKeyFilter

from cc_perf_dagster.assets import RANGE_END_TAG, RANGE_START_TAG
from cc_perf_dagster.checks import CHECKS
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import PROCESS_JOB, build_definitions
from cc_perf_dagster.sensors import build_incoming_folder_sensor


class Pipeline:
    """A throwaway storage root, an ephemeral instance and the ready-made definitions on them."""

    def __init__(self, root):
        self.root = root
        self.defs = build_definitions(storage_root=str(root))
        self.instance = DagsterInstance.ephemeral()
        self.registry = FileRegistry(root / "registry")

    def register(self, *paths):
        keys = [self.registry.register(p).key for p in paths]
        self.instance.add_dynamic_partitions("invoices", keys)
        return keys

    def run(self, keys, job=PROCESS_JOB):
        tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]} if len(keys) > 1 else {}
        job_def = self.defs.resolve_job_def(job)
        kwargs = {"partition_key": keys[0]} if len(keys) == 1 else {"tags": tags}
        return job_def.execute_in_process(instance=self.instance, raise_on_error=False, **kwargs)

    def materialization(self, result, key, asset="invoice"):
        events = [
            e.event_specific_data.materialization
            for e in result.get_asset_materialization_events()
            if e.event_specific_data.materialization.asset_key == AssetKey(asset)
            and e.event_specific_data.materialization.partition == key
        ]
        assert len(events) == 1
        return {k: v.value for k, v in events[0].metadata.items()}

    def checks(self, result, key=None):
        """The run's check evaluations of one partition (``key``; None: the run's only one), by check name."""
        evaluations = result.get_asset_check_evaluations()
        partitions = {evaluation.partition for evaluation in evaluations}
        assert key is not None or len(partitions) <= 1, partitions
        return {e.check_name: e for e in evaluations if key is None or e.partition == key}

    def stored_checks(self, key, asset="invoice"):
        """Each check's latest result for one partition, read back from the instance, by check name."""
        keys = [AssetCheckKey(AssetKey(asset), name) for name in CHECKS]
        latest = self.instance.event_log_storage.get_latest_asset_check_execution_by_key(
            keys, partition_filter=PartitionKeyFilter(key=key)
        )
        return {check_key.name: record for check_key, record in latest.items()}


def sensor_setup(tmp_path, **options):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    storage = str(tmp_path / "storage")
    sensor = build_incoming_folder_sensor(directory=incoming, storage_root=storage, **options)
    defs = build_definitions(storage_root=storage, incoming_folder=str(incoming))
    return incoming, sensor, defs, DagsterInstance.ephemeral()


def tick(sensor, instance, defs, cursor):
    context = build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return sensor.evaluate_tick(context)


def write_run_over_processes(folder, count: int = 4) -> list[str]:
    """``count`` 200-page order confirmations in ``folder``: 800 pages make a run over processes."""
    from cc_perf_dagster_tests.fixtures.generate import write_large_order_confirmation

    folder.mkdir(parents=True, exist_ok=True)
    keys = [f"CS00700000{n}" for n in range(count)]
    for n, key in enumerate(keys):
        write_large_order_confirmation(folder / f"{key}.pdf", 200, seed=n)
    return keys


def batch_steps_started(instance: DagsterInstance):
    """The first run whose page-batch steps have started, and their process ids; else ``(None, [])``."""
    for run in instance.get_runs():
        starts = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_START).records
        pids = [
            r.event_log_entry.dagster_event.pid
            for r in starts
            if "extract_page_batch" in (r.event_log_entry.step_key or "")
        ]
        if pids:
            return run, pids
    return None, []


def gone(pid: int, *, group: bool = False) -> bool:
    """Whether no process ``pid`` (with ``group``: no process of the group ``pid``) is left."""
    import os

    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return True
    return False
