"""Reconstructable jobs for tests that need the multiprocess executor (importable by step processes)."""

from __future__ import annotations

from cc_perf_dagster.definitions import PROCESS_JOB, build_definitions
from cc_perf_dagster.resources import ExtractionSettings


def fan_out_job():
    """The invoice job with a page cost high enough that even small runs fan out to 2 batches."""
    return build_definitions(profile="local", settings=ExtractionSettings(page_cost_s=1.0)).resolve_job_def(PROCESS_JOB)


def cluster_fan_out_job():
    """``fan_out_job`` on the cluster profile: Celery workers (the environment says where the services are)."""
    return build_definitions(profile="cluster", settings=ExtractionSettings(page_cost_s=1.0)).resolve_job_def(
        PROCESS_JOB
    )
