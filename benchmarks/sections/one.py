"""one: one 15-page invoice, cold then warm (same storage, so the page cache hits), through the
adaptive design as shipped (the executor runs a run this small in its own process), the same job
forced over processes (cost-model batches, forkserver), the naive one (one step per page, spawn)
and in-process (``execute_in_process``): wall, CPU of the whole process tree, step peak memory."""

from __future__ import annotations

from pathlib import Path

from benchmarks.harness import ONE_INVOICE, PAGES_PER_INVOICE, dagster_run, median, ratio

NAME = "one"
KEY = "one_invoice"


def run(options, workdir: Path) -> dict:
    """The section's figures (``options.quick``: one round instead of three)."""
    return bench_one_invoice(1 if options.quick else 3, workdir)


ONE_INVOICE_DESIGNS = {
    "adaptive_forkserver": "adaptive",
    "adaptive_over_processes": "over_processes",
    "naive_per_page_spawn": "naive",
    "in_process": "in_process",
}


def bench_one_invoice(rounds: int, workdir: Path) -> dict:
    """One 15-page invoice, cold then warm, three designs measured round by round (interleaved)."""
    files = [ONE_INVOICE]
    samples: dict[str, list[dict]] = {name: [] for name in ONE_INVOICE_DESIGNS}
    for _ in range(rounds):
        for name, design in ONE_INVOICE_DESIGNS.items():
            samples[name].append(dagster_run(files, workdir, design=design, warm=True))
    designs = {
        name: {phase: median([s[phase] for s in runs]) for phase in ("cold", "warm")} for name, runs in samples.items()
    }
    adaptive, over_processes, naive, in_process = (designs[n] for n in ONE_INVOICE_DESIGNS)
    return {
        "pages": PAGES_PER_INVOICE,
        "rounds": rounds,
        "cpu_measure": "user+system CPU of the benchmark process and all its descendants (psutil, reaped children "
        "included): orchestrator, step processes and forkserver",
        "memory_measure": "largest peak RSS of any step, from the invoice's peak_rss_mb metadata (in-process: "
        "the benchmark process's own high-water mark, which includes everything it ran before)",
        "designs": designs,
        "adaptive_over_naive": ratio(adaptive["cold"]["wall_s"], naive["cold"]["wall_s"]),
        "warm_adaptive_over_naive": ratio(adaptive["warm"]["wall_s"], naive["warm"]["wall_s"]),
        "cpu_adaptive_over_naive": ratio(adaptive["cold"]["cpu_s"], naive["cold"]["cpu_s"]),
        "adaptive_over_in_process": ratio(adaptive["cold"]["wall_s"], in_process["cold"]["wall_s"]),
        "warm_adaptive_over_in_process": ratio(adaptive["warm"]["wall_s"], in_process["warm"]["wall_s"]),
        "over_processes_over_in_process": ratio(over_processes["cold"]["wall_s"], in_process["cold"]["wall_s"]),
        "warm_over_cold_adaptive": ratio(adaptive["warm"]["wall_s"], adaptive["cold"]["wall_s"]),
        "target_ratio_max": 0.35,
        "target_step_peak_rss_mb_max": 150,
    }
