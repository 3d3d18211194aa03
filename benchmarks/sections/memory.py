"""memory: peak resident memory of a whole extraction at 15, 150 and 1,500 pages (500 with
``--quick``), each in a fresh process, with each text engine; the curve must be flat."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import REPO, pdfium_engine

NAME = "memory"
KEY = "memory"
TARGET_MEMORY_GROWTH_MB = 30.0
TARGET_MEMORY_RATIO = 2.0


def run(options, workdir: Path) -> dict:
    """The section's figures."""
    return bench_memory([15, 150, 500] if options.quick else [15, 150, 1500], workdir)


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
invoice = extract_invoice(sys.argv[1], engine=sys.argv[2])
print(json.dumps({"pages": invoice.page_count, "items": len(invoice.line_items), "peak_rss_mb": peak_mb()}))
"""


def bench_memory(sizes: list[int], workdir: Path) -> dict:
    """Peak RSS of a whole extraction per document size, each in a fresh interpreter, per engine."""
    from cc_perf_dagster_tests.fixtures.generate import write_large_order_confirmation

    paths = []
    for pages in sizes:
        path = workdir / f"large_{pages}.pdf"
        write_large_order_confirmation(path, pages)
        paths.append(path)
    result = _curve(paths, "pypdf")
    if pdfium_engine() is not None:
        pdfium = _curve(paths, "pdfium")
        result["pdfium_rows"] = pdfium["rows"]
        result["pdfium_peak_ratio_largest_over_smallest"] = pdfium["peak_ratio_largest_over_smallest"]
    return result


def _curve(paths: list[Path], engine: str) -> dict:
    rows = []
    for path in paths:
        probe = [sys.executable, "-c", _MEMORY_PROBE, str(path), engine]
        done = subprocess.run(probe, capture_output=True, text=True, check=True, cwd=REPO)
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
