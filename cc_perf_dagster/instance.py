"""The project-local Dagster home that ``make demo``, ``make ui`` and ``cc-perf process`` share.

A SQLite instance tuned for a 2-core machine: no compute-log capture (it starts tail
processes for every step and costs about 0.1 s a step; structured logs still reach the
event log), at most 2 runs at once (each run uses up to 2 step processes), no telemetry.
Move to PostgreSQL when several machines or many concurrent runs share the instance.
"""

from __future__ import annotations

import os
from pathlib import Path

DAGSTER_YAML = """\
# Written by cc-perf for a project-local Dagster home (SQLite storage under this folder).
# Tuned for a 2-core machine; see README "Operations" before changing it.
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
"""


def default_dagster_home() -> Path:
    """``$DAGSTER_HOME`` if set, else ``./.dagster_home``."""
    return Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home")


def ensure_dagster_home(path: str | os.PathLike[str] | None = None) -> Path:
    """Create the Dagster home (and its ``dagster.yaml`` if missing) and export ``DAGSTER_HOME``."""
    home = Path(path).resolve() if path else default_dagster_home().resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


if __name__ == "__main__":
    print(ensure_dagster_home())  # noqa: T201 (used by `make ui`)
