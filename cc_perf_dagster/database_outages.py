"""Riding out a PostgreSQL outage: new connections wait for the database instead of failing at once.

dagster-postgres opens a connection for every read and write (``NullPool``) and retries a refused
one 5 times with exponential backoff from 0.2 s, about 6 s in all; past that the write fails, and
with it the step (in a Celery worker) or the run (in its coordinator). A database restarted or
failed over takes longer than that. On the cluster profile every process that loads these
definitions (each run's coordinator, every Celery worker, the code server) therefore retries a
refused PostgreSQL connection for up to ``$CC_PERF_DATABASE_WAIT_S`` seconds (default 60) before
Dagster's own retries see the failure: an outage shorter than that costs time, not the run.

It is a SQLAlchemy ``do_connect`` hook (a public SQLAlchemy event, no Dagster internals) on every
engine of the process, and acts on PostgreSQL dialects only. A statement already running when the
connection drops is not retried (dagster-postgres keeps no connection open between writes, so
that window is small); the daemon and the webserver do not load the definitions and keep
Dagster's 6 s.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from cc_perf_dagster.core.errors import CcPerfError

log = logging.getLogger(__name__)

DATABASE_WAIT_ENV = "CC_PERF_DATABASE_WAIT_S"
DEFAULT_DATABASE_WAIT_S = 60.0
FIRST_DELAY_S = 0.2
LONGEST_DELAY_S = 2.0

_installed: list[Callable[..., Any]] = []


class DatabaseWaitError(CcPerfError, ValueError):
    """``$CC_PERF_DATABASE_WAIT_S`` is not a number of seconds."""

    code = "database_wait"


def database_wait_s(environ: Mapping[str, str] | None = None) -> float:
    """``$CC_PERF_DATABASE_WAIT_S`` (seconds, 0 switches the wait off), else 60.

    Raises:
        DatabaseWaitError: The value is not a non-negative number.
    """
    text = (os.environ if environ is None else environ).get(DATABASE_WAIT_ENV) or str(DEFAULT_DATABASE_WAIT_S)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise DatabaseWaitError(f"${DATABASE_WAIT_ENV} must be a number of seconds (0 or more), not {text!r}")
    return value


def connect_waiting(
    connect: Callable[[], Any],
    retryable: type[BaseException] | tuple[type[BaseException], ...],
    wait_s: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """``connect()``, retried on ``retryable`` errors for up to ``wait_s`` seconds (0.2 s doubling to 2 s apart).

    Example:
        >>> connect_waiting(lambda: "connection", OSError, 10.0)
        'connection'
    """
    deadline = clock() + wait_s
    delay = FIRST_DELAY_S
    while True:
        try:
            return connect()
        except retryable as exc:
            if clock() + delay > deadline:
                raise
            log.warning("database refused a connection (%s); trying again in %.1f s", str(exc).strip(), delay)
            sleep(delay)
            delay = min(delay * 2, LONGEST_DELAY_S)


def wait_for_database_connections(wait_s: float | None = None) -> None:
    """Make every new PostgreSQL connection of this process wait out an outage of up to ``wait_s`` (once)."""
    wait_s = database_wait_s() if wait_s is None else wait_s
    if _installed or wait_s <= 0:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def do_connect(dialect, _connection_record, cargs, cparams):
        if dialect.name != "postgresql":
            return None  # SQLAlchemy connects as usual
        return connect_waiting(
            lambda: dialect.connect(*cargs, **cparams), dialect.loaded_dbapi.OperationalError, wait_s
        )

    event.listen(Engine, "do_connect", do_connect)
    _installed.append(do_connect)
