"""breakdown: where the time of one Dagster run goes (run start, step start, compute, event
writes, orchestrator), from the event log, along the run's critical path. The event writes are a
cost model: events on the critical path times the per-event cost measured on a fresh instance."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from pathlib import Path

from benchmarks.harness import ONE_INVOICE, prepare, public, run_config, shipped_instance, timed_run, write_invoices

NAME = "breakdown"
KEY = "breakdown"


def run(options, workdir: Path) -> dict:
    """The section's figures (a range run of 20 invoices with ``--quick``, else 100)."""
    return bench_breakdown(20 if options.quick else 100, workdir)


# Event types that are also written to the instance's cross-run index (a second, dearer write).
ASSET_EVENT_TYPES = frozenset(
    {
        "ASSET_MATERIALIZATION",
        "ASSET_MATERIALIZATION_PLANNED",
        "ASSET_OBSERVATION",
        "ASSET_FAILED_TO_MATERIALIZE",
        "ASSET_CHECK_EVALUATION",
        "ASSET_CHECK_EVALUATION_PLANNED",
    }
)
RUN_STATUS_EVENT_TYPES = frozenset({"PIPELINE_START", "PIPELINE_SUCCESS", "PIPELINE_FAILURE", "PIPELINE_STARTING"})
STEP_END_TYPES = frozenset({"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"})
SEGMENTS = ("run_start", "step_start", "compute", "event_writes", "orchestrator")


def event_write_costs(workdir: Path, count: int = 40) -> dict:
    """Median cost of writing one event, plain and asset, on an instance configured like the shipped one.

    Plain: an engine event into a run's own SQLite shard. Asset: a (runless) materialization, which
    is also written to the cross-run index with its tags. Both through the public instance API.
    Batched: per event of a batch of ``count`` materializations stored together, as a range run's
    per-partition events are (``store_event_batch`` of the shipped event log).
    """
    import logging

    from dagster import AssetMaterialization, DagsterEvent, DagsterEventType, EventLogEntry
    from dagster._core.events import StepMaterializationData

    home = workdir / f"event-cost-home-{time.time_ns()}"
    home.mkdir()
    plain, asset = [], []
    with shipped_instance(home) as instance:
        instance.report_engine_event("warm-up", job_name="bench", run_id="event-cost-0")
        for index in range(count):
            started = time.perf_counter()
            instance.report_engine_event("bench", job_name="bench", run_id="event-cost-0")
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            instance.report_runless_asset_event(AssetMaterialization(asset_key="bench_asset", partition=f"p{index}"))
            asset.append(time.perf_counter() - started)
        batch = [
            EventLogEntry(
                error_info=None, level=logging.INFO, user_message="", run_id="event-cost-batch",
                timestamp=time.time(),
                dagster_event=DagsterEvent(
                    DagsterEventType.ASSET_MATERIALIZATION.value, job_name="bench",
                    event_specific_data=StepMaterializationData(AssetMaterialization("bench_asset", partition=f"b{i}")),
                ),
            )
            for i in range(count)
        ]  # fmt: skip
        instance.event_log_storage.store_event_batch(batch[:2])  # the run's database made, as in a run
        started = time.perf_counter()
        instance.event_log_storage.store_event_batch(batch[2:])
        batched = (time.perf_counter() - started) / (count - 2)
    return {
        "plain_ms": round(statistics.median(plain) * 1000, 2),
        "asset_ms": round(statistics.median(asset) * 1000, 2),
        "batched_asset_ms": round(batched * 1000, 2),
        "samples": count,
        "method": "median of single writes on a fresh instance with the shipped dagster.yaml, this process",
    }


# The per-partition events of a run over several partitions reach the event log in batches.
BATCHED_EVENT_TYPES = frozenset({"ASSET_MATERIALIZATION", "ASSET_MATERIALIZATION_PLANNED"})


def _event_cost_s(event_type: str, costs: dict, *, batched: bool) -> float:
    if batched and event_type in BATCHED_EVENT_TYPES:
        return costs["batched_asset_ms"] / 1000
    if event_type in ASSET_EVENT_TYPES:
        return costs["asset_ms"] / 1000
    if event_type in RUN_STATUS_EVENT_TYPES:  # run shard plus the index
        return 2 * costs["plain_ms"] / 1000
    return costs["plain_ms"] / 1000


def _read_events(instance, run_id: str) -> list[tuple[float, str | None, str]]:
    """(timestamp, step key, event type) of every event of the run; plain log lines are ``LOG``."""
    return [
        (e.timestamp, e.step_key, e.dagster_event.event_type_value if e.dagster_event else "LOG")
        for e in instance.all_logs(run_id)
    ]


def _steps(events: list[tuple[float, str | None, str]]) -> dict[str, dict[str, float]]:
    """Per step: when its worker started (``begin``), its STEP_START (``start``) and its end."""
    steps: dict[str, dict[str, float]] = {}
    for ts, step, kind in events:
        if step is None:
            continue
        s = steps.setdefault(step, {})
        if kind == "STEP_WORKER_STARTING":
            s["begin"] = ts
        elif kind == "STEP_START":
            s["start"] = ts
            s.setdefault("begin", ts)  # in-process steps have no worker
        elif kind in STEP_END_TYPES:
            s["end"] = ts
    return {k: v for k, v in steps.items() if {"begin", "start", "end"} <= v.keys()}


def critical_path(steps: dict[str, dict[str, float]]) -> list[str]:
    """The chain of steps that set the run's length: from the last step to finish, each step's
    predecessor is the one that finished last before it began (a dependency, or a freed slot)."""
    if not steps:
        return []
    chain = [max(steps, key=lambda k: steps[k]["end"])]
    while True:
        begin = steps[chain[-1]]["begin"]
        before = [k for k in steps if steps[k]["end"] <= begin and k not in chain]
        if not before:
            return chain[::-1]
        chain.append(max(before, key=lambda k: steps[k]["end"]))


def _timeline(epoch: tuple[float, float], events: list, steps: dict, chain: list[str]) -> list[dict]:
    """The run's wall time as consecutive segments: run start, then per critical step the gap before
    it (orchestrator), its process start and its compute, then the tail (orchestrator)."""
    t0, t1 = epoch
    run_start = next((ts for ts, _, kind in events if kind == "PIPELINE_START"), t0)
    marks = [("run_start", None, t0, run_start)]
    cursor = run_start
    for key in chain:
        s = steps[key]
        marks.append(("orchestrator", None, cursor, s["begin"]))
        marks.append(("step_start", key, s["begin"], s["start"]))
        marks.append(("compute", key, s["start"], s["end"]))
        cursor = s["end"]
    marks.append(("orchestrator", None, cursor, t1))
    return [{"segment": seg, "step": step, "start": a, "end": max(a, b)} for seg, step, a, b in marks]


def _charge_event_writes(timeline: list[dict], events: list, costs: dict, *, batched: bool) -> None:
    """Move the estimated cost of each event written on the critical path out of the segment it
    falls in, into ``event_writes``: the step's own events in its segments, the run's own events
    (and those written before the run started) in the orchestrator's."""
    run_start = timeline[0]["end"]
    for part in timeline:
        part["duration_s"] = part["end"] - part["start"]
        part["events"] = 0
        part["event_writes_s"] = 0.0
    for ts, step, kind in events:
        for part in timeline:
            if not part["start"] <= ts < part["end"] or part["duration_s"] <= 0:
                continue
            mine = step == part["step"] if part["step"] else (step is None or ts < run_start)
            if mine:
                part["events"] += 1
                part["event_writes_s"] += _event_cost_s(kind, costs, batched=batched)
            break
    for part in timeline:
        part["event_writes_s"] = min(part["event_writes_s"], part["duration_s"])


def run_breakdown(instance, run: dict, costs: dict) -> dict:
    """Split one run's wall time along its critical path into the five segments."""
    events = _read_events(instance, run["run_id"])
    steps = _steps(events)
    chain = critical_path(steps)
    timeline = _timeline(run["epoch"], events, steps, chain)
    _charge_event_writes(timeline, events, costs, batched=run["invoices"] > 1)
    totals = dict.fromkeys(SEGMENTS, 0.0)
    for part in timeline:
        totals[part["segment"]] += part["duration_s"] - part["event_writes_s"]
        totals["event_writes"] += part["event_writes_s"]
    wall = run["epoch"][1] - run["epoch"][0]
    return {
        **public(run),
        "events": len(events),
        "events_by_type": dict(Counter(kind for _, _, kind in events).most_common()),
        "steps": len(steps),
        "critical_path": chain,
        "segments_s": {k: round(v, 3) for k, v in totals.items()},
        "shares": {k: round(v / wall, 3) for k, v in totals.items()},
        "timeline": [
            {
                "segment": p["segment"],
                "step": p["step"],
                "s": round(p["duration_s"] - p["event_writes_s"], 3),
                "event_writes_s": round(p["event_writes_s"], 3),
                "events": p["events"],
            }
            for p in timeline
            if p["duration_s"] > 0
        ],
    }


def _breakdown_of(files: list[Path], workdir: Path, costs: dict) -> dict:
    home, storage, keys = prepare(files, workdir, "breakdown")
    run = timed_run(home, "adaptive", keys, run_config(storage))
    with shipped_instance(home) as instance:
        return run_breakdown(instance, run, costs)


def bench_breakdown(range_count: int, workdir: Path) -> dict:
    """Where the time of a multiprocess run goes: one 15-page invoice, and a range run of ``range_count``."""
    costs = event_write_costs(workdir)
    runs = {"one_invoice": _breakdown_of([ONE_INVOICE], workdir, costs)}
    if range_count:
        files = write_invoices(workdir / "breakdown-range", range_count)
        runs[f"range_{range_count}"] = _breakdown_of(files, workdir, costs)
    return {
        "event_write_cost": costs,
        "runs": runs,
        "segments": {
            "run_start": "execute_job called -> PIPELINE_START (run record, plan, planned-materialization events)",
            "step_start": "STEP_WORKER_STARTING -> STEP_START of each critical step (process start, imports, "
            "instance, plan, resources)",
            "compute": "STEP_START -> STEP_SUCCESS of each critical step, less its event writes",
            "event_writes": "estimate: events written on the critical path x the per-event cost measured above "
            "(the batched cost for the per-partition events of a run over several partitions)",
            "orchestrator": "gaps between critical steps and after the last one (scheduling, polling, run end)",
        },
        "note": "event_writes is an estimate; the five segments add up to the run's wall time",
    }
