"""The cache's HMAC key: where it comes from, and the checks that keep a weak or planted key out.

The key is never kept in the folder it protects (whoever could write entries could then replace
the key too). It comes from:

    1. the environment variable named by ``secret_env`` (default ``CC_PERF_CACHE_KEY``; the
       older ``CC_PERF_CACHE_SECRET`` is still read), which is how a cluster gives every
       process on every machine the same key;
    2. else the key file (default :func:`default_key_file`: ``$CC_PERF_CACHE_KEY_FILE``,
       else ``$DAGSTER_HOME/cc_perf_cache.key``, else ``ROOT.key`` beside the cache folder),
       generated on first use: written whole to a temporary file, then linked into place, so a
       full disk never leaves a short key behind.

A key shorter than :data:`MIN_KEY_LENGTH`, a key file inside the cache folder and a key path
that is not a regular file are refused with one :class:`CacheKeyError` before any entry is
read, so a broken key never makes good entries look corrupt.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import threading
from pathlib import Path

from cc_perf_dagster.core.errors import CcPerfError

log = logging.getLogger(__name__)


DEFAULT_SECRET_ENV = "CC_PERF_CACHE_KEY"


LEGACY_SECRET_ENV = "CC_PERF_CACHE_SECRET"  # the name before 0.x; still read


KEY_FILE_ENV = "CC_PERF_CACHE_KEY_FILE"


MIN_KEY_LENGTH = 32  # bytes; a generated key has 64 (32 random bytes, hex)


class CacheKeyError(CcPerfError, ValueError):
    """The cache's HMAC key is missing, too short, or stored where it cannot be trusted."""

    code = "cache_key"

    def _message(self) -> str:
        return self.reason if self.file is None else super()._message()


def default_key_file(root: str | os.PathLike[str]) -> Path:
    """Where the key of the cache folder ``root`` lives unless the environment holds one.

    ``$CC_PERF_CACHE_KEY_FILE``, else ``$DAGSTER_HOME/cc_perf_cache.key``, else ``ROOT.key``
    beside (never inside) the cache folder.
    """
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV])
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]) / "cc_perf_cache.key"
    folder = Path(root).absolute()
    return folder.parent / f"{folder.name}.key"


def checked_key(key: bytes, source: str) -> bytes:
    """The key with surrounding whitespace removed; one clear error if it is empty or too short."""
    key = key.strip()  # a key file written with `echo` and the same key in the environment agree
    if len(key) < MIN_KEY_LENGTH:
        raise CacheKeyError(
            f"cache key from {source} is {'too short' if key else 'empty'} "
            f"({len(key)} bytes, at least {MIN_KEY_LENGTH} needed); "
            f"generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    return key


def read_or_create_key(path: Path) -> bytes:
    """The key in ``path``; a new random key, written whole before it appears, if there is none."""
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    if st is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(32).encode()
        temp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(token)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(temp, path)  # atomic and exclusive: the first process to get here wins
            except FileExistsError:
                pass  # another process created it meanwhile: use theirs
        finally:
            temp.unlink(missing_ok=True)
        st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise CacheKeyError("cache key path is not a regular file; remove it or point the key elsewhere", file=path)
    if st.st_mode & 0o077:
        log.warning("cache key %s is readable by others; it should be mode 600", path)
    return path.read_bytes()


def load_key(root: Path, *, secret_env: str = DEFAULT_SECRET_ENV, key_file: Path | None = None) -> bytes:
    """The key of the cache folder ``root``: from ``$secret_env`` (or the legacy name), else its key file.

    Raises:
        CacheKeyError: The key is too short, or its file is inside ``root``, not a regular file,
            or cannot be read or created.
    """
    for name in dict.fromkeys((secret_env, LEGACY_SECRET_ENV)):
        from_env = os.environ.get(name)
        if from_env is not None:
            return checked_key(from_env.encode(), f"${name}")
    path = (key_file or default_key_file(root)).absolute()
    if path.resolve().is_relative_to(root.resolve()):
        raise CacheKeyError(
            f"the cache key file must not be inside the cache folder it protects; move it or set ${secret_env}",
            file=path,
        )
    try:
        return checked_key(read_or_create_key(path), f"key file {path}")
    except CacheKeyError:
        raise
    except OSError as exc:
        raise CacheKeyError(
            f"cache key file cannot be read or created ({exc.strerror or exc}); set ${secret_env} or fix the file",
            file=path,
        ) from exc
