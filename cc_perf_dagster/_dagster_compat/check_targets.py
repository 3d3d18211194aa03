"""The pointer from a partition's check result to the materialization it checked.

Dagster 1.13.27's ``AssetCheckResult`` fills this pointer in itself, but only for a step with a
single partition; the merge step of a range run builds one ``AssetCheckEvaluation`` per
partition instead (:func:`cc_perf_dagster.checks.check_events`), and the record type that
carries the pointer (``AssetCheckEvaluationTargetMaterializationData``) is not exported by the
dagster package. The UI counts a partition's check result as current only when this pointer
names the partition's latest materialization. Should the name move in another release, the
results are still stored, without the pointer (the UI then shows them as not current), and the
first such use logs why; a run never fails over it.
"""

from __future__ import annotations

import logging
from typing import Any

try:
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData as _Target,
    )
except ImportError:  # another Dagster release: results without the pointer
    _Target = None

log = logging.getLogger(__name__)


def materialization_target(storage_id: int, run_id: str, timestamp: float) -> Any | None:
    """The ``target_materialization_data`` of an ``AssetCheckEvaluation`` (None where Dagster has no such record)."""
    if _Target is None:
        log.warning("check results are stored without their materialization: this Dagster has no target record")
        return None
    return _Target(storage_id=storage_id, run_id=run_id, timestamp=timestamp)
