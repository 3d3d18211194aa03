"""How a step fails for some of its partitions: the reason of each, and their keys for reruns.

A run over a range fails as a whole when one invoice does; the keys under ``failed_partitions``
let whoever launched it run the others again without the failing ones (``cc-perf process`` and
the ``rerun_failed_ranges`` sensor do).
"""

import errno
import re
from collections.abc import Iterable
from typing import Any

from dagster import Failure, MetadataValue

from cc_perf_dagster.core.errors import EngineUnavailableError
from cc_perf_dagster.core.pdf import TextEngine
from cc_perf_dagster.resources import ExtractionSettings

# Failure metadata: the partitions (invoices) that failed the step, as a JSON list of keys.
FAILED_PARTITIONS = "failed_partitions"


# Failure metadata: of those, the ones read but not bookable (core.bookability), as a JSON list.
NOT_BOOKED_PARTITIONS = "not_booked_partitions"


# Failure metadata: of those, the copies of another partition's bytes, not read again (core.dedupe).
DUPLICATE_PARTITIONS = "duplicate_partitions"


def partition_failure(
    failures: dict[str, str], *, not_booked: Iterable[str] = (), duplicates: Iterable[str] = (), **metadata: Any
) -> Failure:
    """The step's failure: each failing partition's reason, and the keys under ``failed_partitions``.

    A run over a range fails as a whole when one invoice does; the keys let whoever launched it
    run the other partitions again without the failing ones (``cc-perf process`` does).
    ``not_booked`` names those that were read but refused (listed under ``not_booked_partitions``),
    ``duplicates`` those whose bytes are another partition's (``duplicate_partitions``).
    """
    reasons = [failures[key] for key in sorted(failures)]
    extra = {}
    for name, keys in ((NOT_BOOKED_PARTITIONS, not_booked), (DUPLICATE_PARTITIONS, duplicates)):
        named = sorted(set(keys) & set(failures))
        if named:
            extra[name] = MetadataValue.json(named)
    return Failure(
        description="\n".join(reasons),
        metadata={
            "failed": MetadataValue.json(reasons),
            FAILED_PARTITIONS: MetadataValue.json(sorted(failures)),
            **extra,
            **metadata,
        },
    )


def failed_partitions(step_failures: Iterable[Any], name: str = FAILED_PARTITIONS) -> set[str]:
    """The partitions that step-failure events (``DagsterEvent``) name under ``name``.

    ``name`` is ``failed_partitions`` (every failing partition), ``not_booked_partitions``
    (those read but refused) or ``duplicate_partitions`` (copies of another partition's bytes).
    """
    failed: set[str] = set()
    for event in step_failures:
        user = event.step_failure_data.user_failure_data
        named = user.metadata.get(name) if user else None
        if named is not None and isinstance(named.value, list):
            failed.update(str(key) for key in named.value)
    return failed


# Errors of the storage as a whole (full, over quota, read-only): every run would fail alike.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
_ERRNO = re.compile(r"\[Errno (\d+)\]")
_OS_ERRORS = frozenset({"OSError", "IOError", "PermissionError"})  # the class names errno-carrying errors have


def failure_reason(step_failure: Any) -> str:
    """A step failure's reason in one line: the step's own description, else the innermost error.

    Dagster wraps an error raised while storing or loading an output in one of its own
    (``DagsterExecutionHandleOutputError: Error occurred while handling output ...``); what went
    wrong is the error it was raised from (``OSError: [Errno 28] No space left on device: ...``).
    """
    data = step_failure.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    while error.cause is not None:
        error = error.cause
    return f"{' '.join(error.message.split())} (step {step_failure.step_key})"


def storage_failure(step_failure: Any) -> bool:
    """Whether a step failed because the storage cannot be written at all (full, over quota, read-only)."""
    error = step_failure.step_failure_data.error
    while error is not None:
        found = _ERRNO.search(error.message) if error.cls_name in _OS_ERRORS else None
        if found and int(found.group(1)) in STORAGE_ERRNOS:
            return True
        error = error.cause
    return False


def text_engine(settings: ExtractionSettings) -> TextEngine:
    """The configured text engine; a name that is unknown or not installed fails the step with the reason."""
    try:
        return settings.text_engine()
    except (EngineUnavailableError, ValueError) as exc:
        raise Failure(description=f"text engine {settings.engine!r}: {exc}") from exc
