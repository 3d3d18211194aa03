"""Observations reported outside a run as one batch leave the instance as Dagster's own call leaves it."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance

from cc_perf_dagster import _dagster_compat
from cc_perf_dagster._dagster_compat import versions
from cc_perf_dagster._dagster_compat.runless_events import report_observations
from cc_perf_dagster.assets import FILE_KEY, file_observation
from cc_perf_dagster_tests.test_event_log import _count_batches, _instance, _postgres_instance

KEYS = [f"CS9{i:08d}" for i in range(5)]


def _shipped(home) -> DagsterInstance:
    return _instance(home, batching=True)


def _observations(version: str = "") -> list:
    return [file_observation(key, f"{index:02d}{version}".ljust(64, "0")) for index, key in enumerate(KEYS)]


def _seen(instance: DagsterInstance) -> dict:
    """What the UI and the data-version logic read back: the events in order, the latest per partition."""
    records = instance.fetch_observations(FILE_KEY, limit=100, ascending=True).records
    events = [
        (
            r.event_log_entry.run_id,
            r.event_log_entry.job_name,
            r.event_log_entry.level,
            r.event_log_entry.user_message,
            str(r.event_log_entry.dagster_event_type),
            r.partition_key,
            sorted(r.asset_observation.tags.items()),
            sorted(r.asset_observation.metadata),
        )
        for r in records
    ]
    latest = {
        key: instance.get_latest_data_version_record(FILE_KEY, partition_key=key).asset_observation.tags for key in KEYS
    }
    entry = instance.get_asset_records([FILE_KEY])[0].asset_entry
    observed = entry.last_observation_record
    return {"events": events, "latest": latest, "last_observed": observed and observed.partition_key}


def test_one_batch_leaves_what_one_call_per_observation_leaves(tmp_path, monkeypatch):
    monkeypatch.delenv(_dagster_compat.EVENT_BATCH_ENV, raising=False)  # switched on by the call itself
    batches = _count_batches(monkeypatch)
    with _shipped(tmp_path / "dagster") as plain, _shipped(tmp_path / "batched") as batched:
        for version in ("a", "b"):  # a second round: the latest of each partition moves on
            for observation in _observations(version):
                plain.report_runless_asset_event(observation)
        assert batches == []  # Dagster's call: one event at a time
        for version in ("a", "b"):
            report_observations(batched, _observations(version))
        assert batches == [len(KEYS), len(KEYS)]
        assert _seen(batched) == _seen(plain)
        assert _seen(batched)["latest"][KEYS[-1]]["dagster/data_version"].startswith("04b")


def test_on_an_unchecked_dagster_release_each_observation_goes_through_dagsters_call(tmp_path, monkeypatch):
    monkeypatch.setenv(_dagster_compat.EVENT_BATCH_ENV, str(_dagster_compat.DEFAULT_EVENT_BATCH_SIZE))
    monkeypatch.setattr(versions, "CHECKED", False)
    monkeypatch.setattr(versions, "_told", set())
    batches = _count_batches(monkeypatch)
    calls = []
    with _shipped(tmp_path / "dagster") as plain, _shipped(tmp_path / "fallback") as fallback:
        original = fallback.report_runless_asset_event
        monkeypatch.setattr(fallback, "report_runless_asset_event", lambda o: (calls.append(o), original(o)))
        for observation in _observations():
            plain.report_runless_asset_event(observation)
        report_observations(fallback, _observations())
        assert (len(calls), batches) == (len(KEYS), [])
        assert _seen(fallback) == _seen(plain)


@pytest.mark.parametrize("count", [0, 1])
def test_none_or_one_observation_needs_no_batch(tmp_path, monkeypatch, count):
    batches = _count_batches(monkeypatch)
    with _shipped(tmp_path / "home") as instance:
        report_observations(instance, _observations()[:count])
        assert batches == []
        assert len(instance.fetch_observations(FILE_KEY, limit=10).records) == count


def test_on_the_cluster_one_batch_leaves_what_dagster_postgres_leaves(tmp_path, postgres_databases, monkeypatch):
    from dagster_postgres.event_log import PostgresEventLogStorage

    monkeypatch.delenv(_dagster_compat.EVENT_BATCH_ENV, raising=False)
    batches = _count_batches(monkeypatch, PostgresEventLogStorage, "store_event_batch")
    plain = _postgres_instance(tmp_path / "dagster", postgres_databases(), batching=False)
    batched = _postgres_instance(tmp_path / "batched", postgres_databases(), batching=True)
    try:
        for observation in _observations():
            plain.report_runless_asset_event(observation)
        report_observations(batched, _observations())
        assert batches == [len(KEYS)]
        assert _seen(batched) == _seen(plain)
    finally:
        plain.dispose()
        batched.dispose()
