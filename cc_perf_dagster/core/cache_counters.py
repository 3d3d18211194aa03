"""What one process's cache did: hits at each level, misses, writes, rejected and expired entries."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class CacheCounters:
    """What this process's cache did. Hit rate counts both levels against misses."""

    l1_hits: int = 0
    l2_hits: int = 0
    misses: int = 0
    writes: int = 0
    write_errors: int = 0
    corrupt: int = 0
    expired: int = 0
    evictions: int = 0

    @property
    def hits(self) -> int:
        """Hits at either level."""
        return self.l1_hits + self.l2_hits

    @property
    def hit_rate(self) -> float:
        """Hits over lookups (0.0 before any lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def as_dict(self) -> dict[str, float]:
        """Counters plus hits and hit rate, as plain numbers."""
        return {**asdict(self), "hits": self.hits, "hit_rate": round(self.hit_rate, 4)}
