"""cache: cold, warm, one page changed, renamed copy: in-process runs on one storage, figures from
the invoice's metadata."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.harness import ONE_INVOICE, run_config, shipped_instance

NAME = "cache"
KEY = "cache"


def run(options, workdir: Path) -> dict:
    """The section's figures."""
    return bench_cache(workdir)


def bench_cache(workdir: Path) -> dict:
    """Cold, warm, one page changed, renamed copy: in-process runs on one storage, figures from metadata."""
    import dataclasses

    from dagster import AssetKey

    from cc_perf_dagster.assets import partition_tags
    from cc_perf_dagster.core.registry import FileRegistry, partition_key_for
    from cc_perf_dagster.definitions import process_invoices_job
    from cc_perf_dagster.runner import executed_run
    from cc_perf_dagster_tests.fixtures.generate import write_document
    from cc_perf_dagster_tests.fixtures.specs import cs003837319

    storage = workdir / "cache-storage"
    home = workdir / "cache-home"
    home.mkdir()
    original = workdir / "CS003837319.pdf"
    shutil.copy(ONE_INVOICE, original)
    changed = workdir / "CS003837319-changed.pdf"
    # One line's description changed: its page differs, the document still adds up (a misprinted
    # amount would make it a document that is refused, not booked, and the run would fail).
    spec = cs003837319()
    items = list(spec.items)
    items[40] = dataclasses.replace(items[40], description=f"{items[40].description} Blue")
    spec = dataclasses.replace(spec, items=tuple(items))
    write_document(changed, spec, write_truth=False)
    renamed = workdir / "renamed-copy.pdf"
    shutil.copy(original, renamed)
    registry = FileRegistry(storage / "registry")
    config = run_config(storage)
    rows = {}
    with shipped_instance(home) as instance:
        for name, path in (
            ("cold", original),
            ("warm", original),
            ("one_page_changed", changed),
            ("renamed_copy", renamed),
        ):
            if name == "renamed_copy":  # a rename: while the old name stands, the copy is a duplicate, not read
                registry.retire(partition_key_for(original))
            key = registry.register(path).key
            instance.add_dynamic_partitions("invoices", [key])
            with executed_run(
                instance, process_invoices_job, tags=partition_tags([key]), run_config=config, in_process=True
            ) as result:
                if not result.success:
                    raise RuntimeError(f"cache: the {name} run {result.run_id} failed")
                (event,) = [
                    e.event_specific_data.materialization
                    for e in result.get_asset_materialization_events()
                    if e.event_specific_data.materialization.asset_key == AssetKey("invoice")
                ]
            m = {k: v.value for k, v in event.metadata.items()}
            rows[name] = {
                k: m[k] for k in ("cpu_time_s", "processing_time_s", "cache_hits", "cache_misses", "cache_hit_rate")
            }
    cold_cpu = rows["cold"]["cpu_time_s"]
    return {
        "runs": rows,
        "warm_cpu_over_cold": round(rows["warm"]["cpu_time_s"] / cold_cpu, 4),
        "target_warm_cpu_ratio_max": 0.10,
        "one_page_changed_hits": f"{rows['one_page_changed']['cache_hits']}/15",
    }
