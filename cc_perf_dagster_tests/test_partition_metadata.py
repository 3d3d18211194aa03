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

from cc_perf_dagster._dagster_compat import add_metadata_per_partition
from cc_perf_dagster.assets import partition_tags

PARTITIONS = DynamicPartitionsDefinition(name="letters")
KEYS = [f"k{i:02d}" for i in range(12)]
STRAY = {"value": None}


@asset(partitions_def=PARTITIONS, backfill_policy=BackfillPolicy.single_run())
def lettered(context: AssetExecutionContext) -> None:
    metadata = {key: {"position": KEYS.index(key), "label": f"partition {key}"} for key in context.partition_keys}
    if STRAY["value"]:
        metadata[STRAY["value"]] = {"position": -1}
    add_metadata_per_partition(context, metadata)


@asset(partitions_def=PARTITIONS, backfill_policy=BackfillPolicy.single_run())
def lettered_by_dagster(context: AssetExecutionContext) -> None:
    for key in context.partition_keys:
        context.add_asset_metadata({"position": KEYS.index(key), "label": f"partition {key}"}, partition_key=key)


def _range_run(instance: DagsterInstance, start: str, end: str, asset_def=lettered):
    defs = Definitions(assets=[asset_def], jobs=[define_asset_job("letters_job", [asset_def])])
    job = defs.resolve_job_def("letters_job")
    return job.execute_in_process(instance=instance, tags=partition_tags([start, end]), raise_on_error=False)


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("letters", KEYS)
        yield instance


def _metadata_by_partition(instance: DagsterInstance, asset_name: str = "lettered") -> dict[str, dict]:
    found = {}
    for key in KEYS:
        wanted = AssetRecordsFilter(asset_key=AssetKey(asset_name), asset_partitions=[key])
        for record in instance.fetch_materializations(wanted, limit=1).records:
            found[key] = {k: v.value for k, v in record.asset_materialization.metadata.items()}
    return found


def test_every_partition_of_a_range_gets_its_own_metadata(instance):
    assert _range_run(instance, "k02", "k09").success
    found = _metadata_by_partition(instance)
    assert sorted(found) == KEYS[2:10]
    for key, values in found.items():
        assert values == {"position": KEYS.index(key), "label": f"partition {key}"}


def test_the_same_metadata_as_dagsters_own_call(instance):
    # The override is an optimisation of context.add_asset_metadata(values, partition_key=key):
    # what a range run records must be exactly what Dagster's call records.
    assert _range_run(instance, "k00", "k11").success
    assert _range_run(instance, "k00", "k11", asset_def=lettered_by_dagster).success
    ours, dagsters = _metadata_by_partition(instance), _metadata_by_partition(instance, "lettered_by_dagster")
    assert sorted(ours) == KEYS and ours == dagsters


def test_a_single_partition_run_gets_its_metadata(instance):
    defs = Definitions(assets=[lettered], jobs=[define_asset_job("letters_job", [lettered])])
    assert defs.resolve_job_def("letters_job").execute_in_process(instance=instance, partition_key="k05").success
    assert _metadata_by_partition(instance) == {"k05": {"position": 5, "label": "partition k05"}}


@pytest.mark.parametrize("stray", ["k11", "not-a-partition"])  # the last key: refused by the override's own check
def test_a_key_outside_the_step_is_refused(instance, monkeypatch, stray):
    monkeypatch.setitem(STRAY, "value", stray)
    result = _range_run(instance, "k00", "k03")
    assert not result.success
    error = result.failure_data_for_node("lettered").error
    assert f"'{stray}' that is not being targeted" in error.message
    assert DagsterInvariantViolationError.__name__ in error.cls_name
    assert _metadata_by_partition(instance) == {}
