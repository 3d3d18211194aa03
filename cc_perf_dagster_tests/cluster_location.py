"""The code location the arrivals test's ``dagster-daemon`` loads (``-m cc_perf_dagster_tests.cluster_location``).

The shipped definitions on the cluster profile (the environment says where the services are),
with the incoming-folder sensor switched on and allowed to tick every second, so that the
daemon's own loop (one pass every 5 s) sets the pace; the nightly and rerun sensors stay off.
"""

from __future__ import annotations

from dagster import DefaultSensorStatus, Definitions

from cc_perf_dagster.definitions import build_definitions
from cc_perf_dagster.sensors import build_incoming_folder_sensor


def _definitions() -> Definitions:
    shipped = build_definitions(profile="cluster", sensor_running=False)
    sensor = build_incoming_folder_sensor(minimum_interval_seconds=1, default_status=DefaultSensorStatus.RUNNING)
    return Definitions(
        assets=shipped.assets,
        asset_checks=shipped.asset_checks,
        jobs=shipped.jobs,
        resources=shipped.resources,
        sensors=[sensor],
    )


defs = _definitions()
