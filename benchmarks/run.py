"""`make bench`: performance figures, each a ratio against a baseline measured in the same run.

Sections:
    core     pages/s of the extractor against raw ``PdfPage.extract_text()`` on the same pages.
    memory   peak resident memory of a whole extraction at 15, 150 and 1,500 pages, each in a
             fresh process; the figure that matters is the growth over the 15-page document.

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
import resource, sys, json
from cc_perf_dagster.core import extract_invoice
invoice = extract_invoice(sys.argv[1])
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"pages": invoice.page_count, "items": len(invoice.line_items), "peak_rss_mb": peak_kb / 1024}))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller documents")
    args = parser.parse_args(argv)
    files = sorted((REPO / "test_invoices").glob("*.pdf"))
    sizes = [15, 150, 500] if args.quick else [15, 150, 1500]
    with tempfile.TemporaryDirectory() as tmp:
        report = {
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "core": bench_core(files, rounds=2 if args.quick else 5),
            "memory": bench_memory(sizes, Path(tmp)),
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{report['timestamp'].replace(':', '').replace('+0000', 'Z')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    core = report["core"]
    print("core extractor vs raw pypdf extract_text() on the same pages")
    print(f"  pages {core['pages']}: raw {core['raw_pages_per_s']} pages/s, core {core['core_pages_per_s']} pages/s")
    print(f"  cost ratio core/raw = {core['core_cost_ratio']} (target <= {TARGET_CORE_RATIO})")
    print("peak resident memory of one extraction (fresh process each)")
    for row in report["memory"]["rows"]:
        print(
            f"  {row['pages']:>5} pages, {row['items']:>6} items, {row['file_mb']:>6} MB file: "
            f"{row['peak_rss_mb']} MB (+{row['growth_over_smallest_mb']} MB)"
        )
    print(f"  target: growth at most {TARGET_MEMORY_GROWTH_MB} MB")
    print(f"written {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
