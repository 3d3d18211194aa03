"""Ready-made Dagster definitions (``workspace.yaml`` points here) and the factory behind them.

Example:
    >>> from cc_perf_dagster.definitions import build_definitions
    >>> defs = build_definitions(storage_root="/shared/cc_perf", max_concurrent=4)  # doctest: +SKIP
    >>> defs = build_definitions(engine="pdfium")  # PDFium reads the text (needs pypdfium2)  # doctest: +SKIP
    >>> defs = build_definitions(profile="cluster")  # Celery workers, PostgreSQL (see profiles.py)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    Definitions,
    FreshnessPolicy,
    define_asset_job,
)

from cc_perf_dagster._dagster_compat import STEP_STORAGE_MODULES
from cc_perf_dagster.assets import GROUP, invoice, invoice_file, purchasing_sheet
from cc_perf_dagster.core.pdf import DEFAULT_ENGINE, get_engine
from cc_perf_dagster.executor import small_runs_in_process
from cc_perf_dagster.io_manager import JsonFileIOManager
from cc_perf_dagster.overview import performance_overview
from cc_perf_dagster.profiles import active_profile, build_executor, check_cluster_environment, profile_settings
from cc_perf_dagster.resources import (
    IO_MANAGER_KEY,
    PAGE_CACHE_KEY,
    SETTINGS_KEY,
    STORAGE_KEY,
    ExtractionSettings,
    InvoiceStorage,
    PageCacheResource,
)
from cc_perf_dagster.schedules import (
    DEFAULT_CRON,
    DEFAULT_TIMEZONE,
    build_nightly_backfill_sensor,
    with_nightly_refresh,
)
from cc_perf_dagster.sensors import build_failed_range_sensor, build_incoming_folder_sensor

# What every step process needs, imported once in the forkserver instead of in each step.
FORKSERVER_PRELOAD: tuple[str, ...] = (__name__, *STEP_STORAGE_MODULES)

PROCESS_JOB = "process_invoices"
EXTRACT_JOB = "extract_invoices"
SUMMARY_JOB = "refresh_summaries"
# The purchasing sheet and the overview follow new invoices within the hour.
DEFAULT_FRESHNESS_WINDOW = timedelta(hours=1)
ASSET_NAMES = ("invoice_file", "invoice", "booking_rows", "purchasing_sheet", "performance_overview")


def build_definitions(
    *,
    storage_root: str | None = None,
    cache_root: str | None = None,
    max_concurrent: int | None = None,
    start_method: Literal["forkserver", "spawn"] = "forkserver",
    forkserver_preload: Sequence[str] | None = None,
    pages_per_batch: int | None = None,
    engine: str = DEFAULT_ENGINE,
    cross_check_engines: bool = False,
    settings: ExtractionSettings | None = None,
    incoming_folder: str | None = None,
    sensor_running: bool = True,
    nightly_cron: str = DEFAULT_CRON,
    timezone: str = DEFAULT_TIMEZONE,
    profile: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    group_name: str = GROUP,
    location_executor: bool = False,
    freshness_window: timedelta | None = DEFAULT_FRESHNESS_WINDOW,
) -> Definitions:
    """The assets, jobs, sensors and resources, ready to merge into any Dagster project.

    Merge-safe: the executor is set on this project's jobs, not on the code location, and the
    resources sit under keys of their own (``cc_perf_storage``, ``cc_perf_page_cache``,
    ``cc_perf_settings``, ``cc_perf_io_manager``), so ``Definitions.merge(yours, build_definitions())``
    keeps your ``io_manager`` and executor.

    Args:
        storage_root: Storage folder (default: ``$CC_PERF_STORAGE``, ``$DAGSTER_HOME/cc_perf``).
        cache_root: Page-cache folder (default: ``STORAGE/cache``); may be a shared path.
        max_concurrent: Step processes at once; also the most batches worth fanning out (default 2, or
            ``$CC_PERF_CLUSTER_SLOTS`` on the cluster profile).
        start_method: How step processes start; forkserver is about twice as fast as spawn.
        forkserver_preload: Modules the forkserver imports once for every step process
            (default: these definitions and the instance's storage modules).
        pages_per_batch: Fixed batch size instead of the cost model (1 = one step per page).
        engine: The text engine, ``"pypdf"`` or ``"pdfium"`` (needs ``pypdfium2``).
        cross_check_engines: Read each invoice with both engines and report the fields that differ.
        settings: Full extraction settings (overrides ``max_concurrent``, ``pages_per_batch``,
            ``engine`` and ``cross_check_engines``).
        incoming_folder: Folder the sensor watches (default ``$CC_PERF_INCOMING`` or ``./incoming``).
        sensor_running: Whether the incoming-folder, automation and rerun sensors start switched on.
        nightly_cron: When missing and stale invoices are backfilled.
        timezone: Time zone of ``nightly_cron``.
        profile: ``"local"`` (multiprocess, SQLite home) or ``"cluster"`` (Celery workers, PostgreSQL,
            shared storage; :mod:`cc_perf_dagster.profiles`); default ``$CC_PERF_PROFILE``, else local.
        key_prefix: Put every asset key under this prefix (``"purchasing"`` or ``["acme", "purchasing"]``);
            job and sensor names then start with it too (``purchasing_process_invoices``).
        group_name: The assets' group.
        location_executor: Also make the executor the code location's default, so assets
            materialized from the UI outside the jobs use it too. The ready-made ``defs`` do; leave it
            off when merging into another project (``Definitions.merge`` refuses two executors).
        freshness_window: Freshness policy of ``purchasing_sheet`` and ``performance_overview``
            (``FreshnessPolicy.time_window``): failing when not materialized within this window. Dagster
            1.13 measures the time since the last materialization, not since new upstream data, so a
            quiet window reads as stale too; ``None`` for no policy.

    Raises:
        ValueError: The engine's name is unknown.
        ProfileError: The profile is unknown, or the cluster's environment is incomplete.
        EngineUnavailableError: The engine's library is not installed.
    """
    profile = active_profile(profile)
    if profile == "cluster":
        cluster = check_cluster_environment()
        storage_root = storage_root or cluster.storage_root
        max_concurrent = max_concurrent or cluster.slots
    max_concurrent = max_concurrent or 2
    settings = settings or ExtractionSettings(
        **profile_settings(profile),
        max_concurrent=max_concurrent,
        pages_per_batch=pages_per_batch,
        engine=engine,
        cross_check_engines=cross_check_engines,
    )
    get_engine(settings.engine)  # an unknown or missing engine fails here, not in the first run
    if cache_root is None and storage_root is not None:
        cache_root = str(Path(storage_root) / "cache")
    status = DefaultSensorStatus.RUNNING if sensor_running else DefaultSensorStatus.STOPPED
    executor = build_executor(
        profile,
        max_concurrent=max_concurrent,
        start_method=start_method,
        forkserver_preload=FORKSERVER_PRELOAD if forkserver_preload is None else forkserver_preload,
    )
    if profile == "local" and settings.pages_per_batch is None:  # a fixed batch size asks for the processes
        executor = small_runs_in_process(
            executor, below_pages=settings.cost_model().in_process_below_pages(), storage_root=storage_root
        )
    prefix = [key_prefix] if isinstance(key_prefix, str) else list(key_prefix or [])
    keys = {name: AssetKey([*prefix, name]) for name in ASSET_NAMES}

    def named(base: str) -> str:
        return "_".join([*prefix, base])

    def job(name: str, assets: Sequence[str], description: str):
        return define_asset_job(
            named(name),
            selection=AssetSelection.assets(*(keys[a] for a in assets)),
            executor_def=executor,
            description=description,
        )

    process = job(
        PROCESS_JOB,
        ["invoice", "booking_rows"],
        "Extract invoices and their booking rows, for one partition or a range.",
    )
    extract = job(EXTRACT_JOB, ["invoice"], "Extract invoices only (no booking rows).")
    summaries = job(
        SUMMARY_JOB,
        ["purchasing_sheet", "performance_overview"],
        "Rebuild the combined booking table and the performance overview.",
    )
    return Definitions(
        assets=_assets(keys, group_name, nightly_cron, timezone, freshness_window),
        jobs=[process, extract, summaries],
        sensors=[
            build_incoming_folder_sensor(
                directory=incoming_folder,
                storage_root=storage_root,
                default_status=status,
                job_name=named(PROCESS_JOB),
                name=named("incoming_invoices"),
                file_asset_key=keys["invoice_file"],
            ),
            build_nightly_backfill_sensor(
                name=named("nightly_backfills"),
                default_status=status,
                target=AssetSelection.assets(*(keys[a] for a in ASSET_NAMES if a != "invoice_file")),
            ),
            build_failed_range_sensor(process, name=named("rerun_failed_ranges"), default_status=status),
        ],
        resources={
            STORAGE_KEY: _shared(InvoiceStorage(root=storage_root)),
            PAGE_CACHE_KEY: _shared(PageCacheResource(root=cache_root)),
            SETTINGS_KEY: _shared(settings),
            IO_MANAGER_KEY: _shared(JsonFileIOManager(root=storage_root)),
        },
        executor=executor if location_executor else None,
    )


# One object per resource configuration: Definitions.merge compares resources by identity, so
# two builds with the same configuration (two prefixed copies, two components) merge.
_RESOURCES: dict[tuple[type, str], Any] = {}


def _shared(resource: Any) -> Any:
    """The first resource built with this class and configuration (resources are immutable)."""
    key = (type(resource), json.dumps(resource.model_dump(), sort_keys=True, default=str))
    return _RESOURCES.setdefault(key, resource)


def _assets(
    keys: dict[str, AssetKey], group_name: str, nightly_cron: str, timezone: str, freshness: timedelta | None
) -> list:
    """The assets under ``keys`` (their dependencies and checks follow), in ``group_name``, with their conditions."""
    renamed = {AssetKey(name): key for name, key in keys.items() if key != AssetKey(name)}
    policy = FreshnessPolicy.time_window(fail_window=freshness) if freshness else None
    grouped = [
        (a.with_attributes(asset_key_replacements=renamed) if renamed else a).map_asset_specs(
            lambda spec, fresh=fresh: spec.replace_attributes(
                group_name=group_name, **({"freshness_policy": policy} if fresh and policy else {})
            )
        )
        for a, fresh in (
            (invoice, False),  # with booking_rows: one graph
            (purchasing_sheet, True),
            (performance_overview, True),
        )
    ]
    return [
        invoice_file.with_attributes(group_name=group_name, key=keys["invoice_file"]),
        *with_nightly_refresh(*grouped, cron=nightly_cron, timezone=timezone),
    ]


def storage_run_config(storage_root: str, cache_root: str | None = None) -> dict:
    """Run config that points one run's storage, IO manager and cache at ``storage_root``.

    Example:
        >>> storage_run_config("/shared/cc_perf")["resources"]["cc_perf_storage"]
        {'config': {'root': '/shared/cc_perf'}}
    """
    cache = cache_root or str(Path(storage_root) / "cache")
    return {
        "resources": {
            STORAGE_KEY: {"config": {"root": storage_root}},
            IO_MANAGER_KEY: {"config": {"root": storage_root}},
            PAGE_CACHE_KEY: {"config": {"root": cache}},
        }
    }


# The shipped code location is ours alone, so its executor is also the location's default.
defs = build_definitions(location_executor=True)


def process_invoices_job():
    """The invoice job of the ready-made definitions (a reconstructable target)."""
    return defs.resolve_job_def(PROCESS_JOB)


def extract_invoices_job():
    """The extraction-only job of the ready-made definitions (a reconstructable target)."""
    return defs.resolve_job_def(EXTRACT_JOB)


def refresh_summaries_job():
    """The purchasing-sheet and overview job of the ready-made definitions (a reconstructable target)."""
    return defs.resolve_job_def(SUMMARY_JOB)
