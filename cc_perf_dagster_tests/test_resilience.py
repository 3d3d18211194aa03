"""Load and fault tests on the shipped instance configuration (not timed)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
import yaml
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    EventRecordsFilter,
    ReexecutionOptions,
    build_sensor_context,
    execute_job,
    reconstructable,
)

from cc_perf_dagster.core.cache import PageCache
from cc_perf_dagster.core.extract import page_key
from cc_perf_dagster.core.pdf import PdfDocument
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import build_definitions, process_invoices_job, storage_run_config
from cc_perf_dagster.executor import OVER_PROCESSES_RUN_CONFIG
from cc_perf_dagster.instance import dagster_yaml
from cc_perf_dagster.sensors import build_incoming_folder_sensor
from cc_perf_dagster_tests.fixtures.generate import write_large_order_confirmation

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def shipped_instance(path):
    path.mkdir(parents=True, exist_ok=True)
    return DagsterInstance.local_temp(str(path), overrides=yaml.safe_load(dagster_yaml(path)))


def materializations(instance, asset):
    records = instance.get_event_records(
        EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION, asset_key=AssetKey(asset)), limit=100_000
    )
    return [r.event_log_entry.dagster_event.partition for r in records]


@pytest.mark.slow
def test_200_arrivals_are_each_processed_exactly_once(tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for index in range(200):
        write_large_order_confirmation(incoming / f"CS{800000000 + index:09d}.pdf", 2, seed=index)
    # All 200 arrive at once: the same fresh modification time, so they settle on the same tick
    # (writing them takes longer than STABLE_S on a slow machine, and the files written first
    # would otherwise be taken a tick before the rest, in a range of their own).
    arrived = time.time()
    for path in incoming.iterdir():
        os.utime(path, (arrived, arrived))
    storage = tmp_path / "storage"
    sensor = build_incoming_folder_sensor(directory=incoming, storage_root=str(storage))
    defs = build_definitions(storage_root=str(storage), incoming_folder=str(incoming))
    with shipped_instance(tmp_path / "home") as instance:
        cursor, requests = None, []
        for _ in range(4):  # a few ticks: settle, then everything (200 is the per-tick bound)
            result = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
            for add in result.dynamic_partitions_requests:
                instance.add_dynamic_partitions("invoices", list(add.partition_keys))
            requests.extend(result.run_requests)
            cursor = result.cursor
        assert len(requests) == 2  # range runs of up to 100 invoices
        failures = []
        for request in requests:
            config = {**storage_run_config(str(storage)), **QUIET}
            with execute_job(
                reconstructable(process_invoices_job), instance=instance, tags=request.tags, run_config=config
            ) as run:
                if not run.success:
                    failures.append(run.run_id)
        assert failures == []
        invoice_partitions = materializations(instance, "invoice")
        assert len(invoice_partitions) == 200 and len(set(invoice_partitions)) == 200
        assert sorted(materializations(instance, "booking_rows")) == sorted(invoice_partitions)
    assert len(list((storage / "assets" / "invoice").glob("*.json"))) == 200
    assert sorted(p.name for p in incoming.iterdir()) == sorted(f"CS{800000000 + i:09d}.pdf" for i in range(200))


@pytest.mark.slow
def test_a_step_killed_mid_run_then_reexecuted_gives_identical_outputs(tmp_path):
    pdf = tmp_path / "CS007000001.pdf"
    write_large_order_confirmation(pdf, 400, seed=3)

    def storage_for(name):
        root = tmp_path / name
        FileRegistry(root / "registry").register(pdf)
        return root

    calm, faulty = storage_for("calm"), storage_for("faulty")
    tags = {"dagster/partition": "CS007000001"}
    with shipped_instance(tmp_path / "home") as instance:
        instance.add_dynamic_partitions("invoices", ["CS007000001"])
        with execute_job(
            reconstructable(process_invoices_job), instance=instance, tags=tags,
            run_config={**storage_run_config(str(calm)), **QUIET, **OVER_PROCESSES_RUN_CONFIG},
        ) as run:  # fmt: skip
            assert run.success

        # The gate: page 1's cache entry is a named pipe. The batch step that reads page 1 opens
        # it and waits there for a writer; opening it for writing returns once the step is inside
        # its batch, and the step stays there until it is killed: no race with the step's speed.
        with PdfDocument(pdf) as doc:
            gate = PageCache(faulty / "cache")._path(page_key(doc.content_hash(1)))
        gate.parent.mkdir(parents=True)
        os.mkfifo(gate)
        killed = []

        def kill_the_batch_step_at_the_gate():
            with open(gate, "wb"):  # blocks until the batch step opens the entry
                (faulty_run,) = [r for r in instance.get_runs() if r.run_id != calm_run_id]
                starts = instance.get_records_for_run(faulty_run.run_id, of_type=DagsterEventType.STEP_START).records
                (record,) = [
                    r.event_log_entry
                    for r in starts
                    if r.event_log_entry.step_key.endswith("extract_page_batch[batch_0]")
                ]
                os.kill(record.dagster_event.pid, signal.SIGKILL)
                killed.append(record.dagster_event.pid)

        calm_run_id = run.run_id
        killer = threading.Thread(target=kill_the_batch_step_at_the_gate, daemon=True)
        killer.start()
        # 400 pages would run in this process (a small run): the kill needs the batch step's own process
        config = {**storage_run_config(str(faulty)), **QUIET, **OVER_PROCESSES_RUN_CONFIG}
        with execute_job(reconstructable(process_invoices_job), instance=instance, tags=tags, run_config=config) as run:
            assert not run.success
            failed_run = run.run_id
        if killer.is_alive():  # the gate was never reached: release the thread, then fail below
            os.close(os.open(gate, os.O_RDONLY | os.O_NONBLOCK))
        killer.join()
        assert killed
        gate.unlink()  # the re-execution reads page 1 for real
        options = ReexecutionOptions.from_failure(failed_run, instance)
        with execute_job(
            reconstructable(process_invoices_job),
            instance=instance,
            run_config=config,
            tags=tags,
            reexecution_options=options,
        ) as again:
            errors = [e.step_failure_data.error.message for e in again.get_step_failure_events()]
            assert again.success, errors
    for asset, suffix in (("invoice", "json"), ("booking_rows", "csv")):
        calm_file = calm / "assets" / asset / f"CS007000001.{suffix}"
        faulty_file = faulty / "assets" / asset / f"CS007000001.{suffix}"
        if suffix == "json":
            a, b = json.loads(calm_file.read_text()), json.loads(faulty_file.read_text())
            a.pop("source_path"), b.pop("source_path")
            assert a == b
        else:
            assert calm_file.read_text() == faulty_file.read_text()
