"""Process files through the Dagster job from a script: register, materialize, report.

This is what ``cc-perf process`` and ``make demo`` run. Files become dynamic partitions (their
sha256 recorded as the file asset's data version), then the ``process_invoices`` job runs
through the multiprocess executor: one run per contiguous range of good files (batches then
span invoices), and a run of its own for each file that a quick check finds unreadable, so a
bad file fails its own partition with its reason while the others complete. If a range run
fails anyway, its partitions are retried one per run, so the failure stays with its file,
unless the storage could not be written at all (full, over quota, read-only): then no other
run starts, since each would fail alike (:attr:`InvoiceRunner.storage_error` says why).

A file whose bytes are already registered under another partition (the same attachment saved
under a second name) is not registered again: it is reported as a ``duplicate`` of that
partition, which is processed (once) and booked (once).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dagster import (
    AssetKey,
    DagsterInstance,
    JobDefinition,
    execute_job,
    reconstructable,
)

from cc_perf_dagster._dagster_compat import enable_event_batching
from cc_perf_dagster._dagster_compat.interrupts import dagster_takes_interrupts
from cc_perf_dagster._dagster_compat.runless_events import report_observations
from cc_perf_dagster.assets import (
    PARTITIONS_NAME,
    file_observation,
    partition_tags,
)
from cc_perf_dagster.core.errors import CcPerfError
from cc_perf_dagster.core.extract import pdf_paths
from cc_perf_dagster.core.planning import contiguous_ranges
from cc_perf_dagster.core.registry import RegisteredFile, SameContent, partition_key_for
from cc_perf_dagster.core.screening import quick_checks
from cc_perf_dagster.definitions import (
    PROCESS_JOB,
    SUMMARY_JOB,
    process_invoices_job,
    refresh_summaries_job,
)
from cc_perf_dagster.executor import start_processes_early, start_processes_for_pages
from cc_perf_dagster.failures import (
    DUPLICATE_PARTITIONS,
    NOT_BOOKED_PARTITIONS,
    failed_partitions,
    failure_reason,
    storage_failure,
)
from cc_perf_dagster.instance import home_lock
from cc_perf_dagster.interrupts import InterruptWatch
from cc_perf_dagster.left_behind import fail_runs_left_behind, launcher_tags
from cc_perf_dagster.resources import SETTINGS_KEY, InvoiceStorage
from cc_perf_dagster.sensors import ISOLATED_BY_LAUNCHER_TAG

# Processes checking the files before the runs, where the runs go over processes (the
# forkserver started for them makes these at once): two cores check 200 files in about half the time.
QUICK_CHECK_PROCESSES = min(os.cpu_count() or 1, 8)
NOT_REGISTERED = "interrupted before it was registered"
# The command retries (or stops) its runs itself: the daemon's run retries leave them alone.
NO_RUN_RETRIES = {"dagster/max_retries": "0"}


@dataclass
class InvoiceOutcome:
    """What happened to one file."""

    partition_key: str
    file: str
    path: str
    # "materialized" | "failed" | "not_booked" (read, but refused: see core.bookability)
    # | "duplicate" (the same bytes as partition ``duplicate_of``, processed there: see core.dedupe)
    # | "interrupted" (registered, but its run was interrupted or never started: Ctrl-C)
    status: str = "pending"
    error: str | None = None
    run_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    duplicate_of: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form: the fields and every metadata figure at the top level."""
        data = asdict(self)
        data.pop("metadata")
        data.update(self.metadata)
        return data


class InvoiceRunner:
    """Registers files and materializes their partitions on a Dagster instance.

    Args:
        instance: The Dagster instance (``DagsterInstance.get()`` for the shared home).
        in_process: Run in this process instead of the multiprocess executor (tests, debugging).
        progress: Called with each outcome as soon as it is known.
        console_log_level: Level of the runs' console logging (their events are stored anyway).
        engine: The text engine the runs read with (the ``settings`` resource's ``engine``).
    """

    def __init__(
        self,
        instance: DagsterInstance,
        *,
        in_process: bool = False,
        progress: Callable[[InvoiceOutcome], None] | None = None,
        console_log_level: str = "CRITICAL",
        engine: str | None = None,
        interrupts: InterruptWatch | None = None,
    ):
        self.instance = instance
        self.interrupts = interrupts
        self.interrupted: int | None = None  # the signal that stopped the last process(), if one did
        self.left_behind: list[str] = []  # runs a killed cc-perf process left started, marked failed
        self.storage_error: str | None = None  # why the storage could not be written, if a run said so
        self.engine = engine
        self.console_log_level = console_log_level
        self.in_process = in_process
        self.progress = progress or (lambda outcome: None)
        self.registry = InvoiceStorage().registry()

    def process(self, paths: Iterable[str | os.PathLike[str]], *, refresh_sheet: bool = True) -> list[InvoiceOutcome]:
        """Register the files (or every PDF in the folders) and materialize them.

        Ctrl-C (SIGINT) or SIGTERM stops it at the next checkpoint: a file's registration, a
        quick check, a run (Dagster stops a run's steps and fails it as interrupted). The files
        registered so far are partitions; every one not processed is ``interrupted`` (nothing
        is retried), :attr:`interrupted` names the signal, and the next ``process`` of the same
        files does the rest. A second signal raises ``KeyboardInterrupt`` at once.

        First, runs that a ``cc-perf process`` on this machine left started when it was killed
        are marked failed (:mod:`cc_perf_dagster.left_behind`); :attr:`left_behind` lists them.
        """
        self.left_behind, self.storage_error = fail_runs_left_behind(self.instance), None
        with nullcontext(self.interrupts) if self.interrupts else InterruptWatch() as watch:
            self._watch = watch
            outcomes = self._process(paths, refresh_sheet=refresh_sheet)
            self.interrupted = watch.received
        for outcome in outcomes:
            if outcome.status == "pending" and self.interrupted:
                outcome.status, outcome.error = "interrupted", "interrupted before its run"
            elif outcome.status == "pending" and self.storage_error:
                outcome.status, outcome.error = "failed", f"not run: {self.storage_error}"
        return outcomes

    def _stopped(self) -> bool:
        return self._watch.received is not None

    def _process(self, paths: Iterable[str | os.PathLike[str]], *, refresh_sheet: bool) -> list[InvoiceOutcome]:
        outcomes: dict[str, InvoiceOutcome] = {}
        registered: list[RegisteredFile] = []
        copies: list[SameContent] = []
        pages, processes = 0, False
        job, run_config = process_invoices_job(), self._run_config(PROCESS_JOB)
        for path in pdf_paths(paths):
            key = partition_key_for(path)
            if self._stopped():
                outcomes[f"{key}@{path}"] = InvoiceOutcome(key, path.name, str(path), "interrupted", NOT_REGISTERED)
                continue
            try:
                entry = self.registry.register_content(path)
            except (CcPerfError, OSError) as exc:
                outcome = InvoiceOutcome(key, path.name, str(path), "failed", _reason(exc, path))
                outcomes[f"{key}@{path}"] = outcome
                self.progress(outcome)
                continue
            if isinstance(entry, SameContent):
                copies.append(entry)
                continue
            registered.append(entry)
            outcomes[entry.key] = InvoiceOutcome(entry.key, entry.file, entry.path)
            # Once the files so far declare enough pages for a run over processes, the forkserver
            # imports while the rest are registered, the partitions added and the files checked.
            pages += entry.pages or 1
            if not (self.in_process or processes):
                processes = start_processes_for_pages(job, pages, run_config=run_config)
        if registered:
            self._add_partitions(registered)
            verdicts = quick_checks(
                [Path(entry.path) for entry in registered],
                engine=self.engine,
                processes=QUICK_CHECK_PROCESSES if processes else 1,
                context=multiprocessing.get_context("forkserver"),
                stop=self._stopped,
            )
            good, isolated = [], []
            for entry, verdict in zip(registered, verdicts, strict=False):  # fewer once stopped
                (good if verdict is None else isolated).append(entry.key)
            order = self.instance.get_dynamic_partitions(PARTITIONS_NAME)
            for keys in contiguous_ranges(good, order):
                self._run(keys, outcomes, retry_singly=len(keys) > 1)
            for key in isolated:
                self._run([key], outcomes, retry_singly=False)
            booked = any(o.status == "materialized" for o in outcomes.values())
            if refresh_sheet and booked and not (self._stopped() or self.storage_error):
                self._execute(SUMMARY_JOB, refresh_summaries_job, tags={})
        for copy in copies:  # after the runs: the original's invoice number is known by then
            outcome = self._duplicate(copy, outcomes.get(copy.original.key))
            outcomes[f"{copy.key}@{copy.path}"] = outcome
            self.progress(outcome)
        return list(outcomes.values())

    def _duplicate(self, copy: SameContent, original: InvoiceOutcome | None) -> InvoiceOutcome:
        """The outcome of a file whose bytes were processed as another partition."""
        number = (original.metadata.get("invoice_number") if original else None) or _stored_number(
            InvoiceStorage().path, copy.original.key
        )
        note = f"same content as {copy.original.file}" + (f" ({number})" if number else "") + ", processed once"
        return InvoiceOutcome(copy.key, copy.file, copy.path, "duplicate", duplicate_of=copy.original.key, note=note)

    def _add_partitions(self, entries: list[RegisteredFile]) -> None:
        with home_lock(self.instance.root_directory):  # two commands adding one key must not both insert it
            existing = set(self.instance.get_dynamic_partitions(PARTITIONS_NAME))
            new = [e.key for e in entries if e.key not in existing]
            if new:
                self.instance.add_dynamic_partitions(PARTITIONS_NAME, new)
        # the file asset's data version per partition: its sha256 (one batch: 200 files 0.1 s, not 1 s)
        report_observations(self.instance, [file_observation(entry.key, entry.sha256) for entry in entries])

    def _run(self, keys: list[str], outcomes: dict[str, InvoiceOutcome], *, retry_singly: bool) -> None:
        """One run over ``keys`` (a contiguous range); when a range fails, its invoices are isolated.

        A range run fails as a whole when one invoice does. If the failure names the failing
        partitions, the others run again as ranges (without them) and each named one runs on
        its own, so it fails with its own reason; otherwise every partition runs on its own.
        A run that was interrupted is not retried, and no run starts once the watch has a signal.
        """
        if self._stopped() or self.storage_error:
            return
        tags = {**partition_tags(keys), ISOLATED_BY_LAUNCHER_TAG: "cc-perf process"}
        done = self._execute(PROCESS_JOB, process_invoices_job, tags=tags)
        if not done.success and self._stopped():
            for key in keys:
                outcome = outcomes[key]
                outcome.run_id, outcome.status, outcome.error = done.run_id, "interrupted", "its run was interrupted"
            return
        if not done.success and done.storage_full:  # no other run could write it either: not retried
            self.storage_error = done.failure
        elif not done.success and retry_singly:
            named = [key for key in keys if key in done.failed]
            if named and len(named) < len(keys):
                rest = [key for key in keys if key not in done.failed]
                for part in contiguous_ranges(rest, self.instance.get_dynamic_partitions(PARTITIONS_NAME)):
                    self._run(part, outcomes, retry_singly=len(part) > 1)
            for key in named or keys:
                self._run([key], outcomes, retry_singly=False)
            return
        for key in keys:
            outcome = outcomes[key]
            outcome.run_id = done.run_id
            if done.success and key in done.metadata:
                outcome.status, outcome.metadata = "materialized", done.metadata[key]
            else:
                outcome.status = (
                    "not_booked" if key in done.not_booked else "duplicate" if key in done.copies else "failed"
                )
                outcome.error = done.failure or "the run failed"
            self.progress(outcome)

    def _run_config(self, job_name: str) -> dict[str, Any]:
        # The run's events still reach the instance (and the UI); only the console echo is quiet.
        run_config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": self.console_log_level}}}}
        if self.engine is not None and job_name == PROCESS_JOB:
            run_config["resources"] = {SETTINGS_KEY: {"config": {"engine": self.engine}}}
        return run_config

    def _execute(self, job_name: str, target: Callable, *, tags: dict[str, str]):
        with executed_run(
            self.instance,
            target,
            tags={**tags, **NO_RUN_RETRIES, **launcher_tags()},
            run_config=self._run_config(job_name),
            in_process=self.in_process,
        ) as result:
            return _summarize(result)


@contextmanager
def executed_run(
    instance: DagsterInstance,
    target: Callable[[], JobDefinition],
    *,
    tags: dict[str, str],
    run_config: dict[str, Any],
    in_process: bool = False,
) -> Iterator[Any]:
    """One run of the job that ``target`` returns, failures recorded rather than raised.

    Yields the run's result: Dagster's ``ExecuteInProcessResult``, or what ``execute_job`` gives
    (its events, success and run; not its output values, which would need the resources again).

    ``target`` is a module-level function returning the job (such as
    :func:`~cc_perf_dagster.definitions.process_invoices_job`), so that the job's executor can
    rebuild it in each step process; ``in_process`` runs every step in this process instead.
    The result is only valid inside the ``with`` block.

    Example:
        >>> with executed_run(instance, process_invoices_job, tags=partition_tags(["CS003837319"]),
        ...                   run_config={}) as result:  # doctest: +SKIP
        ...     result.success
    """
    # A range run's per-partition events (planned here, when the run is created; materialized
    # and checked in its steps) are written in batches: the instance's event log does so only
    # where Dagster's batching is on in the writing process (unless the caller set it, to 0 too).
    enable_event_batching()
    with dagster_takes_interrupts():  # Ctrl-C while the run is created stops it too
        if in_process:
            result = target().execute_in_process(
                instance=instance, tags=tags, raise_on_error=False, run_config=run_config
            )
        else:
            start_processes_early(target(), instance, tags=tags, run_config=run_config)
            # Not entered as a context manager: entering it initializes every resource again, only to
            # load output values, which nothing here reads (its events and run need no resources).
            result = execute_job(
                reconstructable(target), instance=instance, tags=tags, raise_on_error=False, run_config=run_config
            )
    yield result


@dataclass
class RunSummary:
    """What a run did: its figures per invoice, its first failure's reason, the partitions its failures name."""

    success: bool
    run_id: str
    metadata: dict[str, dict[str, Any]]
    failure: str | None
    failed: set[str]
    not_booked: set[str]
    copies: set[str]
    storage_full: bool  # a step could not write the storage at all: every run would fail alike


def _summarize(result: Any) -> RunSummary:
    """The :class:`RunSummary` of a run's result."""
    metadata: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key == AssetKey("invoice") and materialization.partition:
            metadata[materialization.partition] = {
                name: value.value
                for name, value in materialization.metadata.items()
                if isinstance(value.value, (int, float, str, bool)) and not name.startswith("dagster/")
            }
    failures = result.get_step_failure_events()
    return RunSummary(
        result.success,
        result.run_id,
        metadata,
        failure_reason(failures[0]) if failures else None,
        failed_partitions(failures),
        failed_partitions(failures, NOT_BOOKED_PARTITIONS),
        failed_partitions(failures, DUPLICATE_PARTITIONS),
        any(map(storage_failure, failures)),
    )


def _stored_number(storage_root: Path, key: str) -> str | None:
    """The invoice number stored for a partition by an earlier run, if any."""
    try:
        return json.loads((storage_root / "assets" / "invoice" / f"{key}.json").read_text(encoding="utf-8"))[
            "invoice_number"
        ]
    except (OSError, ValueError, KeyError):
        return None


def _reason(exc: Exception, path: Path) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{path}: no such file"
    return str(exc)
