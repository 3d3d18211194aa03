"""Dagster resources: where things are stored, the page cache, and the extraction settings.

Every field has a default, so the ready-made definitions need no configuration; override
them in ``build_definitions(...)`` or in a run's config.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from cc_perf_dagster.core.bookability import DEFAULT_MIN_CONSISTENCY
from cc_perf_dagster.core.cache import DEFAULT_SECRET_ENV, PageCache
from cc_perf_dagster.core.pdf import DEFAULT_ENGINE, ENGINES, Limits, TextEngine, get_engine
from cc_perf_dagster.core.planning import CostModel
from cc_perf_dagster.core.registry import FileRegistry

STORAGE_ENV = "CC_PERF_STORAGE"

# Resource keys of their own, so the definitions merge into a project that has its own
# ``io_manager``, ``storage`` or ``settings`` (``Definitions.merge`` refuses two objects under one key).
STORAGE_KEY = "cc_perf_storage"
PAGE_CACHE_KEY = "cc_perf_page_cache"
SETTINGS_KEY = "cc_perf_settings"
IO_MANAGER_KEY = "cc_perf_io_manager"


def default_storage_root() -> Path:
    """``$CC_PERF_STORAGE``, else ``$DAGSTER_HOME/cc_perf``, else ``./.cc_perf``."""
    if os.environ.get(STORAGE_ENV):
        return Path(os.environ[STORAGE_ENV])
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]) / "cc_perf"
    return Path.cwd() / ".cc_perf"


class InvoiceStorage(ConfigurableResource):
    """The storage root: the file registry and every asset's files live below it.

    Layout: ``registry/KEY.json`` (which file a partition stands for),
    ``assets/ASSET/KEY.json|csv`` (one file per partition), ``steps/RUN/STEP/OUTPUT.json``
    (small intermediate values), ``cache/`` (the page cache, unless configured elsewhere).
    Point ``root`` at a shared path to run steps on several machines.
    """

    root: str | None = Field(
        default=None, description="Storage folder; default $CC_PERF_STORAGE, $DAGSTER_HOME/cc_perf or ./.cc_perf."
    )

    @property
    def path(self) -> Path:
        """The resolved storage folder."""
        return Path(self.root) if self.root else default_storage_root()

    def registry(self) -> FileRegistry:
        """The partition-key -> file registry."""
        return FileRegistry(self.path / "registry")


class PageCacheResource(ConfigurableResource):
    """The content-addressed page and document cache (see :mod:`cc_perf_dagster.core.cache`)."""

    root: str | None = Field(default=None, description="Cache folder; default STORAGE_ROOT/cache. May be shared.")
    max_bytes: int = Field(default=512 * 2**20, description="Size bound of the disk level (LRU eviction).")
    ttl_s: float = Field(default=90 * 86400, description="Time to live of an entry, in seconds.")
    secret_env_var: str = Field(
        default=DEFAULT_SECRET_ENV,
        description="Environment variable holding the HMAC key (at least 32 bytes); set it in every process "
        "of a cluster. Without it, the key file is used.",
    )
    key_file: str | None = Field(
        default=None,
        description="Key file used when the environment holds no key; default $CC_PERF_CACHE_KEY_FILE, "
        "$DAGSTER_HOME/cc_perf_cache.key or ROOT.key. Created on first use; never inside the cache folder.",
    )
    enabled: bool = Field(default=True, description="Switch the disk level off (the in-process level stays).")
    _cache: PageCache | None = PrivateAttr(default=None)

    def get_cache(self) -> PageCache:
        """This process's cache object (created on first use).

        Raises:
            CacheKeyError: The cache's key is refused (one line saying what to fix).
        """
        if self._cache is None:
            root = (Path(self.root) if self.root else default_storage_root() / "cache") if self.enabled else None
            cache = PageCache(
                root, max_bytes=self.max_bytes, ttl_s=self.ttl_s, secret_env=self.secret_env_var, key_file=self.key_file
            )
            if root is not None:
                cache.check_key()
            self._cache = cache
        return self._cache


class ExtractionSettings(ConfigurableResource):
    """The text engine, limits, the fan-out cost model and the performance budgets of the invoice asset."""

    engine: str = Field(
        default=DEFAULT_ENGINE,
        description=f"Text engine that reads the PDFs: {' or '.join(ENGINES)}. pdfium needs the optional "
        "pypdfium2 (pip install 'cc-perf-dagster[pdfium]'). Cached results are kept apart per engine.",
    )
    cross_check_engines: bool = Field(
        default=False,
        description="Also read each invoice with the other engine and report every field that differs "
        "(metadata engine_differences and a warning); doubles the reading time. Needs pypdfium2.",
    )
    max_pages: int = Field(default=Limits().max_pages, description="Refuse documents with more pages.")
    max_bytes: int = Field(default=Limits().max_bytes, description="Refuse larger files.")
    max_text_operators: int = Field(
        default=Limits().max_text_operators, description="Refuse documents with a page drawn with more text operators."
    )
    max_seconds_per_invoice: float = Field(
        default=Limits().max_seconds, description="Refuse a document whose pages take longer than this to read."
    )
    step_overhead_s: float = Field(default=0.4, description="Measured cost of one extra executor step.")
    run_overhead_s: float = Field(
        default=CostModel().run_overhead_s,
        description="Measured cost a run pays for steps in processes of their own (forkserver start, a process "
        "start per stage); runs whose pages take less than this to share out run in one process.",
    )
    page_cost_s: float = Field(default=CostModel().page_cost_s, description="Measured cost of parsing one page.")
    max_concurrent: int = Field(default=2, description="Executor concurrency: the most batches worth fanning out.")
    pages_per_batch: int | None = Field(
        default=None, description="Fixed batch size instead of the cost model (1 = one step per page)."
    )
    min_consistency: float = Field(
        default=DEFAULT_MIN_CONSISTENCY,
        description="Consistency score below which the check fails and the invoice is not booked.",
    )
    time_budget_s: float = Field(default=60.0, description="Processing time per invoice before a warning.")
    memory_budget_mb: float = Field(default=800.0, description="Peak step memory before a warning.")

    def text_engine(self) -> TextEngine:
        """The configured text engine.

        Raises:
            ValueError: ``engine`` names no engine.
            EngineUnavailableError: The engine's library is not installed.
        """
        return get_engine(self.engine)

    def limits(self) -> Limits:
        """The core's byte and page limits."""
        return Limits(
            max_bytes=self.max_bytes,
            max_pages=self.max_pages,
            max_text_operators=self.max_text_operators,
            max_seconds=self.max_seconds_per_invoice,
        )

    def cost_model(self) -> CostModel:
        """The fan-out cost model."""
        return CostModel(
            step_overhead_s=self.step_overhead_s,
            page_cost_s=self.page_cost_s,
            max_concurrent=self.max_concurrent,
            pages_per_batch=self.pages_per_batch,
            run_overhead_s=self.run_overhead_s,
        )
