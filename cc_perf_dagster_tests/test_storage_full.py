"""Storage that cannot be written (full, read-only): one run says why, no run after it, exit status 1."""

from __future__ import annotations

import errno
import os

import pytest
from dagster import DagsterInstance

from cc_perf_dagster_tests.conftest import TEST_INVOICES

FILES = [TEST_INVOICES / name for name in ("CI004731586.pdf", "CS003702114.pdf", "CS003837319.pdf")]


@pytest.fixture
def failing_writes(monkeypatch, tmp_path):
    """Every output a step stores fails with ``errno`` (the IO manager's writes); the caller sets it."""
    import cc_perf_dagster.io_manager as io_manager

    monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "storage"))
    failing = {}

    def write(path, text):
        raise OSError(failing["errno"], os.strerror(failing["errno"]))

    monkeypatch.setattr(io_manager, "atomic_write_text", write)
    return failing


def test_a_full_storage_fails_one_run_with_the_reason_and_starts_no_other(failing_writes):
    from cc_perf_dagster.runner import InvoiceRunner

    failing_writes["errno"] = errno.ENOSPC
    with DagsterInstance.ephemeral() as instance:
        runner = InvoiceRunner(instance, in_process=True)
        outcomes = runner.process(FILES)
        (run,) = instance.get_runs()  # not each invoice again on its own, no sheet
    reason = "OSError: [Errno 28] No space left on device (step invoice.plan_page_batches)"
    assert runner.storage_error == reason
    assert [(o.status, o.error, o.run_id) for o in outcomes] == [("failed", reason, run.run_id)] * 3


def test_another_error_of_a_range_run_still_isolates_its_invoices(failing_writes):
    from cc_perf_dagster.runner import InvoiceRunner

    failing_writes["errno"] = errno.EIO  # not the storage as a whole: perhaps one invoice's doing
    with DagsterInstance.ephemeral() as instance:
        runner = InvoiceRunner(instance, in_process=True)
        outcomes = runner.process(FILES)
        assert len(instance.get_runs()) == 4  # the range, then each invoice on its own
    assert runner.storage_error is None
    assert [o.error for o in outcomes] == ["OSError: [Errno 5] Input/output error (step invoice.plan_page_batches)"] * 3


def test_cc_perf_process_exits_1_saying_the_storage_cannot_be_written(failing_writes, tmp_path, monkeypatch, capsys):
    from cc_perf_dagster import cli

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))  # the command exports it; put back after
    failing_writes["errno"] = errno.EROFS
    status = cli.main(["process", "--in-process", "--dagster-home", str(tmp_path / "home"), *map(str, FILES)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines()[-1] == (
        "cc-perf: the storage cannot be written, so no further run was started: OSError: [Errno 30] "
        "Read-only file system (step invoice.plan_page_batches); the files are registered: run "
        "`cc-perf process` again once it can be written"
    )
