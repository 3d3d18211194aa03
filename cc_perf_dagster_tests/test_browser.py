"""The Dagster UI in a real browser: materialize one invoice partition from the asset page.

A throwaway ``dagster dev`` (own Dagster home, storage root and incoming folder) serves the
ready-made definitions; Debian's Chromium, driven by Playwright, opens the ``invoice`` asset,
launches one partition from the launch dialog, watches it succeed and reads the figures the
materialization recorded. Skipped only when Chromium or the playwright package is missing.
Screenshots (and on failure the server log) go to ``$CC_PERF_TEST_ARTIFACTS`` or ``test-artifacts/``.
"""

from __future__ import annotations

import shutil
import time

import pytest

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
RUN_TIMEOUT_S = 240


def test_materialize_one_partition_from_the_ui_and_read_its_figures(tmp_path):
    sandbox = Sandbox.create(tmp_path)
    (key,) = sandbox.register([INVOICE])
    artifacts = artifacts_dir()
    started = time.monotonic()
    try:
        with DagsterDev.start(sandbox) as server, chromium_page(CHROMIUM) as page:
            try:
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
            except BaseException:
                page.screenshot(path=str(artifacts / "browser-failure.png"), full_page=True)
                raise
        assert 0 < processing_time_s < RUN_TIMEOUT_S
        assert 0 <= cache_hit_rate <= 1
        assert pages == 15  # CS003837319 has 15 pages
    except BaseException:
        log = tmp_path / "dagster-dev.log"
        if log.exists():
            shutil.copy(log, artifacts / "browser-failure-dagster-dev.log")
        raise
    finally:
        print(f"browser test: {time.monotonic() - started:.1f} s, artifacts in {artifacts}")  # noqa: T201
