"""A range step's check results per partition: what they point at, and one batch to store them.

Dagster 1.13.27's ``AssetCheckResult`` names no partition in a step covering several (see
:mod:`cc_perf_dagster.checks`), so the merge step builds one ``AssetCheckEvaluation`` per check
and partition. Two private Dagster names are used for it:

* ``AssetCheckEvaluationTargetMaterializationData``: the pointer from a result to the
  materialization it checked. Dagster fills it in itself only for a single-partition step, and
  the dagster package does not export it. The UI counts a partition's result as current only
  when it names the partition's latest materialization.
* ``DagsterEvent.from_step`` with ``DagsterEventBatchMetadata``: the results leave the step as
  one batch, as Dagster hands a range step's materializations over, instead of one event each.
  Each result stored alone costs three SQLite transactions: five checks over a 100-partition
  range step took 18.7 s one by one and 1.8 s as one batch, which
  :class:`~cc_perf_dagster._dagster_compat.event_log.BatchingSqliteEventLogStorage` writes in
  two transactions (measured once on the shared 2-core development machine, 2026-12-02).
  The events are the ones Dagster's own path makes (same type, data and message), apart from
  the batch; no check here is blocking, the one thing Dagster's path adds.

On a Dagster release not in :data:`~cc_perf_dagster._dagster_compat.versions.CHECKED_RELEASES`
the results are yielded to Dagster one by one (its own path); where the record moved or changed
shape, they go without the pointer. A run never fails over either.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from dagster import AssetCheckEvaluation, DagsterEventType

from cc_perf_dagster._dagster_compat.versions import fast_path

try:
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData as _Target,
    )
except ImportError:  # another Dagster release: results without the pointer
    _Target = None


def materialization_target(storage_id: int, run_id: str, timestamp: float) -> Any | None:
    """The ``target_materialization_data`` of an ``AssetCheckEvaluation`` (None where Dagster has no such record)."""
    if _Target is None:
        return None
    try:
        return _Target(storage_id=storage_id, run_id=run_id, timestamp=timestamp)
    except TypeError:  # the record changed shape: results without the pointer
        return None


def check_evaluation_events(context: Any, evaluations: Sequence[AssetCheckEvaluation]) -> Iterator[Any]:
    """What the step yields for ``evaluations``: Dagster's events for them, logged as one batch.

    Where the step context or the release is not the one checked, the evaluations themselves
    (Dagster then logs each as it comes).
    """
    step = getattr(context, "_step_execution_context", None) if fast_path("check_evaluation_events") else None
    if step is None or len(evaluations) < 2:
        yield from evaluations
        return
    from dagster._core.events import DagsterEvent, DagsterEventBatchMetadata, generate_event_batch_id

    batch_id, last = generate_event_batch_id(), len(evaluations) - 1
    for index, evaluation in enumerate(evaluations):
        yield DagsterEvent.from_step(
            event_type=DagsterEventType.ASSET_CHECK_EVALUATION,
            step_context=step,
            event_specific_data=evaluation,
            message=_message(evaluation),
            batch_metadata=DagsterEventBatchMetadata(batch_id, index == last),
        )


def _message(evaluation: AssetCheckEvaluation) -> str:
    """The message ``DagsterEvent.asset_check_evaluation`` writes (Dagster 1.13.27)."""
    return (
        f"Asset check '{evaluation.check_name}' on '{evaluation.asset_key.to_user_string()}' "
        + ("passed." if evaluation.passed else "did not pass.")
        + ("" if evaluation.description is None else f" Description: '{evaluation.description}'")
    )
