"""Ctrl-C and SIGTERM: ``cc-perf process`` stops at its next step, says so in one line, loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from cc_perf_dagster.interrupts import InterruptWatch, sigint_ignored, signal_handlers_kept
from cc_perf_dagster_tests.conftest import BAD_INVOICES, TEST_INVOICES
from cc_perf_dagster_tests.helpers import batch_steps_started, gone, write_run_over_processes

GOOD = [TEST_INVOICES / name for name in ("CI004731586.pdf", "CS003702114.pdf", "CS003837319.pdf")]


def signal_self(signum: int = signal.SIGINT) -> None:
    """Send a signal to this process and let its handler run (Python runs it between bytecodes)."""
    os.kill(os.getpid(), signum)
    for _ in range(100):
        time.sleep(0)


class TestInterruptWatch:
    def test_a_first_signal_marks_the_watch_a_second_raises_and_everything_is_put_back(self):
        before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        hook = sys.unraisablehook
        with InterruptWatch() as watch:
            assert watch.received is None
            signal_self()
            assert watch.received == signal.SIGINT and watch.exit_status() == 130
            with pytest.raises(KeyboardInterrupt):
                signal_self(signal.SIGTERM)
        assert {s: signal.getsignal(s) for s in before} == before and sys.unraisablehook is hook
        previous = signal.set_wakeup_fd(-1)  # the watch's pipe is no longer the wakeup fd
        signal.set_wakeup_fd(previous)
        assert previous == -1

    def test_sigterm_exits_143(self):
        with InterruptWatch() as watch:
            signal_self(signal.SIGTERM)
        assert watch.received == signal.SIGTERM and watch.exit_status() == 143

    def test_a_signal_another_handler_took_is_seen_too(self):
        # as during a Dagster run, whose own handler replaces the watch's and only sets a flag
        taken = []
        with InterruptWatch() as watch:
            mine = signal.signal(signal.SIGINT, lambda signum, frame: taken.append(signum))
            signal_self()
            signal.signal(signal.SIGINT, mine)
            assert taken == [signal.SIGINT] and watch.received == signal.SIGINT

    def test_a_signal_ignored_when_the_watch_opened_stays_ignored(self):
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with InterruptWatch() as watch:
                signal_self()
                assert watch.received is None and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        finally:
            signal.signal(signal.SIGINT, previous)

    def test_a_signals_exception_lost_in_a_callback_is_not_printed_once_the_watch_holds_it(self, monkeypatch):
        printed = []
        monkeypatch.setattr(sys, "unraisablehook", printed.append)

        class Unraisable:
            def __init__(self, kind):
                self.exc_type = kind

        with InterruptWatch() as watch:
            sys.unraisablehook(Unraisable(KeyboardInterrupt))  # before any signal: printed
            signal_self()
            assert watch.received == signal.SIGINT
            sys.unraisablehook(Unraisable(KeyboardInterrupt))
            sys.unraisablehook(Unraisable(ValueError))  # not a signal's: printed
        assert [u.exc_type for u in printed] == [KeyboardInterrupt, ValueError]

    def test_outside_the_main_thread_it_watches_nothing(self):
        seen = []

        def watch_in_a_thread():
            with InterruptWatch() as watch:
                seen.append((watch.received, signal.getsignal(signal.SIGINT)))

        thread = threading.Thread(target=watch_in_a_thread)
        thread.start()
        thread.join()
        assert seen == [(None, signal.getsignal(signal.SIGINT))]


def test_handlers_changed_as_a_side_effect_are_put_back():
    before = signal.getsignal(signal.SIGTERM)
    with signal_handlers_kept(signal.SIGTERM):
        signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGINT))  # what Dagster's boundary does
    assert signal.getsignal(signal.SIGTERM) is before


def test_importing_the_definitions_leaves_sigterm_as_it_was():
    # Dagster's user-code boundary, entered while the definitions are built, mapped SIGTERM onto
    # SIGINT's handler: a forkserver (which imports them) stopped by SIGTERM printed a traceback.
    code = (
        "import signal; before = signal.getsignal(signal.SIGTERM); import cc_perf_dagster.definitions; "
        "print(before == signal.getsignal(signal.SIGTERM))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "True", done.stderr


def test_a_process_spawned_while_sigint_is_ignored_starts_ignoring_it():
    code = "import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"
    with sigint_ignored():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "True"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.fixture
def storage(tmp_path, monkeypatch):
    monkeypatch.setenv("CC_PERF_STORAGE", str(tmp_path / "storage"))
    return tmp_path / "storage"


def process_runs(instance) -> list:
    return [run for run in instance.get_runs() if run.job_name == "process_invoices"]


class TestRunner:
    """The runner in this process (runs in-process too), a signal sent to itself where a user's Ctrl-C would land."""

    def test_during_registration_the_files_so_far_become_partitions_and_no_run_starts(self, storage, monkeypatch):
        from cc_perf_dagster.runner import InvoiceRunner

        with DagsterInstance.ephemeral() as instance:
            runner = InvoiceRunner(instance, in_process=True)
            register = runner.registry.register_content

            def register_then_ctrl_c(path):
                entry = register(path)
                if path == GOOD[1]:
                    signal_self()
                return entry

            monkeypatch.setattr(runner.registry, "register_content", register_then_ctrl_c)
            outcomes = runner.process(GOOD)
            assert instance.get_dynamic_partitions("invoices") == ["CI004731586", "CS003702114"]
            assert instance.get_runs() == []
        assert runner.interrupted == signal.SIGINT
        assert [(o.partition_key, o.status, o.error) for o in outcomes] == [
            ("CI004731586", "interrupted", "interrupted before its run"),
            ("CS003702114", "interrupted", "interrupted before its run"),
            ("CS003837319", "interrupted", "interrupted before it was registered"),
        ]

    def test_an_interrupted_run_is_not_retried_and_no_other_run_starts(self, storage, monkeypatch):
        import cc_perf_dagster.ops as ops
        from cc_perf_dagster.runner import InvoiceRunner

        read = ops.read_batch_item
        sent = []

        def read_then_ctrl_c(*args, **kwargs):
            if not sent:
                sent.append(1)
                signal_self()  # inside the run's step: Dagster's handler stops the step
            return read(*args, **kwargs)

        monkeypatch.setattr(ops, "read_batch_item", read_then_ctrl_c)
        seen = []
        files = [*GOOD, BAD_INVOICES / "scanned.pdf"]  # the scan would run on its own, after the range
        with DagsterInstance.ephemeral() as instance:
            runner = InvoiceRunner(instance, in_process=True, progress=seen.append)
            outcomes = runner.process(files)
            (run,) = instance.get_runs()  # one run: no retry one by one, no run of the scan, no sheet
            assert run.status == DagsterRunStatus.FAILURE
            assert run.tags["dagster/max_retries"] == "0"  # a daemon's run retries leave it alone
            assert [o.status for o in outcomes] == ["interrupted"] * 4
            assert [o.run_id for o in outcomes] == [run.run_id] * 3 + [None]
            assert [o.error for o in outcomes] == ["its run was interrupted"] * 3 + ["interrupted before its run"]
            assert runner.interrupted == signal.SIGINT and seen == []

            # nothing is lost: the next process of the same files does them all
            again = InvoiceRunner(instance, in_process=True).process(files)
            assert [o.status for o in again] == ["materialized"] * 3 + ["failed"]
            assert len(process_runs(instance)) == 3  # the interrupted one, the range, the scan

    def test_between_runs_what_ran_is_reported_and_the_rest_waits(self, storage, monkeypatch):
        from cc_perf_dagster.runner import InvoiceRunner

        files = [*GOOD, BAD_INVOICES / "scanned.pdf"]
        with DagsterInstance.ephemeral() as instance:
            runner = InvoiceRunner(instance, in_process=True)
            execute = runner._execute

            def execute_then_sigterm(*args, **kwargs):
                result = execute(*args, **kwargs)
                signal_self(signal.SIGTERM)
                return result

            monkeypatch.setattr(runner, "_execute", execute_then_sigterm)
            outcomes = runner.process(files)
            (run,) = instance.get_runs()
            assert run.status == DagsterRunStatus.SUCCESS
        assert [o.status for o in outcomes] == ["materialized"] * 3 + ["interrupted"]
        assert runner.interrupted == signal.SIGTERM


def wait_for(condition, what: str, proc: subprocess.Popen, timeout_s: float = 300):
    """Poll ``condition`` until it holds; fail naming ``what`` if the command ends or time runs out first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"cc-perf process ended ({proc.returncode}) before {what}: {proc.stderr.read()}")
        time.sleep(0.1)
    pytest.fail(f"no {what} after {timeout_s} s")


def step_started(home: Path):
    if len(list((home / "cc_perf" / "registry").glob("*.json"))) < 4:  # the instance is made before
        return None
    with DagsterInstance.from_config(str(home)) as instance:
        run, _ = batch_steps_started(instance)
        return run and run.run_id


def process_stopped_mid_run(home: Path, folder: Path, signum: int) -> tuple[subprocess.Popen, str, str, str]:
    """``cc-perf process`` over ``folder``, sent ``signum`` (its whole process group, as a terminal
    sends Ctrl-C) once its page-batch steps have started: the command, its run id, stdout, stderr."""
    # SIGINT is reset first: a shell running this suite in the background may have it ignored.
    start = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "from cc_perf_dagster.cli import main; sys.exit(main())"
    )
    command = [sys.executable, "-c", start, "process", "--dagster-home", str(home), str(folder)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        run_id = wait_for(lambda: step_started(home), "a batch step's start", proc)
        os.killpg(proc.pid, signum)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc, run_id, out, err


@pytest.mark.slow
def test_ctrl_c_stops_cc_perf_process_in_one_line_and_the_next_process_does_the_rest(tmp_path):
    folder, home = tmp_path / "in", tmp_path / "home"
    keys = write_run_over_processes(folder)  # its steps in processes of their own
    # A terminal's Ctrl-C: SIGINT to the command's whole process group (steps, forkserver, checkers).
    proc, run_id, out, err = process_stopped_mid_run(home, folder, signal.SIGINT)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert err.splitlines()[-1] == (
        "cc-perf: interrupted: 0 of 4 files processed; the other 4 run with the next `cc-perf process` "
        "of the same files (or Materialize in the UI)"
    )
    assert [line.split()[1] for line in out.splitlines() if line.startswith("CS007")] == ["interrupted"] * 4
    deadline = time.monotonic() + 60  # every process it started ends with it (none is left running)
    while not gone(proc.pid, group=True):
        assert time.monotonic() < deadline, "processes of cc-perf process still running a minute after it ended"
        time.sleep(0.1)
    with DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()  # no retries one by one, no sheet refresh
        assert run.run_id == run_id and run.status == DagsterRunStatus.FAILURE
        assert instance.get_dynamic_partitions("invoices") == keys

    again = subprocess.run(
        [sys.executable, "-m", "cc_perf_dagster.cli", "process", "--dagster-home", str(home), str(folder)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert [line.split()[1] for line in again.stdout.splitlines() if line.startswith("CS007")] == ["materialized"] * 4


def test_ctrl_c_in_any_other_command_is_one_line_and_status_130(monkeypatch, capsys):
    from cc_perf_dagster import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "extract_invoice", interrupted)
    assert cli.main(["extract", str(GOOD[0])]) == 130
    assert capsys.readouterr().err == "cc-perf: interrupted\n"


def test_ctrl_c_in_summary_prints_the_table_so_far(monkeypatch, capsys):
    from cc_perf_dagster import cli

    read = cli.extract_invoice

    def interrupted_at_the_third(path, **kwargs):
        if path == GOOD[2]:
            raise KeyboardInterrupt
        return read(path, **kwargs)

    monkeypatch.setattr(cli, "extract_invoice", interrupted_at_the_third)
    assert cli.main(["summary", *map(str, GOOD)]) == 130
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[2:]] == [GOOD[0].name, GOOD[1].name]
    assert err == "cc-perf: interrupted: 2 of 3 files read\n"
