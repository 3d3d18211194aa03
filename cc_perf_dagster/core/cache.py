"""A content-addressed cache of parse results, shared by every process that can see its folder.

What is cached:
    * ``page`` entries: one page's parse result, keyed by the page content hash and the
      parser version (see :data:`~cc_perf_dagster.core.extract.PARSER_VERSION`).
    * ``doc`` entries: a whole document's result, keyed by the file's sha256 and the parser
      version, so the same bytes are never parsed twice, whatever the file is called.

Two levels:
    * L1, in the process: a ``cachetools.TTLCache`` (size-bounded, least recently used
      first out, with a time to live).
    * L2, on disk under ``root``: one file per entry, written to a temporary file and renamed,
      so concurrent writers (step processes, runs, machines on a shared path) never expose a
      partial entry. The folder is size-bounded: when it grows past ``max_bytes``, the least
      recently used entries (by modification time, refreshed on every hit) are evicted down to
      90% of the bound. Entries older than ``ttl_s`` are misses and are removed.

Integrity: each L2 entry is ``MAGIC | written_at | HMAC-SHA256 | zlib(JSON)``, the HMAC taken
under a per-installation secret over the key, the timestamp and the payload. The secret comes
from the environment variable named by ``secret_env`` or, failing that, from ``root/secret.key``,
generated on first use with owner-only permissions. It protects against a cache folder that
was tampered with or damaged (a flipped byte, a truncated write, a file copied in from
elsewhere): such an entry is logged, removed and treated as a miss, never returned.

A failed cache read or write never fails the computation: it is counted and logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import struct
import threading
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cachetools import TTLCache

log = logging.getLogger(__name__)

MAGIC = b"CCPC1\n"
_STAMP = struct.Struct(">d")
_TAG_SIZE = 32
_HEADER = len(MAGIC) + _STAMP.size + _TAG_SIZE
DEFAULT_SECRET_ENV = "CC_PERF_CACHE_SECRET"


def cache_key(kind: str, identity: str, version: str) -> str:
    """The cache key of an entry: a hex digest of its kind, identity and parser version."""
    return hashlib.sha256(f"{kind}\0{version}\0{identity}".encode()).hexdigest()


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


class PageCache:
    """Two-level, content-addressed, integrity-checked cache of JSON values.

    Args:
        root: Folder of the disk level; ``None`` keeps only the in-process level.
        max_bytes: Size bound of the disk level.
        ttl_s: Time to live of an entry (both levels).
        l1_items: Number of entries the in-process level holds.
        secret: The HMAC secret; by default read from ``secret_env`` or ``root/secret.key``.
        secret_env: Name of the environment variable that may hold the secret.

    Example:
        >>> cache = PageCache(None)
        >>> key = cache_key("page", "abc", "1")
        >>> cache.get(key) is None
        True
        >>> cache.put(key, {"rows": 3})
        True
        >>> cache.get(key)
        {'rows': 3}
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None,
        *,
        max_bytes: int = 512 * 2**20,
        ttl_s: float = 90 * 86400,
        l1_items: int = 4096,
        secret: bytes | None = None,
        secret_env: str = DEFAULT_SECRET_ENV,
    ):
        self.root = None if root is None else Path(root)
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.counters = CacheCounters()
        self._l1: TTLCache[str, Any] = TTLCache(maxsize=l1_items, ttl=ttl_s)
        self._lock = threading.Lock()
        self._written_since_check = 0
        self._folders: set[Path] = set()
        self._serial = 0
        self._secret = secret
        self._secret_env = secret_env

    # --- public API ------------------------------------------------------------------------

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or ``None`` (a miss)."""
        with self._lock:
            value = self._l1.get(key)
        if value is not None:
            self.counters.l1_hits += 1
            return value
        value = self._read(key) if self.root is not None else None
        if value is None:
            self.counters.misses += 1
            return None
        self.counters.l2_hits += 1
        with self._lock:
            self._l1[key] = value
        return value

    def put(self, key: str, value: Any) -> bool:
        """Store a JSON-able value; returns whether the disk write (if any) succeeded."""
        with self._lock:
            self._l1[key] = value
        if self.root is None:
            return True
        try:
            size = self._write(key, value)
        except Exception as exc:  # a cache must never fail the computation
            self.counters.write_errors += 1
            log.warning("cache write failed for %s: %s", key[:12], exc)
            return False
        self.counters.writes += 1
        self._written_since_check += size
        if self._written_since_check > max(self.max_bytes // 20, 1):
            self._written_since_check = 0
            self.evict()
        return True

    def evict(self) -> int:
        """Bring the disk level under its size bound; returns the number of entries removed."""
        if self.root is None:
            return 0
        entries = list(self._entries())
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return 0
        removed = 0
        target = int(self.max_bytes * 0.9)
        for path, size, _ in sorted(entries, key=lambda e: e[2]):
            if total <= target:
                break
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            total -= size
            removed += 1
        self.counters.evictions += removed
        return removed

    def clear(self) -> int:
        """Remove every entry (both levels); keeps the secret. Returns entries removed."""
        with self._lock:
            self._l1.clear()
        removed = 0
        for path, _, _ in list(self._entries()):
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    def disk_usage(self) -> tuple[int, int]:
        """Entries and bytes currently in the disk level."""
        entries = list(self._entries())
        return len(entries), sum(size for _, size, _ in entries)

    def stats(self) -> dict[str, Any]:
        """Counters of this process plus the disk level's size and bounds."""
        entries, size = self.disk_usage()
        return {
            **self.counters.as_dict(),
            "root": None if self.root is None else str(self.root),
            "entries": entries,
            "bytes": size,
            "max_bytes": self.max_bytes,
            "ttl_s": self.ttl_s,
        }

    # --- disk level ------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / "entries" / key[:2] / f"{key}.bin"

    def _entries(self):
        if self.root is None:
            return
        base = self.root / "entries"
        if not base.is_dir():
            return
        for folder in os.scandir(base):
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder.path):
                if entry.name.endswith(".bin"):
                    try:
                        st = entry.stat()
                    except FileNotFoundError:
                        continue
                    yield Path(entry.path), st.st_size, st.st_mtime

    def _key_secret(self) -> bytes:
        if self._secret is None:
            self._secret = self._load_secret()
        return self._secret

    def _load_secret(self) -> bytes:
        from_env = os.environ.get(self._secret_env)
        if from_env:
            return from_env.encode()
        assert self.root is not None
        path = self.root / "secret.key"
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if path.stat().st_mode & 0o077:
                log.warning("cache secret %s is readable by others; it should be mode 600", path)
            return path.read_bytes()
        token = secrets.token_hex(32).encode()
        with os.fdopen(fd, "wb") as fh:
            fh.write(token)
        return token

    def _tag(self, key: str, stamp: bytes, payload: bytes) -> bytes:
        return hmac.new(self._key_secret(), key.encode() + stamp + payload, hashlib.sha256).digest()

    def _write(self, key: str, value: Any) -> int:
        # zlib level 1: page results are small and repetitive; the faster level loses little.
        payload = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 1)
        stamp = _STAMP.pack(time.time())
        blob = MAGIC + stamp + self._tag(key, stamp, payload) + payload
        path = self._path(key)
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        # A name unique to this process and write: no random names, no retries.
        self._serial += 1
        temp = path.parent / f".tmp-{os.getpid()}-{threading.get_ident()}-{self._serial}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(temp, path)
        except FileNotFoundError:
            self._folders.discard(path.parent)  # the folder was removed meanwhile (clear): retry once
            path.parent.mkdir(parents=True, exist_ok=True)
            return self._write(key, value)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return len(blob)

    def _read(self, key: str) -> Any | None:
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            log.warning("cache entry %s unreadable (%s); treated as a miss", path, exc)
            return None
        try:
            value = self._decode(key, blob)
        except _Expired:
            self.counters.expired += 1
            path.unlink(missing_ok=True)
            return None
        except Exception as exc:
            self.counters.corrupt += 1
            log.warning("cache entry %s rejected (%s); removed and treated as a miss", path, exc)
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)  # least recently used eviction goes by modification time
        except OSError:
            pass
        return value

    def _decode(self, key: str, blob: bytes) -> Any:
        if len(blob) < _HEADER or not blob.startswith(MAGIC):
            raise ValueError("not a cache entry or truncated")
        stamp = blob[len(MAGIC) : len(MAGIC) + _STAMP.size]
        tag = blob[len(MAGIC) + _STAMP.size : _HEADER]
        payload = blob[_HEADER:]
        if not hmac.compare_digest(tag, self._tag(key, stamp, payload)):
            raise ValueError("integrity check failed")
        if time.time() - _STAMP.unpack(stamp)[0] > self.ttl_s:
            raise _Expired
        return json.loads(zlib.decompress(payload))


class _Expired(Exception):
    pass
