"""The nightly refresh requests exactly the missing and stale invoice partitions."""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    DagsterInstance,
    Definitions,
    evaluate_automation_conditions,
)

from cc_perf_dagster.assets import DATA_VERSION_TAG
from cc_perf_dagster.core.extract import PARSER_VERSION
from cc_perf_dagster.definitions import build_definitions

INVOICE, BOOKING = AssetKey("invoice"), AssetKey("booking_rows")
NIGHT = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.timezone.utc)


def observe(instance, key, version):
    instance.report_runless_asset_event(
        AssetObservation(asset_key="invoice_file", partition=key, tags={DATA_VERSION_TAG: version})
    )


def materialized(instance, key, code_version=PARSER_VERSION):
    for asset in ("invoice", "booking_rows"):
        instance.report_runless_asset_event(
            AssetMaterialization(asset_key=asset, partition=key, tags={"dagster/code_version": code_version})
        )


def test_nightly_backfill_requests_missing_then_only_changed_files(tmp_path):
    defs = build_definitions(storage_root=str(tmp_path), nightly_cron="0 2 * * *", timezone="UTC")
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("invoices", ["a", "b", "c"])
    for key in "abc":
        observe(instance, key, f"sha-{key}-1")
    materialized(instance, "a")

    before = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=NIGHT)
    assert not before.get_requested_partitions(INVOICE)  # no cron tick yet
    night = evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=NIGHT + dt.timedelta(hours=1, minutes=1), cursor=before.cursor
    )
    assert sorted(night.get_requested_partitions(INVOICE)) == ["b", "c"]  # missing
    assert sorted(night.get_requested_partitions(BOOKING)) == ["b", "c"]  # in the same backfill

    materialized(instance, "b")
    materialized(instance, "c")
    observe(instance, "a", "sha-a-2")  # a's file changed
    observe(instance, "b", "sha-b-1")  # b's file seen again, unchanged
    day = evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=NIGHT + dt.timedelta(hours=9), cursor=night.cursor
    )
    assert not day.get_requested_partitions(INVOICE) and not day.get_requested_partitions(BOOKING)
    next_night = evaluate_automation_conditions(
        defs=defs,
        instance=instance,
        evaluation_time=NIGHT + dt.timedelta(days=1, hours=1, minutes=1),
        cursor=day.cursor,
    )
    assert sorted(next_night.get_requested_partitions(INVOICE)) == ["a"]
    assert sorted(next_night.get_requested_partitions(BOOKING)) == ["a"]


def test_a_parser_version_bump_makes_every_partition_stale(tmp_path):
    defs = build_definitions(storage_root=str(tmp_path))
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("invoices", ["a", "b"])
    for key in "ab":
        observe(instance, key, f"sha-{key}")
        materialized(instance, key)
    first = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=NIGHT)
    assert not first.get_requested_partitions(INVOICE)
    bumped = Definitions(
        assets=[
            a.map_asset_specs(lambda spec: spec.replace_attributes(code_version=PARSER_VERSION + "-next"))
            if INVOICE in getattr(a, "keys", ())
            else a
            for a in defs.assets
        ],
        resources=defs.resources,
    )
    night = evaluate_automation_conditions(
        defs=bumped, instance=instance, evaluation_time=NIGHT + dt.timedelta(hours=1, minutes=1), cursor=first.cursor
    )
    assert sorted(night.get_requested_partitions(INVOICE)) == ["a", "b"]
