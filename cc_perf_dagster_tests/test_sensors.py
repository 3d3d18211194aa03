"""The incoming-folder sensor through Dagster's own tick evaluation; the rerun sensor on a real failed range run."""

from __future__ import annotations

import os
import shutil
import time

from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    SkipReason,
    build_run_status_sensor_context,
)

from cc_perf_dagster.assets import FILE_KEY, PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from cc_perf_dagster.core.incoming import quarantine_folder
from cc_perf_dagster.core.registry import FileRegistry
from cc_perf_dagster.definitions import PROCESS_JOB, build_definitions
from cc_perf_dagster.sensors import ISOLATED_BY_LAUNCHER_TAG, RERUN_OF_TAG
from cc_perf_dagster_tests.conftest import BAD_INVOICES, TEST_INVOICES, corrupt_content_stream
from cc_perf_dagster_tests.helpers import sensor_setup, tick


def test_new_files_become_partitions_and_one_range_run(tmp_path):
    incoming, sensor, defs, instance = sensor_setup(tmp_path)
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
    # each file's sha256 is its partition's data version, written by the tick itself (nothing left
    # for the daemon to write one by one)
    assert not second.asset_events
    registry = FileRegistry(tmp_path / "storage" / "registry")
    for key in add.partition_keys:
        record = instance.get_latest_data_version_record(FILE_KEY, partition_key=key)
        assert record.asset_observation.tags["dagster/data_version"] == registry.get(key).sha256


def test_bad_files_are_quarantined_with_a_note_and_the_sensor_goes_on(tmp_path):
    incoming, sensor, defs, instance = sensor_setup(tmp_path)
    shutil.copy(TEST_INVOICES / "CI004731586.pdf", incoming / "CI004731586.pdf")
    shutil.copy(BAD_INVOICES / "encrypted.pdf", incoming / "encrypted.pdf")
    hours_ago = time.time() - 7200
    os.utime(incoming / "encrypted.pdf", (hours_ago, hours_ago))  # last changed long ago
    shutil.copy(BAD_INVOICES / "encrypted.pdf", incoming / "just written.pdf")
    second = tick(sensor, instance, defs, tick(sensor, instance, defs, None).cursor)
    (request,) = second.run_requests
    assert request.tags[PARTITION_TAG] == "CI004731586"
    # the file written a moment ago may be a stalled copy: it stays for the next ticks
    assert (incoming / "just written.pdf").exists()
    assert not (quarantine_folder(incoming) / "just written.pdf").exists()
    note = quarantine_folder(incoming) / "encrypted.pdf.error.json"
    assert note.exists() and "a password is required" in note.read_text()
    assert (quarantine_folder(incoming) / "encrypted.pdf").exists()


def test_a_storage_that_cannot_be_written_skips_the_tick_and_keeps_every_file(tmp_path, monkeypatch):
    import errno

    import cc_perf_dagster.core.registry as registry_module

    incoming, sensor, defs, instance = sensor_setup(tmp_path)
    names = ["CI004731586.pdf", "CS003702114.pdf"]
    for name in names:
        shutil.copy(TEST_INVOICES / name, incoming / name)
    hours_ago = time.time() - 7200
    for name in names:
        os.utime(incoming / name, (hours_ago, hours_ago))  # taken on the first look
    write = registry_module.atomic_write_text

    def disk_full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(registry_module, "atomic_write_text", disk_full)
    full = tick(sensor, instance, defs, None)
    assert full.run_requests == [] and full.cursor is None  # skipped: the cursor is kept
    assert full.skip_message.startswith("the storage cannot be written ([Errno 28] No space left on device)")
    assert sorted(p.name for p in incoming.iterdir()) == names  # nothing quarantined, nothing moved
    monkeypatch.setattr(registry_module, "atomic_write_text", write)
    (request,) = tick(sensor, instance, defs, full.cursor).run_requests  # written again: both taken
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("CI004731586", "CS003702114")


def test_many_arrivals_are_chunked_into_range_runs(tmp_path):
    incoming, sensor, defs, instance = sensor_setup(tmp_path, max_partitions_per_run=2)
    for index in range(5):
        shutil.copy(TEST_INVOICES / "CI004731586.pdf", incoming / f"copy{index}.pdf")
        with (incoming / f"copy{index}.pdf").open("ab") as fh:
            fh.write(f"\n% variant {index}\n".encode())  # distinct bytes, still a valid PDF
    second = tick(sensor, instance, defs, tick(sensor, instance, defs, None).cursor)
    sizes = [2 if RANGE_START_TAG in r.tags else 1 for r in second.run_requests]
    assert sizes == [2, 2, 1]
    assert len({r.run_key for r in second.run_requests}) == 3


def test_a_failed_range_run_is_run_again_without_the_partitions_it_failed_on(tmp_path):
    storage, folder = tmp_path / "storage", tmp_path / "in"
    folder.mkdir()
    for name in ("CI004731586", "CI004790233", "CI004848705", "CS003702114"):
        shutil.copy(TEST_INVOICES / f"{name}.pdf", folder / f"{name}.pdf")
    # Passes the incoming folder's quick check (page 1 is fine); page 2 fails in the run.
    corrupt_content_stream(TEST_INVOICES / "CS003837319.pdf", folder / "CI004800000_broken.pdf", page=2)
    defs = build_definitions(storage_root=str(storage), sensor_running=False)
    registry = FileRegistry(storage / "registry")
    keys = [registry.register(path).key for path in sorted(folder.glob("*.pdf"))]
    assert keys[2] == "CI004800000_broken"
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("invoices", keys)
    job = defs.resolve_job_def(PROCESS_JOB)

    def run(tags):
        result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
        return result, instance.get_run_by_id(result.run_id)

    def rerun_requests(result, dagster_run):
        failure = next(e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE)
        context = build_run_status_sensor_context(
            sensor_name="rerun_failed_ranges", dagster_event=failure, dagster_instance=instance, dagster_run=dagster_run
        ).for_run_failure()
        return defs.resolve_sensor_def("rerun_failed_ranges")(context)

    failed, failed_run = run({RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
    assert not failed.success
    # cc-perf process reruns the rest itself; its runs say so and are left alone.
    own = failed_run.with_tags({**failed_run.tags, ISOLATED_BY_LAUNCHER_TAG: "cc-perf process"})
    assert isinstance(rerun_requests(failed, own), SkipReason)
    requests = rerun_requests(failed, failed_run)
    assert [(r.tags.get(RANGE_START_TAG), r.tags.get(RANGE_END_TAG)) for r in requests] == [
        (keys[0], keys[1]),
        (keys[3], keys[4]),
    ]
    assert all(r.tags[RERUN_OF_TAG] == failed.run_id for r in requests)
    assert len({r.run_key for r in requests}) == 2
    for request in requests:
        assert run(request.tags)[0].success
    materialized = instance.get_materialized_partitions(AssetKey("invoice"))
    assert materialized == set(keys) - {"CI004800000_broken"}

    # A failure on its own partition (or one naming no partition) is left as it is.
    alone, alone_run = run({PARTITION_TAG: "CI004800000_broken"})
    assert not alone.success
    assert isinstance(rerun_requests(alone, alone_run), SkipReason)


def test_the_shipped_sensors_tick_on_each_of_the_daemons_loops():
    # The daemon looks at its sensors every MIN_INTERVAL_LOOP_TIME seconds and skips one whose
    # last tick began less than its interval ago; an interval of the loop's length itself would
    # skip every other loop (a tick begins a moment after its loop does).
    from dagster._daemon.sensor import MIN_INTERVAL_LOOP_TIME

    defs = build_definitions()
    for name in ("incoming_invoices", "rerun_failed_ranges"):
        assert defs.resolve_sensor_def(name).minimum_interval_seconds < MIN_INTERVAL_LOOP_TIME, name
