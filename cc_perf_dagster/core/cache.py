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
      partial entry. The folder is size-bounded across every process that writes to it: each
      write adds its size to a shared usage counter (``root/usage``) under a file lock, and when
      the count passes ``max_bytes`` the writer scans the folder and evicts the least recently
      used entries (by modification time, refreshed on every hit) down to 90% of the bound.
      Entries older than ``ttl_s`` are misses and are removed.

Integrity: each L2 entry is ``MAGIC | written_at | HMAC-SHA256 | zlib(JSON)``, the HMAC taken
under a secret key over the entry's key, the timestamp and the payload; where the key comes
from, and what is refused, is in :mod:`cc_perf_dagster.core.cache_keys`. A wrong or damaged
entry (a flipped byte, a truncated write, a file copied in from elsewhere) is logged, removed
and treated as a miss, never returned.

A failed cache read or write never fails the computation: it is counted and logged. A
refused key does, once, with a line that says what to fix.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cachetools import TTLCache

from cc_perf_dagster.core.cache_counters import CacheCounters
from cc_perf_dagster.core.cache_keys import DEFAULT_SECRET_ENV, MIN_KEY_LENGTH, CacheKeyError, checked_key, load_key
from cc_perf_dagster.core.locking import file_lock

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_SECRET_ENV", "MIN_KEY_LENGTH", "CacheCounters", "CacheKeyError", "PageCache", "cache_key"]

MAGIC = b"CCPC1\n"
_STAMP = struct.Struct(">d")
_TAG_SIZE = 32
_HEADER = len(MAGIC) + _STAMP.size + _TAG_SIZE
_CORRUPT_WARNINGS = 3  # per process: a foreign key makes every entry look corrupt; say so a few times


def cache_key(kind: str, identity: str, version: str) -> str:
    """The cache key of an entry: a hex digest of its kind, identity and parser version."""
    return hashlib.sha256(f"{kind}\0{version}\0{identity}".encode()).hexdigest()


class PageCache:
    """Two-level, content-addressed, integrity-checked cache of JSON values.

    Args:
        root: Folder of the disk level; ``None`` keeps only the in-process level.
        max_bytes: Size bound of the disk level.
        ttl_s: Time to live of an entry (both levels).
        l1_items: Number of entries the in-process level holds.
        secret: The HMAC key; by default read from ``secret_env`` or ``key_file``.
        secret_env: Name of the environment variable that may hold the key.
        key_file: The key file used when the environment holds no key (default:
            :func:`default_key_file`); created on first use. Never inside ``root``.
        clock: Seconds since the epoch, for entry ages and least-recently-used order
            (tests pass a fake one).

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
        key_file: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.root = None if root is None else Path(root)
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.counters = CacheCounters()
        self._clock = clock
        self._l1: TTLCache[str, Any] = TTLCache(maxsize=l1_items, ttl=ttl_s, timer=clock)
        self._lock = threading.Lock()
        self._folders: set[Path] = set()
        self._serial = 0
        self._unaccounted: dict[int, int] = {}  # per thread inside accounted_once: bytes written
        self._secret = None if secret is None else checked_key(secret, "the secret given to PageCache")
        self._secret_env = secret_env
        self.key_file = None if key_file is None else Path(key_file)
        self._corrupt_warnings = 0

    # --- public API ------------------------------------------------------------------------

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or ``None`` (a miss)."""
        with self._lock:
            value = self._l1.get(key)
        if value is not None:
            self.counters.l1_hits += 1
            return value
        if self.root is not None:
            self.check_key()  # a refused key fails here, before any entry is judged by it
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
        self.check_key()
        try:
            size = self._write(key, value)
            thread = threading.get_ident()
            if thread in self._unaccounted:
                self._unaccounted[thread] += size
            else:
                self._account(size)
        except Exception as exc:  # a cache must never fail the computation
            self.counters.write_errors += 1
            # once per cache: a full disk would say the same for every page after it
            (log.warning if self.counters.write_errors == 1 else log.debug)(
                "cache write failed for %s: %s (further failures of this cache are logged at DEBUG)", key[:12], exc
            )
            return False
        self.counters.writes += 1
        return True

    @contextmanager
    def accounted_once(self) -> Iterator[None]:
        """Count the block's disk writes in the shared usage counter once, at its end.

        Counting a write takes the cache's inter-process lock and rewrites the usage file, which
        costs more than writing a page's entry; a batch step writes a document's pages under one
        count. The size bound is checked at the end of the block, so the folder may pass it by
        what one block writes; a process that dies inside the block leaves its writes uncounted
        until the next eviction scan counts the folder again.
        """
        thread = threading.get_ident()
        if thread in self._unaccounted or self.root is None:  # nested, or nothing on disk
            yield
            return
        self._unaccounted[thread] = 0
        try:
            yield
        finally:
            written = self._unaccounted.pop(thread)
            if written:
                try:
                    self._account(written)
                except Exception as exc:  # a cache must never fail the computation
                    self.counters.write_errors += 1
                    log.warning("cache usage not counted (%s bytes): %s", written, exc)

    def check_key(self) -> None:
        """Load the HMAC key now (creating the key file if needed).

        Raises:
            CacheKeyError: The key is empty or short, its file is inside the cache folder or
                is not a regular file, or it cannot be read or created.
        """
        self._key_secret()

    def evict(self) -> int:
        """Bring the disk level under its size bound; returns the number of entries removed."""
        if self.root is None:
            return 0
        with file_lock(self.root / ".lock"):
            removed, total = self._evict_locked()
            self._store_usage(total)
        return removed

    def clear(self) -> int:
        """Remove every entry (both levels); the key is kept. Returns entries removed."""
        with self._lock:
            self._l1.clear()
        if self.root is None or not self.root.is_dir():
            return 0
        removed = 0
        with file_lock(self.root / ".lock"):
            for path, _, _ in list(self._entries()):
                try:
                    path.unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
            self._store_usage(sum(size for _, size, _ in self._entries()))
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
            assert self.root is not None
            self._secret = load_key(self.root, secret_env=self._secret_env, key_file=self.key_file)
        return self._secret

    def _tag(self, key: str, stamp: bytes, payload: bytes) -> bytes:
        return hmac.new(self._key_secret(), key.encode() + stamp + payload, hashlib.sha256).digest()

    def _write(self, key: str, value: Any) -> int:
        # zlib level 1: page results are small and repetitive; the faster level loses little.
        payload = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 1)
        now = self._clock()
        stamp = _STAMP.pack(now)
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
            os.utime(temp, (now, now))  # least recently used order follows the clock
            os.replace(temp, path)
        except FileNotFoundError:
            self._folders.discard(path.parent)  # the folder was removed meanwhile (clear): retry once
            path.parent.mkdir(parents=True, exist_ok=True)
            return self._write(key, value)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return len(blob)

    def _account(self, added: int) -> None:
        """Count ``added`` bytes in the shared usage counter; evict when the folder is over its bound.

        Overwritten, expired and removed entries are not subtracted: the counter only ever
        overestimates, and every eviction scan resets it to what is really on disk.
        """
        assert self.root is not None
        with file_lock(self.root / ".lock"):
            usage = self._stored_usage()
            usage = sum(size for _, size, _ in self._entries()) if usage is None else usage + added
            if usage > self.max_bytes:
                _, usage = self._evict_locked()
            self._store_usage(usage)

    def _evict_locked(self) -> tuple[int, int]:
        """Evict down to 90% of the bound (the caller holds the lock); entries removed, bytes left."""
        entries = list(self._entries())
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return 0, total
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
        return removed, total

    def _stored_usage(self) -> int | None:
        assert self.root is not None
        try:
            return int((self.root / "usage").read_text())
        except (OSError, ValueError):
            return None  # missing or torn: the caller scans

    def _store_usage(self, usage: int) -> None:
        assert self.root is not None
        temp = self.root / f".usage-{os.getpid()}-{threading.get_ident()}"
        temp.write_text(str(usage))
        os.replace(temp, self.root / "usage")

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
            self._corrupt_warnings += 1
            level = logging.WARNING if self._corrupt_warnings <= _CORRUPT_WARNINGS else logging.DEBUG
            log.log(level, "cache entry %s rejected (%s); removed and treated as a miss", path, exc)
            path.unlink(missing_ok=True)
            return None
        try:
            now = self._clock()
            os.utime(path, (now, now))  # least recently used eviction goes by modification time
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
        if self._clock() - _STAMP.unpack(stamp)[0] > self.ttl_s:
            raise _Expired
        return json.loads(zlib.decompress(payload))


class _Expired(Exception):
    pass
