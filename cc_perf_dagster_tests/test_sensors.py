"""The incoming-folder sensor through Dagster's own tick evaluation."""

from __future__ import annotations

import shutil

from dagster import DagsterInstance, build_sensor_context

from cc_perf_dagster.core.incoming import quarantine_folder
from cc_perf_dagster.definitions import build_definitions
from cc_perf_dagster.sensors import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG, build_incoming_folder_sensor
from cc_perf_dagster_tests.conftest import BAD_INVOICES, TEST_INVOICES


def setup(tmp_path, **options):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    storage = str(tmp_path / "storage")
    sensor = build_incoming_folder_sensor(directory=incoming, storage_root=storage, **options)
    defs = build_definitions(storage_root=storage, incoming_folder=str(incoming))
    return incoming, sensor, defs, DagsterInstance.ephemeral()


def tick(sensor, instance, defs, cursor):
    context = build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return sensor.evaluate_tick(context)


def test_new_files_become_partitions_and_one_range_run(tmp_path):
    incoming, sensor, defs, instance = setup(tmp_path)
    for name in ("CI004731586.pdf", "CI004790233.pdf", "CS003702114.pdf"):
        shutil.copy(TEST_INVOICES / name, incoming / name)
    first = tick(sensor, instance, defs, None)
    assert first.run_requests == [] and not first.dynamic_partitions_requests
    second = tick(sensor, instance, defs, first.cursor)
    (add,) = second.dynamic_partitions_requests
    assert sorted(add.partition_keys) == ["CI004731586", "CI004790233", "CS003702114"]
    (request,) = second.run_requests
    assert request.tags[RANGE_START_TAG] == "CI004731586" and request.tags[RANGE_END_TAG] == "CS003702114"
    assert "@" in request.run_key  # carries the content hash
    for key in add.partition_keys:
        instance.add_dynamic_partitions("invoices", [key])
    third = tick(sensor, instance, defs, second.cursor)
    assert third.run_requests == [] and not third.dynamic_partitions_requests


def test_bad_files_are_quarantined_with_a_note_and_the_sensor_goes_on(tmp_path):
    incoming, sensor, defs, instance = setup(tmp_path)
    shutil.copy(TEST_INVOICES / "CI004731586.pdf", incoming / "CI004731586.pdf")
    shutil.copy(BAD_INVOICES / "encrypted.pdf", incoming / "encrypted.pdf")
    second = tick(sensor, instance, defs, tick(sensor, instance, defs, None).cursor)
    (request,) = second.run_requests
    assert request.tags[PARTITION_TAG] == "CI004731586"
    note = quarantine_folder(incoming) / "encrypted.pdf.error.json"
    assert note.exists() and "a password is required" in note.read_text()
    assert (quarantine_folder(incoming) / "encrypted.pdf").exists()


def test_many_arrivals_are_chunked_into_range_runs(tmp_path):
    incoming, sensor, defs, instance = setup(tmp_path, max_partitions_per_run=2)
    for index in range(5):
        shutil.copy(TEST_INVOICES / "CI004731586.pdf", incoming / f"copy{index}.pdf")
        with (incoming / f"copy{index}.pdf").open("ab") as fh:
            fh.write(f"\n% variant {index}\n".encode())  # distinct bytes, still a valid PDF
    second = tick(sensor, instance, defs, tick(sensor, instance, defs, None).cursor)
    sizes = [2 if RANGE_START_TAG in r.tags else 1 for r in second.run_requests]
    assert sizes == [2, 2, 1]
    assert len({r.run_key for r in second.run_requests}) == 3
