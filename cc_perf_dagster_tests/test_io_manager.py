"""The JSON/CSV IO manager through real runs: round trips, one file per partition, JSON not pickle,
atomic writes, and what it refuses."""

from __future__ import annotations

import json

import pytest
from dagster import (
    AssetIn,
    BackfillPolicy,
    DagsterInstance,
    Definitions,
    DynamicPartitionsDefinition,
    asset,
    define_asset_job,
    job,
    materialize,
    op,
)

from cc_perf_dagster.assets import partition_tags
from cc_perf_dagster.io_manager import JsonFileIOManager

LETTERS = DynamicPartitionsDefinition(name="letters")
KEYS = ["a", "b", "c", "d"]
SINGLE_RUN = BackfillPolicy.single_run()
CSV_TEXT = 'Invoice#,Description\nCS1,"6""H Ornament, Gold"\n'
RECORD = {"number": "CS1", "amount": "38.40", "items": [1, 2.5, None, True], "text": '6"H Ornament, Gold ü'}


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("letters", KEYS)
        yield instance


def io_manager(tmp_path):
    return {"io_manager": JsonFileIOManager(root=str(tmp_path))}


# --- unpartitioned -------------------------------------------------------------------------------


@asset
def record() -> dict:
    return RECORD


@asset
def sheet() -> str:
    return CSV_TEXT


@asset
def both_back(record: dict, sheet: str) -> dict:
    return {"record": record, "sheet": sheet}


class TestUnpartitioned:
    def test_json_and_csv_round_trip_into_a_downstream_asset(self, tmp_path):
        result = materialize([record, sheet, both_back], resources=io_manager(tmp_path))
        assert result.success
        assert result.output_for_node("both_back") == {"record": RECORD, "sheet": CSV_TEXT}
        assert json.loads((tmp_path / "assets" / "record.json").read_text(encoding="utf-8")) == RECORD
        assert (tmp_path / "assets" / "sheet.csv").read_bytes() == CSV_TEXT.encode()  # as text, newlines kept

    def test_the_stored_file_is_json_not_pickle(self, tmp_path):
        assert materialize([record], resources=io_manager(tmp_path)).success
        data = (tmp_path / "assets" / "record.json").read_bytes()
        assert not data.startswith(b"\x80")  # a pickle's protocol byte
        assert json.loads(data) == RECORD

    def test_a_value_json_cannot_hold_fails_instead_of_being_pickled(self, tmp_path):
        @asset
        def unjsonable() -> dict:
            return {"amounts": {1, 2}}

        result = materialize([unjsonable], resources=io_manager(tmp_path), raise_on_error=False)
        assert not result.success
        assert not (tmp_path / "assets").exists() or not list((tmp_path / "assets").rglob("*"))

    def test_rewriting_leaves_no_temporary_files(self, tmp_path):
        for _ in range(2):
            assert materialize([record, sheet], resources=io_manager(tmp_path)).success
        assert sorted(p.name for p in (tmp_path / "assets").iterdir()) == ["record.json", "sheet.csv"]

    def test_path_metadata_names_the_file(self, tmp_path):
        result = materialize([record], resources=io_manager(tmp_path))
        (event,) = result.get_asset_materialization_events()
        path = event.event_specific_data.materialization.metadata["path"].value
        assert path == str(tmp_path / "assets" / "record.json")


# --- partitioned -------------------------------------------------------------------------------


@asset(partitions_def=LETTERS, backfill_policy=SINGLE_RUN)
def per_letter(context) -> dict:
    return {key: {"letter": key, "upper": key.upper()} for key in context.partition_keys}


@asset(partitions_def=LETTERS, backfill_policy=SINGLE_RUN, ins={"per_letter": AssetIn()})
def per_letter_csv(context, per_letter: dict) -> dict:
    return {key: f"letter\n{value['upper']}\n" for key, value in per_letter.items()}


@asset(ins={"per_letter": AssetIn()})
def all_letters(per_letter: dict) -> dict:
    return per_letter


def run(instance, tmp_path, assets, keys, *, selection=None):
    defs = Definitions(
        assets=assets, jobs=[define_asset_job("job", selection or assets)], resources=io_manager(tmp_path)
    )
    return defs.resolve_job_def("job").execute_in_process(
        instance=instance, tags=partition_tags(keys), raise_on_error=False
    )


def failure(result) -> str:
    """The step failure's message with its causes (the IO manager's own error is a cause)."""
    error, messages = result.get_step_failure_events()[0].step_failure_data.error, []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


class TestPartitioned:
    def test_a_range_run_writes_one_file_per_partition_and_loads_them_downstream(self, instance, tmp_path):
        result = run(instance, tmp_path, [per_letter, per_letter_csv], ["a", "c"])
        assert result.success
        folder = tmp_path / "assets"
        assert sorted(p.name for p in (folder / "per_letter").iterdir()) == ["a.json", "b.json", "c.json"]
        assert json.loads((folder / "per_letter" / "b.json").read_text()) == {"letter": "b", "upper": "B"}
        assert [(folder / "per_letter_csv" / f"{k}.csv").read_text() for k in "abc"] == [
            "letter\nA\n", "letter\nB\n", "letter\nC\n",
        ]  # fmt: skip

    def test_an_unpartitioned_reader_gets_every_stored_partition_and_missing_ones_are_left_out(
        self, instance, tmp_path
    ):
        assert run(instance, tmp_path, [per_letter], ["a", "b"]).success
        assert run(instance, tmp_path, [per_letter], ["d"]).success  # c never materialized
        result = run(instance, tmp_path, [per_letter, all_letters], ["a"], selection=[all_letters])
        assert result.success
        assert result.output_for_node("all_letters") == {
            key: {"letter": key, "upper": key.upper()} for key in ("a", "b", "d")
        }

    def test_a_partitioned_output_must_be_a_dict_by_partition(self, instance, tmp_path):
        @asset(partitions_def=LETTERS, backfill_policy=SINGLE_RUN, name="per_letter")
        def flat(context) -> list:
            return [1, 2]

        result = run(instance, tmp_path, [flat], ["a", "b"])
        assert not result.success
        assert "must be {partition: value}" in failure(result)

    def test_values_for_partitions_outside_the_run_are_refused_and_nothing_is_written(self, instance, tmp_path):
        @asset(partitions_def=LETTERS, backfill_policy=SINGLE_RUN, name="per_letter")
        def overreaching(context) -> dict:
            return {"a": 1, "d": 4}

        result = run(instance, tmp_path, [overreaching], ["a", "b"])
        assert not result.success
        assert "partitions not in this run: {'d'}" in failure(result)
        assert not (tmp_path / "assets" / "per_letter").exists()


# --- op outputs inside a job ---------------------------------------------------------------------


@op
def plan() -> dict:
    return {"pages": [1, 2, 3]}


@op
def count(plan: dict) -> int:
    return len(plan["pages"])


@job(resource_defs={"io_manager": JsonFileIOManager.configure_at_launch()})
def steps_job():
    count(plan())


def test_op_outputs_are_json_files_per_run_and_step(tmp_path, instance):
    config = {"resources": {"io_manager": {"config": {"root": str(tmp_path)}}}}
    result = steps_job.execute_in_process(instance=instance, run_config=config)
    assert result.success and result.output_for_node("count") == 3
    (plan_file,) = (tmp_path / "steps" / result.run_id / "plan").glob("*.json")
    assert json.loads(plan_file.read_text()) == {"pages": [1, 2, 3]}
    assert json.loads((tmp_path / "steps" / result.run_id / "count" / "result.json").read_text()) == 3
