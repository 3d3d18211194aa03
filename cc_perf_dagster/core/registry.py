"""Which file each invoice partition stands for: the partition-key rule and the file registry.

Partition key rule (stable, documented, always valid):
    1. Take the file name without its ``.pdf`` extension (case kept): ``CS003837319.pdf`` ->
       ``CS003837319``.
    2. Replace every character other than ``A-Z a-z 0-9 _ - .`` with ``_``; collapse runs of
       ``_`` and of ``.`` (so ``...`` can never appear); strip ``. _ -`` from both ends.
    3. Longer than 100 characters: keep 91 and append ``_`` and 8 hex digits of the name's
       sha256. Empty: ``invoice_`` and 8 hex digits.
    The result is a valid Dagster partition key (no ``...``, no control characters). Two files
    whose keys coincide (``a b.pdf`` and ``a_b.pdf``) are a :class:`DuplicatePartitionKeyError`,
    never an overwrite.

The registry keeps one small JSON file per key under ``root`` (``KEY.json``: path, file name,
sha256, size, modification time, the page count the file declares), written atomically, so any
process on any machine that sees ``root`` can find an invoice's file from its partition key.

Two indexes beside it keep one booking per invoice (see :mod:`cc_perf_dagster.core.dedupe`):

* ``by-sha/SHA256.json``: the partition that first registered these bytes. The same bytes under
  another name are that partition's, not a second invoice (:meth:`FileRegistry.original_of`,
  :meth:`FileRegistry.register_content`).
* ``by-number/NUMBER/KEY.json``: the partitions whose bytes were read as invoice NUMBER
  (:meth:`FileRegistry.record_invoice_number`, :meth:`FileRegistry.with_invoice_number`). A
  record counts only while the partition's registered sha256 is the one it was read from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from cc_perf_dagster.core.errors import CcPerfError, InvalidDocumentError
from cc_perf_dagster.core.files import atomic_write_text, atomic_write_texts
from cc_perf_dagster.core.locking import file_lock
from cc_perf_dagster.core.pdf import declared_page_count, file_sha256

MAX_KEY_LENGTH = 100
_OUTSIDE = re.compile(r"[^A-Za-z0-9_.\-]")


class DuplicatePartitionKeyError(CcPerfError, ValueError):
    """Two different files map to the same partition key."""

    code = "duplicate_partition_key"


def partition_key_for(path: str | os.PathLike[str]) -> str:
    """The partition key of a file (see the module docstring for the rule).

    Example:
        >>> partition_key_for("/in/CS003837319.pdf")
        'CS003837319'
        >>> partition_key_for("Order #12 (copy)..pdf")
        'Order_12_copy'
    """
    name = Path(path).name
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    key = _OUTSIDE.sub("_", stem)
    key = re.sub(r"_+", "_", key)
    key = re.sub(r"\.{2,}", ".", key)
    key = key.strip("._-")
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    if not key:
        return f"invoice_{digest}"
    if len(key) > MAX_KEY_LENGTH:
        key = f"{key[: MAX_KEY_LENGTH - 9].rstrip('._-')}_{digest}"
    return key


@dataclass(frozen=True, slots=True)
class RegisteredFile:
    """A file registered as an invoice partition.

    ``pages`` is the page count the file declared when it was registered (its page tree's
    ``/Count``), so that a run can be sized without opening its files; ``None`` where it could
    not be read (a file the run then refuses, saying why) and in entries of earlier releases.
    """

    key: str
    path: str
    file: str
    sha256: str
    size: int
    mtime: float
    registered_at: float
    pages: int | None = None

    def changed_on_disk(self) -> bool:
        """Whether the file's size or modification time differs from the registered one."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return True
        return st.st_size != self.size or st.st_mtime != self.mtime


@dataclass(frozen=True, slots=True)
class SameContent:
    """A file whose bytes are already registered under another partition: not registered again.

    Attributes:
        path: The file handed in.
        key: The partition key it would have had.
        original: The registered partition that holds the same bytes.
    """

    path: str
    key: str
    original: RegisteredFile

    @property
    def file(self) -> str:
        """The file name handed in."""
        return Path(self.path).name

    def __str__(self) -> str:
        return f"{self.file}: same content as {self.original.file} (partition {self.original.key})"


_FIELDS = frozenset(RegisteredFile.__dataclass_fields__)


def _declared_pages(path: Path) -> int | None:
    """The page count ``path`` declares, or ``None`` where it cannot be read.

    Not an error here: registration takes any file, and the run that reads it refuses it with
    the reason.
    """
    try:
        return declared_page_count(path)
    except (InvalidDocumentError, OSError):
        return None


class FileRegistry:
    """Partition key -> file, stored as one JSON file per key under ``root``."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str) -> RegisteredFile | None:
        """The registered file of a partition key, or ``None``."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        # Fields another release added are passed over, fields it lacks take their defaults
        # (``pages``): one registry serves every release that shares the storage.
        return RegisteredFile(**{name: value for name, value in data.items() if name in _FIELDS})

    def keys(self) -> list[str]:
        """Every registered key, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name[:-5] for p in self.root.glob("*.json"))

    def register(self, path: str | os.PathLike[str], *, sha256: str | None = None) -> RegisteredFile:
        """Register (or refresh) a file under its partition key, under the registry's lock.

        The check for another file under the same key and the write are one step for every
        process that shares ``root`` (``root/.lock``), so two commands registering at once
        cannot both take a key.

        Raises:
            DuplicatePartitionKeyError: Another file is registered under the same key.
            FileNotFoundError: The file does not exist.
        """
        resolved = Path(path).resolve()
        digest = sha256 or file_sha256(resolved)  # hashed outside the lock: it is the slow part
        pages = _declared_pages(resolved)
        with file_lock(self.root / ".lock"):
            return self._register(resolved, digest, pages)

    def register_content(
        self, path: str | os.PathLike[str], *, sha256: str | None = None
    ) -> RegisteredFile | SameContent:
        """Register a file unless its bytes already stand under another partition.

        The check and the registration are one step under the registry's lock, so of two
        copies handed in at once (by two commands, or a command and the sensor) one is
        registered and the other is its :class:`SameContent`.

        Raises:
            DuplicatePartitionKeyError: Another file is registered under the same key.
            FileNotFoundError: The file does not exist.
        """
        resolved = Path(path).resolve()
        digest = sha256 or file_sha256(resolved)
        key = partition_key_for(resolved)
        pages = _declared_pages(resolved)
        with file_lock(self.root / ".lock"):
            original = self.original_for(digest, key)
            if original is not None:
                return SameContent(str(resolved), key, original)
            return self._register(resolved, digest, pages)

    def _register(self, resolved: Path, sha256: str, pages: int | None) -> RegisteredFile:
        key = partition_key_for(resolved)
        existing = self.get(key)
        if existing is not None and Path(existing.path) != resolved and Path(existing.path).exists():
            raise DuplicatePartitionKeyError(
                f"partition key {key!r} is already taken by {existing.path}; rename one of the files",
                file=str(resolved),
            )
        st = resolved.stat()
        entry = RegisteredFile(
            key=key,
            path=str(resolved),
            file=resolved.name,
            sha256=sha256,
            size=st.st_size,
            mtime=st.st_mtime,
            registered_at=time.time(),
            pages=pages,
        )
        atomic_write_text(self._path(key), json.dumps(asdict(entry), indent=2) + "\n")
        # The first key to register these bytes keeps them while its registration stands (not
        # retired, its file unchanged); after that the next key to register them takes them.
        if self.original_for(sha256, key) is None and self.key_for_sha(sha256) != key:
            atomic_write_text(self.root / "by-sha" / f"{sha256}.json", json.dumps({"key": key}) + "\n")
        return entry

    def key_for_sha(self, sha256: str) -> str | None:
        """The key first registered with these bytes, if that registration still stands."""
        try:
            key = json.loads((self.root / "by-sha" / f"{sha256}.json").read_text(encoding="utf-8"))["key"]
        except (FileNotFoundError, ValueError, KeyError):
            return None
        entry = self.get(key)
        return key if entry is not None and entry.sha256 == sha256 else None

    def original_of(self, entry: RegisteredFile) -> RegisteredFile | None:
        """The other partition that holds ``entry``'s bytes, if there is one (then ``entry`` is a copy).

        Example:
            >>> registry.original_of(registry.get("b"))  # doctest: +SKIP
            RegisteredFile(key='a', path='/in/a.pdf', ...)
        """
        return self.original_for(entry.sha256, entry.key)

    def original_for(self, sha256: str, key: str) -> RegisteredFile | None:
        """The partition other than ``key`` that holds these bytes, if any.

        That is the first partition registered with them, while its registration stands and its
        file is unchanged on disk.
        """
        holder = self.key_for_sha(sha256)
        if holder is None or holder == key:
            return None
        original = self.get(holder)
        if original is None or original.changed_on_disk():  # its file now holds other bytes, or is gone
            return None
        return original

    def record_invoice_number(self, key: str, invoice_number: str, sha256: str) -> None:
        """Note that partition ``key``'s bytes (``sha256``) were read as invoice ``invoice_number``."""
        self.record_invoice_numbers({key: (invoice_number, sha256)})

    def record_invoice_numbers(self, read: Mapping[str, tuple[str, str]]) -> None:
        """:meth:`record_invoice_number` for each ``{key: (invoice_number, sha256)}``, flushed to disk once."""
        atomic_write_texts(
            {
                self._number_folder(number) / f"{key}.json": json.dumps(
                    {"key": key, "invoice_number": number, "sha256": sha256}
                )
                + "\n"
                for key, (number, sha256) in read.items()
            }
        )

    def with_invoice_number(self, invoice_number: str) -> list[RegisteredFile]:
        """The registered partitions whose current bytes were read as ``invoice_number``, by key."""
        found = []
        for path in sorted(self._number_folder(invoice_number).glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            entry = self.get(str(record.get("key")))
            if (
                entry is not None
                and record.get("invoice_number") == invoice_number
                and entry.sha256 == record.get("sha256")
            ):
                found.append(entry)
        return found

    def _number_folder(self, invoice_number: str) -> Path:
        # The record holds the number itself; the folder name only has to be a safe file name.
        safe = _OUTSIDE.sub("_", invoice_number)[:MAX_KEY_LENGTH] or "_"
        return self.root / "by-number" / safe

    def refresh(self, key: str) -> RegisteredFile | None:
        """Re-hash a registered file if it changed on disk; ``None`` if it is gone."""
        entry = self.get(key)
        if entry is None or not Path(entry.path).exists():
            return None
        if entry.changed_on_disk():
            return self.register(entry.path)
        return entry

    def register_many(self, paths: Iterable[str | os.PathLike[str]]) -> tuple[list[RegisteredFile], list[CcPerfError]]:
        """Register several files; collisions (also among the given files) are returned, not raised."""
        registered: list[RegisteredFile] = []
        errors: list[CcPerfError] = []
        seen: dict[str, Path] = {}
        for path in paths:
            resolved = Path(path).resolve()
            key = partition_key_for(resolved)
            if key in seen and seen[key] != resolved:
                errors.append(
                    DuplicatePartitionKeyError(
                        f"partition key {key!r} is also the key of {seen[key]}; rename one of the files",
                        file=str(resolved),
                    )
                )
                continue
            try:
                registered.append(self.register(resolved))
                seen[key] = resolved
            except DuplicatePartitionKeyError as exc:
                errors.append(exc)
        return registered, errors

    def retire(self, key: str) -> bool:
        """Forget a key (the file itself is never touched). Returns whether it was registered."""
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True
