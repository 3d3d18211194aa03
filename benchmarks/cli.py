"""The command line: options, the chosen sections in order, the results file, the report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import benchmarks
from benchmarks import harness
from benchmarks.regressions import regressions
from benchmarks.sections import SECTIONS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options (``argv`` defaults to the command line)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=benchmarks.__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller documents and counts")
    parser.add_argument("--full", action="store_true", help="also one run per partition at 500 invoices (slow)")
    parser.add_argument("--only", choices=list(SECTIONS), action="append", help="run only these sections")
    parser.add_argument("--counts", type=lambda s: [int(x) for x in s.split(",")], help="scale counts, e.g. 10,100")
    parser.add_argument("--invoices", type=int, default=None, help="invoices for the arrivals section")
    parser.add_argument("--no-report", action="store_true", help="write the results file only, no REPORT.md")
    parser.add_argument("--child-run", metavar="SPEC", help=argparse.SUPPRESS)  # one run, in a fresh process
    return parser.parse_args(argv)


def run_sections(options: argparse.Namespace, work: Path) -> dict:
    """Run the chosen sections in their fixed order; each section's figures under its own key."""
    chosen = options.only or list(SECTIONS)
    report: dict = {}
    for name, section in SECTIONS.items():
        if name not in chosen:
            continue
        started = time.perf_counter()
        harness.log(f"{name} ...")
        report[section.KEY] = section.run(options, work)
        report.setdefault("section_seconds", {})[name] = round(time.perf_counter() - started, 1)
    return report


def main(argv: list[str] | None = None, *, results: Path = harness.RESULTS) -> int:
    """Run the benchmarks; ``results`` is where the results file goes (tests pass a temporary folder)."""
    options = parse_args(argv)
    harness.default_signals()
    if options.child_run:
        print(json.dumps(harness.child_run(json.loads(options.child_run))))
        return 0
    started = time.perf_counter()
    report: dict = {
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "quick": options.quick,
        "full": options.full,
        "argv": sys.argv[1:] if argv is None else argv,
    }
    with tempfile.TemporaryDirectory() as tmp:
        report.update(run_sections(options, Path(tmp)))
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["regressions"] = regressions(report, harness.previous_results(results))
    out = harness.write_results(report, results)
    print_summary(report, out)
    if not options.no_report:
        from benchmarks.report import write_report

        for path in write_report(report, source=out):
            print(f"written {_shown(path)}")
    return 0


def print_summary(report: dict, out: Path) -> None:
    """The headline table, any regressions, and where the results went."""
    from benchmarks.report import headline_table

    print()
    print(headline_table(report))
    for item in report.get("regressions", []):
        print(f"REGRESSION: {item['figure']}: {item['before']} -> {item['now']} (more than 20% worse)")
    print(f"\ntotal {report['total_seconds']} s; written {_shown(out)}")


def _shown(path: Path) -> Path:
    return path.relative_to(harness.REPO) if path.is_relative_to(harness.REPO) else path
