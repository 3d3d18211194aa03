"""Regression detection: headline figures more than 20% worse than in the newest earlier results file."""

from __future__ import annotations

from benchmarks.report import HEADLINES, lookup

REGRESSION_THRESHOLD = 0.20


def figure(report: dict, path: tuple) -> float | None:
    """A headline's number in a results file, ``None`` when it is missing or not a number."""
    value = lookup(report, path)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def same_mode(report: dict, other: dict) -> bool:
    """Quick runs (smaller sizes and counts) are compared only with quick runs; older files are full runs."""
    return bool(report.get("quick")) == bool(other.get("quick"))


def regressions(report: dict, previous: list[dict]) -> list[dict]:
    """Headline figures more than 20% worse than in the newest earlier results file (same mode) that has them.

    Files of an older shape simply lack some paths; those figures are skipped, never an error.
    """
    found = []
    comparable = [p for p in previous if isinstance(p, dict) and same_mode(report, p)]
    for headline in HEADLINES:
        now = figure(report, headline.path)
        earlier = next((p for p in comparable if figure(p, headline.path) is not None), None)
        if now is None or earlier is None:
            continue
        before = figure(earlier, headline.path)
        if before > 0 and now > before * (1 + REGRESSION_THRESHOLD):
            found.append(
                {"figure": headline.name, "before": before, "now": now, "previous_run": earlier.get("timestamp")}
            )
    return found
