"""Render a benchmark results file into ``benchmarks/REPORT.md``, ``benchmarks/plots/*.png`` and
``benchmarks/README-snippet.md`` (the headline table and the scale plot, for the README).

Usage: ``python -m benchmarks.report [RESULTS.json]`` (default: the newest file in
``benchmarks/results/``). ``python -m benchmarks`` calls it after every run. The plots need
matplotlib (the ``bench`` extra: ``pip install -e ".[bench]"``); without it the Markdown is
still written, with a note where each plot would be.

Headline figures are ratios against a baseline measured in the same run, lower is better;
absolute times and rates are shown beside them as context only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
PLOTS = BENCH / "plots"
REPORT = BENCH / "REPORT.md"
SNIPPET = BENCH / "README-snippet.md"
README_PLOT = "scale.png"


@dataclass(frozen=True)
class Headline:
    """A headline figure: a ratio (lower is better) against a baseline measured in the same run.

    Attributes:
        name: What the figure is, as the tables show it.
        path: Where it lives in a results file (keys and list indices).
        baseline: The baseline it is divided by, a template filled from ``context``.
        context: Names for the template mapped to paths of absolute figures (context only).
        target: The figure must stay at or below this (``None``: no target set).
        target_path: Where a results file records its own target, preferred over ``target``.
    """

    name: str
    path: tuple
    baseline: str
    context: tuple[tuple[str, tuple], ...] = ()
    target: float | None = None
    target_path: tuple | None = None


HEADLINES: tuple[Headline, ...] = (
    Headline(
        "core extractor / raw pypdf (time per page)",
        ("core", "core_cost_ratio"),
        "raw `extract_text()`, same pages: {raw} pages/s (core {core} pages/s)",
        (("raw", ("core", "raw_pages_per_s")), ("core", ("core", "core_pages_per_s"))),
        1.3,
        ("core", "target_ratio_max"),
    ),
    Headline(
        "pdfium engine / pypdf engine (time per page)",
        ("core", "pdfium_over_pypdf"),
        "pypdf engine, same pages: {core} pages/s (pdfium {pdfium} pages/s)",
        (("core", ("core", "core_pages_per_s")), ("pdfium", ("core", "pdfium_core_pages_per_s"))),
        0.25,
        ("core", "target_pdfium_over_pypdf_max"),
    ),
    Headline(
        "pdfium engine / invoice2data in-process (time per page)",
        ("core", "pdfium_over_invoice2data"),
        "invoice2data {version} (pdftotext), same pages: {peer} pages/s",
        (("version", ("core", "invoice2data")), ("peer", ("core", "invoice2data_pages_per_s"))),
        1.0,
        ("core", "target_pdfium_over_invoice2data_max"),
    ),
    Headline(
        "`cc-perf extract --engine pdfium` / `invoice2data` command (wall)",
        ("core", "commands", "pdfium_over_invoice2data"),
        "`invoice2data` on the 15-page invoice: {peer} s (pdfium {pdfium} s, pypdf {pypdf} s)",
        (
            ("peer", ("core", "commands", "invoice2data")),
            ("pdfium", ("core", "commands", "cc_perf_extract_pdfium")),
            ("pypdf", ("core", "commands", "cc_perf_extract_pypdf")),
        ),
        1.0,
        ("core", "commands", "target_pdfium_over_invoice2data_max"),
    ),
    Headline(
        "peak memory, largest / smallest document",
        ("memory", "peak_ratio_largest_over_smallest"),
        "{small} MB at {pages} pages ({large} MB at {pages_large} pages)",
        (
            ("small", ("memory", "rows", 0, "peak_rss_mb")),
            ("pages", ("memory", "rows", 0, "pages")),
            ("large", ("memory", "rows", -1, "peak_rss_mb")),
            ("pages_large", ("memory", "rows", -1, "pages")),
        ),
        2.0,
        ("memory", "target_ratio_max"),
    ),
    Headline(
        "one invoice cold: adaptive / naive (wall)",
        ("one_invoice", "adaptive_over_naive"),
        "naive (step per page, spawn): {naive} s (adaptive {adaptive} s)",
        (
            ("naive", ("one_invoice", "designs", "naive_per_page_spawn", "cold", "wall_s")),
            ("adaptive", ("one_invoice", "designs", "adaptive_forkserver", "cold", "wall_s")),
        ),
        0.35,
        ("one_invoice", "target_ratio_max"),
    ),
    Headline(
        "one invoice warm: adaptive / naive (wall)",
        ("one_invoice", "warm_adaptive_over_naive"),
        "naive, warm: {naive} s (adaptive {adaptive} s)",
        (
            ("naive", ("one_invoice", "designs", "naive_per_page_spawn", "warm", "wall_s")),
            ("adaptive", ("one_invoice", "designs", "adaptive_forkserver", "warm", "wall_s")),
        ),
    ),
    Headline(
        "warm / cold extraction CPU",
        ("cache", "warm_cpu_over_cold"),
        "cold extraction: {cold} s CPU",
        (("cold", ("cache", "runs", "cold", "cpu_time_s")),),
        0.10,
        ("cache", "target_warm_cpu_ratio_max"),
    ),
    Headline(
        "range run / Pool(2) (wall)",
        ("scale", "dagster_over_pool2"),
        "Pool(2) script, {n} invoices: {pool} s (range run {rate} invoices/min)",
        (
            ("n", ("scale", "invoices")),
            ("pool", ("scale", "pool2_wall_s")),
            ("rate", ("scale", "dagster_invoices_per_min")),
        ),
        1.5,
        ("scale", "target_ratio_max"),
    ),
    Headline(
        "range run / Pool(2), both with the pdfium engine (wall)",
        ("scale", "pdfium_over_pool2"),
        "Pool(2) script with pdfium, {n} invoices: {pool} s",
        (("n", ("scale", "invoices")), ("pool", ("scale", "pdfium_pool2_wall_s"))),
        1.25,
        ("scale", "engine_target_ratio_max"),
    ),
    Headline(
        "`cc-perf process` (whole command) / Pool(2) (wall)",
        ("scale", "command_over_pool2"),
        "Pool(2) script, {n} invoices: {pool} s; the command {command} s",
        (
            ("n", ("scale", "invoices")),
            ("pool", ("scale", "pool2_wall_s")),
            ("command", ("scale", "command_wall_s")),
        ),
    ),
    Headline(
        "one run per partition / Pool(2) (wall)",
        ("scale", "per_partition_over_pool2"),
        "Pool(2) script, {n} invoices: {pool} s",
        (("n", ("scale", "per_partition_invoices")), ("pool", ("scale", "per_partition_pool2_wall_s"))),
    ),
    Headline(
        "arrivals (sensor + runs) / Pool(2) (wall)",
        ("arrivals", "arrivals_over_pool2"),
        "Pool(2) script, {n} files: {pool} s",
        (("n", ("arrivals", "files")), ("pool", ("arrivals", "pool2_wall_s"))),
    ),
    Headline(
        "one file dropped, live daemon, to booked rows / `cc-perf process` on it (wall)",
        ("arrivals", "drop", "drop_over_command"),
        "`cc-perf process` on the file: {command} s; the drop {drop} s (run requested at {requested} s)",
        (
            ("command", ("arrivals", "drop", "command_s")),
            ("drop", ("arrivals", "drop", "drop_to_booked_s")),
            ("requested", ("arrivals", "drop", "drop_to_run_requested_s")),
        ),
    ),
    Headline(
        "cluster: two Celery workers / one (wall)",
        ("cluster", "two_over_one"),
        "one worker, {n} invoices: {one} s (two {two} s)",
        (
            ("n", ("cluster", "invoices")),
            ("one", ("cluster", "one_worker", "wall_s")),
            ("two", ("cluster", "two_workers", "wall_s")),
        ),
        0.65,
        ("cluster", "target_two_over_one_max"),
    ),
    Headline(
        "cluster: two Celery workers / multiprocess range run (wall)",
        ("cluster", "two_over_multiprocess"),
        "multiprocess range run, {n} invoices: {local} s (Pool(2) {pool} s)",
        (
            ("n", ("cluster", "invoices")),
            ("local", ("cluster", "multiprocess", "wall_s")),
            ("pool", ("cluster", "pool2", "wall_s")),
        ),
        1.5,
        ("cluster", "target_two_over_multiprocess_max"),
    ),
    Headline(
        "event stored one by one: PostgreSQL / SQLite",
        ("cluster", "postgres_over_sqlite_per_event"),
        "SQLite (shipped home): {sqlite} ms per materialization",
        (("sqlite", ("cluster", "events", "sqlite", "one_by_one_ms")),),
    ),
)

DESIGN_LABELS = {
    "adaptive_forkserver": "adaptive (as shipped: in-process below 750 pages, else batches over forkserver)",
    "adaptive_over_processes": "adaptive, forced over processes (batches, forkserver)",
    "naive_per_page_spawn": "naive (step per page, spawn)",
    "in_process": "in-process",
    "range_run": "range run",
    "per_partition": "one run per partition (2 at a time)",
    "command": "`cc-perf process` (whole command, new Dagster home)",
    "pool2": "multiprocessing.Pool(2) script",
}
SEGMENT_COLOURS = {
    "run_start": "#4c72b0",
    "step_start": "#dd8452",
    "compute": "#55a868",
    "event_writes": "#c44e52",
    "orchestrator": "#8172b3",
}


# --- values ---------------------------------------------------------------------------------


def lookup(report: dict, path: tuple):
    """The value at ``path`` in ``report``, or ``None`` when any step is missing."""
    value = report
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def fmt(value, digits: int = 3) -> str:
    """A number for a table: ``n/a`` when missing, integers as such, floats to ``digits`` significant places."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}g}" if abs(value) < 10**digits else f"{value:,.0f}"
    return str(value)


def _target(report: dict, headline: Headline) -> float | None:
    recorded = lookup(report, headline.target_path) if headline.target_path else None
    return recorded if isinstance(recorded, (int, float)) else headline.target


def headline_rows(report: dict) -> list[dict]:
    """One row per headline figure present in ``report``: name, value, baseline, target, met."""
    rows = []
    for headline in HEADLINES:
        value = lookup(report, headline.path)
        if not isinstance(value, (int, float)):
            continue
        target = _target(report, headline)
        context = {name: fmt(lookup(report, path)) for name, path in headline.context}
        rows.append(
            {
                "figure": headline.name,
                "value": value,
                "baseline": headline.baseline.format(**context),
                "target": target,
                "met": None if target is None else value <= target,
            }
        )
    return rows


def _met(met: bool | None) -> str:
    return "n/a" if met is None else ("yes" if met else "**no**")


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table; cells are formatted with :func:`fmt`."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return "\n".join(lines)


def headline_table(report: dict) -> str:
    """The headline figures as a Markdown table (also what ``python -m benchmarks`` prints)."""
    rows = [
        [
            r["figure"],
            fmt(r["value"]),
            r["baseline"],
            "—" if r["target"] is None else f"≤ {r['target']}",
            _met(r["met"]),
        ]
        for r in headline_rows(report)
    ]
    return markdown_table(
        ["Figure (ratio, lower is better)", "Value", "Baseline, same run (context)", "Target", "Met"], rows
    )


# --- plots ----------------------------------------------------------------------------------


def _pyplot():
    """matplotlib's pyplot on the Agg backend, or ``None`` when the bench extra is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, name: str) -> Path:
    PLOTS.mkdir(parents=True, exist_ok=True)
    path = PLOTS / name
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    fig.clf()
    return path


def _bar_labels(ax, bars, values: list, unit: str = "") -> None:
    for bar, value in zip(bars, values, strict=True):
        if value is not None:
            ax.annotate(
                f"{fmt(value)}{unit}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )


def _log_ticks(ax, values: list[int]) -> None:
    """A log x axis labelled only at the measured values."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(values, [f"{v:,}" for v in values])
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_core(plt, core: dict) -> Path:
    """Bars: pages/s of raw pypdf, the core with each engine, invoice2data and pdftotext."""
    names = ["raw pypdf\nextract_text()", "core\npypdf", "core\npdfium", "invoice2data\n(peer)", "pdftotext\n-layout"]
    values = [
        core["raw_pages_per_s"],
        core["core_pages_per_s"],
        core.get("pdfium_core_pages_per_s"),
        core.get("invoice2data_pages_per_s"),
        core.get("pdftotext_pages_per_s"),
    ]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bars = ax.bar(names, [v or 0 for v in values], color=["#8c8c8c", "#4c72b0", "#3a5a8c", "#c44e52", "#55a868"])
    _bar_labels(ax, bars, values)
    for index, value in enumerate(values):
        if value is None:
            ax.annotate("not measured", (index, 0), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("pages per second (one core)")
    ax.set_title(f"Text extraction, {core['pages']} pages of {core['files']} invoices")
    return _save(fig, "core.png")


def plot_one_invoice(plt, one: dict) -> Path:
    """Grouped bars: wall and CPU of one invoice, cold and warm, per design."""
    designs = list(one["designs"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, measure, label in zip(
        axes, ("wall_s", "cpu_s"), ("wall time (s)", "CPU, whole process tree (s)"), strict=True
    ):
        for offset, phase, colour in ((-0.2, "cold", "#4c72b0"), (0.2, "warm", "#dd8452")):
            values = [one["designs"][d][phase][measure] for d in designs]
            bars = ax.bar([i + offset for i in range(len(designs))], values, 0.4, label=phase, color=colour)
            _bar_labels(ax, bars, values)
        ax.set_xticks(range(len(designs)), [DESIGN_LABELS.get(d, d).replace(" (", "\n(") for d in designs], fontsize=8)
        ax.set_ylabel(label)
        ax.legend()
    fig.suptitle(f"One {one['pages']}-page invoice through Dagster (median of {one.get('rounds', 1)})")
    return _save(fig, "one_invoice.png")


def _scale_series(scale: dict) -> dict[str, tuple[list[int], list[float]]]:
    series: dict[str, tuple[list[int], list[float]]] = {}
    for design in ("range_run", "per_partition", "pool2"):
        measured = [p for p in scale["points"] if p.get(design)]
        series[design] = ([p["invoices"] for p in measured], [p[design]["wall_s"] for p in measured])
    return series


def plot_scale(plt, scale: dict) -> Path:
    """Wall time against number of invoices, one line per design (log-log)."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    styles = {"range_run": ("o-", "#4c72b0"), "per_partition": ("s-", "#c44e52"), "pool2": ("^--", "#8c8c8c")}
    for design, (xs, ys) in _scale_series(scale).items():
        if xs:
            marker, colour = styles[design]
            ax.plot(xs, ys, marker, color=colour, label=DESIGN_LABELS[design])
            ax.annotate(f"{fmt(ys[-1])} s", (xs[-1], ys[-1]), textcoords="offset points", xytext=(4, 0), fontsize=8)
    for gap in scale.get("not_measured", []):
        ax.axvline(gap["invoices"], color="#c44e52", linestyle=":", linewidth=0.8)
        ax.annotate(
            "per partition\nnot measured", (gap["invoices"], ax.get_ylim()[0]), fontsize=7, color="#c44e52", ha="right"
        )
    _log_ticks(ax, [p["invoices"] for p in scale["points"]])
    ax.set_yscale("log")
    ax.set_xlabel(f"invoices ({scale['pages_per_invoice']} pages each)")
    ax.set_ylabel("wall time (s), log scale")
    ax.set_title("Cost against number of invoices")
    ax.margins(x=0.12)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, "scale.png")


def plot_memory(plt, memory: dict) -> Path:
    """Peak resident memory against pages (log x), with the flatness target."""
    rows = memory["rows"]
    pages = [r["pages"] for r in rows]
    peaks = [r["peak_rss_mb"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(pages, peaks, "o-", color="#4c72b0", label="peak RSS of one extraction (pypdf engine)")
    for x, y in zip(pages, peaks, strict=True):
        ax.annotate(f"{fmt(y)} MB", (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    if memory.get("pdfium_rows"):
        pdfium = [r["peak_rss_mb"] for r in memory["pdfium_rows"]]
        ax.plot(pages, pdfium, "s--", color="#dd8452", label="the same, pdfium engine")
        peaks = [*peaks, *pdfium]
    limit = peaks[0] * memory.get("target_ratio_max", 2.0)
    ax.axhline(limit, color="#c44e52", linestyle=":", label=f"target: ≤ {fmt(limit)} MB")
    _log_ticks(ax, pages)
    ax.set_ylim(0, max(limit, max(peaks)) * 1.2)
    ax.set_xlabel("pages in the document (log scale)")
    ax.set_ylabel("MB")
    ax.set_title("Memory against document size (fresh process each)")
    ax.legend(fontsize=8)
    return _save(fig, "memory.png")


def plot_cache(plt, cache: dict) -> Path:
    """Bars: extraction CPU per cache scenario, hits annotated."""
    names = list(cache["runs"])
    runs = [cache["runs"][n] for n in names]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    bars = ax.bar([n.replace("_", " ") for n in names], [r["cpu_time_s"] for r in runs], color="#4c72b0")
    for bar, run in zip(bars, runs, strict=True):
        label = f"{fmt(run['cpu_time_s'])} s\n{run['cache_hits']}/{run['cache_hits'] + run['cache_misses']} hits"
        ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("extraction CPU (s)")
    ax.set_title("Page cache, one 15-page invoice")
    ax.set_ylim(0, max(r["cpu_time_s"] for r in runs) * 1.35)
    return _save(fig, "cache.png")


def plot_breakdown(plt, breakdown: dict) -> Path:
    """One stacked bar per run along its critical path, segments in time order, coloured by kind."""
    runs = breakdown["runs"]
    fig, axes = plt.subplots(len(runs), 1, figsize=(9, 1.7 * len(runs) + 0.9), squeeze=False)
    for ax, (name, run) in zip(axes[:, 0], runs.items(), strict=True):
        left = 0.0
        spans: dict[str, list[float]] = {}
        for part in run["timeline"]:
            if part["step"]:
                spans.setdefault(part["step"], [left, left])
            for kind, width in ((part["segment"], part["s"]), ("event_writes", part["event_writes_s"])):
                if width > 0:
                    ax.barh(0, width, left=left, color=SEGMENT_COLOURS[kind], edgecolor="white", linewidth=0.3)
                    left += width
            if part["step"]:
                spans[part["step"]][1] = left
        for step, (a, b) in spans.items():  # each critical step named above its span
            ax.annotate(_short_step(step), ((a + b) / 2, 0.42), ha="center", va="bottom", fontsize=6)
            ax.plot([a, b], [0.41, 0.41], color="black", linewidth=0.6)
        ax.set_yticks([0], [name.replace("_", " ")])
        ax.set_ylim(-0.5, 0.75)
        ax.set_xlim(0, left * 1.01)
        shares = ", ".join(f"{k.replace('_', ' ')} {run['shares'][k]:.0%}" for k in SEGMENT_COLOURS)
        ax.set_title(f"{name.replace('_', ' ')}: wall {fmt(run['wall_s'])} s — {shares}", fontsize=8)
        ax.set_xlabel("seconds since execute_job was called")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in SEGMENT_COLOURS.values()]
    labels = [k.replace("_", " ") + (" (estimate)" if k == "event_writes" else "") for k in SEGMENT_COLOURS]
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    PLOTS.mkdir(parents=True, exist_ok=True)
    path = PLOTS / "breakdown.png"
    fig.savefig(path, dpi=110)
    fig.clf()
    return path


def _short_step(step: str) -> str:
    """``invoice.extract_page_batch[batch_0]`` -> ``extract[batch_0]``, ``invoice.plan_page_batches`` -> ``plan``."""
    name = step.rsplit(".", 1)[-1]
    head, bracket, rest = name.partition("[")
    return head.split("_")[0] + bracket + rest


PLOTTERS: dict[str, tuple[str, Callable]] = {
    "core": ("core.png", plot_core),
    "one_invoice": ("one_invoice.png", plot_one_invoice),
    "scale": ("scale.png", plot_scale),
    "memory": ("memory.png", plot_memory),
    "cache": ("cache.png", plot_cache),
    "breakdown": ("breakdown.png", plot_breakdown),
}


def write_plots(report: dict) -> list[Path]:
    """Every plot whose section is in ``report``; none when matplotlib is missing."""
    plt = _pyplot()
    if plt is None:
        return []
    written = []
    for section, (_, plotter) in PLOTTERS.items():
        if section in report:
            try:
                written.append(plotter(plt, report[section]))
            except (KeyError, TypeError, IndexError):  # an older results file's shape: no plot
                pass
            plt.close("all")
    return written


# --- Markdown sections ----------------------------------------------------------------------


def _image(section: str, have_plots: bool) -> str:
    name = PLOTTERS[section][0]
    if not have_plots:
        return f'_(plot `{name}` not drawn: matplotlib is not installed; `pip install -e ".[bench]"`)_'
    return f"![{section}](plots/{name})"


def section_core(core: dict, plots: bool) -> str:
    rows = [
        ["raw pypdf `extract_text()` (baseline)", core["raw_pages_per_s"], core["raw_extract_text_s"], 1.0],
        ["core extractor", core["core_pages_per_s"], core["core_s"], core["core_cost_ratio"]],
    ]
    others = (
        ("pdfium_core", "core extractor, pdfium engine"),
        ("invoice2data", f"invoice2data {core.get('invoice2data')} in-process (`pdftotext -layout`, template), peer"),
        ("pdftotext", f"`pdftotext -layout` ({core.get('pdftotext')})"),
    )
    for key, label in others:
        if core.get(f"{key}_pages_per_s"):
            seconds = core[f"{key}_s"]
            rows.append([label, core[f"{key}_pages_per_s"], seconds, round(seconds / core["raw_extract_text_s"], 3)])
    text = [
        "## 1. Core extraction",
        "",
        f"{core['pages']} pages of the {core['files']} test invoices, best of several rounds per file, one core.",
        "",
        markdown_table(["Engine", "Pages/s", "Seconds (context)", "Time / raw"], rows),
        "",
    ]
    if core.get("chromium"):
        other = core["chromium"]
        text += [
            f"The same documents printed by headless Chromium ({other['pages']} pages of {other['files']} files, "
            f"test_invoices/producers/chromium): raw {fmt(other['raw_pages_per_s'])} pages/s, core "
            f"{fmt(other['core_pages_per_s'])} pages/s, core / raw = {fmt(other['core_cost_ratio'])}; pdfium engine "
            f"{fmt(other.get('pdfium_core_pages_per_s'))} pages/s (pdfium / pypdf time "
            f"{fmt(other.get('pdfium_over_pypdf'))}).",
            "",
        ]
    right = core.get("invoice2data_fields_right")
    if right:
        text += [
            f"invoice2data is context (`benchmarks/peers/`: two templates, as its users write them): of "
            f"{right['files']} files it read {right['invoice_number']} invoice numbers and {right['total']} "
            f"totals right, and {right['line_items']} of {right['line_items_printed']} line items (code and "
            "extended price; descriptions over several lines are not asked of it). The core reads every "
            "field of every file (`test_accuracy.py`).",
            "",
        ]
    commands = core.get("commands")
    if commands:
        text += [
            f"Whole commands on {commands['file']} (process start included, median of {commands['rounds']}): "
            f"`cc-perf extract` {fmt(commands['cc_perf_extract_pypdf'])} s with the pypdf engine, "
            f"{fmt(commands['cc_perf_extract_pdfium'])} s with pdfium"
            + (f"; `invoice2data` {fmt(commands['invoice2data'])} s." if commands.get("invoice2data") else "."),
            "",
        ]
    if not core.get("pdftotext_pages_per_s"):
        text.append("`pdftotext` is not installed on this machine: not measured (`apt-get install poppler-utils`).")
    else:
        text.append(
            f"pdftotext is context only: a C engine run as one process per file (process start included); "
            f"core / pdftotext = {fmt(core['core_over_pdftotext'])}."
        )
    return "\n".join([*text, "", _image("core", plots)])


def section_one_invoice(one: dict, plots: bool) -> str:
    rows = []
    for name, phases in one["designs"].items():
        for phase in ("cold", "warm"):
            r = phases[phase]
            rows.append(
                [DESIGN_LABELS.get(name, name), phase, r["wall_s"], r["cpu_s"], r["max_step_peak_rss_mb"], r["batches"]]
            )
    ratios = [
        ["adaptive / naive, cold (wall)", one["adaptive_over_naive"], one.get("target_ratio_max")],
        ["adaptive / naive, warm (wall)", one["warm_adaptive_over_naive"], None],
        ["adaptive / naive, cold (CPU)", one["cpu_adaptive_over_naive"], None],
        ["adaptive / in-process, cold (wall)", one["adaptive_over_in_process"], 1.5],
        ["adaptive / in-process, warm (wall)", one.get("warm_adaptive_over_in_process"), 1.2],
        ["adaptive forced over processes / in-process, cold (wall)", one.get("over_processes_over_in_process"), None],
        ["adaptive warm / adaptive cold (wall)", one["warm_over_cold_adaptive"], None],
    ]
    return "\n".join(
        [
            "## 2. One invoice through Dagster",
            "",
            f"One {one['pages']}-page invoice, median of {one['rounds']} round(s). Cold: fresh instance and storage. "
            "Warm: the same materialization again on the same storage, so the page cache hits.",
            f"CPU: {one['cpu_measure']}. Memory: {one['memory_measure']}.",
            "",
            markdown_table(["Design", "Run", "Wall s", "CPU s", "Step peak MB", "Batches"], rows),
            "",
            markdown_table(
                ["Ratio", "Value", "Target"], [[n, v, "—" if t is None else f"≤ {t}"] for n, v, t in ratios]
            ),
            "",
            _image("one_invoice", plots),
        ]
    )


def section_scale(scale: dict, plots: bool) -> str:
    rows = []
    pdfium = scale.get("pdfium")
    engines = [(point, "") for point in scale["points"]] + ([(pdfium, ", pdfium engine")] if pdfium else [])
    for point, engine in engines:
        for design in ("pool2", "range_run", "command", "per_partition"):
            r = point.get(design)
            if r is None:
                if not engine and design != "command":  # the command is measured at the headline point only
                    rows.append([point["invoices"], DESIGN_LABELS[design], "not measured", "", "", ""])
                continue
            ratio = 1.0 if design == "pool2" else r["over_pool2"]
            label = DESIGN_LABELS[design] + engine
            cpu = "n/a" if design == "command" else r["cpu_s"]  # its forkserver is not its child to reap
            rows.append([point["invoices"], label, r["wall_s"], cpu, r["invoices_per_min"], ratio])
    text = [
        "## 3. Scale",
        "",
        f"Distinct {scale['pages_per_invoice']}-page invoices, cold (fresh storage per design). Every Dagster run "
        "executes in a fresh interpreter, as a launched run's worker does (its forkserver start included), "
        "timed from the `execute_job` call to its end. Range run: one run over all partitions. One run per "
        "partition: single-partition runs two at a time (max_concurrent_runs=2), each in a process of its own, "
        "its interpreter start and imports included. Pool(2): `benchmarks/pool_baseline.py`, the same core in a "
        "plain `multiprocessing.Pool(2)` script in its own interpreter, timed from the pool's creation. "
        "`cc-perf process`: the whole command over the same files (`--no-sheet`), from its start to its exit, on a "
        "new Dagster home and storage: interpreter start, imports, registration, quick checks and the range run "
        "(no CPU figure: the forkserver it starts outlives it, so its time is not counted as the command's).",
        "",
        markdown_table(["Invoices", "Design", "Wall s", "CPU s", "Invoices/min", "Wall / Pool(2)"], rows),
        "",
        f"Headline: range run / Pool(2) at {scale['invoices']} invoices = {fmt(scale['dagster_over_pool2'])} "
        f"(target ≤ {scale['target_ratio_max']}, stated at {scale.get('target_invoices', 200)} invoices).",
    ]
    headline_point = next((p for p in scale["points"] if p["invoices"] == scale["invoices"]), {})
    if len(headline_point.get("rounds", [])) > 1:
        rounds = headline_point["rounds"]
        each = [f"{fmt(r['over_pool2'])} ({fmt(r['range_run_wall_s'])} s / {fmt(r['pool2_wall_s'])} s)" for r in rounds]
        text.append(
            f"\nThe headline is the median of {len(rounds)} rounds, Pool(2) and the range run alternating: "
            + ", ".join(each)
            + "."
        )
        commands = [
            f"{fmt(r['command_wall_s'])} s ({fmt(r['command_over_pool2'])})" for r in rounds if "command_wall_s" in r
        ]
        if commands:
            text.append(f"\n`cc-perf process` in the same rounds (/ that round's Pool(2)): {', '.join(commands)}.")
    if scale["invoices"] != scale.get("target_invoices", 200):
        text.append(
            f"\nThis run has no point at {scale.get('target_invoices', 200)} invoices; the headline uses "
            f"{scale['invoices']}: fixed costs (run and step start) weigh more "
            "there, so the ratio is not the one the target speaks of."
        )
    for gap in scale.get("not_measured", []):
        text.append(
            f"\n**Not measured in this run:** {DESIGN_LABELS[gap['design']]} at {gap['invoices']} invoices "
            f"({gap['reason']}). The plot shows no point there; nothing is extrapolated."
        )
    return "\n".join([*text, "", _image("scale", plots)])


def section_memory(memory: dict, plots: bool) -> str:
    pdfium = memory.get("pdfium_rows") or [{} for _ in memory["rows"]]
    rows = [
        [r["pages"], r["items"], r["file_mb"], r["peak_rss_mb"], r["growth_over_smallest_mb"], p.get("peak_rss_mb")]
        for r, p in zip(memory["rows"], pdfium, strict=True)
    ]
    headers = ["Pages", "Line items", "File MB", "Peak RSS MB", "Growth MB", "Peak RSS MB, pdfium engine"]
    pdfium_ratio = memory.get("pdfium_peak_ratio_largest_over_smallest")
    return "\n".join(
        [
            "## 4. Memory against pages",
            "",
            "Peak resident memory of one whole extraction, each size in a fresh interpreter, with each engine.",
            "",
            markdown_table(headers, rows),
            "",
            f"Largest / smallest = {fmt(memory.get('peak_ratio_largest_over_smallest'))} "
            f"(target ≤ {memory.get('target_ratio_max')}); growth target ≤ {memory['target_growth_max_mb']} MB."
            + (f" With the pdfium engine: {fmt(pdfium_ratio)}." if pdfium_ratio is not None else ""),
            "",
            _image("memory", plots),
        ]
    )


def section_cache(cache: dict, plots: bool) -> str:
    rows = [
        [n.replace("_", " "), r["cpu_time_s"], r["processing_time_s"], r["cache_hits"], r["cache_misses"]]
        for n, r in cache["runs"].items()
    ]
    return "\n".join(
        [
            "## 5. Cache",
            "",
            "In-process runs on one storage; extraction CPU and processing time from the invoice's metadata.",
            "",
            markdown_table(["Run", "CPU s", "Processing s (context)", "Hits", "Misses"], rows),
            "",
            f"warm / cold CPU = {fmt(cache['warm_cpu_over_cold'])} (target ≤ {cache['target_warm_cpu_ratio_max']}); "
            f"one page changed: {cache['one_page_changed_hits']} pages from the cache.",
            "",
            _image("cache", plots),
        ]
    )


def section_breakdown(breakdown: dict, plots: bool) -> str:
    costs = breakdown["event_write_cost"]
    header = ["Run", "Wall s", "Events", "Critical steps", *[k.replace("_", " ") + " s" for k in SEGMENT_COLOURS]]
    rows = [
        [name.replace("_", " "), run["wall_s"], run["events"], len(run["critical_path"]),
         *[f"{fmt(run['segments_s'][k])} ({run['shares'][k]:.0%})" for k in SEGMENT_COLOURS]]
        for name, run in breakdown["runs"].items()
    ]  # fmt: skip
    meanings = [f"- **{k.replace('_', ' ')}**: {v}" for k, v in breakdown["segments"].items()]
    events = []
    for name, run in breakdown["runs"].items():
        top = ", ".join(f"{k} {v}" for k, v in list(run["events_by_type"].items())[:6])
        events.append(f"- {name.replace('_', ' ')}: {run['events']} events ({top}, ...)")
    return "\n".join(
        [
            "## 6. Where the time goes in one Dagster run",
            "",
            "Multiprocess executor, shipped instance configuration, cold. The run's wall time is split along its "
            "critical path (each step's predecessor is the step that finished last before it began), so the "
            "segments add up to the wall time. From the event log timestamps:",
            "",
            *meanings,
            "",
            f"Per-event write cost measured in this run ({costs['method']}): plain {costs['plain_ms']} ms, "
            f"asset or check event {costs['asset_ms']} ms (run-status events count as two plain writes). "
            "**Event writes are an estimate**: count of events on the critical path x these costs.",
            "",
            markdown_table(header, rows),
            "",
            *events,
            "",
            _image("breakdown", plots),
        ]
    )


def section_arrivals(arrivals: dict, plots: bool) -> str:
    total, pool = fmt(arrivals["first_tick_to_last_materialization_s"]), fmt(arrivals["pool2_wall_s"])
    return "\n".join(
        [
            "## 7. Arrivals",
            "",
            f"{arrivals['files']} files ({arrivals['pages']} pages) dropped at once: {arrivals['ticks']} sensor ticks, "
            f"{arrivals['runs']} run(s), {arrivals['materialized']} materialized in "
            f"{total} s against Pool(2) {pool} s: "
            f"ratio {fmt(arrivals['arrivals_over_pool2'])}. {arrivals['note']}.",
            *_drop_lines(arrivals.get("drop")),
        ]
    )


def _drop_lines(drop: dict | None) -> list[str]:
    """The live daemon's figures: one file at a time, from the drop to its booked rows."""
    if not drop:
        return []
    rounds = ", ".join(f"{r['booked_s']} s (run requested at {r['requested_s']} s)" for r in drop["rounds"])
    median_s, command_s = fmt(drop["drop_to_booked_s"]), fmt(drop["command_s"])
    return [
        "",
        "One 15-page invoice at a time dropped into the folder a live `dagster-daemon run -w workspace.yaml` "
        f"watches (a shipped home, as `make ui`), to its booked rows: {rounds}; median {median_s} s against "
        f"`cc-perf process` on the same file {command_s} s (the whole command, a fresh home): "
        f"ratio {fmt(drop['drop_over_command'])}. The file is taken on the sensor's second tick after it stops "
        "changing (ticks about 5 s apart); the run then waits for the queue (looked at every second) and a run "
        "worker's start.",
        *_moved_lines(drop),
    ]


def _moved_lines(drop: dict) -> list[str]:
    """Files moved in (their modification time minutes old): taken on the sensor's first look."""
    moved = drop.get("moved_rounds")
    if not moved:
        return []
    rounds = ", ".join(f"{r['booked_s']} s" for r in moved)
    return [
        f"Moved in instead (the file's time kept from minutes before, so taken on the first look): {rounds}; "
        f"median {fmt(drop['moved_to_booked_s'])} s.",
    ]


def section_cluster(cluster: dict, plots: bool) -> str:
    lines = ["## 8. Cluster (Celery workers, PostgreSQL)", ""]
    if "skipped" in cluster:
        return "\n".join([*lines, f"Skipped: {cluster['skipped']}."])
    runs = [
        ("multiprocessing.Pool(2) script", cluster["pool2"], None),
        ("range run, multiprocess executor (SQLite)", cluster["multiprocess"], None),
        ("range run, 1 Celery worker", cluster["one_worker"], cluster["one_worker"]["batches"]),
        ("range run, 2 Celery workers", cluster["two_workers"], cluster["two_workers"]["batches"]),
        ("range run, 2 workers, DAGSTER_EVENT_BATCH_SIZE=0", cluster["two_workers_unbatched"], None),
    ]
    rows = [[label, run["wall_s"], run["cpu_s"], fmt(batches)] for label, run, batches in runs]
    events = cluster["events"]
    event_rows = [
        [name, events[name]["one_by_one_ms"], events[name]["batch_ms"], events[name]["batch_over_one_by_one"]]
        for name in ("sqlite", "postgres")
    ]
    return "\n".join(
        [
            *lines,
            f"{cluster['invoices']} invoices ({cluster['pages']} pages), side by side on one machine; workers of one "
            "pool process each, a fresh database per run.",
            "",
            markdown_table(["Design", "Wall s", "CPU s (launching tree)", "Batches"], rows),
            "",
            f"Two workers / one: {fmt(cluster['two_over_one'])} (target ≤ {cluster['target_two_over_one_max']}); "
            f"two workers / multiprocess: {fmt(cluster['two_over_multiprocess'])} "
            f"(target ≤ {cluster['target_two_over_multiprocess_max']}); batching off / on: "
            f"{fmt(cluster['unbatched_over_batched'])}.",
            "",
            f"What storing a materialization costs, {events['sqlite']['events']} events (ms per event):",
            "",
            markdown_table(["Event log", "One by one", "One batch", "Batch / one by one"], event_rows),
        ]
    )


def section_regressions(report: dict) -> str:
    found = report.get("regressions", [])
    lines = ["## Regressions", ""]
    mode = "quick" if report.get("quick") else "full-size"
    lines.append(
        f"Each headline figure against the newest earlier {mode} results file that has it; flagged when more than "
        "20% worse."
    )
    lines.append("")
    if not found:
        lines.append("None flagged.")
    for item in found:
        lines.append(f"- **{item['figure']}**: {item['before']} -> {item['now']} (previous run {item['previous_run']})")
    return "\n".join(lines)


SECTIONS: dict[str, Callable[[dict, bool], str]] = {
    "core": section_core,
    "one_invoice": section_one_invoice,
    "scale": section_scale,
    "memory": section_memory,
    "cache": section_cache,
    "breakdown": section_breakdown,
    "arrivals": section_arrivals,
    "cluster": section_cluster,
}


def _render_section(key: str, render: Callable[[dict, bool], str], section: dict, have_plots: bool) -> str:
    """One section, or a note when the results file has it in an older shape."""
    try:
        return render(section, have_plots)
    except (KeyError, TypeError, IndexError):
        return f"## {key}\n\n_This results file has the `{key}` section in an older shape; not rendered._"


def markdown(report: dict, source: Path | None, have_plots: bool) -> str:
    """The whole REPORT.md."""
    machine = report.get("machine", {})
    mode = "quick (`--quick`)" if report.get("quick") else ("full (`--full`)" if report.get("full") else "default")
    source_note = f"`{source.relative_to(REPO)}`" if source and source.is_relative_to(REPO) else "a results file"
    parts = [
        "# Benchmark report",
        "",
        f"From {source_note}, {report.get('timestamp')}, mode {mode}, {machine.get('cpus')} CPUs, "
        f"Python {machine.get('python')}; total {fmt(report.get('total_seconds'))} s. Generated by "
        "`benchmarks/report.py`; do not edit by hand.",
        "",
        "Every headline figure is a ratio against a baseline measured in the same run (lower is better). "
        "Absolute times are context only: the machine is shared and noisy.",
        "",
        "## Headline figures",
        "",
        headline_table(report),
        "",
        f"Regressions flagged: {len(report.get('regressions', []))} (see the end).",
    ]
    for key, render in SECTIONS.items():
        if key in report:
            parts += ["", _render_section(key, render, report[key], have_plots)]
    parts += ["", section_regressions(report), ""]
    return "\n".join(parts)


def readme_snippet(report: dict) -> str:
    """The headline table and the scale plot, for the project README."""
    lines = [
        f"Headline figures from `make bench` ({report.get('timestamp')}, {report.get('machine', {}).get('cpus')} "
        "CPUs): each a ratio against a baseline measured in the same run, lower is better. Full report: "
        "[benchmarks/REPORT.md](benchmarks/REPORT.md).",
        "",
        headline_table(report),
    ]
    if "scale" in report:
        lines += ["", f"![Wall time against number of invoices](benchmarks/plots/{README_PLOT})"]
    return "\n".join(lines) + "\n"


def write_report(report: dict, source: Path | None = None) -> list[Path]:
    """Write REPORT.md, the plots and README-snippet.md; return the paths written."""
    plots = write_plots(report)
    REPORT.write_text(markdown(report, source, bool(plots)), encoding="utf-8")
    SNIPPET.write_text(readme_snippet(report), encoding="utf-8")
    return [REPORT, SNIPPET, *plots]


def newest_results() -> Path:
    """The newest results file in ``benchmarks/results/``."""
    files = sorted(RESULTS.glob("*.json"))
    if not files:
        raise SystemExit("no results file in benchmarks/results/: run `make bench` first")
    return files[-1]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]).resolve() if args else newest_results()
    report = json.loads(source.read_text(encoding="utf-8"))
    for path in write_report(report, source=source):
        print(f"written {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
