"""Ctrl-C (or SIGTERM) during ``cc-perf process``: noticed wherever it lands, acted on between steps.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be when SIGINT arrives:
inside a garbage collector's callback it is printed and lost, inside a Dagster run Dagster's
own handler takes it (the run's steps stop and the run fails as interrupted), and the runner,
seeing a failed range run, used to retry every invoice on its own. While an
:class:`InterruptWatch` is open, SIGINT and SIGTERM only mark the watch, and every signal the
process receives is also written to a pipe (``signal.set_wakeup_fd``), so the watch sees the
ones Dagster's handler took as well. The runner asks :attr:`InterruptWatch.received` at its
checkpoints (after each file registered, between quick checks, before and after each run) and
stops there; a second signal raises ``KeyboardInterrupt`` at once. A signal's exception that
Python could only print (raised in a garbage collector's callback) is not printed: the watch
holds the signal.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any

WATCHED = (signal.SIGINT, signal.SIGTERM)


class InterruptWatch:
    """A context manager that turns SIGINT and SIGTERM into a flag for as long as it is open.

    Outside the main thread (where Python cannot install signal handlers) it watches nothing.
    A signal the process ignored when the watch opened (a background job's SIGINT) stays ignored.

    Example:
        >>> with InterruptWatch() as watch:
        ...     for item in work:  # doctest: +SKIP
        ...         if watch.received:
        ...             break
        ...         handle(item)
    """

    def __init__(self) -> None:
        self._signum: int | None = None
        self._handlers: dict[int, object] = {}
        self._pipe: tuple[int, int] | None = None
        self._previous_fd = -1
        self._previous_hook = sys.unraisablehook

    def __enter__(self) -> InterruptWatch:
        if threading.current_thread() is not threading.main_thread():
            return self
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        self._pipe = (read, write)
        self._previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        self._previous_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        for signum in WATCHED:
            handler = signal.getsignal(signum)
            if handler is not signal.SIG_IGN:
                self._handlers[signum] = handler
                signal.signal(signum, self._note)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._pipe is None:
            return
        self._drain()  # what the pipe holds, before it is closed
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)  # Dagster maps SIGTERM onto SIGINT's handler: both go back
        signal.set_wakeup_fd(self._previous_fd)
        sys.unraisablehook = self._previous_hook
        for fd in self._pipe:
            os.close(fd)
        self._pipe = None

    def _note(self, signum: int, frame: FrameType | None) -> None:
        # The pipe holds this signal already (Python writes it before calling the handler).
        before = self._signum
        if before is not None or len(self._drain()) > 1:  # the second one: stop now
            raise KeyboardInterrupt
        self._signum = signum

    def _unraisable(self, unraisable: Any) -> None:
        # A signal's exception (KeyboardInterrupt, or Dagster's DagsterExecutionInterruptedError
        # from inside a run in this process) raised in a garbage collector's callback is lost
        # there; Python prints it as a traceback. The watch holds the signal: nothing to print.
        kind = unraisable.exc_type
        if issubclass(kind, BaseException) and not issubclass(kind, Exception) and self.received is not None:
            return
        self._previous_hook(unraisable)

    def _drain(self) -> list[int]:
        """The watched signals the pipe holds (the first one is kept as :attr:`received`)."""
        seen: list[int] = []
        while self._pipe is not None:
            try:
                data = os.read(self._pipe[0], 512)
            except BlockingIOError:
                break
            if not data:
                break
            seen.extend(signum for signum in data if signum in self._handlers)
        if seen and self._signum is None:
            self._signum = seen[0]
        return seen

    @property
    def received(self) -> int | None:
        """The first signal received while the watch was open (``signal.SIGINT`` or ``SIGTERM``), else ``None``."""
        self._drain()
        return self._signum

    def exit_status(self) -> int:
        """The shell's status for the signal received: 128 plus its number (130 for Ctrl-C)."""
        return 128 + (self._signum or signal.SIGINT)


@contextmanager
def signal_handlers_kept(*signums: int) -> Iterator[None]:
    """Put the handlers of ``signums`` back on leaving: around a call that changes them as a side effect.

    Dagster's user-code boundary (``raise_execution_interrupts``) leaves SIGTERM mapped onto
    SIGINT's handler for good, so a process that only imported the definitions would turn
    SIGTERM into a ``KeyboardInterrupt`` traceback. Outside the main thread it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handlers = {signum: signal.getsignal(signum) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in handlers.items():
            if handler is not None:  # None: a handler not installed from Python, left as it is
                signal.signal(signum, handler)


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while a long-lived helper process is spawned, so that it starts ignoring it.

    Ctrl-C reaches every process of the terminal's process group. The forkserver ignores SIGINT
    once it has imported its preloads, not while it imports them (a second or two): started this
    way, a Ctrl-C then neither stops it nor prints its traceback. Its step processes install
    Dagster's handler as they start; its checking processes ignore SIGINT. A SIGINT to this
    process during the spawn itself (milliseconds) is lost. Outside the main thread it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with signal_handlers_kept(signal.SIGINT):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        yield
