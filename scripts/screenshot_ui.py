"""Refresh the README screenshot of the Dagster UI (``make screenshot``).

Starts a throwaway ``dagster dev`` with its own Dagster home and storage, registers every test
invoice as a partition, materializes them all from the ``invoice`` asset's launch dialog in
Debian's Chromium (driven by Playwright; no browser download), and saves the asset's page with
its metadata plotted over the partitions. Uses the same driver as the browser test.

Usage: ``.venv/bin/python scripts/screenshot_ui.py [--out docs/img/invoice-asset.png]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the test helpers are not installed with the package

from cc_perf_dagster_tests.ui_driver import (  # noqa: E402
    DagsterDev,
    InvoiceAssetUI,
    Sandbox,
    artifacts_dir,
    chromium_page,
    find_chromium,
)

DEFAULT_OUT = REPO / "docs" / "img" / "invoice-asset.png"
VIEWPORT = (1440, 1300)  # tall enough for the header, the status and the first rows of plots


def say(message: str, *, error: bool = False) -> None:
    """One line of progress (stdout) or of trouble (stderr)."""
    (sys.stderr if error else sys.stdout).write(f"screenshot_ui: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Produce the screenshot; 0 on success, 2 when Chromium or playwright is missing, 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the PNG")
    parser.add_argument("--invoices", type=Path, default=REPO / "test_invoices", help="folder of PDFs to load")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the runs")
    args = parser.parse_args(argv)

    chromium = find_chromium()
    if chromium is None:
        say("Chromium not found (apt-get install chromium)", error=True)
        return 2
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        say("the playwright package is missing (pip install -e '.[dev]')", error=True)
        return 2

    pdfs = sorted(args.invoices.glob("*.pdf"))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cc-perf-screenshot-") as tmp:
        sandbox = Sandbox.create(tmp)
        keys = sandbox.register(pdfs)
        say(f"registered {len(keys)} invoices: {', '.join(keys)}")
        try:
            with (
                DagsterDev.start(sandbox) as server,
                chromium_page(chromium, width=VIEWPORT[0], height=VIEWPORT[1]) as page,
            ):
                try:
                    say(f"dagster dev on {server.base_url}")
                    ui = InvoiceAssetUI(page, server)
                    ui.open_partitions()
                    ui.launch_materialization(None)  # "All" in the launch dialog
                    stats = ui.wait_until_all_materialized(args.timeout)
                    say(f"{stats['numMaterialized']}/{stats['numPartitions']} partitions materialized")
                    ui.show_metadata_plots()
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(args.out))
                except Exception:
                    page.screenshot(path=str(artifacts_dir() / "screenshot-ui-failure.png"))
                    raise
        except Exception as exc:
            log = Path(tmp) / "dagster-dev.log"
            if log.exists():
                shutil.copy(log, artifacts_dir() / "screenshot-ui-dagster-dev.log")
            say(f"failed ({type(exc).__name__}: {exc}); screenshot and server log in {artifacts_dir()}", error=True)
            return 1
    say(f"wrote {args.out} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
