"""The local profile's daemon as ``make ui`` runs it, for tests and ``make bench``.

``dagster-daemon run -w workspace.yaml`` from the repository (the ready-made definitions, their
sensors switched on) on a project-local Dagster home that cc-perf wrote, with an incoming
folder and a storage root of its own: the path a file dropped into the folder takes on a laptop
(sensor ticks, the queued run coordinator, a run worker per run), none of it driven by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dagster import AssetKey, DagsterInstance
from dagster._core.definitions.run_request import InstigatorType

from cc_perf_dagster._dagster_compat import DEFAULT_EVENT_BATCH_SIZE, EVENT_BATCH_ENV
from cc_perf_dagster.instance import ensure_dagster_home
from cc_perf_dagster_tests.conftest import REPO
from cc_perf_dagster_tests.local_cluster import stop_group


@dataclass
class LocalDaemon:
    """A running daemon: its instance (read from this process), folders and log."""

    instance: DagsterInstance
    incoming: Path
    storage: Path
    log: Path
    process: subprocess.Popen

    def booked(self) -> Counter:
        """``booking_rows`` materializations so far, by partition."""
        records = self.instance.fetch_materializations(AssetKey("booking_rows"), limit=10_000).records
        return Counter(record.partition_key for record in records)

    def sensor_ticks(self, name: str = "incoming_invoices") -> int:
        """How many times the daemon has evaluated the sensor ``name`` so far."""
        states = self.instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        return sum(
            len(self.instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1000))
            for state in states
            if state.instigator_name == name
        )

    def wait_until(self, done: Callable[[], bool], *, deadline_s: float, what: str) -> None:
        """Poll ``done`` until it holds; fail with the daemon's log if the daemon dies or ``deadline_s`` passes."""
        deadline = time.monotonic() + deadline_s
        while not done():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-5000:]
                raise AssertionError(f"{what}: not done (daemon exit code {self.process.poll()}):\n{tail}")
            time.sleep(0.1)


@contextmanager
def local_daemon(root: Path) -> Iterator[LocalDaemon]:
    """The daemon on ``root/home`` watching ``root/incoming``, storing under ``root/storage`` (again: a restart)."""
    home, incoming, storage = root / "home", root / "incoming", root / "storage"
    incoming.mkdir(parents=True, exist_ok=True)
    ensure_dagster_home(home, export=False, profile="local")
    env = {k: v for k, v in os.environ.items() if k != "CC_PERF_PROFILE"}
    env.update(DAGSTER_HOME=str(home), CC_PERF_INCOMING=str(incoming), CC_PERF_STORAGE=str(storage))
    env.setdefault(EVENT_BATCH_ENV, str(DEFAULT_EVENT_BATCH_SIZE))  # as the Makefile exports it for `make ui`
    log = root / f"daemon{len(list(root.glob('daemon*.log')) or '')}.log"  # one log per start
    # The databases first, as `make ui` makes them before `dagster dev`: the daemon and its code
    # server opening a fresh home together can both stamp a schema revision ("more than one head").
    instance = DagsterInstance.from_config(str(home))  # creates its three databases
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
            env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield LocalDaemon(instance, incoming, storage, log, process)
    finally:
        stop_group(process)
        instance.dispose()
