"""The project-local Dagster home that ``make demo``, ``make ui`` and ``cc-perf process`` share.

A SQLite instance tuned for a 2-core machine: no compute-log capture (it starts tail
processes for every step and costs about 0.1 s a step; structured logs still reach the
event log), at most 2 runs at once (each run uses up to 2 step processes), no telemetry, and
an event log that writes the per-partition events of a range run in batches
(:class:`~cc_perf_dagster._dagster_compat.BatchingSqliteEventLogStorage`; same databases,
same layout as Dagster's own, so an existing home keeps its history).
Move to PostgreSQL when several machines or many concurrent runs share the instance.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cc_perf_dagster.core.export import atomic_write_text

HEADER = "# Written by cc-perf for a project-local Dagster home (SQLite storage under this folder)."
_TEMPLATE = """\
{header}
# Tuned for a 2-core machine; see README "Operations" before changing it. cc-perf rewrites this
# file when the home moves or the project ships a new version of it; remove the first line to
# keep your own changes.
compute_logs:
  module: dagster._core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager
concurrency:
  runs:
    max_concurrent_runs: 2
python_logs:
  python_log_level: INFO
telemetry:
  enabled: false
# Dagster's SQLite event log, writing the per-partition events of a range run in batches.
event_log_storage:
  module: cc_perf_dagster._dagster_compat
  class: BatchingSqliteEventLogStorage
  config:
    base_dir: {event_log_dir}
"""


def dagster_yaml(home: str | os.PathLike[str]) -> str:
    """The ``dagster.yaml`` cc-perf writes into the Dagster home ``home`` (an absolute path)."""
    event_log_dir = os.path.join(Path(home).resolve(), "history", "runs", "")
    # A JSON string is a YAML scalar whatever the path holds (spaces, colons, '#').
    return _TEMPLATE.format(header=HEADER, event_log_dir=json.dumps(event_log_dir))


def default_dagster_home() -> Path:
    """``$DAGSTER_HOME`` if set, else ``./.dagster_home``."""
    return Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home")


def ensure_dagster_home(path: str | os.PathLike[str] | None = None, *, export: bool = True) -> Path:
    """Create the Dagster home and its ``dagster.yaml``; export ``DAGSTER_HOME`` unless told not to.

    A ``dagster.yaml`` that cc-perf wrote (its first line says so) is brought up to date;
    any other is left as it is.
    """
    home = Path(path).resolve() if path else default_dagster_home().resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = dagster_yaml(home)
    try:
        current = config.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if current is None or (current.startswith(HEADER) and current != wanted):
        atomic_write_text(config, wanted)
    if export:
        os.environ["DAGSTER_HOME"] = str(home)
    return home


if __name__ == "__main__":
    print(ensure_dagster_home())  # noqa: T201 (used by `make ui`)
