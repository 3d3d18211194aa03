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

from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import build_definitions, process_invoices_job, storage_run_config
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
            run_config={**storage_run_config(str(calm)), **QUIET},
        ) as run:  # fmt: skip
            assert run.success

        killed = []

        def kill_the_batch_step():
            deadline = time.time() + 120
            while time.time() < deadline and not killed:
                records = instance.get_event_records(
                    EventRecordsFilter(event_type=DagsterEventType.STEP_START), limit=50
                )
                for record in records:
                    event = record.event_log_entry
                    if event.run_id != calm_run_id and "extract_page_batch" in (event.step_key or ""):
                        pid = event.dagster_event.pid
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                        return
                time.sleep(0.05)

        calm_run_id = run.run_id
        killer = threading.Thread(target=kill_the_batch_step)
        killer.start()
        config = {**storage_run_config(str(faulty)), **QUIET}
        with execute_job(reconstructable(process_invoices_job), instance=instance, tags=tags, run_config=config) as run:
            assert not run.success
            failed_run = run.run_id
        killer.join()
        assert killed
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
