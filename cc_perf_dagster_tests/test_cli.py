"""``cc-perf`` through a real subprocess, as scripts use it."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from cc_perf_dagster_tests.conftest import (
    BAD_INVOICES,
    DOCUMENT_KEYS,
    ITEM_KEYS,
    TEST_INVOICES,
    blank_page,
    corrupt_content_stream,
    expected_for,
    hide_page,
    tableless_document,
    unreconciled_document,
)

REQUIRED_KEYS = set(DOCUMENT_KEYS)
ITEM_KEY_SET = set(ITEM_KEYS)


def cc_perf(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cc_perf_dagster.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


class TestExtract:
    def test_json(self):
        pdf = TEST_INVOICES / "CI004848705.pdf"
        done = cc_perf("extract", str(pdf))
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        assert REQUIRED_KEYS <= data.keys()
        assert all(ITEM_KEY_SET <= item.keys() for item in data["line_items"])
        assert data["line_items"] == expected_for(pdf)["line_items"]

    def test_csv_booking_rows(self):
        pdf = TEST_INVOICES / "CS003837319.pdf"
        done = cc_perf("extract", str(pdf), "--format", "csv")
        assert done.returncode == 0, done.stderr
        rows = list(csv.reader(io.StringIO(done.stdout)))
        assert rows[0] == ["Invoice Date", "Vendor", "Invoice#", "Description", "Price", "Qty"]
        billed = [i for i in expected_for(pdf)["line_items"] if i["quantity"] > 0]
        assert len(rows) - 1 == len(billed)
        assert rows[1] == [
            "1/17/2025",
            "Creative Co-op",
            "CS003837319",
            f"XS9826A - UPC: 0191009727774 - {billed[0]['description']}",
            "1.60",
            "24",
        ]

    @pytest.mark.parametrize("name", sorted(p.name for p in BAD_INVOICES.iterdir()))
    def test_bad_input_exits_2_with_one_line(self, name):
        done = cc_perf("extract", str(BAD_INVOICES / name))
        assert done.returncode == 2
        assert done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0] and "Traceback" not in done.stderr

    def test_text_that_cannot_be_decoded_exits_2_saying_so(self, tmp_path):
        from cc_perf_dagster_tests.conftest import PRODUCER_INVOICES, without_unicode_maps

        pdf = without_unicode_maps(PRODUCER_INVOICES / "chromium" / "CI004731586.pdf", tmp_path / "CI004731586.pdf")
        done = cc_perf("extract", str(pdf))
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.startswith("cc-perf: CI004731586.pdf: page 1: the text cannot be read: its fonts map ")
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1

    def test_missing_file(self, tmp_path):
        done = cc_perf("extract", str(tmp_path / "nope.pdf"))
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.strip() == f"cc-perf: {tmp_path / 'nope.pdf'}: no such file"

    def test_directory(self, tmp_path):
        done = cc_perf("extract", str(tmp_path))
        assert done.returncode == 2 and "not a PDF" in done.stderr


UNBOOKABLE = {
    "tableless": (lambda dst: tableless_document(dst), "no line items could be read (the table has no text layer?)"),
    "blank_page": (
        lambda dst: blank_page(TEST_INVOICES / "CI004731586.pdf", dst, page=2),
        "page 2 of 2 has no text layer (its lines were not read)",
    ),
    "hidden_page": (
        lambda dst: hide_page(TEST_INVOICES / "CI004731586.pdf", dst, page=2),
        'only 1 of 2 pages could be read (the PDF\'s page tree declares 2, its "Page N of M" lines say 2)',
    ),
    "unreconciled": (
        lambda dst: unreconciled_document(dst),
        "the printed totals do not add up to the line items read; "
        "1 line does not multiply out (Extended is not quantity x Your Price: read or printed wrong): DA1067",
    ),
}


class TestNotBooked:
    """Documents read but not bookable: what was read is printed, the status is 3, stderr says why."""

    @pytest.mark.parametrize("kind", sorted(UNBOOKABLE))
    def test_extract_prints_the_json_and_exits_3_with_the_reason(self, kind, tmp_path):
        make, reason = UNBOOKABLE[kind]
        pdf = make(tmp_path / "CS004417220.pdf")
        done = cc_perf("extract", str(pdf))
        assert done.returncode == 3, done.stderr
        data = json.loads(done.stdout)
        assert REQUIRED_KEYS <= data.keys() and data["invoice_number"] == "CI004731586"
        assert done.stderr.splitlines() == [f"cc-perf: CS004417220.pdf: not bookable: {reason}"]

    def test_extract_csv_too(self, tmp_path):
        pdf = blank_page(TEST_INVOICES / "CI004731586.pdf", tmp_path / "x.pdf", page=2)
        done = cc_perf("extract", str(pdf), "--format", "csv")
        assert done.returncode == 3 and done.stdout.startswith("Invoice Date,Vendor,Invoice#")
        assert len(done.stdout.splitlines()) > 1 and len(done.stderr.splitlines()) == 1

    def test_the_minimum_consistency_is_an_option(self, tmp_path):
        pdf = unreconciled_document(tmp_path / "x.pdf")
        done = cc_perf("--min-consistency", "0.99", "extract", str(pdf))
        assert done.returncode == 3 and "consistency score 0.971 is below the minimum 0.99" in done.stderr

    def test_summary_marks_it_and_exits_3_or_2_when_an_input_is_also_bad(self, tmp_path):
        pdf = tableless_document(tmp_path / "CS004417220.pdf")
        done = cc_perf("summary", str(TEST_INVOICES / "CS003702114.pdf"), str(pdf))
        assert done.returncode == 3
        rows = {line.split()[0]: line.split()[-1] for line in done.stdout.splitlines()[2:]}
        assert rows == {"CS003702114.pdf": "yes", "CS004417220.pdf": "no"}
        assert "CS004417220.pdf: not bookable: no line items" in done.stderr
        assert cc_perf("summary", str(pdf), str(BAD_INVOICES / "empty.pdf")).returncode == 2

    def test_help_documents_the_exit_codes(self):
        for args in (("--help",), ("extract", "--help"), ("process", "--help")):
            done = cc_perf(*args)
            assert done.returncode == 0 and "3  not booked" in done.stdout and "2  bad input" in done.stdout


class TestEngineOption:
    def test_extract_with_pdfium_reads_the_same_line_items(self):
        pdf = TEST_INVOICES / "CI004848705.pdf"
        done = cc_perf("extract", "--engine", "pdfium", str(pdf))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["line_items"] == expected_for(pdf)["line_items"]

    def test_summary_with_pdfium(self):
        done = cc_perf("summary", "--engine", "pdfium", str(TEST_INVOICES / "CS003702114.pdf"))
        assert done.returncode == 0, done.stderr
        assert "CS003702114" in done.stdout

    def test_an_unknown_engine_is_a_usage_error(self):
        done = cc_perf("extract", "--engine", "mupdf", str(TEST_INVOICES / "CI004848705.pdf"))
        assert done.returncode == 2 and "invalid choice: 'mupdf'" in done.stderr

    def test_pdfium_without_pypdfium2_exits_2_saying_what_to_install(self, tmp_path):
        # A pypdfium2 that cannot be imported, first on the path: as if it were not installed
        # (its raw bindings, pypdfium2_raw, come with it).
        for package in ("pypdfium2", "pypdfium2_raw"):
            (tmp_path / package).mkdir()
            (tmp_path / package / "__init__.py").write_text("raise ImportError('not installed')\n")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "cc_perf_dagster.cli",
                "extract",
                "--engine",
                "pdfium",
                str(TEST_INVOICES / "CI004848705.pdf"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
        )
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        assert "cc-perf: the pdfium text engine needs pypdfium2" in done.stderr
        assert "pip install 'cc-perf-dagster[pdfium]'" in done.stderr and "Traceback" not in done.stderr


def test_summary_table_lists_every_invoice_and_flags_bad_ones():
    done = cc_perf("summary", str(TEST_INVOICES), str(BAD_INVOICES / "empty.pdf"))
    assert done.returncode == 2
    assert "CS003837319" in done.stdout and "CI004848705" in done.stdout
    assert "empty.pdf: empty file" in done.stderr


@pytest.mark.slow
class TestProcess:
    """`cc-perf process`: real Dagster runs through the multiprocess executor."""

    def test_good_and_bad_files_each_get_their_outcome(self, tmp_path):
        home = tmp_path / "home"
        good = [TEST_INVOICES / "CI004731586.pdf", TEST_INVOICES / "CS003702114.pdf"]
        bad = BAD_INVOICES / "truncated.pdf"
        done = cc_perf("process", "--dagster-home", str(home), "--json", *map(str, good), str(bad))
        assert done.returncode == 2, done.stderr
        outcomes = {o["partition_key"]: o for o in json.loads(done.stdout)}
        assert set(outcomes) == {"CI004731586", "CS003702114", "truncated"}
        for key in ("CI004731586", "CS003702114"):
            o = outcomes[key]
            assert o["status"] == "materialized" and o["error"] is None
            for figure in ("processing_time_s", "cpu_time_s", "peak_rss_mb", "pages", "batches", "line_items",
                           "billed_lines", "cache_hits", "cache_misses", "cache_hit_rate", "parallel_speedup",
                           "pages_per_s", "consistency_score"):  # fmt: skip
                assert isinstance(o[figure], (int, float)), figure
            assert o["invoice_number"] == key
        assert outcomes["truncated"]["status"] == "failed"
        assert "truncated.pdf: truncated or damaged PDF" in outcomes["truncated"]["error"]
        progress = [line for line in done.stderr.splitlines() if line.startswith("cc-perf: [")]
        assert len(progress) == 3 and "Traceback" not in done.stderr
        assert (home / "dagster.yaml").exists()
        sheet = (home / "cc_perf" / "assets" / "purchasing_sheet.csv").read_text()
        assert "CI004731586" in sheet and "CS003702114" in sheet
        overview = json.loads((home / "cc_perf" / "assets" / "performance_overview.json").read_text())
        assert overview["overall"]["invoices"] == 2 and overview["overall"]["failures"] == 1
        (failure,) = overview["failures"]
        assert failure["key"] == "truncated" and "truncated or damaged PDF" in failure["reason"]

    def test_an_invoice_failing_inside_a_range_run_is_isolated_and_the_others_rerun_as_a_range(self, tmp_path):
        from dagster import DagsterInstance

        from cc_perf_dagster.assets import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

        home, folder = tmp_path / "home", tmp_path / "in"
        folder.mkdir()
        names = ["CI004731586", "CI004790233", "CI004848705", "CS003702114"]
        for name in names:
            (folder / f"{name}.pdf").write_bytes((TEST_INVOICES / f"{name}.pdf").read_bytes())
        # Page 2 cannot be decoded: the file passes the pre-check (page 1 is fine) and fails in the run.
        corrupt_content_stream(TEST_INVOICES / "CS003837319.pdf", folder / "CI004800000_broken.pdf", page=2)
        done = cc_perf("process", "--dagster-home", str(home), "--json", str(folder))
        assert done.returncode == 2, done.stderr
        outcomes = {o["partition_key"]: o for o in json.loads(done.stdout)}
        broken = outcomes["CI004800000_broken"]  # in the middle of the partitions' order
        assert broken["status"] == "failed"
        assert broken["error"].startswith("CI004800000_broken.pdf: page 2: damaged content stream")
        assert {k for k, o in outcomes.items() if o["status"] == "materialized"} == set(names)
        assert "Traceback" not in done.stderr
        with DagsterInstance.from_config(str(home)) as instance:
            runs = [r for r in instance.get_runs() if r.job_name == "process_invoices"]
        ranges = {
            (r.tags.get(RANGE_START_TAG), r.tags.get(RANGE_END_TAG), r.tags.get(PARTITION_TAG), r.is_success)
            for r in runs
        }
        # The range run over all five fails; the invoices either side of the broken one run again
        # as two ranges, the broken one on its own: three more runs, not one per invoice.
        assert len(runs) == 4, ranges
        assert (None, None, "CI004800000_broken", False) in ranges
        assert ("CI004731586", "CI004790233", None, True) in ranges
        assert ("CI004848705", "CS003702114", None, True) in ranges

    def test_a_document_read_but_not_bookable_is_listed_as_not_booked_and_exits_3(self, tmp_path):
        folder = tmp_path / "in"
        folder.mkdir()
        for name in ("CI004790233", "CS003702114"):
            (folder / f"{name}.pdf").write_bytes((TEST_INVOICES / f"{name}.pdf").read_bytes())
        blank_page(TEST_INVOICES / "CI004731586.pdf", folder / "CI004800000_blank.pdf", page=2)
        home = tmp_path / "home"
        done = cc_perf("process", "--dagster-home", str(home), str(folder))
        assert done.returncode == 3, done.stderr
        reason = "CI004800000_blank.pdf: not bookable: page 2 of 2 has no text layer (its lines were not read)"
        assert f"cc-perf: [not booked] CI004800000_blank (CI004800000_blank.pdf): {reason}" in done.stderr
        status = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines()[2:5]}
        assert status == {
            "CI004790233": "materialized",
            "CI004800000_blank": "not_booked",
            "CS003702114": "materialized",
        }
        sheet = (home / "cc_perf" / "assets" / "purchasing_sheet.csv").read_text()
        assert "CI004790233" in sheet and "CS003702114" in sheet and "CI004731586" not in sheet
        overview = json.loads((home / "cc_perf" / "assets" / "performance_overview.json").read_text())
        assert [(f["key"], f["reason"]) for f in overview["failures"]] == [("CI004800000_blank", reason)]

    def test_the_same_bytes_under_two_names_are_processed_and_booked_once(self, tmp_path):
        folder, home = tmp_path / "in", tmp_path / "home"
        folder.mkdir()
        for name in ("a.pdf", "b.pdf"):
            (folder / name).write_bytes((TEST_INVOICES / "CS003702114.pdf").read_bytes())
        done = cc_perf("process", "--dagster-home", str(home), str(folder))
        assert done.returncode == 0, done.stderr  # a duplicate is not an error
        assert "cc-perf: [duplicate] b.pdf: same content as a.pdf (CS003702114), processed once" in done.stderr
        status = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines()[2:4]}
        assert status == {"a": "materialized", "b": "duplicate"}
        sheet = list(csv.reader(io.StringIO((home / "cc_perf" / "assets" / "purchasing_sheet.csv").read_text())))
        assert [row[2] for row in sheet[1:]] == ["CS003702114"] * 41
        again = cc_perf("process", "--dagster-home", str(home), "--json", str(folder / "b.pdf"))
        assert again.returncode == 0, again.stderr
        (outcome,) = json.loads(again.stdout)
        assert (outcome["status"], outcome["duplicate_of"]) == ("duplicate", "a")

    def test_the_engine_option_reaches_the_runs(self, tmp_path):
        home = tmp_path / "home"
        pdf = TEST_INVOICES / "CI004731586.pdf"
        done = cc_perf("process", "--dagster-home", str(home), "--json", "--engine", "pdfium", "--no-sheet", str(pdf))
        assert done.returncode == 0, done.stderr
        (outcome,) = json.loads(done.stdout)
        assert outcome["status"] == "materialized" and outcome["text_engine"].startswith("pdfium-")

    def test_table_output_and_success_status(self, tmp_path):
        done = cc_perf("process", "--dagster-home", str(tmp_path / "home"), str(TEST_INVOICES / "CI004790233.pdf"))
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0].split()[:3] == ["partition", "status", "pages"]
        assert "CI004790233  materialized" in done.stdout
        assert "All 1 registered invoices: p50 " in done.stdout


class TestCache:
    def test_stats_and_clear(self, tmp_path):
        from cc_perf_dagster.core.cache import PageCache, cache_key

        root = tmp_path / "cache"
        cache = PageCache(root)
        for n in range(3):
            cache.put(cache_key("page", str(n), "1"), {"n": n})
        done = cc_perf("cache", "stats", "--cache-dir", str(root), "--json")
        assert done.returncode == 0, done.stderr
        stats = json.loads(done.stdout)
        assert stats["entries"] == 3 and stats["bytes"] > 0
        done = cc_perf("cache", "clear", "--cache-dir", str(root))
        assert done.returncode == 0 and "cleared 3 cache entries" in done.stdout
        assert json.loads(cc_perf("cache", "stats", "--cache-dir", str(root), "--json").stdout)["entries"] == 0


@pytest.mark.slow
def test_retire_removes_the_partition_and_keeps_the_outputs(tmp_path):
    home = tmp_path / "home"
    assert cc_perf("process", "--dagster-home", str(home), str(TEST_INVOICES / "CI004790233.pdf")).returncode == 0
    done = cc_perf("retire", "--dagster-home", str(home), "CI004790233", "nope")
    assert done.returncode == 2 and "nope: no such invoice partition" in done.stderr
    assert "retired CI004790233" in done.stdout
    assert (home / "cc_perf" / "assets" / "invoice" / "CI004790233.json").exists()
    assert not (home / "cc_perf" / "registry" / "CI004790233.json").exists()
    code = "from dagster import DagsterInstance; print(DagsterInstance.get().get_dynamic_partitions('invoices'))"
    listed = subprocess.run([sys.executable, "-c", code], env={**__import__("os").environ, "DAGSTER_HOME": str(home)},
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert listed.stdout.strip() == "[]"


class TestErrorLines:
    def test_control_characters_in_a_file_name_are_escaped(self, tmp_path):
        hostile = tmp_path / "bad\nname\x1b[31m.pdf"
        hostile.write_bytes(b"not a pdf at all")
        done = cc_perf("extract", str(hostile))
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and "\x1b" not in done.stderr
        assert "bad\\nname\\x1b[31m.pdf" in done.stderr

    def test_summary_lines_are_escaped_too(self, tmp_path):
        hostile = tmp_path / "x\x1b[2Jy.pdf"
        hostile.write_bytes(b"")
        done = cc_perf("summary", str(hostile))
        assert done.returncode == 2 and "\x1b" not in done.stderr and "x\\x1b[2Jy.pdf" in done.stderr

    def test_missing_eof_marker_shows_one_percent_sign(self):
        done = cc_perf("extract", str(BAD_INVOICES / "truncated.pdf"))
        assert done.returncode == 2
        assert "%EOF" in done.stderr and "%%EOF" not in done.stderr

    def test_pypdf_stays_off_stderr(self, tmp_path):
        data = (TEST_INVOICES / "CI004848705.pdf").read_bytes()
        at = data.rindex(b"startxref") + len(b"startxref\n")
        end = data.index(b"\n", at)
        (tmp_path / "xref.pdf").write_bytes(data[:at] + str(int(data[at:end]) + 7).encode() + data[end:])
        done = cc_perf("extract", str(tmp_path / "xref.pdf"))
        assert done.returncode == 0 and done.stderr == ""
        assert any(w.startswith("pypdf: ") for w in json.loads(done.stdout)["warnings"])
