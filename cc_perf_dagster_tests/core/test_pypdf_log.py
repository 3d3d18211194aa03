"""pypdf's warnings go to the document's warnings, never to stderr."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

from cc_perf_dagster.core.extract import extract_invoice
from cc_perf_dagster.core.pypdf_log import capture_pypdf_warnings
from cc_perf_dagster_tests.conftest import TEST_INVOICES, corrupt_content_stream

PDF = TEST_INVOICES / "CI004848705.pdf"


def wrong_startxref(tmp_path):
    """A readable PDF whose startxref offset is off by a few bytes: pypdf warns and recovers."""
    data = PDF.read_bytes()
    match = list(re.finditer(rb"startxref\s+(\d+)", data))[-1]
    path = tmp_path / "xref.pdf"
    path.write_bytes(data[: match.start(1)] + str(int(match.group(1)) + 7).encode() + data[match.end(1) :])
    return path


def test_warnings_join_the_document_and_stay_off_stderr(tmp_path, capfd):
    invoice = extract_invoice(wrong_startxref(tmp_path))
    assert any(w.startswith("pypdf: incorrect startxref") for w in invoice.warnings)
    assert invoice.consistency_score == 1.0
    assert capfd.readouterr().err == ""


def test_in_a_fresh_process_nothing_reaches_stderr(tmp_path):
    code = (
        f"from cc_perf_dagster.core.extract import extract_invoice; extract_invoice({str(wrong_startxref(tmp_path))!r})"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == ""


def test_captures_are_per_block_and_per_thread():
    logger = logging.getLogger("pypdf._reader")
    with capture_pypdf_warnings() as outer:
        logger.warning("one")
        with capture_pypdf_warnings() as inner:
            logger.warning("two")
            logger.warning("two")
        logger.info("not a warning")
    logger.warning("outside any document: dropped")
    assert (outer, inner) == (["pypdf: one"], ["pypdf: two"])


def test_damaged_streams_are_still_detected(tmp_path):
    from cc_perf_dagster.core.errors import DamagedPdfError

    damaged = corrupt_content_stream(PDF, tmp_path / "damaged.pdf", page=2)
    try:
        extract_invoice(damaged)
    except DamagedPdfError as exc:
        assert exc.page == 2
    else:
        raise AssertionError("a damaged content stream was read silently")
