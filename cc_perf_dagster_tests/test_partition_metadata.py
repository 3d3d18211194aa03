"""``add_metadata_per_partition``: each partition of a range step gets its own metadata, as with Dagster's call."""

import pytest
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    BackfillPolicy,
    DagsterInstance,
    DagsterInvariantViolationError,
    Definitions,
    DynamicPartitionsDefinition,
    asset,
    define_asset_job,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from cc_perf_dagster._dagster_compat import add_metadata_per_partition

PARTITIONS = DynamicPartitionsDefinition(name="letters")
KEYS = [f"k{i:02d}" for i in range(12)]
STRAY = {"value": None}


@asset(partitions_def=PARTITIONS, backfill_policy=BackfillPolicy.single_run())
def lettered(context: AssetExecutionContext) -> None:
    metadata = {key: {"position": KEYS.index(key), "label": f"partition {key}"} for key in context.partition_keys}
    if STRAY["value"]:
        metadata[STRAY["value"]] = {"position": -1}
    add_metadata_per_partition(context, metadata)


def _range_run(instance: DagsterInstance, start: str, end: str):
    defs = Definitions(assets=[lettered], jobs=[define_asset_job("letters_job", [lettered])])
    job = defs.resolve_job_def("letters_job")
    tags = {ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}
    return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("letters", KEYS)
        yield instance


def _metadata_by_partition(instance: DagsterInstance) -> dict[str, dict]:
    found = {}
    for key in KEYS:
        wanted = AssetRecordsFilter(asset_key=AssetKey("lettered"), asset_partitions=[key])
        for record in instance.fetch_materializations(wanted, limit=1).records:
            found[key] = {k: v.value for k, v in record.asset_materialization.metadata.items()}
    return found


def test_every_partition_of_a_range_gets_its_own_metadata(instance):
    assert _range_run(instance, "k02", "k09").success
    found = _metadata_by_partition(instance)
    assert sorted(found) == KEYS[2:10]
    for key, values in found.items():
        assert values == {"position": KEYS.index(key), "label": f"partition {key}"}


def test_partitions_are_resolved_once_not_per_key(instance, monkeypatch):
    calls = []
    original = DagsterInstance.get_dynamic_partitions

    def counting(self, partitions_def_name):
        calls.append(partitions_def_name)
        return original(self, partitions_def_name)

    monkeypatch.setattr(DagsterInstance, "get_dynamic_partitions", counting)
    assert _range_run(instance, "k00", "k11").success
    # Dagster's own call resolves the range for every key: 12 lookups for 12 partitions here.
    assert len(calls) < len(KEYS)
    assert sorted(_metadata_by_partition(instance)) == KEYS


@pytest.mark.parametrize("stray", ["k11", "not-a-partition"])
def test_a_key_outside_the_step_is_refused(instance, monkeypatch, stray):
    monkeypatch.setitem(STRAY, "value", stray)
    result = _range_run(instance, "k00", "k03")
    assert not result.success
    error = result.failure_data_for_node("lettered").error
    assert f"'{stray}' that is not being targeted" in error.message
    assert DagsterInvariantViolationError.__name__ in error.cls_name
    assert _metadata_by_partition(instance) == {}
