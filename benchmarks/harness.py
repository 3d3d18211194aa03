"""What every section shares: timing, fresh instances and storage, runs in a fresh process, baselines.

A Dagster run is measured in an interpreter of its own (``python -m benchmarks --child-run SPEC``,
the child-process protocol): nothing (forkserver, imports, caches) carries over from an earlier
run or from the baseline, as a launched run gets. The child prints one JSON line: success, run
id, wall and CPU seconds of its process tree, and the epoch bounds of the run.

Runs go through the library's own execute path (:func:`cc_perf_dagster.runner.executed_run`) with
its own partition tags (:func:`cc_perf_dagster.assets.partition_tags`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.measure import tree_cpu_s

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
TEST_INVOICES = REPO / "test_invoices"
ONE_INVOICE = TEST_INVOICES / "CS003837319.pdf"
PAGES_PER_INVOICE = 15
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


# Signals a launching shell may leave ignored; an ignore is inherited through fork and exec, so
# every process the benchmarks start (the Pool(2) baseline and its workers) would ignore them too.
_STOP_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)


def default_signals() -> None:
    """Put back the default action of stop signals this process was started ignoring.

    A benchmark started in the background (``make bench &``, some tool shells) may inherit an
    ignored SIGTERM; a multiprocessing pool's workers then survive ``Pool.terminate``, and its
    exit waits for them forever. SIGINT goes back to Python's KeyboardInterrupt.
    """
    for number in _STOP_SIGNALS:
        if signal.getsignal(number) == signal.SIG_IGN:
            signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)


def log(message: str) -> None:
    """A progress line with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def best_of(fn: Callable[[Path], object], path: Path, rounds: int) -> float:
    """The shortest of ``rounds`` timings of ``fn(path)``, in seconds."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn(path)
        best = min(best, time.perf_counter() - started)
    return best


def pdfium_engine():
    """The pdfium text engine, or ``None`` without pypdfium2 (its figures are then left empty)."""
    from cc_perf_dagster.core.errors import EngineUnavailableError
    from cc_perf_dagster.core.pdf import get_engine

    try:
        return get_engine("pdfium")
    except EngineUnavailableError:
        return None


def ratio(value: float, baseline: float) -> float | None:
    """``value / baseline`` to three decimals, ``None`` without a baseline."""
    return round(value / baseline, 3) if baseline else None


def median(runs: list[dict]) -> dict:
    """The run with the median wall time, with every run's wall time beside it."""
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    return {**ordered[len(ordered) // 2], "all_wall_s": [r["wall_s"] for r in runs]}


# --- instances, storage, files ----------------------------------------------------------------


def shipped_instance(home: Path):
    """A temporary instance configured like the one the project ships: its ``dagster.yaml`` in ``home``."""
    from dagster import DagsterInstance

    from cc_perf_dagster.instance import ensure_dagster_home

    ensure_dagster_home(home, export=False)
    return DagsterInstance.local_temp(str(home))


def prepare(files: list[Path], workdir: Path, label: str) -> tuple[Path, Path, list[str]]:
    """A fresh Dagster home and storage with ``files`` registered as partitions: (home, storage, keys)."""
    from cc_perf_dagster.core.registry import FileRegistry

    stamp = time.time_ns()
    storage = workdir / f"storage-{label}-{stamp}"
    home = workdir / f"home-{label}-{stamp}"
    home.mkdir(parents=True)
    registry = FileRegistry(storage / "registry")
    keys = [registry.register(f).key for f in files]
    with shipped_instance(home) as instance:
        instance.add_dynamic_partitions("invoices", keys)
    return home, storage, keys


def run_config(storage: Path, engine: str | None = None) -> dict:
    """Run config pointing a run's storage, IO manager and cache at ``storage``, console quiet;
    ``engine`` (``pypdf``, ``pdfium``) chooses the text engine, else the shipped default."""
    from cc_perf_dagster.definitions import SETTINGS_KEY, storage_run_config

    config = {**storage_run_config(str(storage)), **QUIET}
    if engine is not None:
        config["resources"] = {**config["resources"], SETTINGS_KEY: {"config": {"engine": engine}}}
    return config


def write_invoices(folder: Path, count: int, pages: int = PAGES_PER_INVOICE) -> list[Path]:
    """``count`` generated order confirmations of ``pages`` pages each, all different."""
    from cc_perf_dagster_tests.fixtures.generate import write_large_order_confirmation

    folder.mkdir(parents=True)
    files = []
    for index in range(count):
        path = folder / f"CS{900000000 + index:09d}.pdf"
        write_large_order_confirmation(path, pages, seed=index)
        files.append(path)
    return files


# --- one Dagster run in a fresh process ---------------------------------------------------------


def naive_job():
    """The naive design: one step per page, spawn start method (a reconstructable target)."""
    from cc_perf_dagster.definitions import PROCESS_JOB, build_definitions

    return build_definitions(pages_per_batch=1, start_method="spawn").resolve_job_def(PROCESS_JOB)


def execute(instance, design: str, tags: dict, config: dict) -> tuple[bool, str]:
    """One run of the invoice job in the given design: (success, run id).

    ``adaptive`` (as shipped: the executor chooses in-process or processes by the run's pages),
    ``over_processes`` (the same job, every run over processes), ``naive``, ``in_process``.
    """
    from cc_perf_dagster.definitions import process_invoices_job
    from cc_perf_dagster.executor import OVER_PROCESSES_RUN_CONFIG
    from cc_perf_dagster.runner import executed_run

    target = naive_job if design == "naive" else process_invoices_job
    if design == "over_processes":
        config = {**config, **OVER_PROCESSES_RUN_CONFIG}
    with executed_run(instance, target, tags=tags, run_config=config, in_process=design == "in_process") as result:
        return result.success, result.run_id


def child_run(spec: dict) -> dict:
    """In a fresh interpreter (the run worker): one run, measured from the call to its end."""
    with shipped_instance(Path(spec["home"])) as instance:
        cpu0, epoch0, started = tree_cpu_s(), time.time(), time.perf_counter()
        success, run_id = execute(instance, spec["design"], spec["tags"], spec["run_config"])
        wall, epoch1, cpu = time.perf_counter() - started, time.time(), tree_cpu_s() - cpu0
    return {"success": success, "run_id": run_id, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "epoch": [epoch0, epoch1]}  # fmt: skip


def run_in_fresh_process(home: Path, design: str, tags: dict, config: dict) -> dict:
    """One run in its own interpreter, as a launched run gets: nothing (forkserver, imports,
    caches) carries over from an earlier run or from the baseline."""
    spec = {"home": str(home), "design": design, "tags": tags, "run_config": config}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--child-run", json.dumps(spec)],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{design} run process failed:\n{done.stderr[-4000:]}")
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    if not outcome["success"]:
        raise RuntimeError(f"{design} run {outcome['run_id']} failed")
    return outcome


def invoice_metadata(instance, run_id: str) -> list[dict]:
    """The numeric metadata of every ``invoice`` materialization of the run."""
    from dagster import AssetKey, DagsterEventType

    events = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=100_000)
    materializations = [r.event_log_entry.dagster_event.event_specific_data.materialization for r in events.records]
    return [
        {k: v.value for k, v in m.metadata.items() if isinstance(v.value, (int, float))}
        for m in materializations
        if m.asset_key == AssetKey("invoice")
    ]


def timed_run(home: Path, design: str, keys: list[str], config: dict) -> dict:
    """Materialize ``keys`` once, in a fresh process: wall, tree CPU, step peak memory, run id, epoch bounds."""
    from cc_perf_dagster.assets import partition_tags

    run = run_in_fresh_process(home, design, partition_tags(keys), config)
    with shipped_instance(home) as instance:
        metadata = invoice_metadata(instance, run["run_id"])
    return {
        "wall_s": run["wall_s"],
        "cpu_s": run["cpu_s"],
        "invoices": len(metadata),
        "max_step_peak_rss_mb": max(m["peak_rss_mb"] for m in metadata),
        "batches": sum(m["batches"] for m in metadata),
        "cache_hits": sum(m["cache_hits"] for m in metadata),
        "run_id": run["run_id"],
        "epoch": tuple(run["epoch"]),
    }


def public(run: dict) -> dict:
    """A run's figures without the bookkeeping fields that stay out of the results file."""
    return {k: v for k, v in run.items() if k not in ("run_id", "epoch")}


def dagster_run(
    files: list[Path], workdir: Path, *, design: str, warm: bool = False, engine: str | None = None
) -> dict:
    """Register ``files`` on a fresh instance and storage and materialize them (cold, then warm)."""
    home, storage, keys = prepare(files, workdir, design)
    config = run_config(storage, engine)
    cold = public(timed_run(home, design, keys, config))
    if not warm:
        return cold
    return {"cold": cold, "warm": public(timed_run(home, design, keys, config))}


# --- the baseline -----------------------------------------------------------------------------


def cc_perf_process(files: list[Path], workdir: Path) -> dict:
    """``cc-perf process FILES --no-sheet`` as a script runs it: a fresh Dagster home and storage,
    the whole command timed (its interpreter start, imports, registration, quick checks and runs)."""
    stamp = time.time_ns()
    home, storage = workdir / f"home-command-{stamp}", workdir / f"storage-command-{stamp}"
    home.mkdir(parents=True)
    env = {**os.environ, "DAGSTER_HOME": str(home), "CC_PERF_STORAGE": str(storage)}
    command = [str(Path(sys.executable).parent / "cc-perf"), "process", *map(str, files), "--no-sheet", "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"cc-perf process failed ({done.returncode}):\n{done.stderr[-4000:]}")
    statuses = [outcome["status"] for outcome in json.loads(done.stdout)]
    if statuses.count("materialized") != len(files):
        raise RuntimeError(f"cc-perf process materialized {statuses.count('materialized')} of {len(files)} files")
    # No CPU figure: the forkserver the command starts outlives it, reaped by no one here.
    return {"wall_s": round(wall, 3), "cpu_s": None, "invoices": len(files)}


def pool2(files: list[Path], engine: str | None = None) -> dict:
    """The baseline: ``benchmarks/pool_baseline.py``, a plain Pool(2) script, in a fresh interpreter."""
    engine_args = ["--engine", engine] if engine else []
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.pool_baseline", *engine_args, *map(str, files)],
        capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {k: result[k] for k in ("wall_s", "cpu_s", "line_items")}


# --- results files ------------------------------------------------------------------------------


def previous_results(folder: Path = RESULTS) -> list[dict]:
    """Every earlier results file, newest first (unreadable ones skipped)."""
    found = []
    for path in sorted(folder.glob("*.json"), reverse=True):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return found


def write_results(report: dict, folder: Path = RESULTS) -> Path:
    """Write ``folder/<timestamp>.json`` (the results-file schema: the report as it is)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{report['timestamp'].replace(':', '').replace('+0000', 'Z')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    return out
