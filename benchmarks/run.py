"""`make bench`: performance figures, each a ratio against a baseline measured in the same run.

Sections (``--only NAME`` runs one):
    core     pages/s of the extractor against raw ``PdfPage.extract_text()`` on the same pages.
    memory   peak resident memory of a whole extraction at 15, 150 and 1,500 pages, each in a
             fresh process; the figure that matters is the growth over the 15-page document.
    one      one 15-page invoice, cold, through Dagster: the adaptive design (cost-model batches,
             forkserver) against the naive one (one step per page, spawn) and in-process.
    scale    N invoices of 15 pages (200 by default) in range runs against a plain
             ``multiprocessing.Pool(2)`` script running the same core over the same files.

Writes ``benchmarks/results/<timestamp>.json`` and prints a table. Absolute times are context;
the headline figures are the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cc_perf_dagster.core import extract_invoice  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
TARGET_CORE_RATIO = 1.3
TARGET_MEMORY_GROWTH_MB = 30.0


def _raw_extract(path: Path) -> int:
    from pypdf import PdfReader

    reader = PdfReader(path)
    for page in reader.pages:
        page.extract_text()
    return len(reader.pages)


def _best_of(fn, path: Path, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn(path)
        best = min(best, time.perf_counter() - started)
    return best


def bench_core(files: list[Path], rounds: int) -> dict:
    """Core extractor against raw pypdf text extraction, interleaved file by file."""
    raw_total = core_total = 0.0
    pages = 0
    for path in files:
        pages += _raw_extract(path)  # warm the OS cache and imports for both
        extract_invoice(path)
        raw_total += _best_of(_raw_extract, path, rounds)
        core_total += _best_of(extract_invoice, path, rounds)
    return {
        "files": len(files),
        "pages": pages,
        "raw_extract_text_s": round(raw_total, 4),
        "core_s": round(core_total, 4),
        "raw_pages_per_s": round(pages / raw_total, 1),
        "core_pages_per_s": round(pages / core_total, 1),
        "core_cost_ratio": round(core_total / raw_total, 3),
        "target_ratio_max": TARGET_CORE_RATIO,
    }


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
    return {"rows": rows, "target_growth_max_mb": TARGET_MEMORY_GROWTH_MB}


# --- Dagster --------------------------------------------------------------------------------


def naive_job():
    """The naive design: one step per page, spawn start method."""
    from cc_perf_dagster.definitions import PROCESS_JOB, build_definitions

    return build_definitions(pages_per_batch=1, start_method="spawn").resolve_job_def(PROCESS_JOB)


def _dagster_run(files: list[Path], workdir: Path, *, design: str) -> dict:
    """Register ``files`` on a fresh instance and storage, materialize them, time it (cold)."""
    from dagster import AssetKey, execute_job, reconstructable

    from cc_perf_dagster.core.registry import FileRegistry
    from cc_perf_dagster.definitions import (
        PROCESS_JOB,
        defs,
        extract_invoices_job,
        process_invoices_job,
        storage_run_config,
    )
    from cc_perf_dagster.runner import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

    storage = workdir / f"storage-{design}-{time.time_ns()}"
    home = workdir / f"home-{design}-{time.time_ns()}"
    home.mkdir(parents=True)
    registry = FileRegistry(storage / "registry")
    keys = [registry.register(f).key for f in files]
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    run_config = {**storage_run_config(str(storage)), **quiet}
    tags = {PARTITION_TAG: keys[0]} if len(keys) == 1 else {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
    with _shipped_instance(home) as instance:
        instance.add_dynamic_partitions("invoices", keys)
        started = time.perf_counter()
        if design == "in_process":
            result = defs.resolve_job_def(PROCESS_JOB).execute_in_process(
                instance=instance, tags=tags, run_config=run_config
            )
            success, events = result.success, result.get_asset_materialization_events()
        else:
            target = {"naive": naive_job, "extract_only": extract_invoices_job}.get(design, process_invoices_job)
            with execute_job(reconstructable(target), instance=instance, tags=tags, run_config=run_config) as result:
                success, events = result.success, result.get_asset_materialization_events()
        wall = time.perf_counter() - started
    if not success:
        raise RuntimeError(f"{design} run failed")
    metadata = [
        {
            k: v.value
            for k, v in e.event_specific_data.materialization.metadata.items()
            if isinstance(v.value, (int, float))
        }
        for e in events
        if e.event_specific_data.materialization.asset_key == AssetKey("invoice")
    ]
    return {
        "wall_s": round(wall, 3),
        "invoices": len(metadata),
        "max_step_peak_rss_mb": max(m["peak_rss_mb"] for m in metadata),
        "batches": sum(m["batches"] for m in metadata),
    }


def _shipped_instance(home: Path):
    """A temporary instance configured like the one the project ships (cc_perf_dagster.instance)."""
    import yaml
    from dagster import DagsterInstance

    from cc_perf_dagster.instance import DAGSTER_YAML

    return DagsterInstance.local_temp(str(home), overrides=yaml.safe_load(DAGSTER_YAML))


def _median_run(files: list[Path], workdir: Path, design: str, rounds: int) -> dict:
    runs = [_dagster_run(files, workdir, design=design) for _ in range(rounds)]
    runs.sort(key=lambda r: r["wall_s"])
    return {**runs[len(runs) // 2], "all_wall_s": [r["wall_s"] for r in runs]}


def bench_one_invoice(rounds: int, workdir: Path) -> dict:
    """One 15-page invoice, cold, three designs measured side by side (interleaved)."""
    files = [REPO / "test_invoices" / "CS003837319.pdf"]
    adaptive = _median_run(files, workdir, "adaptive", rounds)
    naive = _median_run(files, workdir, "naive", rounds)
    in_process = _median_run(files, workdir, "in_process", rounds)
    return {
        "pages": 15,
        "adaptive_forkserver": adaptive,
        "naive_per_page_spawn": naive,
        "in_process": in_process,
        "adaptive_over_naive": round(adaptive["wall_s"] / naive["wall_s"], 3),
        "target_ratio_max": 0.35,
        "target_step_peak_rss_mb_max": 150,
    }


def _pool_extract(path: str) -> int:
    return len(extract_invoice(path).line_items)


def bench_scale(count: int, workdir: Path) -> dict:
    """``count`` distinct 15-page invoices: range runs against multiprocessing.Pool(2)."""
    import multiprocessing

    files = _write_invoices(workdir / f"scale-{count}", count)
    started = time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        lines = sum(pool.map(_pool_extract, [str(f) for f in files]))
    pool_wall = time.perf_counter() - started
    dagster = _dagster_run(files, workdir, design="adaptive")
    extract_only = _dagster_run(files, workdir, design="extract_only")
    return {
        "dagster_extract_only_range_run": extract_only,
        "extract_only_over_pool2": round(extract_only["wall_s"] / pool_wall, 3),
        "invoices": count,
        "pages": 15 * count,
        "line_items": lines,
        "pool2_wall_s": round(pool_wall, 3),
        "dagster_range_run": dagster,
        "dagster_over_pool2": round(dagster["wall_s"] / pool_wall, 3),
        "dagster_invoices_per_min": round(count / dagster["wall_s"] * 60, 1),
        "pool2_invoices_per_min": round(count / pool_wall * 60, 1),
        "target_ratio_max": 1.5,
    }


def bench_cache(workdir: Path) -> dict:
    """Cold, warm, one page changed, renamed copy: in-process runs on one storage, figures from metadata."""
    import dataclasses
    import shutil

    from dagster import AssetKey

    from cc_perf_dagster.core.registry import FileRegistry
    from cc_perf_dagster.definitions import PROCESS_JOB, defs, storage_run_config
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
    run_config = {**storage_run_config(str(storage)), "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    job = defs.resolve_job_def(PROCESS_JOB)
    rows = {}
    with _shipped_instance(home) as instance:
        for name, path in (
            ("cold", original),
            ("warm", original),
            ("one_page_changed", changed),
            ("renamed_copy", renamed),
        ):
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


def _write_invoices(folder: Path, count: int, pages: int = 15) -> list[Path]:
    from cc_perf_dagster_tests.fixtures.generate import write_large_order_confirmation

    folder.mkdir(parents=True)
    files = []
    for index in range(count):
        path = folder / f"CS{900000000 + index:09d}.pdf"
        write_large_order_confirmation(path, pages, seed=index)
        files.append(path)
    return files


def bench_arrivals(count: int, workdir: Path) -> dict:
    """``count`` files dropped at once: first sensor tick to last materialization, against Pool(2)."""
    import multiprocessing

    from dagster import build_sensor_context, execute_job, reconstructable

    from cc_perf_dagster.definitions import build_definitions, process_invoices_job, storage_run_config
    from cc_perf_dagster.sensors import build_incoming_folder_sensor

    incoming = workdir / "arrivals"
    files = _write_invoices(incoming, count)
    started = time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        pool.map(_pool_extract, [str(f) for f in files])
    pool_wall = time.perf_counter() - started

    storage = workdir / "arrivals-storage"
    sensor = build_incoming_folder_sensor(directory=incoming, storage_root=str(storage), minimum_interval_seconds=30)
    defs = build_definitions(storage_root=str(storage), incoming_folder=str(incoming))
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
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
            for request in result.run_requests:
                config = {**storage_run_config(str(storage)), **quiet}
                with execute_job(
                    reconstructable(process_invoices_job), instance=instance, tags=request.tags, run_config=config
                ) as run:
                    if not run.success:
                        raise RuntimeError("an arrivals run failed")
                runs += 1
            if ticks > 1 and not result.run_requests:
                break
        wall = time.perf_counter() - started
    materialized = len(list((storage / "assets" / "invoice").glob("*.json")))
    return {
        "files": count,
        "pages": 15 * count,
        "materialized": materialized,
        "ticks": ticks,
        "runs": runs,
        "sensor_tick_s_total": round(tick_s, 3),
        "first_tick_to_last_materialization_s": round(wall, 3),
        "note": "ticks evaluated back to back; a live daemon adds one 30 s interval for the stability wait",
        "pool2_wall_s": round(pool_wall, 3),
        "arrivals_over_pool2": round(wall / pool_wall, 3),
    }


SECTIONS = ("core", "memory", "one", "scale", "cache", "arrivals")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller documents")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    parser.add_argument("--invoices", type=int, default=None, help="invoices for the scale section")
    args = parser.parse_args(argv)
    sections = args.only or list(SECTIONS)
    files = sorted((REPO / "test_invoices").glob("*.pdf"))
    sizes = [15, 150, 500] if args.quick else [15, 150, 1500]
    report: dict = {
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "core" in sections:
            report["core"] = bench_core(files, rounds=2 if args.quick else 5)
        if "memory" in sections:
            report["memory"] = bench_memory(sizes, work)
        if "one" in sections:
            report["one_invoice"] = bench_one_invoice(1 if args.quick else 3, work)
        if "cache" in sections:
            report["cache"] = bench_cache(work)
        if "arrivals" in sections:
            report["arrivals"] = bench_arrivals(args.invoices or (20 if args.quick else 200), work)
        if "scale" in sections:
            report["scale"] = bench_scale(args.invoices or (20 if args.quick else 200), work)
    RESULTS.mkdir(parents=True, exist_ok=True)
    previous = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"), reverse=True)]
    report["regressions"] = regressions(report, previous)
    out = RESULTS / f"{report['timestamp'].replace(':', '').replace('+0000', 'Z')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    print(f"written {out.relative_to(REPO)}")
    return 0


# Headline figures (lower is better), as paths into a results file.
HEADLINES = {
    "core cost ratio": ("core", "core_cost_ratio"),
    "memory growth at the largest size (MB)": ("memory", "rows", -1, "growth_over_smallest_mb"),
    "one invoice adaptive / naive": ("one_invoice", "adaptive_over_naive"),
    "warm / cold extraction CPU": ("cache", "warm_cpu_over_cold"),
    "range run / Pool(2)": ("scale", "dagster_over_pool2"),
    "arrivals / Pool(2)": ("arrivals", "arrivals_over_pool2"),
}
REGRESSION_THRESHOLD = 0.20


def _headline(report: dict, path: tuple) -> float | None:
    value = report
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return None
    return value if isinstance(value, (int, float)) else None


def regressions(report: dict, previous: list[dict]) -> list[dict]:
    """Headline figures more than 20% worse than in the newest earlier results file that has them."""
    found = []
    for name, path in HEADLINES.items():
        now = _headline(report, path)
        earlier = next((p for p in previous if _headline(p, path) is not None), None)
        if now is None or earlier is None:
            continue
        before = _headline(earlier, path)
        if before > 0 and now > before * (1 + REGRESSION_THRESHOLD):
            found.append({"figure": name, "before": before, "now": now, "previous_run": earlier.get("timestamp")})
    return found


def print_report(report: dict) -> None:
    if "core" in report:
        core = report["core"]
        print("core extractor vs raw pypdf extract_text() on the same pages")
        print(
            f"  pages {core['pages']}: raw {core['raw_pages_per_s']} pages/s, core {core['core_pages_per_s']} pages/s"
        )
        print(f"  cost ratio core/raw = {core['core_cost_ratio']} (target <= {TARGET_CORE_RATIO})")
    if "memory" in report:
        print("peak resident memory of one extraction (fresh process each)")
        for row in report["memory"]["rows"]:
            print(
                f"  {row['pages']:>5} pages, {row['items']:>6} items, {row['file_mb']:>6} MB file: "
                f"{row['peak_rss_mb']} MB (+{row['growth_over_smallest_mb']} MB)"
            )
        print(f"  target: growth at most {TARGET_MEMORY_GROWTH_MB} MB")
    if "one_invoice" in report:
        one = report["one_invoice"]
        print("one 15-page invoice, cold, through Dagster (median wall)")
        for name in ("adaptive_forkserver", "naive_per_page_spawn", "in_process"):
            r = one[name]
            peak = r["max_step_peak_rss_mb"]
            print(f"  {name:<22} {r['wall_s']:>7.2f} s  batches {r['batches']:>2}  step peak {peak} MB")
        print(f"  adaptive / naive = {one['adaptive_over_naive']} (target <= 0.35)")
    if "cache" in report:
        c = report["cache"]
        print("cache: one 15-page invoice (extraction CPU of the invoice, from its metadata)")
        for name, r in c["runs"].items():
            print(
                f"  {name:<17} cpu {r['cpu_time_s']:.3f} s  hits {r['cache_hits']:>2}  misses {r['cache_misses']:>2}"
                f"  hit rate {r['cache_hit_rate']:.3f}"
            )
        print(f"  warm / cold extraction CPU = {c['warm_cpu_over_cold']} (target <= 0.10)")
    if "arrivals" in report:
        ar = report["arrivals"]
        print(f"{ar['files']} files dropped at once ({ar['pages']} pages): sensor + range runs")
        print(
            f"  first tick to last materialization {ar['first_tick_to_last_materialization_s']:.2f} s "
            f"({ar['ticks']} ticks, {ar['runs']} runs, {ar['materialized']} materialized); "
            f"Pool(2) {ar['pool2_wall_s']:.2f} s; ratio {ar['arrivals_over_pool2']}"
        )
    for item in report.get("regressions", []):
        print(f"REGRESSION: {item['figure']}: {item['before']} -> {item['now']} (more than 20% worse)")
    if "scale" in report:
        sc = report["scale"]
        d = sc["dagster_range_run"]
        print(f"{sc['invoices']} invoices ({sc['pages']} pages), cold")
        pool_rate = sc["pool2_invoices_per_min"]
        print(f"  multiprocessing.Pool(2) script: {sc['pool2_wall_s']:.2f} s ({pool_rate} invoices/min)")
        print(f"  Dagster range run:              {d['wall_s']:.2f} s ({sc['dagster_invoices_per_min']} invoices/min)")
        print(f"  Dagster / Pool(2) = {sc['dagster_over_pool2']} (target <= 1.5)")
        e = sc["dagster_extract_only_range_run"]
        print(
            f"  invoice asset only (no booking rows): {e['wall_s']:.2f} s, / Pool(2) = {sc['extract_only_over_pool2']}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
