"""Asset observations reported outside any run, all in one batch.

``cc-perf process`` and the incoming-folder sensor report each file they register as an
observation of the ``invoice_file`` asset, its sha256 as the data version. Dagster's
``report_runless_asset_event`` (the daemon's way with a sensor's asset events too) stores each
alone: three SQLite transactions an observation, 200 files in 1.0 s. Reported here as one batch
(``DagsterEventBatchMetadata``, as a range step hands over its materializations), the shipped
instance's :class:`~cc_perf_dagster._dagster_compat.event_log.BatchingSqliteEventLogStorage`
writes them together: 0.1 s (measured once on the shared 2-core development machine,
2026-12-06). The events are the ones Dagster's call makes (type, data, job name and run id of
an event outside any run); only the batch differs, and observations are among the events
Dagster itself writes in batches (``BATCH_WRITABLE_EVENTS``).

Private Dagster names used: ``DagsterEvent``, ``AssetObservationData``,
``DagsterEventBatchMetadata`` and ``generate_event_batch_id`` (``dagster._core.events``),
``RUNLESS_JOB_NAME`` and ``RUNLESS_RUN_ID`` (``dagster._core.instance.utils``). On a Dagster
release not in :data:`~cc_perf_dagster._dagster_compat.versions.CHECKED_RELEASES`, each
observation goes through Dagster's own call.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetObservation, DagsterInstance

from cc_perf_dagster._dagster_compat.event_log import enable_event_batching
from cc_perf_dagster._dagster_compat.versions import fast_path


def report_observations(instance: DagsterInstance, observations: Sequence[AssetObservation]) -> None:
    """``instance.report_runless_asset_event(o)`` for each of ``observations``, written as one batch.

    Switches Dagster's event batching on for this process (unless set otherwise already, as a
    run does): the instance only buffers a batch where it is on.
    """
    if len(observations) < 2 or not fast_path("report_observations"):
        for observation in observations:
            instance.report_runless_asset_event(observation)
        return
    from dagster import DagsterEventType
    from dagster._core.events import (
        AssetObservationData,
        DagsterEvent,
        DagsterEventBatchMetadata,
        generate_event_batch_id,
    )
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID

    enable_event_batching()
    batch_id, last = generate_event_batch_id(), len(observations) - 1
    for index, observation in enumerate(observations):
        event = DagsterEvent(
            event_type_value=DagsterEventType.ASSET_OBSERVATION.value,
            event_specific_data=AssetObservationData(observation),
            job_name=RUNLESS_JOB_NAME,
        )
        instance.report_dagster_event(
            event, run_id=RUNLESS_RUN_ID, batch_metadata=DagsterEventBatchMetadata(batch_id, index == last)
        )
