"""Ready-made Dagster definitions (``workspace.yaml`` points here) and the factory behind them.

Example:
    >>> from cc_perf_dagster.definitions import build_definitions
    >>> defs = build_definitions(storage_root="/shared/cc_perf", max_concurrent=4)  # doctest: +SKIP
    >>> defs = build_definitions(engine="pdfium")  # PDFium reads the text (needs pypdfium2)  # doctest: +SKIP
    >>> defs = build_definitions(profile="cluster")  # Celery workers, PostgreSQL (see profiles.py)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from dagster import AssetSelection, DefaultSensorStatus, Definitions, define_asset_job

from cc_perf_dagster._dagster_compat import STEP_STORAGE_MODULES
from cc_perf_dagster.assets import booking_rows, invoice, invoice_file, purchasing_sheet
from cc_perf_dagster.core.pdf import DEFAULT_ENGINE, get_engine
from cc_perf_dagster.io_manager import JsonFileIOManager
from cc_perf_dagster.overview import performance_overview
from cc_perf_dagster.profiles import active_profile, build_executor, check_cluster_environment, profile_settings
from cc_perf_dagster.resources import ExtractionSettings, InvoiceStorage, PageCacheResource
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

process_invoices = define_asset_job(
    PROCESS_JOB,
    selection=AssetSelection.assets(invoice, booking_rows),
    description="Extract invoices and their booking rows, for one partition or a range.",
)
extract_invoices = define_asset_job(
    EXTRACT_JOB, selection=AssetSelection.assets(invoice), description="Extract invoices only (no booking rows)."
)
refresh_summaries = define_asset_job(
    SUMMARY_JOB,
    selection=AssetSelection.assets(purchasing_sheet, performance_overview),
    description="Rebuild the combined booking table and the performance overview.",
)


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
) -> Definitions:
    """Definitions with their resources and the executor of a profile (multiprocess, or Celery).

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
    return Definitions(
        assets=[
            invoice_file,
            *with_nightly_refresh(
                invoice, booking_rows, purchasing_sheet, performance_overview, cron=nightly_cron, timezone=timezone
            ),
        ],
        jobs=[process_invoices, extract_invoices, refresh_summaries],
        sensors=[
            build_incoming_folder_sensor(
                directory=incoming_folder,
                storage_root=storage_root,
                default_status=status,
            ),
            build_nightly_backfill_sensor(default_status=status),
            build_failed_range_sensor(process_invoices, default_status=status),
        ],
        resources={
            "storage": InvoiceStorage(root=storage_root),
            "page_cache": PageCacheResource(root=cache_root),
            "settings": settings,
            "io_manager": JsonFileIOManager(root=storage_root),
        },
        executor=executor,
    )


def storage_run_config(storage_root: str, cache_root: str | None = None) -> dict:
    """Run config that points one run's storage, IO manager and cache at ``storage_root``.

    Example:
        >>> storage_run_config("/shared/cc_perf")["resources"]["storage"]
        {'config': {'root': '/shared/cc_perf'}}
    """
    cache = cache_root or str(Path(storage_root) / "cache")
    return {
        "resources": {
            "storage": {"config": {"root": storage_root}},
            "io_manager": {"config": {"root": storage_root}},
            "page_cache": {"config": {"root": cache}},
        }
    }


defs = build_definitions()


def process_invoices_job():
    """The invoice job of the ready-made definitions (a reconstructable target)."""
    return defs.resolve_job_def(PROCESS_JOB)


def extract_invoices_job():
    """The extraction-only job of the ready-made definitions (a reconstructable target)."""
    return defs.resolve_job_def(EXTRACT_JOB)


def refresh_summaries_job():
    """The purchasing-sheet and overview job of the ready-made definitions (a reconstructable target)."""
    return defs.resolve_job_def(SUMMARY_JOB)
