"""An inter-process lock on a file: what the cache, the registry and the Dagster home share.

``fcntl.flock`` on a lock file beside the data it guards. The lock belongs to the open file,
so it is released when the holder exits or dies; a crash never leaves a stale lock behind.
It works between the processes of one machine and, on NFSv4 and most cluster file systems,
between machines.

Example:
    >>> with file_lock("/tmp/cc-perf-example.lock"):   # doctest: +SKIP
    ...     ...  # one process at a time here
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` (created, with its folder, if missing) for the block."""
    lock = Path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield lock
    finally:
        os.close(fd)  # closing the descriptor releases the lock
