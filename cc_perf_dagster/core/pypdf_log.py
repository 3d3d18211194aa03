"""pypdf's log records, kept off the user's stderr and given to the document being read.

pypdf reports recoverable oddities (a wrong cross-reference offset, a stray byte after a
stream) through the ``pypdf`` logger. Left alone, Python's last-resort handler prints them on
the stderr of whichever process reads the PDF: a CLI user or a Dagster step sees lines that
name no file. :func:`capture_pypdf_warnings` collects them, on the current thread, into a list
that becomes part of the document's warnings; outside such a block they are dropped.

The handler sits on the ``pypdf`` logger and stops propagation there; records still pass
every handler on ``pypdf``'s child loggers first, so ``core/pdf.py``'s watch on
``pypdf.filters`` (damaged Flate streams) keeps working. No logger level is raised, which
would silence the records before any handler saw them.

Example:
    >>> with capture_pypdf_warnings() as warnings:   # doctest: +SKIP
    ...     invoice = read_the_document()
    >>> warnings                                        # doctest: +SKIP
    ['pypdf: incorrect startxref pointer(1)']
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

PYPDF_LOGGER = "pypdf"
_local = threading.local()


class _ToCurrentDocument(logging.Handler):
    """Appends each record to the innermost capture list of the thread that logged it."""

    def emit(self, record: logging.LogRecord) -> None:
        stack = getattr(_local, "stack", None)
        if stack:
            message = f"pypdf: {record.getMessage()}"
            if message not in stack[-1]:  # pypdf repeats itself per object; once per document is enough
                stack[-1].append(message)


_HANDLER = _ToCurrentDocument(logging.WARNING)


def keep_pypdf_off_stderr() -> None:
    """Route the ``pypdf`` logger to :func:`capture_pypdf_warnings` only (idempotent)."""
    logger = logging.getLogger(PYPDF_LOGGER)
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
    logger.propagate = False


@contextmanager
def capture_pypdf_warnings() -> Iterator[list[str]]:
    """Collect pypdf's warnings logged on this thread during the block (each once, ``pypdf: ...``)."""
    keep_pypdf_off_stderr()
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    captured: list[str] = []
    stack.append(captured)
    try:
        yield captured
    finally:
        stack.pop()
