"""The benchmark package (``python -m benchmarks``): its options, a section on one small file, the
results file it writes, and regression detection. Nothing here is timed or compared with a time."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from benchmarks import cli, report
from benchmarks.harness import REPO
from benchmarks.regressions import regressions
from benchmarks.sections import SECTIONS, core
from cc_perf_dagster_tests.conftest import TEST_INVOICES, expected_for

SMALL = TEST_INVOICES / "CI004731586.pdf"


class TestOptions:
    def test_every_option_parses(self):
        options = cli.parse_args(
            ["--quick", "--full", "--only", "core", "--only", "scale", "--counts", "10,100", "--invoices", "7",
             "--no-report"]
        )  # fmt: skip
        assert (options.quick, options.full, options.no_report) == (True, True, True)
        assert options.only == ["core", "scale"]
        assert (options.counts, options.invoices, options.child_run) == ([10, 100], 7, None)

    def test_defaults_run_every_section(self):
        options = cli.parse_args([])
        assert (options.quick, options.full, options.only, options.counts, options.invoices) == (
            False, False, None, None, None,
        )  # fmt: skip

    def test_an_unknown_section_is_refused(self, capsys):
        with pytest.raises(SystemExit):
            cli.parse_args(["--only", "nonsense"])
        assert "invalid choice" in capsys.readouterr().err

    def test_sections_in_their_order_and_each_rendered_by_the_report(self):
        assert list(SECTIONS) == ["core", "memory", "one", "scale", "cache", "breakdown", "arrivals", "cluster"]
        assert {section.KEY for section in SECTIONS.values()} == set(report.SECTIONS)


def test_the_core_section_on_one_small_file():
    figures = core.bench_core([SMALL], rounds=1)
    assert figures["files"] == 1 and figures["pages"] == expected_for(SMALL)["page_count"]
    assert figures["core_s"] > 0 and figures["raw_extract_text_s"] > 0
    assert figures["core_cost_ratio"] > 0 and figures["core_pages_per_s"] > 0


def test_a_run_writes_one_results_file_of_the_known_shape(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(core, "run", lambda options, workdir: core.bench_core([SMALL], rounds=1))
    assert cli.main(["--only", "core", "--no-report", "--quick"], results=tmp_path) == 0
    (written,) = tmp_path.glob("*.json")
    results = json.loads(written.read_text())
    assert set(results) == {
        "timestamp", "machine", "quick", "full", "argv", "core", "section_seconds", "total_seconds", "regressions",
    }  # fmt: skip
    assert results["argv"] == ["--only", "core", "--no-report", "--quick"]
    assert (results["quick"], results["full"], list(results["section_seconds"])) == (True, False, ["core"])
    assert results["core"]["files"] == 1 and results["regressions"] == []
    assert "core extractor / raw pypdf" in capsys.readouterr().out  # the headline table


class TestRegressions:
    def results(self, ratio, *, quick=False, timestamp="t"):
        return {"timestamp": timestamp, "quick": quick, "core": {"core_cost_ratio": ratio}}

    def test_a_figure_over_20_percent_worse_is_flagged(self):
        (found,) = regressions(self.results(1.3), [self.results(1.0, timestamp="before")])
        assert (found["before"], found["now"], found["previous_run"]) == (1.0, 1.3, "before")
        assert "core extractor" in found["figure"]

    def test_within_20_percent_or_better_is_not(self):
        assert regressions(self.results(1.19), [self.results(1.0)]) == []
        assert regressions(self.results(0.5), [self.results(1.0)]) == []

    def test_quick_runs_are_compared_only_with_quick_runs(self):
        assert regressions(self.results(2.0, quick=True), [self.results(1.0)]) == []
        assert regressions(self.results(2.0, quick=True), [self.results(1.0, quick=True)]) != []

    def test_the_newest_earlier_file_that_has_the_figure_is_the_reference(self):
        older_shape = {"timestamp": "newest", "quick": False}
        (found,) = regressions(self.results(1.5), [older_shape, self.results(1.0, timestamp="older")])
        assert found["previous_run"] == "older"


def test_the_cluster_section_says_why_it_was_skipped(tmp_path, monkeypatch):
    from benchmarks.sections import cluster
    from cc_perf_dagster_tests import local_cluster

    monkeypatch.setattr(local_cluster, "services_missing", lambda: "no Redis at redis://127.0.0.1:1")
    figures = cluster.run(cli.parse_args(["--only", "cluster"]), tmp_path)
    assert figures == {"skipped": "no Redis at redis://127.0.0.1:1"}
    assert "Skipped: no Redis at redis://127.0.0.1:1." in report.section_cluster(figures, False)


def test_the_memory_section_measures_both_engines(tmp_path):
    from benchmarks.report import section_memory
    from benchmarks.sections.memory import bench_memory

    memory = bench_memory([2, 4], tmp_path)
    assert [r["pages"] for r in memory["rows"]] == [r["pages"] for r in memory["pdfium_rows"]] == [2, 4]
    assert all(r["peak_rss_mb"] > 10 for r in memory["rows"] + memory["pdfium_rows"])
    text = section_memory(memory, plots=False)
    assert "Peak RSS MB, pdfium engine" in text and "With the pdfium engine:" in text


def _ignored_signals(preexec, code: str) -> set[int]:
    """The signals ignored by a grandchild: a benchmark process started with ``preexec`` runs
    ``code`` and then starts a plain interpreter, which reports its SigIgn mask."""
    show_mask = "print(open('/proc/self/status').read().split('SigIgn:')[1].split()[0])"
    script = f"{code}\nimport subprocess, sys\nsubprocess.run([sys.executable, '-c', {show_mask!r}], check=True)"
    done = subprocess.run(
        [sys.executable, "-c", script], preexec_fn=preexec, capture_output=True, text=True, cwd=REPO, check=True
    )
    mask = int(done.stdout.split()[-1], 16)
    return {number for number in signal.Signals if mask >> (number - 1) & 1}


def test_a_benchmark_started_with_stop_signals_ignored_starts_its_processes_with_the_defaults():
    """Launched in the background, the benchmarks may inherit an ignored SIGTERM; their Pool(2)
    baseline's workers then outlived the pool's terminate and its exit hung. The benchmarks put
    the default actions back before they start anything."""
    stop = {signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM}

    def ignore_stop_signals():
        for number in stop:
            signal.signal(number, signal.SIG_IGN)

    assert _ignored_signals(ignore_stop_signals, "pass") >= stop  # inherited as the shell left them
    fixed = _ignored_signals(ignore_stop_signals, "from benchmarks.harness import default_signals\ndefault_signals()")
    assert not fixed & stop


def test_the_pool_baseline_ends_with_sigterm_ignored():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.pool_baseline", str(SMALL), str(SMALL), str(SMALL)],
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),
        capture_output=True, text=True, cwd=REPO, check=True, timeout=120,
    )  # fmt: skip
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["files"] == 3
    assert outcome["line_items"] == 3 * len(expected_for(SMALL)["line_items"])


@pytest.mark.slow
def test_the_drop_latency_is_measured_under_a_live_daemon_beside_the_command(tmp_path):
    from benchmarks.sections.arrivals import bench_drop_latency

    drop = bench_drop_latency(tmp_path, rounds=1)
    (one,) = drop["rounds"]
    assert 0 < one["requested_s"] < one["booked_s"] == drop["drop_to_booked_s"]
    assert drop["command_s"] > 0 and drop["drop_over_command"] == round(one["booked_s"] / drop["command_s"], 3)
    (moved,) = drop["moved_rounds"]
    assert 0 < moved["requested_s"] < moved["booked_s"] == drop["moved_to_booked_s"]
    booked = (tmp_path / "drop" / "storage" / "assets" / "booking_rows").glob("*.csv")
    assert sorted(path.stem for path in booked) == ["CS900000000", "CS900000001"]
    arrivals = {
        "first_tick_to_last_materialization_s": 1.0, "pool2_wall_s": 1.0, "files": 1, "pages": 15, "ticks": 2,
        "runs": 1, "materialized": 1, "arrivals_over_pool2": 1.0, "note": "n", "drop": drop,
    }  # fmt: skip
    text = report.section_arrivals(arrivals, False)
    assert f"median {report.fmt(drop['drop_to_booked_s'])} s against" in text
    assert f"first look): {moved['booked_s']} s; median {report.fmt(moved['booked_s'])} s." in text
