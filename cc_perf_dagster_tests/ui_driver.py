"""Drive the real Dagster UI: a throwaway ``dagster dev`` and Debian's Chromium through Playwright.

Shared by ``test_browser.py`` and ``scripts/screenshot_ui.py``. Nothing here downloads a
browser: Chromium comes from the system (``apt-get install chromium``), Playwright only
drives it. The server gets its own Dagster home, storage root and incoming folder (all passed
to the subprocess; this process's environment is left alone) and is always stopped as a whole
process group (webserver, daemon, code server, run workers).

Example:
    >>> with DagsterDev.start(Sandbox.create(tmp)) as server:  # doctest: +SKIP
    ...     with chromium_page(find_chromium()) as page:
    ...         ui = InvoiceAssetUI(page, server)
    ...         ui.open_partitions()
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parent.parent
DAGSTER = Path(sys.executable).parent / "dagster"
CHROMIUM_ENV = "CC_PERF_CHROMIUM"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")
ASSET = "invoice"
PARTITION_TAG = "dagster/partition"
TERMINAL_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}


class UIError(AssertionError):
    """The server or the page did not do what the driver expected (a test failure, with details)."""


# -- the browser --------------------------------------------------------------------------------


def find_chromium() -> Path | None:
    """The system Chromium: ``$CC_PERF_CHROMIUM``, else Debian's ``/usr/bin/chromium``; None if absent."""
    override = os.environ.get(CHROMIUM_ENV)
    candidates = [override] if override else [*CHROMIUM_CANDIDATES, shutil.which("chromium")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def chromium_version(executable: Path) -> str:
    """``Chromium 156.0.8078.79 built on Debian ...`` (the first line of ``--version``)."""
    done = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unknown"


@contextlib.contextmanager
def chromium_page(executable: Path, *, width: int = 1440, height: int = 900) -> Iterator[Any]:
    """A Playwright page in headless system Chromium; the browser is closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), headless=True, args=list(CHROMIUM_ARGS))
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


# -- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Sandbox:
    """The folders one throwaway server uses: Dagster home, storage root, incoming folder, inputs."""

    root: Path
    home: Path
    storage: Path
    incoming: Path
    invoices: Path

    @classmethod
    def create(cls, root: str | os.PathLike[str]) -> Sandbox:
        """Make the folders and the project's ``dagster.yaml`` (as ``ensure_dagster_home`` writes it)."""
        from cc_perf_dagster.instance import ensure_dagster_home

        root = Path(root).resolve()
        home = ensure_dagster_home(root / "home", export=False)  # this process's environment stays as it is
        sandbox = cls(root, home, root / "storage", root / "incoming", root / "invoices")
        for folder in (sandbox.storage, sandbox.incoming, sandbox.invoices):
            folder.mkdir(parents=True, exist_ok=True)
        return sandbox

    def env(self) -> dict[str, str]:
        """The server's environment: this process's, pointed at the sandbox."""
        from cc_perf_dagster.resources import STORAGE_ENV
        from cc_perf_dagster.sensors import INCOMING_ENV

        return {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            STORAGE_ENV: str(self.storage),
            INCOMING_ENV: str(self.incoming),
            "PYTHONUNBUFFERED": "1",
        }

    def register(self, pdfs: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Copy the PDFs in and register them as invoice partitions, as ``cc-perf process`` does.

        The file registry under the storage root says which file a partition stands for; the
        instance gets the dynamic partitions and each file's sha256 as ``invoice_file``'s data version.
        """
        from dagster import DagsterInstance

        from cc_perf_dagster.assets import PARTITIONS_NAME, file_observation
        from cc_perf_dagster.core.registry import FileRegistry

        registry = FileRegistry(self.storage / "registry")
        entries = [registry.register(shutil.copy2(pdf, self.invoices)) for pdf in pdfs]
        keys = [entry.key for entry in entries]
        with DagsterInstance.from_config(str(self.home)) as instance:
            known = set(instance.get_dynamic_partitions(PARTITIONS_NAME))
            instance.add_dynamic_partitions(PARTITIONS_NAME, [k for k in keys if k not in known])
            for entry in entries:
                instance.report_runless_asset_event(file_observation(entry.key, entry.sha256))
        return keys


class DagsterDev:
    """``dagster dev -w workspace.yaml`` on a free loopback port, in a process group of its own."""

    def __init__(self, sandbox: Sandbox, *, port: int | None = None, log_path: Path | None = None):
        self.sandbox = sandbox
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or sandbox.root / "dagster-dev.log"
        self.process: subprocess.Popen | None = None

    @classmethod
    @contextlib.contextmanager
    def start(cls, sandbox: Sandbox, *, timeout_s: float = 240.0, **kwargs: Any) -> Iterator[DagsterDev]:
        """Start the server, wait until its code location is loaded, and always stop it afterwards."""
        server = cls(sandbox, **kwargs)
        try:
            server.launch()
            server.wait_until_ready(timeout_s)
            yield server
        finally:
            server.stop()

    def launch(self) -> None:
        """Start ``dagster dev`` (returns at once; see :meth:`wait_until_ready`)."""
        command = [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=self.sandbox.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise UIError(f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}")

    def wait_until_ready(self, timeout_s: float) -> None:
        """Wait for ``/server_info`` and for the code location to load; no first-visit newsletter popup."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_alive()
            with contextlib.suppress(OSError):  # not listening yet (urllib's URLError is an OSError)
                with urllib.request.urlopen(f"{self.base_url}/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            if time.monotonic() > deadline:
                raise UIError(f"dagster dev did not answer within {timeout_s:.0f} s:\n{self.log_tail()}")
            time.sleep(0.5)
        query = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
            name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
        while True:
            self._check_alive()
            entries = self.graphql(query)["workspaceOrError"].get("locationEntries") or []
            loaded = [e for e in entries if e["loadStatus"] == "LOADED"]
            if entries and len(loaded) == len(entries):
                errors = [e for e in loaded if e["locationOrLoadError"]["__typename"] == "PythonError"]
                if errors:
                    raise UIError(f"the code location failed to load: {errors[0]['locationOrLoadError']['message']}")
                break
            if time.monotonic() > deadline:
                raise UIError(f"the code location did not load within {timeout_s:.0f} s:\n{self.log_tail()}")
            time.sleep(0.5)
        # The "Join the Dagster community" dialog covers the page on a first visit to a local server.
        self.graphql("mutation { setNuxSeen }")

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a GraphQL query to the server; its ``data`` (GraphQL errors raise)."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise UIError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def runs_for_partition(self, key: str) -> list[dict[str, Any]]:
        """Runs tagged with the partition, newest first: id, status."""
        query = """query ($filter: RunsFilter) { runsOrError(filter: $filter) {
            __typename ... on Runs { results { runId status } } } }"""
        variables = {"filter": {"tags": [{"key": PARTITION_TAG, "value": key}]}}
        return self.graphql(query, variables)["runsOrError"].get("results") or []

    def run_status(self, run_id: str) -> str | None:
        """A run's status (``QUEUED``, ``STARTED``, ``SUCCESS``, ``FAILURE`` ...), None if unknown."""
        query = """query ($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"""
        return self.graphql(query, {"id": run_id})["runOrError"].get("status")

    def partition_stats(self, asset: str = ASSET) -> dict[str, int]:
        """``numPartitions``, ``numMaterialized``, ``numMaterializing``, ``numFailed`` of an asset."""
        query = """query ($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { __typename
            ... on AssetNode { partitionStats { numPartitions numMaterialized numMaterializing numFailed } } } }"""
        return self.graphql(query, {"key": {"path": [asset]}})["assetNodeOrError"]["partitionStats"]

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM the whole process group, SIGKILL whatever is left after ``grace_s``."""
        if self.process is None:
            return
        pgid = self.process.pid  # start_new_session: the leader's pid is the group id
        _signal_group(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):  # the group is SIGKILLed below
            self.process.wait(timeout=grace_s)
        deadline = time.monotonic() + grace_s
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self.process = None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- the invoice asset's pages --------------------------------------------------------------------


class InvoiceAssetUI:
    """What a person does on the ``invoice`` asset's pages, with role and text selectors."""

    def __init__(self, page: Any, server: DagsterDev, asset: str = ASSET):
        self.page = page
        self.server = server
        self.asset = asset

    @property
    def url(self) -> str:
        """The asset's page."""
        return f"{self.server.base_url}/assets/{self.asset}"

    def open_partitions(self) -> None:
        """The asset page, then its Partitions tab."""
        self.page.goto(self.url)
        self.page.get_by_role("tab", name="Partitions", exact=True).click()
        self.page.get_by_text(re.compile(r"^Materialized \(\d+\)$")).wait_for()

    def select_partition(self, key: str) -> None:
        """Click the partition in the Partitions tab's list (unless selected: a second click unselects it)."""
        if parse_qs(urlsplit(self.page.url).query).get("partition") != [key]:
            self.page.get_by_title(key, exact=True).first.click()
            self.page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("partition") == [key])
        self.partition_pane(key).wait_for()

    def partition_pane(self, key: str) -> Any:
        """The detail pane of a partition: its name, status, latest materialization and metadata."""
        page = self.page
        return (
            page.locator("div")
            .filter(has=page.get_by_title(key, exact=True))
            .filter(has=page.get_by_text("Latest materialization", exact=True))
            .filter(has_not=page.get_by_role("textbox", name="Filter by name"))
            .last
        )

    def launch_materialization(self, keys: list[str] | None) -> str | None:
        """Materialize…, pick the partitions (None: All) in the launch dialog, launch.

        Returns the short run id from the "Launched run" toast, if one is shown (a backfill shows none).
        """
        page = self.page
        # accessible names start with the icon's name ("materialization Materialize…")
        page.get_by_role("button", name=re.compile(r"Materialize…$")).first.click()
        dialog = page.get_by_role("dialog").filter(has_text=f"Launch runs to materialize {self.asset}")
        dialog.wait_for()
        if keys is None:
            dialog.get_by_role("button", name="All", exact=True).click()
            expected = self.server.partition_stats(self.asset)["numPartitions"]
        else:
            dialog.get_by_role("button", name="Custom", exact=True).click()
            # The picker may come pre-filled with the partition selected on the page; its list is
            # virtualized, so each key is looked up through the picker's filter box.
            dialog.get_by_role("img", name="expand_more", exact=True).click()
            picker = dialog.get_by_role("dialog")
            search = picker.get_by_role("textbox", name="Filter partitions")
            for key in keys:
                search.fill(key)
                checkbox = picker.get_by_role("checkbox", name=re.compile(rf"^{re.escape(key)}(\s|$)")).first
                if not checkbox.is_checked():
                    picker.get_by_role("menuitem").filter(has=checkbox).click()
                    expect_checked(checkbox)
            search.fill("")
            # close the picker by clicking the dialog's title, not Escape (that closes the dialog)
            dialog.get_by_text(f"Launch runs to materialize {self.asset}").click()
            picker.wait_for(state="hidden")
            expected = len(keys)
        noun = "partition" if expected == 1 else "partitions"
        dialog.get_by_text(f"{expected} {noun}", exact=True).wait_for()
        launch = dialog.get_by_role("button", name=re.compile(r"Launch (\d+ runs?|backfill)$"))
        launch.click()
        dialog.wait_for(state="hidden")
        toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
        try:
            toast.first.wait_for(timeout=10_000)
        except Exception:  # a backfill is announced differently; its runs are found by partition
            return None
        return re.search(r"[0-9a-f]{8}", toast.first.inner_text()).group(0)

    def wait_for_partition_run(self, key: str, short_id: str | None, timeout_s: float) -> str:
        """Watch the partition's detail pane until it shows a successful run; returns the run id.

        The pane shows the latest materialization's run with its status icon, but does not
        refetch on its own, so the page is reloaded every few seconds. The API is asked for the
        run's status too: a failed run fails at once (not after the timeout), and what the page
        shows is confirmed.
        """
        deadline = time.monotonic() + timeout_s
        run_id, shown_late = None, 0
        while True:
            if run_id is None:
                runs = self.server.runs_for_partition(key)
                matching = [r for r in runs if short_id is None or r["runId"].startswith(short_id)]
                run_id = matching[0]["runId"] if matching else None
            status = self.server.run_status(run_id) if run_id else None
            if status in {"FAILURE", "CANCELED"}:
                raise UIError(f"run {run_id} for partition {key} ended {status}:\n{self.server.log_tail()}")
            if run_id and self._pane_shows_success(key, run_id, wait_s=20 if status == "SUCCESS" else 4):
                status = self.server.run_status(run_id)
                if status != "SUCCESS":
                    raise UIError(f"the page shows run {run_id} succeeded but the API says {status}")
                return run_id
            if status == "SUCCESS":
                shown_late += 1
                if shown_late >= 3:
                    raise UIError(f"run {run_id} succeeded but the partition's pane does not show it")
            if time.monotonic() > deadline:
                raise UIError(f"partition {key}: no successful run within {timeout_s:.0f} s (run {run_id}: {status})")
            self.page.reload()
            self.select_partition(key)

    def _pane_shows_success(self, key: str, run_id: str, wait_s: float) -> bool:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        pane = self.partition_pane(key)
        expected = (
            pane.get_by_text("Materialized", exact=True),  # the partition's status tag
            pane.get_by_role("link", name=run_id[:8], exact=True),  # the latest materialization's run
            pane.get_by_role("img", name="run_success", exact=True),  # and its status icon
        )
        try:
            for locator in expected:
                locator.first.wait_for(timeout=wait_s * 1000)
        except PlaywrightTimeout:
            return False
        return True

    def metadata_value(self, name: str, within: Any = None) -> str:
        """The value cell beside ``name`` in the metadata table (of ``within``, else of the page)."""
        scope = within or self.page
        row = scope.get_by_role("row").filter(has=self.page.get_by_role("cell", name=name, exact=True)).first
        row.wait_for()
        return row.get_by_role("cell").nth(1).inner_text().strip()

    def open_partition(self, key: str) -> Any:
        """The Partitions tab with ``key`` selected (its own address); returns its detail pane."""
        self.page.goto(f"{self.url}?view=partitions&partition={key}")
        pane = self.partition_pane(key)
        pane.wait_for()
        return pane

    def table_rows(self, name: str, within: Any = None) -> list[list[str]]:
        """The body rows of the table shown as metadata entry ``name`` (cells as text)."""
        scope = within or self.page
        entry = scope.get_by_role("row").filter(has=self.page.get_by_role("cell", name=name, exact=True)).first
        entry.wait_for()
        table = entry.get_by_role("cell").nth(1).get_by_role("table").first
        rows = table.get_by_role("row").all()
        cells = [[c.inner_text().strip() for c in row.get_by_role("cell").all()] for row in rows]
        return [row for row in cells if row]  # the header row holds column headers, not cells

    def check_partition_detail(self, check: str, key: str) -> str:
        """The check's Partitions tab with ``key`` picked: the text of that partition's latest result."""
        page = self.page
        page.goto(f"{self.url}?view=checks&checkDetail={check}")
        page.get_by_text("Execution history", exact=True).first.wait_for()
        # the check's own tab (the asset's tab bar above has one of the same name)
        page.get_by_role("tab", name="Partitions", exact=True).last.click()
        page.get_by_text("Partitions Selected").first.wait_for()
        page.get_by_role("textbox", name="Filter by partition…").fill(key)
        page.get_by_title(key, exact=True).last.click()  # the list below the filter (chips above hold it too)
        target = page.get_by_text("Target materialization", exact=True).first
        target.wait_for()
        pane = page.locator("div").filter(has=target).filter(has=page.get_by_text("Description", exact=True)).last
        return pane.inner_text()

    def wait_until_all_materialized(self, timeout_s: float) -> dict[str, int]:
        """Watch the Partitions tab until every partition counts as materialized (fail fast on a failure)."""
        deadline = time.monotonic() + timeout_s
        while True:
            stats = self.server.partition_stats(self.asset)
            if stats["numFailed"]:
                raise UIError(f"{stats['numFailed']} partition(s) failed:\n{self.server.log_tail()}")
            total = stats["numPartitions"]
            shown = self.page.get_by_text(f"Materialized ({total})", exact=True)
            if stats["numMaterialized"] == total and shown.count():
                return stats
            if time.monotonic() > deadline:
                raise UIError(f"not every partition materialized within {timeout_s:.0f} s: {stats}")
            time.sleep(4)
            self.page.reload()
            self.page.get_by_text(re.compile(r"^Materialized \(\d+\)$")).wait_for()

    def show_metadata_plots(self) -> None:
        """The Overview tab with its Metadata section as plots over the partitions."""
        page = self.page
        page.goto(self.url)
        page.get_by_role("tab", name="Overview", exact=True).click()
        # accessible names start with the icon's name ("asset_plot Plots", "partition Partitions")
        page.get_by_role("button", name=re.compile(r"Plots$")).click()
        by_partition = page.get_by_role("button", name=re.compile(r"Partitions$"))
        if by_partition.count():
            by_partition.first.click()
        page.get_by_text("processing_time_s", exact=True).first.wait_for()
        page.locator("canvas").first.wait_for()
        page.wait_for_timeout(1500)  # let the charts finish their entry animation


def expect_checked(checkbox: Any, timeout_s: float = 10.0) -> None:
    """Wait until a checkbox shows as checked."""
    deadline = time.monotonic() + timeout_s
    while not checkbox.is_checked():
        if time.monotonic() > deadline:
            raise UIError(f"{checkbox} did not become checked")
        time.sleep(0.1)


def artifacts_dir() -> Path:
    """``$CC_PERF_TEST_ARTIFACTS``, else ``<repo>/test-artifacts`` (created)."""
    folder = Path(os.environ.get("CC_PERF_TEST_ARTIFACTS") or REPO / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
