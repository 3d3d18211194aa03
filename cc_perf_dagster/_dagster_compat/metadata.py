"""Per-partition metadata of a range step, with the step's partitions resolved once.

Dagster internals used: the step context's ``_step_execution_context`` and its
``_metadata_accumulator``. On a Dagster release not in
:data:`~cc_perf_dagster._dagster_compat.versions.CHECKED_RELEASES`, every key goes through
Dagster's public ``add_asset_metadata``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, DagsterInvariantViolationError

from cc_perf_dagster._dagster_compat.versions import fast_path


def add_metadata_per_partition(
    context: Any, metadata: Mapping[str, Mapping[str, Any]], asset_key: AssetKey | None = None
) -> None:
    """``context.add_asset_metadata(values, asset_key=asset_key, partition_key=key)`` for every key of ``metadata``.

    ``asset_key`` names the asset where the step materializes several (default: the step's one asset).

    Dagster's call checks that the key is one the step targets by resolving the step's whole
    partition range each time: every dynamic partition read from storage and both ends looked
    up, three queries per call (about a quarter of the merge and booking steps of a 200-invoice
    run). Here the first key goes through Dagster's call, with all its checks; the others are
    checked against the step's partitions, resolved once, and added to the step's metadata
    the way Dagster's call adds them. Where the step keeps no metadata accumulator (a
    different Dagster, or a direct invocation) every key goes through Dagster's call.
    """
    items = list(metadata.items())
    if not items:
        return
    (first_key, first), rest = items[0], items[1:]
    context.add_asset_metadata(first, asset_key=asset_key, partition_key=first_key)
    step = getattr(context, "_step_execution_context", None) if fast_path("add_metadata_per_partition") else None
    accumulator = getattr(step, "_metadata_accumulator", None)
    if not rest or not hasattr(accumulator, "with_additional_asset_metadata"):
        for key, values in rest:
            context.add_asset_metadata(values, asset_key=asset_key, partition_key=key)
        return
    targeted = set(context.partition_keys)
    for key, _ in rest:
        if key not in targeted:
            raise DagsterInvariantViolationError(
                f"Attempted to add metadata for partition key '{key}' that is not being targeted."
            )
    asset_key = asset_key or step.assets_def.key
    for key, values in rest:
        accumulator = accumulator.with_additional_asset_metadata(
            asset_key=asset_key, partition_key=key, metadata=values
        )
    step._metadata_accumulator = accumulator
