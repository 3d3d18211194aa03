"""The Dagster UI in a real browser: materialize from the ``invoice`` asset's page.

A throwaway ``dagster dev`` (own Dagster home, storage root and incoming folder) serves the
ready-made definitions; Debian's Chromium, driven by Playwright, opens the ``invoice`` asset and
launches from its launch dialog: one partition (watched until it succeeds, then the figures the
materialization recorded are read off the page), or every partition (a backfill, which the
daemon runs in range runs as the asset's ``BackfillPolicy`` says). After a range run, each
partition's page shows its row count and its own check results, and each check's *Partitions*
tab shows that partition's result. Skipped only when Chromium
or the playwright package is missing. Screenshots (and on failure the server log) go to
``$CC_PERF_TEST_ARTIFACTS`` or ``test-artifacts/``.
"""

from __future__ import annotations

import json
import shutil
import time
from contextlib import contextmanager

import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, RunsFilter
from dagster._core.storage.tags import BACKFILL_ID_TAG

from cc_perf_dagster.assets import RANGE_END_TAG, RANGE_START_TAG
from cc_perf_dagster.checks import CHECKS
from cc_perf_dagster.definitions import PROCESS_JOB, build_definitions
from cc_perf_dagster_tests.conftest import TEST_INVOICES
from cc_perf_dagster_tests.ui_driver import (
    DagsterDev,
    InvoiceAssetUI,
    Sandbox,
    artifacts_dir,
    chromium_page,
    find_chromium,
)

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")
CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]

INVOICE = TEST_INVOICES / "CS003837319.pdf"
BACKFILLED = ("CI004731586.pdf", "CI004848705.pdf", "CS003702114.pdf")
RANGED = ("CI004731586.pdf", "CS003702114.pdf")  # a totals block printed, and none
RUN_TIMEOUT_S = 240


def test_materialize_one_partition_from_the_ui_and_read_its_figures(tmp_path):
    sandbox = Sandbox.create(tmp_path)
    (key,) = sandbox.register([INVOICE])
    with _server_and_browser(tmp_path, sandbox, "browser-invoice-partition") as (server, page, artifacts):
        ui = InvoiceAssetUI(page, server)
        ui.open_partitions()
        ui.select_partition(key)
        short_id = ui.launch_materialization([key])
        run_id = ui.wait_for_partition_run(key, short_id, RUN_TIMEOUT_S)
        assert short_id is None or run_id.startswith(short_id)

        pane = ui.partition_pane(key)
        processing_time_s = float(ui.metadata_value("processing_time_s", within=pane))
        cache_hit_rate = float(ui.metadata_value("cache_hit_rate", within=pane))
        pages = int(ui.metadata_value("pages", within=pane))
        page.screenshot(path=str(artifacts / "browser-invoice-partition.png"), full_page=True)
    assert 0 < processing_time_s < RUN_TIMEOUT_S
    assert 0 <= cache_hit_rate <= 1
    assert pages == 15  # CS003837319 has 15 pages


def test_a_backfill_of_every_partition_launched_from_the_ui_runs_as_one_range_run(tmp_path):
    sandbox = Sandbox.create(tmp_path)
    keys = sandbox.register([TEST_INVOICES / name for name in BACKFILLED])
    with _server_and_browser(tmp_path, sandbox, "browser-backfill") as (server, page, artifacts):
        ui = InvoiceAssetUI(page, server)
        ui.open_partitions()
        assert ui.launch_materialization(None) is None  # "All": a backfill, not a run
        stats = ui.wait_until_all_materialized(RUN_TIMEOUT_S)
        page.screenshot(path=str(artifacts / "browser-backfill.png"), full_page=True)
    assert stats["numMaterialized"] == stats["numPartitions"] == len(keys)

    with DagsterInstance.from_config(str(sandbox.home)) as instance:
        (backfill,) = instance.get_backfills()
        targeted = backfill.asset_backfill_data.target_subset.iterate_asset_partitions()
        assert sorted((t.asset_key.to_user_string(), t.partition_key) for t in targeted) == [
            ("invoice", key) for key in sorted(keys)
        ]
        runs = instance.get_runs(RunsFilter(tags={BACKFILL_ID_TAG: backfill.backfill_id}))
        # Three partitions, at most 100 per run (BackfillPolicy.multi_run): one run covering them all.
        assert len(runs) == 1, [r.tags for r in runs]
        (run,) = runs
        assert run.is_success
        assert (run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]) == (keys[0], keys[-1])
        for key, name in zip(keys, BACKFILLED, strict=True):
            expected = json.loads((TEST_INVOICES / name).with_suffix(".expected.json").read_text())
            wanted = AssetRecordsFilter(asset_key=AssetKey("invoice"), asset_partitions=[key])
            (record,) = instance.fetch_materializations(wanted, limit=1).records
            metadata = record.asset_materialization.metadata
            assert record.run_id == run.run_id
            assert metadata["invoice_number"].value == expected["invoice_number"]
            assert metadata["line_items"].value == len(expected["line_items"])
            assert metadata["pages"].value > 0


def test_a_partition_of_a_range_run_shows_its_own_check_results_and_row_count(tmp_path):
    """One range run over two invoices (one prints a totals block, one does not), then each partition's pages.

    The run goes in this process on the sandbox's home before the server starts (the UI's
    launch is tested above). Also read: the freshness policies, as the UI's API reports them.
    """
    sandbox = Sandbox.create(tmp_path)
    keys = sandbox.register([TEST_INVOICES / name for name in RANGED])
    with DagsterInstance.from_config(str(sandbox.home)) as instance:
        job = build_definitions(storage_root=str(sandbox.storage)).resolve_job_def(PROCESS_JOB)
        ran = job.execute_in_process(instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
    assert ran.success
    truth = {key: json.loads((TEST_INVOICES / f"{key}.expected.json").read_text()) for key in keys}
    with _server_and_browser(tmp_path, sandbox, "browser-partition-checks") as (server, page, artifacts):
        ui = InvoiceAssetUI(page, server)
        shown = {}
        for key in keys:
            pane = ui.open_partition(key)  # the asset's partition page: its materialization
            rows = int(ui.metadata_value("dagster/partition_row_count", within=pane))
            checks = {row[0]: row[1:] for row in ui.table_rows("checks", within=pane)}
            page.screenshot(path=str(artifacts / f"browser-partition-{key}.png"), full_page=True)
            detail = ui.check_partition_detail("totals_reconcile", key)  # the check's page, this partition
            page.screenshot(path=str(artifacts / f"browser-check-partition-{key}.png"), full_page=True)
            shown[key] = (rows, checks, detail)
        freshness = {asset: _freshness(server, asset) for asset in ("purchasing_sheet", "performance_overview")}
    for key, (rows, checks, detail) in shown.items():
        assert rows == len(truth[key]["line_items"])
        assert list(checks) == list(CHECKS) and all(passed == "true" for passed, *_ in checks.values())
        assert detail.startswith(key) and "Passed" in detail and ran.run_id[:8] in detail
    # each partition's own result: CS003702114 prints no totals block, CI004731586 does
    assert shown["CI004731586"][1]["totals_reconcile"][2] == "True"
    assert shown["CS003702114"][1]["totals_reconcile"][2] == "none"
    assert "totals_printed\ntrue" in shown["CI004731586"][2]
    assert "no totals block printed" in shown["CS003702114"][2] and "totals_printed\nfalse" in shown["CS003702114"][2]
    # within the hour of the last materialization (Dagster 1.13 measures that, not new invoices)
    hourly = {"__typename": "TimeWindowFreshnessPolicy", "failWindowSeconds": 3600}
    assert freshness == {"purchasing_sheet": hourly, "performance_overview": hourly}


def _freshness(server: DagsterDev, asset: str) -> dict:
    query = """query ($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { ... on AssetNode {
        internalFreshnessPolicy { __typename ... on TimeWindowFreshnessPolicy { failWindowSeconds } } } } }"""
    return server.graphql(query, {"key": {"path": [asset]}})["assetNodeOrError"]["internalFreshnessPolicy"]


@contextmanager
def _server_and_browser(tmp_path, sandbox: Sandbox, name: str):
    """``dagster dev`` on the sandbox and a page; a screenshot and the server log kept on failure."""
    artifacts = artifacts_dir()
    started = time.monotonic()
    try:
        with DagsterDev.start(sandbox) as server, chromium_page(CHROMIUM) as page:
            try:
                yield server, page, artifacts
            except BaseException:
                page.screenshot(path=str(artifacts / f"{name}-failure.png"), full_page=True)
                raise
    except BaseException:
        log = tmp_path / "dagster-dev.log"
        if log.exists():
            shutil.copy(log, artifacts / f"{name}-failure-dagster-dev.log")
        raise
    finally:
        print(f"{name}: {time.monotonic() - started:.1f} s, artifacts in {artifacts}")  # noqa: T201
