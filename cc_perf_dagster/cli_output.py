"""What ``cc-perf`` prints: aligned tables, one line per invoice outcome, the overview line."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cc_perf_dagster.core.errors import one_line


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain, aligned text table (numbers right-aligned)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(_is_number(r[i]) for r in cells[1:]) and len(cells) > 1 for i in range(len(header))]
    lines = []
    for index, row in enumerate(cells):
        parts = [c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


PROCESS_COLUMNS = (
    ("partition", "partition_key"),
    ("status", "status"),
    ("pages", "pages"),
    ("lines", "line_items"),
    ("billed", "billed_lines"),
    ("consistency", "consistency_score"),
    ("time_s", "processing_time_s"),
    ("run_s", "run_wall_s"),
    ("peak_mb", "peak_rss_mb"),
    ("batches", "batches"),
    ("hit_rate", "cache_hit_rate"),
)


def progress_line(outcome) -> str:
    """The one line ``cc-perf process`` prints on stderr for an invoice's outcome."""
    if outcome.status == "duplicate":
        return one_line(f"cc-perf: [duplicate] {outcome.file}: {outcome.note or outcome.error}")
    if outcome.status == "not_booked":
        return f"cc-perf: [not booked] {outcome.partition_key} ({outcome.file}): {outcome.error}"
    if outcome.status != "materialized":
        return one_line(f"cc-perf: [failed] {outcome.partition_key} ({outcome.file}): {outcome.error}")
    m = outcome.metadata
    return one_line(
        f"cc-perf: [ok] {outcome.partition_key} ({outcome.file}): {m.get('pages')} pages, "
        f"{m.get('line_items')} lines, {m.get('processing_time_s', 0):.2f} s, "
        f"peak {m.get('peak_rss_mb', 0):.0f} MB, hit rate {m.get('cache_hit_rate', 0):.2f}"
    )


def overview_line() -> str | None:
    """One line from the stored performance overview (every registered invoice), if there is one."""
    from cc_perf_dagster.resources import default_storage_root

    path = default_storage_root() / "assets" / "performance_overview.json"
    try:
        overall = json.loads(path.read_text(encoding="utf-8"))["overall"]
    except (OSError, ValueError, KeyError):
        return None
    if not overall.get("invoices"):
        return None
    return (
        f"All {overall['invoices']} registered invoices: p50 {overall['p50_processing_time_s']:.2f} s, "
        f"p95 {overall['p95_processing_time_s']:.2f} s, {overall['pages_per_s']:.1f} pages/s, "
        f"peak {overall['peak_rss_mb']:.0f} MB, cache hit rate {overall['cache_hit_rate']:.2f}, "
        f"{overall['failures']} failing, {overall['failed_checks']} check(s) not passing"
    )


def cell(value: object) -> str:
    """A table cell: ``-`` for nothing, floats to three decimals (one from 10 up)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)
