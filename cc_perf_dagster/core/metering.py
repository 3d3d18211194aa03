"""Resource metering: wall time, CPU time and peak resident memory of a piece of work.

Peak memory is the process's high-water mark (``ru_maxrss``, which includes everything the
process ever held, so a step process reports its own peak), cross-checked with the
current RSS from psutil where ``resource`` is unavailable.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import psutil

try:  # not on Windows
    import resource
except ImportError:  # pragma: no cover
    resource = None  # type: ignore[assignment]


def peak_rss_mb() -> float:
    """The current process's peak resident set size so far, in MiB."""
    current = psutil.Process().memory_info().rss / 2**20
    if resource is None:  # pragma: no cover
        return current
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return max(peak, current)


@dataclass(slots=True)
class Meter:
    """Measure a block of work.

    Example:
        >>> with Meter() as meter:
        ...     sum(range(1000))
        499500
        >>> meter.wall_s >= 0 and meter.cpu_s >= 0
        True
    """

    started: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    pid: int = field(default_factory=os.getpid)
    _wall0: float = 0.0
    _cpu0: float = 0.0

    def __enter__(self) -> Meter:
        self.started = time.time()
        self._wall0 = time.perf_counter()
        self._cpu0 = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._wall0
        self.cpu_s = time.process_time() - self._cpu0
        self.peak_rss_mb = peak_rss_mb()

    @property
    def finished(self) -> float:
        """Epoch seconds at the end of the block."""
        return self.started + self.wall_s
