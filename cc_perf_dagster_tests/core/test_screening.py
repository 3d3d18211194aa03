"""``core.screening``: every file's verdict, in order, whether checked here or over processes."""

import multiprocessing
import os
import signal
from concurrent.futures.process import BrokenProcessPool
from typing import ClassVar

from cc_perf_dagster.core import screening
from cc_perf_dagster.core.screening import quick_check, quick_checks
from cc_perf_dagster_tests.conftest import BAD_INVOICES, TEST_INVOICES


def files():
    bad = ["truncated.pdf", "encrypted.pdf", "not_a_pdf.pdf", "scanned.pdf", "empty.pdf"]
    good = sorted(TEST_INVOICES.glob("*.pdf"))[: len(bad)]
    return [path for pair in zip(good, (BAD_INVOICES / name for name in bad), strict=True) for path in pair]


def test_over_processes_each_file_gets_the_verdict_it_gets_here():
    paths = files()
    here = [quick_check(path) for path in paths]
    assert here[0::2] == [None] * 5  # the test invoices pass; each bad file says why, naming itself
    for path, verdict in zip(paths[1::2], here[1::2], strict=True):
        assert verdict == "suspect" or path.name in verdict
    context = multiprocessing.get_context("forkserver")
    assert quick_checks(paths, processes=2, context=context) == here
    assert quick_checks(paths) == here


class FakePool:
    """A pool answering in this process; ``die_after`` answers, then it breaks (as a file killing a process would)."""

    made: ClassVar[list["FakePool"]] = []
    die_after = 3

    def __init__(self, processes, mp_context=None, initializer=None):
        self.initializer, self.shut = initializer, None
        FakePool.made.append(self)

    def map(self, fn, paths, chunksize=1):
        for path in list(paths)[: self.die_after]:
            yield fn(path)
        raise BrokenProcessPool("a process of the pool died")

    def shutdown(self, wait=True, *, cancel_futures=False):
        self.shut = cancel_futures


def test_files_a_broken_pool_did_not_answer_are_checked_here(monkeypatch):
    monkeypatch.setattr(screening, "ProcessPoolExecutor", FakePool)
    paths = files()
    assert quick_checks(paths, processes=2) == [quick_check(path) for path in paths]
    assert FakePool.made[-1].shut is True  # shut down, what it had not started cancelled


def test_once_stop_says_so_the_checks_end_with_the_verdicts_so_far():
    paths = files()
    here = [quick_check(path) for path in paths]
    asked = []

    def stop_after(n):
        def stop():
            asked.append(1)
            return len(asked) > n

        return stop

    assert quick_checks(paths, stop=stop_after(3)) == here[:3]  # asked before each file: 3 checked
    asked.clear()
    context = multiprocessing.get_context("forkserver")
    # over processes, asked after each verdict: the fourth answer is the last taken
    assert quick_checks(paths, processes=2, context=context, stop=stop_after(3)) == here[:4]


def test_the_checking_processes_ignore_ctrl_c(monkeypatch):
    # Ctrl-C reaches the terminal's whole process group: the caller decides, through stop
    monkeypatch.setattr(screening, "ProcessPoolExecutor", FakePool)
    quick_checks(files(), processes=2)
    initializer = FakePool.made[-1].initializer
    pid = os.fork()
    if pid == 0:  # the initializer, then a SIGINT, in a process of its own
        try:
            initializer()
            os.kill(os.getpid(), signal.SIGINT)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
