"""Screening files before a run: the structure and the first page of each, over processes.

``cc-perf process`` and the incoming-folder sensor check every file this way before its run,
so that a file that cannot be processed runs (and fails) on its own, with its reason, while
the others go through in ranges.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from cc_perf_dagster.core.errors import InvalidDocumentError
from cc_perf_dagster.core.extract import read_pages
from cc_perf_dagster.core.pdf import Limits, PdfDocument, TextEngine

log = logging.getLogger(__name__)


def quick_check(
    path: str | os.PathLike[str], limits: Limits | None = None, engine: str | TextEngine | None = None
) -> str | None:
    """Why a file cannot be processed, from its structure and its first page, or ``None``."""
    try:
        with PdfDocument(path, limits=limits, engine=engine) as doc:
            first = next(read_pages(doc, [1]))
    except InvalidDocumentError as exc:
        return str(exc)
    except OSError as exc:
        return f"{Path(path).name}: {exc.strerror or exc}"
    if not first.has_text:
        return "suspect"  # a scan, or a cover page: run it on its own
    return None


def quick_checks(
    paths: Sequence[str | os.PathLike[str]],
    *,
    engine: str | None = None,
    processes: int = 1,
    context: Any = None,
    stop: Callable[[], bool] | None = None,
) -> list[str | None]:
    """:func:`quick_check` of every path, in order; in ``processes`` processes where more than one.

    The processes come from the multiprocessing ``context`` (a started forkserver's makes them at
    once); they ignore SIGINT, which the caller's ``stop`` answers for them. A pool that breaks
    (a process killed by a file) leaves the files it has not answered to this process. Once
    ``stop()`` is true the checks end early: the verdicts so far are returned, in order.
    """
    check = functools.partial(quick_check, engine=engine)
    stopped = stop or (lambda: False)
    verdicts: list[str | None] = []
    if processes > 1 and len(paths) > 1:
        chunk = max(1, len(paths) // (processes * 4))
        pool = ProcessPoolExecutor(processes, mp_context=context, initializer=_ignore_sigint)
        try:
            for verdict in pool.map(check, paths, chunksize=chunk):
                verdicts.append(verdict)
                if stopped():
                    return verdicts
        except BrokenProcessPool:
            log.warning("quick checks: a checking process died; the rest are checked here")
        finally:
            pool.shutdown(cancel_futures=True)
    for path in paths[len(verdicts) :]:
        if stopped():
            break
        verdicts.append(check(path))
    return verdicts


def _ignore_sigint() -> None:
    """A checking process's start: Ctrl-C reaches the whole process group; the caller decides."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
