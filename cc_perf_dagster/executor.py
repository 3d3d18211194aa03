"""The local executor: a run over few pages in the run's own process, a larger one over processes.

Dagster's multiprocess executor costs a run about 2 to 3 s before the first page is read (the
forkserver's start with its preloaded modules, then a process start per stage: plan, batches,
merge, booking rows); a run covering one 15-page invoice parses in well under a second. Steps
in processes of their own pay only when the parsing they share out saves more than that, so
each run is sent one way or the other when it starts, by the cost model
(:meth:`~cc_perf_dagster.core.planning.CostModel.in_process_below_pages`): a run over fewer
pages than the threshold runs every step in its own process (Dagster's in-process executor),
any other goes through the multiprocess executor as configured. The pages are the registered
files' declared page counts (recorded when each file was registered, so a run whose pages are
all cached opens no PDF; see :func:`~cc_perf_dagster.core.pipeline.registered_pages`). The
outputs, events, metadata and checks are the same either way; only where the steps run differs.

Either way the run's steps write their per-partition events in batches: the executor switches
Dagster's event batching on for the run's process and its steps
(:func:`~cc_perf_dagster._dagster_compat.enable_event_batching`, unless ``DAGSTER_EVENT_BATCH_SIZE``
is set already), so a run launched by a webserver or daemon started without it still writes a
100-invoice range step's 500 check results in two transactions instead of 1,500.

Per run, the threshold is the executor's config: ``execution: config: in_process_below_pages: 0``
sends every run over processes, a large number keeps every run in one process. A run with no
partition (the summaries) covers no page and runs in its own process.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import signal
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    DagsterInstance,
    DagsterRun,
    Executor,
    ExecutorDefinition,
    Field,
    InitExecutorContext,
    Int,
    JobDefinition,
    in_process_executor,
    multiple_process_executor_requirements,
)

from cc_perf_dagster._dagster_compat import DAGSTER_FORKSERVER_PRELOAD, enable_event_batching
from cc_perf_dagster.assets import PARTITION_TAG, PARTITIONS_NAME, tagged_partitions
from cc_perf_dagster.core.pipeline import registered_pages
from cc_perf_dagster.interrupts import sigint_ignored, signal_handlers_kept
from cc_perf_dagster.resources import STORAGE_KEY, InvoiceStorage

BELOW_PAGES = "in_process_below_pages"


def run_pages(run: DagsterRun, instance: DagsterInstance, *, storage_root: str | None, stop_at: int) -> int:
    """The pages the run's partitions declare, counted until ``stop_at`` (a run with no partition: 0).

    The storage root is the run's own (its ``cc_perf_storage`` config) where it sets one.
    """
    # One partition's run names it; only a range needs the partitions' order.
    order = () if PARTITION_TAG in run.tags else instance.get_dynamic_partitions(PARTITIONS_NAME)
    keys = tagged_partitions(run.tags, order)
    if not keys:
        return 0
    resource = (run.run_config.get("resources") or {}).get(STORAGE_KEY) or {}
    root = (resource.get("config") or {}).get("root")
    registry = InvoiceStorage(root=root if isinstance(root, str) else storage_root).registry()
    return registered_pages(registry, keys, stop_at=stop_at)


def goes_over_processes(
    run: DagsterRun, instance: DagsterInstance, *, below_pages: int, storage_root: str | None
) -> tuple[bool, int]:
    """Whether the run's steps go over processes, and the pages counted.

    A run covering ``below_pages`` pages or more goes over processes; pages are counted up to
    the threshold. A threshold of 0 sends every run over processes (nothing is counted).
    """
    if below_pages <= 0:
        return True, 0
    pages = run_pages(run, instance, storage_root=storage_root, stop_at=below_pages)
    return pages >= below_pages, pages


class SmallRunsExecutorDefinition(ExecutorDefinition):
    """The executor's definition, with what :func:`start_processes_early` needs to know."""

    def __init__(self, *, below_pages: int, storage_root: str | None, forkserver_preload: list[str] | None, **kwargs):
        super().__init__(**kwargs)
        self.below_pages = below_pages
        self.storage_root = storage_root
        self.forkserver_preload = forkserver_preload


def start_processes_early(
    job: JobDefinition, instance: DagsterInstance, *, tags: Mapping[str, str], run_config: Mapping[str, Any]
) -> bool:
    """Start the step processes' forkserver now if the run about to start will go over processes.

    The forkserver imports the definitions (about 2 s) before it forks the first step; started
    here, before the run is created, that import overlaps the run's own start (its record and
    planned events) on the other core. Dagster's executor then finds it running. Only for a
    job with this executor on forkserver; returns whether it was started.
    """
    definition = _on_forkserver(job)
    if definition is None:
        return False
    run = DagsterRun(job_name=job.name, run_config=dict(run_config), tags=dict(tags))
    over, _ = goes_over_processes(
        run, instance, below_pages=_below_pages(definition, run_config), storage_root=definition.storage_root
    )
    return over and _start_forkserver(definition)


def start_processes_for_pages(job: JobDefinition, pages: int, *, run_config: Mapping[str, Any]) -> bool:
    """Start the forkserver now if a run over ``pages`` pages would go over processes.

    For a caller that knows the pages before any partition exists (``cc-perf process`` knows
    them once it has registered its files, from each file's declared page count): the
    forkserver's imports then overlap the partitions' creation, the quick checks and the run's
    start. Returns whether it was started (as :func:`start_processes_early`).
    """
    definition = _on_forkserver(job)
    if definition is None:
        return False
    below_pages = _below_pages(definition, run_config)
    return (below_pages <= 0 or pages >= below_pages) and _start_forkserver(definition)


def _on_forkserver(job: JobDefinition) -> SmallRunsExecutorDefinition | None:
    """The job's executor definition where it is this executor on forkserver (else ``None``)."""
    definition = job.executor_def
    if isinstance(definition, SmallRunsExecutorDefinition) and definition.forkserver_preload is not None:
        return definition
    return None


def _below_pages(definition: SmallRunsExecutorDefinition, run_config: Mapping[str, Any]) -> int:
    """The run's threshold: its executor config's, else the definition's."""
    return ((run_config.get("execution") or {}).get("config") or {}).get(BELOW_PAGES, definition.below_pages)


def _start_forkserver(definition: SmallRunsExecutorDefinition) -> bool:
    # Step processes take their environment from the server: batching must be on before it
    # starts, or every range step writes its events one by one (a 200-invoice run 1.8x slower).
    enable_event_batching()
    context = multiprocessing.get_context("forkserver")
    # Dagster's own list (its executor module first), so the server is the one it would start.
    context.set_forkserver_preload([*DAGSTER_FORKSERVER_PRELOAD, *(definition.forkserver_preload or ())])
    with sigint_ignored():  # a Ctrl-C while it imports would stop it with a traceback
        multiprocessing.forkserver.ensure_running()  # spawns the server and returns; it imports meanwhile
    return True


class SmallRunsInProcessExecutor(Executor):
    """Runs below ``below_pages`` pages with ``in_process``, every other run with ``over_processes``."""

    def __init__(self, over_processes: Executor, in_process: Executor, *, below_pages: int, storage_root: str | None):
        self._over_processes = over_processes
        self._in_process = in_process
        self._below_pages = below_pages
        self._storage_root = storage_root

    @property
    def retries(self) -> Any:
        """The retry mode of the configured multiprocess executor (the in-process one shares it)."""
        return self._over_processes.retries

    @property
    def step_dependency_config(self) -> Any:
        """As the configured multiprocess executor's."""
        return self._over_processes.step_dependency_config

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[Any]:
        """Choose by the run's pages, then let the chosen executor run the plan (event batching on)."""
        enable_event_batching()
        over, pages = goes_over_processes(
            plan_context.dagster_run,
            plan_context.instance,
            below_pages=self._below_pages,
            storage_root=self._storage_root,
        )
        small = not over
        where = "in the run's own process" if small else "in processes of their own"
        plan_context.log.info(
            f"[run {plan_context.run_id[:8]}] {pages}{'' if small else '+'} pages to read: steps run {where} "
            f"({BELOW_PAGES}: {self._below_pages})"
        )
        yield from (self._in_process if small else self._over_processes).execute(plan_context, execution_plan)


def small_runs_in_process(
    over_processes: ExecutorDefinition, *, below_pages: int, storage_root: str | None = None
) -> ExecutorDefinition:
    """``over_processes`` (a configured multiprocess executor) for large runs, in-process below ``below_pages``.

    Args:
        over_processes: The executor of larger runs, fully configured (``multiprocess_executor.configured(...)``).
        below_pages: The default threshold (the cost model's); a run may set its own in its config.
        storage_root: Where the file registry lives when a run's config does not say (the definitions').
    """
    # Resolving runs inside Dagster's user-code boundary, which would leave SIGTERM mapped onto
    # SIGINT's handler in every process importing the definitions (the forkserver too).
    with signal_handlers_kept(signal.SIGTERM):
        resolved = over_processes.config_schema.resolve_config({})  # type: ignore[attr-defined]
    if not resolved.success:
        raise ValueError(f"{over_processes.name} needs every setting configured: {resolved.errors}")
    config: Mapping[str, Any] = resolved.value["config"]

    def create(init_context: InitExecutorContext) -> Executor:
        def build(definition: ExecutorDefinition, executor_config: Mapping[str, Any]) -> Executor:
            context = InitExecutorContext(init_context.job, definition, executor_config, init_context.instance)
            return definition.executor_creation_fn(context)  # type: ignore[misc]

        return SmallRunsInProcessExecutor(
            build(over_processes, config),
            build(in_process_executor, {"retries": config["retries"]}),
            below_pages=init_context.executor_config[BELOW_PAGES],
            storage_root=storage_root,
        )

    start = (config.get("start_method") or {}).get("forkserver")
    # The name stays the multiprocess executor's: it is that executor, for every run it pays for.
    return SmallRunsExecutorDefinition(
        below_pages=below_pages,
        storage_root=storage_root,
        forkserver_preload=None if start is None else list(start.get("preload_modules") or []),
        name=over_processes.name,
        config_schema={
            BELOW_PAGES: Field(
                Int,
                default_value=below_pages,
                description="Runs over fewer pages than this run every step in the run's own process "
                "(0: every run over processes).",
            )
        },
        requirements=multiple_process_executor_requirements(),
        executor_creation_fn=create,
        description=f"{over_processes.description or over_processes.name}; runs over fewer than "
        f"{below_pages} pages run every step in the run's own process",
    )


# Run config that sends a run over processes whatever its size (tests that need a step's own process).
OVER_PROCESSES_RUN_CONFIG: Mapping[str, Any] = {"execution": {"config": {BELOW_PAGES: 0}}}
