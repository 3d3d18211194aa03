"""Which Dagster release the overrides in this package were checked against.

Every override here relies on private Dagster names. Each one asks :data:`CHECKED` before
taking its fast path and uses Dagster's own storage or call otherwise, so a Dagster release
nobody checked runs correctly (slower) instead of breaking; the first such use logs why.
``test_event_log.py`` and ``test_partition_metadata.py`` hold the overrides to Dagster's own
behaviour on the checked release.
"""

from __future__ import annotations

import logging

import dagster

log = logging.getLogger(__name__)

# Releases the overrides were checked against (``pyproject.toml`` pins the same).
CHECKED_RELEASES: frozenset[str] = frozenset({"1.13.27"})
RUNNING = dagster.__version__
CHECKED = RUNNING in CHECKED_RELEASES
_told: set[str] = set()


def fast_path(what: str) -> bool:
    """Whether ``what`` may use its override; logs once per process and override when it may not."""
    if CHECKED:
        return True
    if what not in _told:
        _told.add(what)
        log.warning(
            "%s: Dagster %s is not a release this override was checked against (%s); using Dagster's own",
            what,
            RUNNING,
            ", ".join(sorted(CHECKED_RELEASES)),
        )
    return False
