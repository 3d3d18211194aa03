"""`make bench`: performance figures, each a ratio against a baseline measured in the same run.

Sections (``--only NAME`` runs one, or several):
    core       pages/s of the extractor against raw ``PdfPage.extract_text()`` on the same pages
               (the floor) and, for context, ``pdftotext -layout`` where it is installed.
    memory     peak resident memory of a whole extraction at 15, 150 and 1,500 pages, each in a
               fresh process; the curve must be flat.
    one        one 15-page invoice, cold then warm (same storage, so the page cache hits), through
               the adaptive design (cost-model batches, forkserver), the naive one (one step per
               page, spawn) and in-process: wall, CPU of the whole process tree, step peak memory.
    scale      10, 100, 200 and 500 invoices of 15 pages: range runs, one run per partition (two
               at a time) and a plain ``multiprocessing.Pool(2)`` script running the same core.
               One run per partition is measured at 500 only with ``--full``.
    cache      cold, warm, one page changed, renamed copy.
    breakdown  where the time of one Dagster run goes (run start, step start, compute, event
               writes, orchestrator), from the event log, along the run's critical path.
    arrivals   files dropped at once: sensor ticks and the runs they request, against Pool(2).

Writes ``benchmarks/results/<timestamp>.json``, then ``benchmarks/REPORT.md``, its plots and
``benchmarks/README-snippet.md`` (``benchmarks/report.py``), and prints the headline table.
Absolute times are context; the headline figures are the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from measure import tree_cpu_s  # noqa: E402

from cc_perf_dagster.core import extract_invoice  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
TARGET_CORE_RATIO = 1.3
TARGET_MEMORY_GROWTH_MB = 30.0
TARGET_MEMORY_RATIO = 2.0
PAGES_PER_INVOICE = 15
# Scale: range runs and Pool(2) at every count; one run per partition (3 to 5 s a run) up to a limit.
SCALE_COUNTS = (10, 100, 200, 500)
SCALE_COUNTS_QUICK = (5, 20)
HEADLINE_SCALE_COUNT = 200  # the issue-3 target is stated at 200 invoices
SCALE_HEADLINE_ROUNDS = 3  # Pool(2) and the range run alternate; the median ratio is the headline
PER_PARTITION_MAX = 100  # 500 runs one by one only with --full
PER_PARTITION_HEADLINE_COUNT = 100
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


# --- core -----------------------------------------------------------------------------------


def _raw_extract(path: Path) -> int:
    from pypdf import PdfReader

    reader = PdfReader(path)
    for page in reader.pages:
        page.extract_text()
    return len(reader.pages)


def _pdftotext(path: Path) -> None:
    subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)


def _best_of(fn, path: Path, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn(path)
        best = min(best, time.perf_counter() - started)
    return best


def _pdftotext_version() -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    done = subprocess.run(["pdftotext", "-v"], capture_output=True, text=True, check=False)
    return (done.stderr or done.stdout).splitlines()[0].strip() if (done.stderr or done.stdout) else "unknown"


def _pdfium_engine():
    """The pdfium engine, or ``None`` without pypdfium2 (its column is then left empty)."""
    from cc_perf_dagster.core.errors import EngineUnavailableError
    from cc_perf_dagster.core.pdf import get_engine

    try:
        return get_engine("pdfium")
    except EngineUnavailableError:
        return None


def bench_core(files: list[Path], rounds: int) -> dict:
    """Core extractor against raw pypdf text extraction (and pdftotext), interleaved file by file."""
    version = _pdftotext_version()
    pdfium = _pdfium_engine()
    raw_total = core_total = poppler_total = pdfium_total = 0.0
    pages = 0
    for path in files:
        pages += _raw_extract(path)  # warm the OS cache and imports for both
        extract_invoice(path)
        raw_total += _best_of(_raw_extract, path, rounds)
        core_total += _best_of(extract_invoice, path, rounds)
        if pdfium is not None:  # the same core with the pdfium engine, same pages
            extract_invoice(path, engine=pdfium)
            pdfium_total += _best_of(lambda p: extract_invoice(p, engine=pdfium), path, rounds)
        if version is not None:
            poppler_total += _best_of(_pdftotext, path, rounds)
    result = {
        "files": len(files),
        "pages": pages,
        "raw_extract_text_s": round(raw_total, 4),
        "core_s": round(core_total, 4),
        "raw_pages_per_s": round(pages / raw_total, 1),
        "core_pages_per_s": round(pages / core_total, 1),
        "core_cost_ratio": round(core_total / raw_total, 3),
        "pdfium_core_s": round(pdfium_total, 4) if pdfium is not None else None,
        "pdfium_core_pages_per_s": round(pages / pdfium_total, 1) if pdfium is not None else None,
        "target_ratio_max": TARGET_CORE_RATIO,
        "pdftotext": version,
        "pdftotext_s": None,
        "pdftotext_pages_per_s": None,
        "core_over_pdftotext": None,
    }
    if version is not None:
        result.update(
            pdftotext_s=round(poppler_total, 4),
            pdftotext_pages_per_s=round(pages / poppler_total, 1),
            core_over_pdftotext=round(core_total / poppler_total, 3),
            pdftotext_note="one `pdftotext -layout FILE -` process per file, process start included",
        )
    return result


def bench_core_by_producer(rounds: int) -> dict:
    """The core against raw pypdf on the test invoices and on the producer corpus's Chromium prints."""
    result = bench_core(sorted((REPO / "test_invoices").glob("*.pdf")), rounds)
    chromium = sorted((REPO / "test_invoices" / "producers" / "chromium").glob("*.pdf"))
    if chromium:
        other = bench_core(chromium, rounds)
        result["chromium"] = {
            key: other[key]
            for key in (
                "files",
                "pages",
                "raw_extract_text_s",
                "core_s",
                "raw_pages_per_s",
                "core_pages_per_s",
                "pdfium_core_s",
                "pdfium_core_pages_per_s",
            )
        }
        result["chromium"]["core_cost_ratio"] = other["core_cost_ratio"]
    return result


# --- memory ---------------------------------------------------------------------------------

_MEMORY_PROBE = """
import json, resource, sys

def reset_peak():
    # A forked child starts with its parent's high-water mark (and Linux keeps it across exec):
    # reset it so the figure is this extraction's own.
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass

def peak_mb():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

from cc_perf_dagster.core import extract_invoice
reset_peak()
invoice = extract_invoice(sys.argv[1])
print(json.dumps({"pages": invoice.page_count, "items": len(invoice.line_items), "peak_rss_mb": peak_mb()}))
"""


def bench_memory(sizes: list[int], workdir: Path) -> dict:
    """Peak RSS of a whole extraction per document size, each in a fresh interpreter."""
    from cc_perf_dagster_tests.fixtures.generate import write_large_order_confirmation

    rows = []
    for pages in sizes:
        path = workdir / f"large_{pages}.pdf"
        write_large_order_confirmation(path, pages)
        done = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE, str(path)], capture_output=True, text=True, check=True, cwd=REPO
        )
        row = json.loads(done.stdout)
        row["file_mb"] = round(path.stat().st_size / 2**20, 2)
        row["peak_rss_mb"] = round(row["peak_rss_mb"], 1)
        rows.append(row)
    base = rows[0]["peak_rss_mb"]
    for row in rows:
        row["growth_over_smallest_mb"] = round(row["peak_rss_mb"] - base, 1)
    return {
        "rows": rows,
        "target_growth_max_mb": TARGET_MEMORY_GROWTH_MB,
        "peak_ratio_largest_over_smallest": round(rows[-1]["peak_rss_mb"] / base, 3),
        "target_ratio_max": TARGET_MEMORY_RATIO,
    }


# --- Dagster runs ---------------------------------------------------------------------------


def naive_job():
    """The naive design: one step per page, spawn start method."""
    from cc_perf_dagster.definitions import PROCESS_JOB, build_definitions

    return build_definitions(pages_per_batch=1, start_method="spawn").resolve_job_def(PROCESS_JOB)


def _shipped_instance(home: Path):
    """A temporary instance configured like the one the project ships: its ``dagster.yaml`` in ``home``."""
    from dagster import DagsterInstance

    from cc_perf_dagster.instance import ensure_dagster_home

    ensure_dagster_home(home, export=False)
    return DagsterInstance.local_temp(str(home))


def _prepare(files: list[Path], workdir: Path, label: str) -> tuple[Path, Path, list[str]]:
    """A fresh Dagster home and storage with ``files`` registered as partitions: (home, storage, keys)."""
    from cc_perf_dagster.core.registry import FileRegistry

    stamp = time.time_ns()
    storage = workdir / f"storage-{label}-{stamp}"
    home = workdir / f"home-{label}-{stamp}"
    home.mkdir(parents=True)
    registry = FileRegistry(storage / "registry")
    keys = [registry.register(f).key for f in files]
    with _shipped_instance(home) as instance:
        instance.add_dynamic_partitions("invoices", keys)
    return home, storage, keys


def _run_config(storage: Path) -> dict:
    from cc_perf_dagster.definitions import storage_run_config

    return {**storage_run_config(str(storage)), **QUIET}


def _partition_tags(keys: list[str]) -> dict[str, str]:
    from cc_perf_dagster.assets import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

    return {PARTITION_TAG: keys[0]} if len(keys) == 1 else {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}


def _execute(instance, design: str, tags: dict, run_config: dict) -> tuple[bool, str]:
    """One run of the invoice job in the given design: (success, run id)."""
    from dagster import execute_job, reconstructable

    from cc_perf_dagster.definitions import PROCESS_JOB, defs, process_invoices_job

    if design == "in_process":
        result = defs.resolve_job_def(PROCESS_JOB).execute_in_process(
            instance=instance, tags=tags, run_config=run_config
        )
        return result.success, result.run_id
    target = naive_job if design == "naive" else process_invoices_job
    with execute_job(reconstructable(target), instance=instance, tags=tags, run_config=run_config) as result:
        return result.success, result.run_id


def _child_run(spec: dict) -> dict:
    """In a fresh interpreter (the run worker): one run, measured from the call to its end."""
    with _shipped_instance(Path(spec["home"])) as instance:
        cpu0, epoch0, started = tree_cpu_s(), time.time(), time.perf_counter()
        success, run_id = _execute(instance, spec["design"], spec["tags"], spec["run_config"])
        wall, epoch1, cpu = time.perf_counter() - started, time.time(), tree_cpu_s() - cpu0
    return {"success": success, "run_id": run_id, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "epoch": [epoch0, epoch1]}  # fmt: skip


def _run_in_fresh_process(home: Path, design: str, tags: dict, run_config: dict) -> dict:
    """One run in its own interpreter, as a launched run gets: nothing (forkserver, imports,
    caches) carries over from an earlier run or from the baseline."""
    spec = {"home": str(home), "design": design, "tags": tags, "run_config": run_config}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child-run", json.dumps(spec)],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{design} run process failed:\n{done.stderr[-4000:]}")
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    if not outcome["success"]:
        raise RuntimeError(f"{design} run {outcome['run_id']} failed")
    return outcome


def _invoice_metadata(instance, run_id: str) -> list[dict]:
    """The numeric metadata of every ``invoice`` materialization of the run."""
    from dagster import AssetKey, DagsterEventType

    events = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=100_000)
    materializations = [r.event_log_entry.dagster_event.event_specific_data.materialization for r in events.records]
    return [
        {k: v.value for k, v in m.metadata.items() if isinstance(v.value, (int, float))}
        for m in materializations
        if m.asset_key == AssetKey("invoice")
    ]


def _timed_run(home: Path, design: str, keys: list[str], run_config: dict) -> dict:
    """Materialize ``keys`` once, in a fresh process: wall, tree CPU, step peak memory, run id, epoch bounds."""
    run = _run_in_fresh_process(home, design, _partition_tags(keys), run_config)
    with _shipped_instance(home) as instance:
        metadata = _invoice_metadata(instance, run["run_id"])
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


def _public(run: dict) -> dict:
    """A run's figures without the bookkeeping fields that stay out of the results file."""
    return {k: v for k, v in run.items() if k not in ("run_id", "epoch")}


def _dagster_run(files: list[Path], workdir: Path, *, design: str, warm: bool = False) -> dict:
    """Register ``files`` on a fresh instance and storage and materialize them (cold, then warm)."""
    home, storage, keys = _prepare(files, workdir, design)
    run_config = _run_config(storage)
    cold = _public(_timed_run(home, design, keys, run_config))
    if not warm:
        return cold
    return {"cold": cold, "warm": _public(_timed_run(home, design, keys, run_config))}


def _median(runs: list[dict]) -> dict:
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    return {**ordered[len(ordered) // 2], "all_wall_s": [r["wall_s"] for r in runs]}


ONE_INVOICE_DESIGNS = {
    "adaptive_forkserver": "adaptive",
    "naive_per_page_spawn": "naive",
    "in_process": "in_process",
}


def bench_one_invoice(rounds: int, workdir: Path) -> dict:
    """One 15-page invoice, cold then warm, three designs measured round by round (interleaved)."""
    files = [REPO / "test_invoices" / "CS003837319.pdf"]
    samples: dict[str, list[dict]] = {name: [] for name in ONE_INVOICE_DESIGNS}
    for _ in range(rounds):
        for name, design in ONE_INVOICE_DESIGNS.items():
            samples[name].append(_dagster_run(files, workdir, design=design, warm=True))
    designs = {
        name: {phase: _median([s[phase] for s in runs]) for phase in ("cold", "warm")} for name, runs in samples.items()
    }
    adaptive, naive, in_process = (designs[n] for n in ONE_INVOICE_DESIGNS)
    return {
        "pages": PAGES_PER_INVOICE,
        "rounds": rounds,
        "cpu_measure": "user+system CPU of the benchmark process and all its descendants (psutil, reaped children "
        "included): orchestrator, step processes and forkserver",
        "memory_measure": "largest peak RSS of any step, from the invoice's peak_rss_mb metadata (in-process: "
        "the benchmark process's own high-water mark, which includes everything it ran before)",
        "designs": designs,
        "adaptive_over_naive": _ratio(adaptive["cold"]["wall_s"], naive["cold"]["wall_s"]),
        "warm_adaptive_over_naive": _ratio(adaptive["warm"]["wall_s"], naive["warm"]["wall_s"]),
        "cpu_adaptive_over_naive": _ratio(adaptive["cold"]["cpu_s"], naive["cold"]["cpu_s"]),
        "adaptive_over_in_process": _ratio(adaptive["cold"]["wall_s"], in_process["cold"]["wall_s"]),
        "warm_over_cold_adaptive": _ratio(adaptive["warm"]["wall_s"], adaptive["cold"]["wall_s"]),
        "target_ratio_max": 0.35,
        "target_step_peak_rss_mb_max": 150,
    }


def _ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 3) if baseline else None


# --- scale ----------------------------------------------------------------------------------


def _pool2(files: list[Path]) -> dict:
    """The baseline: ``benchmarks/pool_baseline.py``, a plain Pool(2) script, in a fresh interpreter."""
    script = Path(__file__).resolve().parent / "pool_baseline.py"
    done = subprocess.run(
        [sys.executable, str(script), *map(str, files)], capture_output=True, text=True, cwd=REPO, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {k: result[k] for k in ("wall_s", "cpu_s", "line_items")}


def _per_partition(files: list[Path], workdir: Path) -> dict:
    """One run per partition, two at a time (the shipped instance's max_concurrent_runs=2).

    Each run gets an interpreter of its own, as the daemon's run launcher gives it one, so the
    figure includes each run worker's start and imports. Two threads each start runs one after
    another and wait for them.
    """
    from concurrent.futures import ThreadPoolExecutor

    home, storage, keys = _prepare(files, workdir, "per-partition")
    run_config = _run_config(storage)
    cpu0, started = tree_cpu_s(), time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda key: _run_in_fresh_process(home, "adaptive", _partition_tags([key]), run_config), keys))
    wall, cpu = time.perf_counter() - started, tree_cpu_s() - cpu0
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "runs": len(keys)}


def _rates(point: dict, count: int, pool_wall: float) -> dict:
    point["invoices_per_min"] = round(count / point["wall_s"] * 60, 1)
    point["over_pool2"] = _ratio(point["wall_s"], pool_wall)
    return point


def _scale_point(files: list[Path], workdir: Path, *, per_partition: bool, rounds: int = 1) -> dict:
    """Pool(2), a range run and (optionally) one run per partition over the same files.

    With several rounds, Pool(2) and the range run alternate and the round with the median
    ratio stands for the point (all rounds are kept): on a shared machine, the speed of the
    machine drifts by more than the differences measured, so each ratio is taken side by side.
    """
    count = len(files)
    samples = []
    for _ in range(rounds):
        pool = _pool2(files)
        pool["invoices_per_min"] = round(count / pool["wall_s"] * 60, 1)
        samples.append((pool, _rates(_dagster_run(files, workdir, design="adaptive"), count, pool["wall_s"])))
    samples.sort(key=lambda sample: sample[1]["over_pool2"])
    pool, range_run = samples[len(samples) // 2]
    point = {"invoices": count, "pages": PAGES_PER_INVOICE * count, "pool2": pool, "range_run": range_run}
    point["rounds"] = [
        {"pool2_wall_s": p["wall_s"], "range_run_wall_s": r["wall_s"], "over_pool2": r["over_pool2"]}
        for p, r in samples
    ]
    point["per_partition"] = _rates(_per_partition(files, workdir), count, pool["wall_s"]) if per_partition else None
    return point


def bench_scale(counts: list[int], workdir: Path, *, per_partition_max: int, headline_rounds: int = 1) -> dict:
    """Wall time against number of invoices for range runs, one run per partition and Pool(2)."""
    files = _write_invoices(workdir / "scale", max(counts))
    points = []
    headline_count = _point_at([{"invoices": count} for count in counts], HEADLINE_SCALE_COUNT)["invoices"]
    for count in counts:
        rounds = headline_rounds if count == headline_count else 1
        points.append(_scale_point(files[:count], workdir, per_partition=count <= per_partition_max, rounds=rounds))
        _log(f"scale: {count} invoices done")
    not_measured = [
        {
            "design": "per_partition",
            "invoices": p["invoices"],
            "reason": f"one run per partition above {per_partition_max} invoices only with --full",
        }
        for p in points
        if p["per_partition"] is None
    ]
    headline = _point_at(points, HEADLINE_SCALE_COUNT)
    per_partition = _point_at([p for p in points if p["per_partition"]], PER_PARTITION_HEADLINE_COUNT)
    result = {
        "pages_per_invoice": PAGES_PER_INVOICE,
        "counts": counts,
        "per_partition_max": per_partition_max,
        "points": points,
        "not_measured": not_measured,
        "target_ratio_max": 1.5,
        "target_invoices": HEADLINE_SCALE_COUNT,
        "invoices": headline["invoices"],
        "pool2_wall_s": headline["pool2"]["wall_s"],
        "dagster_over_pool2": headline["range_run"]["over_pool2"],
        "dagster_invoices_per_min": headline["range_run"]["invoices_per_min"],
        "pool2_invoices_per_min": headline["pool2"]["invoices_per_min"],
    }
    if per_partition:
        result.update(
            per_partition_invoices=per_partition["invoices"],
            per_partition_pool2_wall_s=per_partition["pool2"]["wall_s"],
            per_partition_over_pool2=per_partition["per_partition"]["over_pool2"],
        )
    return result


def _point_at(points: list[dict], count: int) -> dict | None:
    """The point at ``count`` invoices, else the largest below it, else the smallest."""
    if not points:
        return None
    below = [p for p in points if p["invoices"] <= count]
    return max(below, key=lambda p: p["invoices"]) if below else min(points, key=lambda p: p["invoices"])


# --- cache ----------------------------------------------------------------------------------


def bench_cache(workdir: Path) -> dict:
    """Cold, warm, one page changed, renamed copy: in-process runs on one storage, figures from metadata."""
    import dataclasses

    from dagster import AssetKey

    from cc_perf_dagster.core.registry import FileRegistry, partition_key_for
    from cc_perf_dagster.definitions import PROCESS_JOB, defs
    from cc_perf_dagster_tests.fixtures.generate import write_document
    from cc_perf_dagster_tests.fixtures.model import Misprint
    from cc_perf_dagster_tests.fixtures.specs import cs003837319

    storage = workdir / "cache-storage"
    home = workdir / "cache-home"
    home.mkdir()
    original = workdir / "CS003837319.pdf"
    shutil.copy(REPO / "test_invoices" / "CS003837319.pdf", original)
    changed = workdir / "CS003837319-changed.pdf"
    spec = dataclasses.replace(cs003837319(), misprints=(Misprint(40, "extended_price", "1.23"),))
    write_document(changed, spec, write_truth=False)
    renamed = workdir / "renamed-copy.pdf"
    shutil.copy(original, renamed)
    registry = FileRegistry(storage / "registry")
    run_config = _run_config(storage)
    job = defs.resolve_job_def(PROCESS_JOB)
    rows = {}
    with _shipped_instance(home) as instance:
        for name, path in (
            ("cold", original),
            ("warm", original),
            ("one_page_changed", changed),
            ("renamed_copy", renamed),
        ):
            if name == "renamed_copy":  # a rename: while the old name stands, the copy is a duplicate, not read
                registry.retire(partition_key_for(original))
            key = registry.register(path).key
            instance.add_dynamic_partitions("invoices", [key])
            result = job.execute_in_process(instance=instance, partition_key=key, run_config=run_config)
            (event,) = [
                e.event_specific_data.materialization
                for e in result.get_asset_materialization_events()
                if e.event_specific_data.materialization.asset_key == AssetKey("invoice")
            ]
            m = {k: v.value for k, v in event.metadata.items()}
            rows[name] = {
                k: m[k] for k in ("cpu_time_s", "processing_time_s", "cache_hits", "cache_misses", "cache_hit_rate")
            }
    cold_cpu = rows["cold"]["cpu_time_s"]
    return {
        "runs": rows,
        "warm_cpu_over_cold": round(rows["warm"]["cpu_time_s"] / cold_cpu, 4),
        "target_warm_cpu_ratio_max": 0.10,
        "one_page_changed_hits": f"{rows['one_page_changed']['cache_hits']}/15",
    }


def _write_invoices(folder: Path, count: int, pages: int = PAGES_PER_INVOICE) -> list[Path]:
    from cc_perf_dagster_tests.fixtures.generate import write_large_order_confirmation

    folder.mkdir(parents=True)
    files = []
    for index in range(count):
        path = folder / f"CS{900000000 + index:09d}.pdf"
        write_large_order_confirmation(path, pages, seed=index)
        files.append(path)
    return files


# --- breakdown ------------------------------------------------------------------------------

# Event types that are also written to the instance's cross-run index (a second, dearer write).
ASSET_EVENT_TYPES = frozenset(
    {
        "ASSET_MATERIALIZATION",
        "ASSET_MATERIALIZATION_PLANNED",
        "ASSET_OBSERVATION",
        "ASSET_FAILED_TO_MATERIALIZE",
        "ASSET_CHECK_EVALUATION",
        "ASSET_CHECK_EVALUATION_PLANNED",
    }
)
RUN_STATUS_EVENT_TYPES = frozenset({"PIPELINE_START", "PIPELINE_SUCCESS", "PIPELINE_FAILURE", "PIPELINE_STARTING"})
STEP_END_TYPES = frozenset({"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"})
SEGMENTS = ("run_start", "step_start", "compute", "event_writes", "orchestrator")


def event_write_costs(workdir: Path, count: int = 40) -> dict:
    """Median cost of writing one event, plain and asset, on an instance configured like the shipped one.

    Plain: an engine event into a run's own SQLite shard. Asset: a (runless) materialization, which
    is also written to the cross-run index with its tags. Both through the public instance API.
    Batched: per event of a batch of ``count`` materializations stored together, as a range run's
    per-partition events are (``store_event_batch`` of the shipped event log).
    """
    import logging

    from dagster import AssetMaterialization, DagsterEvent, DagsterEventType, EventLogEntry
    from dagster._core.events import StepMaterializationData

    home = workdir / f"event-cost-home-{time.time_ns()}"
    home.mkdir()
    plain, asset = [], []
    with _shipped_instance(home) as instance:
        instance.report_engine_event("warm-up", job_name="bench", run_id="event-cost-0")
        for index in range(count):
            started = time.perf_counter()
            instance.report_engine_event("bench", job_name="bench", run_id="event-cost-0")
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            instance.report_runless_asset_event(AssetMaterialization(asset_key="bench_asset", partition=f"p{index}"))
            asset.append(time.perf_counter() - started)
        batch = [
            EventLogEntry(
                error_info=None, level=logging.INFO, user_message="", run_id="event-cost-batch",
                timestamp=time.time(),
                dagster_event=DagsterEvent(
                    DagsterEventType.ASSET_MATERIALIZATION.value, job_name="bench",
                    event_specific_data=StepMaterializationData(AssetMaterialization("bench_asset", partition=f"b{i}")),
                ),
            )
            for i in range(count)
        ]  # fmt: skip
        instance.event_log_storage.store_event_batch(batch[:2])  # the run's database made, as in a run
        started = time.perf_counter()
        instance.event_log_storage.store_event_batch(batch[2:])
        batched = (time.perf_counter() - started) / (count - 2)
    return {
        "plain_ms": round(statistics.median(plain) * 1000, 2),
        "asset_ms": round(statistics.median(asset) * 1000, 2),
        "batched_asset_ms": round(batched * 1000, 2),
        "samples": count,
        "method": "median of single writes on a fresh instance with the shipped dagster.yaml, this process",
    }


# The per-partition events of a run over several partitions reach the event log in batches.
BATCHED_EVENT_TYPES = frozenset({"ASSET_MATERIALIZATION", "ASSET_MATERIALIZATION_PLANNED"})


def _event_cost_s(event_type: str, costs: dict, *, batched: bool) -> float:
    if batched and event_type in BATCHED_EVENT_TYPES:
        return costs["batched_asset_ms"] / 1000
    if event_type in ASSET_EVENT_TYPES:
        return costs["asset_ms"] / 1000
    if event_type in RUN_STATUS_EVENT_TYPES:  # run shard plus the index
        return 2 * costs["plain_ms"] / 1000
    return costs["plain_ms"] / 1000


def _read_events(instance, run_id: str) -> list[tuple[float, str | None, str]]:
    """(timestamp, step key, event type) of every event of the run; plain log lines are ``LOG``."""
    return [
        (e.timestamp, e.step_key, e.dagster_event.event_type_value if e.dagster_event else "LOG")
        for e in instance.all_logs(run_id)
    ]


def _steps(events: list[tuple[float, str | None, str]]) -> dict[str, dict[str, float]]:
    """Per step: when its worker started (``begin``), its STEP_START (``start``) and its end."""
    steps: dict[str, dict[str, float]] = {}
    for ts, step, kind in events:
        if step is None:
            continue
        s = steps.setdefault(step, {})
        if kind == "STEP_WORKER_STARTING":
            s["begin"] = ts
        elif kind == "STEP_START":
            s["start"] = ts
            s.setdefault("begin", ts)  # in-process steps have no worker
        elif kind in STEP_END_TYPES:
            s["end"] = ts
    return {k: v for k, v in steps.items() if {"begin", "start", "end"} <= v.keys()}


def critical_path(steps: dict[str, dict[str, float]]) -> list[str]:
    """The chain of steps that set the run's length: from the last step to finish, each step's
    predecessor is the one that finished last before it began (a dependency, or a freed slot)."""
    if not steps:
        return []
    chain = [max(steps, key=lambda k: steps[k]["end"])]
    while True:
        begin = steps[chain[-1]]["begin"]
        before = [k for k in steps if steps[k]["end"] <= begin and k not in chain]
        if not before:
            return chain[::-1]
        chain.append(max(before, key=lambda k: steps[k]["end"]))


def _timeline(epoch: tuple[float, float], events: list, steps: dict, chain: list[str]) -> list[dict]:
    """The run's wall time as consecutive segments: run start, then per critical step the gap before
    it (orchestrator), its process start and its compute, then the tail (orchestrator)."""
    t0, t1 = epoch
    run_start = next((ts for ts, _, kind in events if kind == "PIPELINE_START"), t0)
    marks = [("run_start", None, t0, run_start)]
    cursor = run_start
    for key in chain:
        s = steps[key]
        marks.append(("orchestrator", None, cursor, s["begin"]))
        marks.append(("step_start", key, s["begin"], s["start"]))
        marks.append(("compute", key, s["start"], s["end"]))
        cursor = s["end"]
    marks.append(("orchestrator", None, cursor, t1))
    return [{"segment": seg, "step": step, "start": a, "end": max(a, b)} for seg, step, a, b in marks]


def _charge_event_writes(timeline: list[dict], events: list, costs: dict, *, batched: bool) -> None:
    """Move the estimated cost of each event written on the critical path out of the segment it
    falls in, into ``event_writes``: the step's own events in its segments, the run's own events
    (and those written before the run started) in the orchestrator's."""
    run_start = timeline[0]["end"]
    for part in timeline:
        part["duration_s"] = part["end"] - part["start"]
        part["events"] = 0
        part["event_writes_s"] = 0.0
    for ts, step, kind in events:
        for part in timeline:
            if not part["start"] <= ts < part["end"] or part["duration_s"] <= 0:
                continue
            mine = step == part["step"] if part["step"] else (step is None or ts < run_start)
            if mine:
                part["events"] += 1
                part["event_writes_s"] += _event_cost_s(kind, costs, batched=batched)
            break
    for part in timeline:
        part["event_writes_s"] = min(part["event_writes_s"], part["duration_s"])


def run_breakdown(instance, run: dict, costs: dict) -> dict:
    """Split one run's wall time along its critical path into the five segments."""
    events = _read_events(instance, run["run_id"])
    steps = _steps(events)
    chain = critical_path(steps)
    timeline = _timeline(run["epoch"], events, steps, chain)
    _charge_event_writes(timeline, events, costs, batched=run["invoices"] > 1)
    totals = dict.fromkeys(SEGMENTS, 0.0)
    for part in timeline:
        totals[part["segment"]] += part["duration_s"] - part["event_writes_s"]
        totals["event_writes"] += part["event_writes_s"]
    wall = run["epoch"][1] - run["epoch"][0]
    return {
        **_public(run),
        "events": len(events),
        "events_by_type": dict(Counter(kind for _, _, kind in events).most_common()),
        "steps": len(steps),
        "critical_path": chain,
        "segments_s": {k: round(v, 3) for k, v in totals.items()},
        "shares": {k: round(v / wall, 3) for k, v in totals.items()},
        "timeline": [
            {
                "segment": p["segment"],
                "step": p["step"],
                "s": round(p["duration_s"] - p["event_writes_s"], 3),
                "event_writes_s": round(p["event_writes_s"], 3),
                "events": p["events"],
            }
            for p in timeline
            if p["duration_s"] > 0
        ],
    }


def _breakdown_of(files: list[Path], workdir: Path, costs: dict) -> dict:
    home, storage, keys = _prepare(files, workdir, "breakdown")
    run = _timed_run(home, "adaptive", keys, _run_config(storage))
    with _shipped_instance(home) as instance:
        return run_breakdown(instance, run, costs)


def bench_breakdown(range_count: int, workdir: Path) -> dict:
    """Where the time of a multiprocess run goes: one 15-page invoice, and a range run of ``range_count``."""
    costs = event_write_costs(workdir)
    runs = {"one_invoice": _breakdown_of([REPO / "test_invoices" / "CS003837319.pdf"], workdir, costs)}
    if range_count:
        files = _write_invoices(workdir / "breakdown-range", range_count)
        runs[f"range_{range_count}"] = _breakdown_of(files, workdir, costs)
    return {
        "event_write_cost": costs,
        "runs": runs,
        "segments": {
            "run_start": "execute_job called -> PIPELINE_START (run record, plan, planned-materialization events)",
            "step_start": "STEP_WORKER_STARTING -> STEP_START of each critical step (process start, imports, "
            "instance, plan, resources)",
            "compute": "STEP_START -> STEP_SUCCESS of each critical step, less its event writes",
            "event_writes": "estimate: events written on the critical path x the per-event cost measured above "
            "(the batched cost for the per-partition events of a run over several partitions)",
            "orchestrator": "gaps between critical steps and after the last one (scheduling, polling, run end)",
        },
        "note": "event_writes is an estimate; the five segments add up to the run's wall time",
    }


# --- arrivals -------------------------------------------------------------------------------


def bench_arrivals(count: int, workdir: Path) -> dict:
    """``count`` files dropped at once: first sensor tick to last materialization, against Pool(2)."""
    from dagster import build_sensor_context

    from cc_perf_dagster.definitions import build_definitions
    from cc_perf_dagster.sensors import build_incoming_folder_sensor

    incoming = workdir / "arrivals"
    files = _write_invoices(incoming, count)
    pool_wall = _pool2(files)["wall_s"]

    storage = workdir / "arrivals-storage"
    sensor = build_incoming_folder_sensor(directory=incoming, storage_root=str(storage), minimum_interval_seconds=30)
    defs = build_definitions(storage_root=str(storage), incoming_folder=str(incoming))
    home = workdir / "arrivals-home"
    home.mkdir()
    with _shipped_instance(home) as instance:
        started = time.perf_counter()
        cursor, runs, ticks = None, 0, 0
        tick_s = 0.0
        while True:
            t0 = time.perf_counter()
            result = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
            tick_s += time.perf_counter() - t0
            ticks += 1
            cursor = result.cursor
            for add in result.dynamic_partitions_requests:
                instance.add_dynamic_partitions("invoices", list(add.partition_keys))
            for request in result.run_requests:  # each in a run worker of its own, as the daemon launches them
                _run_in_fresh_process(home, "adaptive", dict(request.tags), _run_config(storage))
                runs += 1
            if ticks > 1 and not result.run_requests:
                break
        wall = time.perf_counter() - started
    materialized = len(list((storage / "assets" / "invoice").glob("*.json")))
    return {
        "files": count,
        "pages": PAGES_PER_INVOICE * count,
        "materialized": materialized,
        "ticks": ticks,
        "runs": runs,
        "sensor_tick_s_total": round(tick_s, 3),
        "first_tick_to_last_materialization_s": round(wall, 3),
        "note": "ticks evaluated back to back; a live daemon adds one 30 s interval for the stability wait",
        "pool2_wall_s": pool_wall,
        "arrivals_over_pool2": round(wall / pool_wall, 3),
    }


# --- regressions ----------------------------------------------------------------------------

REGRESSION_THRESHOLD = 0.20


def _lookup(report: dict, path: tuple) -> float | None:
    """A headline's number in a results file, ``None`` when it is missing or not a number."""
    from report import lookup

    value = lookup(report, path)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _same_mode(report: dict, other: dict) -> bool:
    """Quick runs (smaller sizes and counts) are compared only with quick runs; older files are full runs."""
    return bool(report.get("quick")) == bool(other.get("quick"))


def regressions(report: dict, previous: list[dict]) -> list[dict]:
    """Headline figures more than 20% worse than in the newest earlier results file (same mode) that has them.

    Files of an older shape simply lack some paths; those figures are skipped, never an error.
    """
    from report import HEADLINES

    found = []
    comparable = [p for p in previous if isinstance(p, dict) and _same_mode(report, p)]
    for headline in HEADLINES:
        now = _lookup(report, headline.path)
        earlier = next((p for p in comparable if _lookup(p, headline.path) is not None), None)
        if now is None or earlier is None:
            continue
        before = _lookup(earlier, headline.path)
        if before > 0 and now > before * (1 + REGRESSION_THRESHOLD):
            found.append(
                {"figure": headline.name, "before": before, "now": now, "previous_run": earlier.get("timestamp")}
            )
    return found


def _previous_results() -> list[dict]:
    """Every earlier results file, newest first (unreadable ones skipped)."""
    found = []
    for path in sorted(RESULTS.glob("*.json"), reverse=True):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return found


# --- main -----------------------------------------------------------------------------------

SECTIONS = ("core", "memory", "one", "scale", "cache", "breakdown", "arrivals")


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller documents and counts")
    parser.add_argument("--full", action="store_true", help="also one run per partition at 500 invoices (slow)")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    parser.add_argument("--counts", type=lambda s: [int(x) for x in s.split(",")], help="scale counts, e.g. 10,100")
    parser.add_argument("--invoices", type=int, default=None, help="invoices for the arrivals section")
    parser.add_argument("--no-report", action="store_true", help="write the results file only, no REPORT.md")
    parser.add_argument("--child-run", metavar="SPEC", help=argparse.SUPPRESS)  # one run, in a fresh process
    return parser.parse_args(argv)


def run_sections(args: argparse.Namespace, work: Path) -> dict:
    """Run the chosen sections; each section's figures under its own key."""
    sections = args.only or list(SECTIONS)
    quick = args.quick
    counts = args.counts or list(SCALE_COUNTS_QUICK if quick else SCALE_COUNTS)
    jobs = {
        "core": ("core", lambda: bench_core_by_producer(2 if quick else 5)),
        "memory": ("memory", lambda: bench_memory([15, 150, 500] if quick else [15, 150, 1500], work)),
        "one": ("one_invoice", lambda: bench_one_invoice(1 if quick else 3, work)),
        "cache": ("cache", lambda: bench_cache(work)),
        "breakdown": ("breakdown", lambda: bench_breakdown(20 if quick else 100, work)),
        "arrivals": ("arrivals", lambda: bench_arrivals(args.invoices or (20 if quick else 200), work)),
        "scale": (
            "scale",
            lambda: bench_scale(
                counts,
                work,
                per_partition_max=max(counts) if args.full or quick else PER_PARTITION_MAX,
                headline_rounds=SCALE_HEADLINE_ROUNDS,
            ),
        ),
    }
    report: dict = {}
    for name in SECTIONS:
        if name in sections:
            key, job = jobs[name]
            started = time.perf_counter()
            _log(f"{name} ...")
            report[key] = job()
            report.setdefault("section_seconds", {})[name] = round(time.perf_counter() - started, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.child_run:
        print(json.dumps(_child_run(json.loads(args.child_run))))
        return 0
    started = time.perf_counter()
    report: dict = {
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "quick": args.quick,
        "full": args.full,
        "argv": sys.argv[1:] if argv is None else argv,
    }
    with tempfile.TemporaryDirectory() as tmp:
        report.update(run_sections(args, Path(tmp)))
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report["regressions"] = regressions(report, _previous_results())
    out = RESULTS / f"{report['timestamp'].replace(':', '').replace('+0000', 'Z')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    _print_summary(report, out)
    if not args.no_report:
        from report import write_report

        for path in write_report(report, source=out):
            print(f"written {path.relative_to(REPO)}")
    return 0


def _print_summary(report: dict, out: Path) -> None:
    from report import headline_table

    print()
    print(headline_table(report))
    for item in report.get("regressions", []):
        print(f"REGRESSION: {item['figure']}: {item['before']} -> {item['now']} (more than 20% worse)")
    print(f"\ntotal {report['total_seconds']} s; written {out.relative_to(REPO)}")


if __name__ == "__main__":
    raise SystemExit(main())
