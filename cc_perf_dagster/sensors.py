"""A sensor on an incoming folder: new and changed PDFs become partitions and range runs.

The sensor is a thin shell over :func:`cc_perf_dagster.core.incoming.look`, which does the work
without Dagster: a file is taken once its size and modification time held still across two
ticks (about 5 s apart, the daemon's loop; :data:`SENSOR_INTERVAL_S`), or on the first when it
was last modified that long before (a file moved in), and one that then cannot be read waits
until it has not changed for a minute before it is quarantined (a stalled copy); the same bytes
under a second name are noted, not processed twice; bad files go to a quarantine folder beside
the incoming one with ``NAME.error.json``. This shell reports each file's sha256 as the data
version of ``invoice_file`` (one batch of observations, written in the tick), then adds the
partitions and requests range runs whose run keys carry the content hash, in one
``SensorResult``.

A second sensor, :func:`build_failed_range_sensor`, watches range runs that fail: a range run
fails as a whole when one of its invoices does (a page that cannot be read, found only while
parsing), so it runs the other partitions of the range again without the failing ones.
"""

import hashlib
import os
from pathlib import Path
from typing import Any

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from cc_perf_dagster._dagster_compat.runless_events import report_observations
from cc_perf_dagster.assets import (
    FILE_KEY,
    PARTITIONS_NAME,
    RANGE_END_TAG,
    RANGE_START_TAG,
    file_observation,
    invoice_partitions,
    partition_tags,
    tagged_partitions,
)
from cc_perf_dagster.core.incoming import UNREADABLE_GRACE_S, look, quarantine_folder
from cc_perf_dagster.core.pdf import Limits
from cc_perf_dagster.core.planning import contiguous_ranges
from cc_perf_dagster.core.screening import quick_check
from cc_perf_dagster.failures import STORAGE_ERRNOS, failed_partitions
from cc_perf_dagster.resources import InvoiceStorage

INCOMING_ENV = "CC_PERF_INCOMING"
# Seconds between a sensor's ticks at least (both sensors here). Dagster's daemon looks at its
# sensors every 5 s; asking for less than that makes it tick on each of its loops (asking for 5
# would skip every other loop, the previous tick's start being a moment after its loop's), so a
# file is taken 5 to 10 s after it stops changing (two ticks) instead of 30 to 60, and the good
# partitions of a failed range run start again within about 5 s instead of 30.
SENSOR_INTERVAL_S = 4
# Tag of a run the failed-range sensor requested: the id of the range run it stands in for.
RERUN_OF_TAG = "cc_perf/rerun_of"
# Tag of runs whose launcher isolates failed partitions itself (``cc-perf process``): the
# failed-range sensor leaves them alone, so nothing is run twice.
ISOLATED_BY_LAUNCHER_TAG = "cc_perf/isolated_by_launcher"


def default_incoming_folder() -> Path:
    """``$CC_PERF_INCOMING``, else ``./incoming``."""
    return Path(os.environ.get(INCOMING_ENV) or Path.cwd() / "incoming")


def build_incoming_folder_sensor(
    *,
    directory: str | os.PathLike[str] | None = None,
    job_name: str = "process_invoices",
    name: str = "incoming_invoices",
    minimum_interval_seconds: int = SENSOR_INTERVAL_S,
    max_files_per_tick: int = 200,
    max_partitions_per_run: int = 100,
    max_bytes: int = Limits().max_bytes,
    tick_budget_s: float = 20.0,
    storage_root: str | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    file_asset_key: AssetKey = FILE_KEY,
) -> SensorDefinition:
    """A sensor that turns PDFs dropped into ``directory`` into invoice partitions and runs.

    Args:
        directory: The incoming folder (default ``$CC_PERF_INCOMING`` or ``./incoming``).
        job_name: The job to run (``process_invoices``: invoice and booking rows).
        name: The sensor's name.
        minimum_interval_seconds: Time between ticks.
        max_files_per_tick: Files hashed and checked per tick at most; the rest wait.
        max_partitions_per_run: Partitions per range run at most.
        max_bytes: Larger files are quarantined unread.
        tick_budget_s: No new file is started after this long in a tick (Dagster allows 60 s).
        storage_root: Storage folder of the registry (default as the resources).
        default_status: Whether the sensor starts switched on.
        file_asset_key: Key of the file asset whose data versions it reports (``invoice_file``,
            prefixed when the definitions have a key prefix).
    """

    @sensor(
        name=name,
        job_name=job_name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=(
            "Watches the incoming folder: stable new or changed PDFs become invoice partitions and "
            "range runs; bad files move to the quarantine folder with a NAME.error.json note."
        ),
    )
    def _incoming(context: SensorEvaluationContext) -> SensorResult:
        folder = Path(directory) if directory else default_incoming_folder()
        registry = InvoiceStorage(root=storage_root).registry()
        try:
            tick = look(
                folder,
                registry,
                context.cursor,
                max_files=max_files_per_tick,
                max_bytes=max_bytes,
                budget_s=tick_budget_s,
                check=quick_check,
            )
        except OSError as exc:
            if exc.errno not in STORAGE_ERRNOS:
                raise
            # Full, over quota or read-only: the files stay where they are (nothing is quarantined
            # for it), the cursor is kept, and the next tick takes them once the storage is writable.
            return SkipReason(f"the storage cannot be written ({exc}); the files in {folder} wait for it")
        for refused in tick.refused:
            context.log.warning(
                f"quarantined {refused.path.name} -> {quarantine_folder(folder)}: {refused.code}: {refused.reason}"
            )
        for held in tick.held:
            context.log.info(
                f"{held.path.name} cannot be read yet ({held.reason}); it is quarantined if it stays "
                f"unchanged and unreadable for {UNREADABLE_GRACE_S:g} s (a copy may still be arriving)"
            )
        for file_name, holder in tick.duplicates:
            context.log.info(f"{file_name}: same bytes as partition {holder}; not processed again")
        keys = [entry.key for entry in tick.accepted]
        known = context.instance.get_dynamic_partitions(PARTITIONS_NAME)
        new_keys = [k for k in keys if k not in set(known)]
        order = [*known, *new_keys]
        versions = {entry.key: entry.sha256 for entry in tick.accepted}
        run_requests = [
            _run_request(chunk, versions)
            for group in contiguous_ranges(keys, order)
            for chunk in _chunks(group, max_partitions_per_run)
        ]
        if keys or tick.waiting:
            context.log.info(f"{len(keys)} file(s) to process, {tick.waiting} waiting for the next tick")
        # Each file's data version, written here as one batch: handed to the daemon as the
        # result's asset events, it would write them one by one before launching any run (200
        # files: 1.0 s against 0.1 s). A tick failing after this writes them again next time.
        report_observations(context.instance, [file_observation(k, sha, file_asset_key) for k, sha in versions.items()])
        return SensorResult(
            run_requests=run_requests,
            dynamic_partitions_requests=[invoice_partitions.build_add_request(new_keys)] if new_keys else [],
            cursor=tick.cursor,
        )

    return _incoming


def _run_request(keys: list[str], versions: dict[str, str]) -> RunRequest:
    digest = hashlib.sha256("".join(f"{k}={versions[k]};" for k in keys).encode()).hexdigest()[:16]
    run_key = f"{keys[0]}..{keys[-1]}@{digest}"
    # Partitions as tags (as for ranges): the keys are added by the same SensorResult, so they
    # cannot be validated against the instance before the tick is submitted.
    return RunRequest(run_key=run_key, tags=partition_tags(keys))


def _chunks(keys: list[str], size: int) -> list[list[str]]:
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def build_failed_range_sensor(
    job: Any,
    *,
    name: str = "rerun_failed_ranges",
    minimum_interval_seconds: int = SENSOR_INTERVAL_S,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
) -> SensorDefinition:
    """A run-failure sensor: the good partitions of a failed range run, run again without the bad.

    A range run fails as a whole when one invoice fails (the quick check of the incoming
    folder reads only the first page). When the failure names its partitions (the steps'
    ``failed_partitions`` metadata), the rest of the range runs again as ranges of adjacent
    partitions, tagged ``cc_perf/rerun_of``; the named partitions keep their failure and its
    reason. Runs tagged ``cc_perf/isolated_by_launcher`` (``cc-perf process`` does that
    itself) and failures that name no partition (or all of them) are left as they are, so a rerun
    that fails again is handled the same way with a smaller range, and the reruns end.

    Args:
        job: The invoice job (``process_invoices``) it watches and runs.
        name: The sensor's name.
        minimum_interval_seconds: Time between ticks.
        default_status: Whether the sensor starts switched on.
    """

    @run_failure_sensor(
        name=name,
        monitored_jobs=[job],
        request_job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=(
            "When a range run fails because of some of its invoices, runs the other partitions of "
            "the range again, without the failing ones."
        ),
    )
    def _rerun(context: RunFailureSensorContext):
        run = context.dagster_run
        if run.tags.get(ISOLATED_BY_LAUNCHER_TAG):
            return SkipReason(f"run {run.run_id}: its launcher runs the other partitions again itself")
        start, end = run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)
        if not start or not end:
            return SkipReason(f"run {run.run_id} covers one partition")
        order = context.instance.get_dynamic_partitions(PARTITIONS_NAME)
        keys = tagged_partitions(run.tags, order)
        if not keys:
            return SkipReason(f"run {run.run_id}: its range {start}..{end} is no longer registered")
        failed = failed_partitions(context.get_step_failure_events()) & set(keys)
        if not failed or len(failed) == len(keys):
            return SkipReason(f"run {run.run_id}: its failure names no partition to leave out")
        rest = [key for key in keys if key not in failed]
        context.log.info(
            f"run {run.run_id} ({start}..{end}) failed on {', '.join(sorted(failed))}; "
            f"running the other {len(rest)} partition(s) again"
        )
        return [
            RunRequest(
                run_key=f"rerun:{run.run_id}:{part[0]}..{part[-1]}",
                tags={**partition_tags(part), RERUN_OF_TAG: run.run_id},
            )
            for part in contiguous_ranges(rest, order)
        ]

    return _rerun
