"""Performance overview: per-invoice figures in, percentiles, slowest invoices and a Markdown report out.

Plain Python (no Dagster): the overview asset gathers each invoice's latest materialization
figures, the partitions whose latest attempt failed and the checks that did not pass, and
hands them to :func:`summarize`.

Example:
    >>> rows = [
    ...     {"key": "A", "processing_time_s": 1.0, "pages": 15, "peak_rss_mb": 100.0, "cache_hits": 0},
    ...     {"key": "B", "processing_time_s": 3.0, "pages": 15, "peak_rss_mb": 120.0, "cache_hits": 15},
    ... ]
    >>> summary = summarize(rows)
    >>> summary["overall"]["p50_processing_time_s"], summary["overall"]["cache_hit_rate"]
    (2.0, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SLOWEST = 5
# The Markdown table lists at most this many invoices (the slowest first); the numeric
# figures always cover every invoice.
TABLE_LIMIT = 100


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between the closest ranks.

    The same definition as ``numpy.percentile``'s default and ``statistics.quantiles(...,
    method="inclusive")``.

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside 0-100.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0-100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(
    invoices: Iterable[Mapping[str, Any]],
    *,
    failures: Iterable[Mapping[str, Any]] = (),
    failed_checks: Iterable[Mapping[str, Any]] = (),
    duplicates: Iterable[Mapping[str, Any]] = (),
    slowest: int = SLOWEST,
) -> dict[str, Any]:
    """Overall and per-invoice figures.

    Args:
        invoices: One mapping per invoice (its latest materialization): ``key``,
            ``processing_time_s``, ``pages``, ``peak_rss_mb``, ``cache_hits``, and optionally
            ``invoice_number``, ``line_items``, ``cpu_time_s``.
        failures: Partitions whose latest attempt failed: ``key``, ``run_id``, ``reason``.
        failed_checks: Checks whose latest evaluation did not pass: ``check``, ``severity``,
            ``partitions`` (the failing ones), ``description``.
        duplicates: Partitions not booked because another (newer) partition carries the same
            invoice number: ``key``, ``file``, ``invoice_number``, ``booked_key``, ``booked_file``,
            ``reason`` (:meth:`cc_perf_dagster.core.dedupe.Superseded.to_dict`).
        slowest: How many of the slowest invoices to name.

    Returns:
        ``{"overall": {...numbers...}, "invoices": [...], "slowest": [...], "failures": [...],
        "failed_checks": [...], "duplicates": [...]}``. Pages/s overall is total pages over total processing time;
        the cache hit rate is weighted by pages.
    """
    rows = sorted((_row(i) for i in invoices), key=lambda r: (-r["processing_time_s"], r["key"]))
    failures = sorted((dict(f) for f in failures), key=lambda f: f["key"])
    failed_checks = sorted((dict(c) for c in failed_checks), key=lambda c: c["check"])
    times = [r["processing_time_s"] for r in rows]
    pages = sum(r["pages"] for r in rows)
    total_time = sum(times)
    overall: dict[str, Any] = {
        "invoices": len(rows),
        "pages": pages,
        "line_items": sum(r["line_items"] for r in rows),
        "failures": len(failures),
        "failed_checks": len(failed_checks),
    }
    if rows:
        overall.update(
            p50_processing_time_s=round(percentile(times, 50), 4),
            p95_processing_time_s=round(percentile(times, 95), 4),
            max_processing_time_s=round(max(times), 4),
            pages_per_s=round(pages / total_time, 2) if total_time > 0 else 0.0,
            p50_pages_per_s=round(percentile([r["pages_per_s"] for r in rows], 50), 2),
            peak_rss_mb=round(max(r["peak_rss_mb"] for r in rows), 1),
            p95_peak_rss_mb=round(percentile([r["peak_rss_mb"] for r in rows], 95), 1),
            cache_hit_rate=round(sum(r["cache_hits"] for r in rows) / pages, 4) if pages else 0.0,
        )
    return {
        "overall": overall,
        "invoices": rows,
        "slowest": rows[:slowest],
        "failures": failures,
        "failed_checks": failed_checks,
        "duplicates": sorted((dict(d) for d in duplicates), key=lambda d: (d["invoice_number"], d["key"])),
    }


def _row(figures: Mapping[str, Any]) -> dict[str, Any]:
    time_s = float(figures["processing_time_s"])
    pages = int(figures["pages"])
    return {
        "key": str(figures["key"]),
        "invoice_number": str(figures.get("invoice_number") or ""),
        "processing_time_s": time_s,
        "pages": pages,
        "pages_per_s": round(pages / time_s, 2) if time_s > 0 else 0.0,
        "peak_rss_mb": float(figures["peak_rss_mb"]),
        "cache_hits": int(figures.get("cache_hits") or 0),
        "cache_hit_rate": round(int(figures.get("cache_hits") or 0) / pages, 4) if pages else 0.0,
        "line_items": int(figures.get("line_items") or 0),
    }


def to_markdown(summary: Mapping[str, Any], *, limit: int = TABLE_LIMIT) -> str:
    """The overview as Markdown: overall figures, failures, failed checks, then the invoices."""
    overall = summary["overall"]
    out = ["## Overall", "", "| figure | value |", "|---|---|"]
    out += [f"| {name} | {_cell(value)} |" for name, value in overall.items()]
    if summary["failures"]:
        out += ["", "## Failures (latest attempt failed)", "", "| partition | run | reason |", "|---|---|---|"]
        out += [
            f"| {f['key']} | {f.get('run_id', '')[:8]} | {_cell(f.get('reason', ''))} |" for f in summary["failures"]
        ]
    if summary["failed_checks"]:
        out += [
            "",
            "## Checks that did not pass",
            "",
            "| check | severity | partitions | detail |",
            "|---|---|---|---|",
        ]
        for c in summary["failed_checks"]:
            parts = ", ".join(c.get("partitions") or []) or "-"
            out.append(
                f"| {c['check']} | {c.get('severity', '')} | {_cell(parts)} | {_cell(c.get('description', ''))} |"
            )
    if summary.get("duplicates"):
        out += [
            "",
            "## Invoice numbers in more than one partition (booked once: the newer file)",
            "",
            "| invoice | not booked | booked | reason |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {d['invoice_number']} | {_cell(d['key'])} ({_cell(d['file'])}) | "
            f"{_cell(d['booked_key'])} ({_cell(d['booked_file'])}) | {_cell(d['reason'])} |"
            for d in summary["duplicates"]
        ]
    rows = summary["invoices"]
    title = "## Invoices, slowest first" + (f" (first {limit} of {len(rows)})" if len(rows) > limit else "")
    out += ["", title, ""]
    out += [
        "| partition | invoice | time (s) | pages | pages/s | peak MB | hit rate | lines |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows[:limit]:
        out.append(
            f"| {r['key']} | {r['invoice_number']} | {r['processing_time_s']:.2f} | {r['pages']} | "
            f"{r['pages_per_s']:.1f} | {r['peak_rss_mb']:.0f} | {r['cache_hit_rate']:.2f} | {r['line_items']} |"
        )
    return "\n".join(out) + "\n"


def _cell(value: Any) -> str:
    return str(value).replace("|", "/").replace("\n", " ")
