"""The incoming folder: which files are ready, which wait, which go to quarantine.

Plain functions, so the sensor is a thin shell and every rule is unit-tested:

* :func:`scan` lists candidate PDFs (hidden files and ``*.part``/``*.tmp``/``*~`` are left
  alone; links that point outside the folder are refused).
* :func:`settle` keeps files whose size and modification time are unchanged since the previous
  look, or whose modification time is already :data:`STABLE_S` old (nothing has written to them
  for as long as two looks are apart: a file moved in, or copied keeping its time, is taken on
  the first look), and carries the rest over in the cursor (a file still being written waits).
* :func:`quarantine` moves a refused file beside the incoming folder with ``NAME.error.json``
  saying what was wrong and when. Nothing is ever deleted.

A file that held still across two looks but cannot be read, and that changed less than
:data:`UNREADABLE_GRACE_S` ago, is not quarantined yet: a copy that stalled for longer than the
looks are apart (a slow network share) would otherwise be quarantined half written. It is looked
at again on every tick and quarantined once it has stayed unchanged and unreadable that long;
a copy that resumes changes the file, which then waits to settle as any other.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cc_perf_dagster.core.files import atomic_write_text

IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", "~")
# Seconds an unreadable file must have stayed unchanged before it is quarantined.
UNREADABLE_GRACE_S = 60.0
# A file last modified at least this long ago is taken on its first look (the sensor's looks
# are about 5 s apart: the same evidence that nothing is still writing it).
STABLE_S = 5.0


@dataclass(frozen=True, slots=True)
class Seen:
    """A candidate file as seen on one tick."""

    name: str
    path: Path
    size: int
    mtime_ns: int

    @property
    def signature(self) -> list[int]:
        """What must not change between two looks for the file to count as complete."""
        return [self.size, self.mtime_ns]


@dataclass(frozen=True, slots=True)
class Refused:
    """A file that will not be processed, and why."""

    path: Path
    code: str
    reason: str


def quarantine_folder(incoming: Path) -> Path:
    """Where refused files go: ``<incoming>-quarantine`` beside the incoming folder."""
    return incoming.parent / f"{incoming.name}-quarantine"


def scan(folder: Path, *, max_bytes: int) -> tuple[list[Seen], list[Refused]]:
    """Candidate PDFs of ``folder`` (oldest first) and the files refused outright.

    Refused outright: links pointing outside the folder, and files over ``max_bytes``.
    Files that vanish while being looked at are simply not listed.
    """
    seen: list[Seen] = []
    refused: list[Refused] = []
    root = folder.resolve()
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return [], []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name.endswith(IGNORED_SUFFIXES) or not name.lower().endswith(".pdf"):
            continue
        path = Path(entry.path)
        try:
            if entry.is_symlink():
                target = path.resolve()
                if root not in target.parents:
                    refused.append(Refused(path, "link_outside_folder", f"link to {target}, outside {root}"))
                    continue
            if not entry.is_file():
                continue
            st = entry.stat()
        except (FileNotFoundError, OSError):
            continue  # vanished mid-tick
        if st.st_size > max_bytes:
            refused.append(Refused(path, "too_large", f"too large: {st.st_size} bytes, the limit is {max_bytes}"))
            continue
        seen.append(Seen(name, path, st.st_size, st.st_mtime_ns))
    seen.sort(key=lambda s: (s.mtime_ns, s.name))
    return seen, refused


def settle(
    seen: list[Seen], pending: Mapping[str, list[int]], *, now: float | None = None, stable_s: float = STABLE_S
) -> tuple[list[Seen], dict[str, list[int]]]:
    """Files ready to take, and the new pending map for the cursor.

    Ready: unchanged since the previous look, or last modified ``stable_s`` before ``now`` (the
    wall clock by default).
    """
    oldest = (time.time() if now is None else now) - stable_s
    ready = [s for s in seen if pending.get(s.name) == s.signature or s.mtime_ns / 1e9 <= oldest]
    taken = {s.name for s in ready}
    waiting = {s.name: s.signature for s in seen if s.name not in taken}
    return ready, waiting


def quarantine(path: Path, incoming: Path, *, code: str, reason: str, now: dt.datetime | None = None) -> Path | None:
    """Move a refused file to the quarantine folder with an error note; never delete anything.

    Returns the file's new path, or ``None`` if it vanished before it could be moved (the
    note is written anyway, so the refusal is on record).
    """
    target_dir = quarantine_folder(incoming)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    counter = 1
    while target.exists() or target.with_name(target.name + ".error.json").exists():
        target = target_dir / f"{path.stem}-{counter}{path.suffix}"
        counter += 1
    moved: Path | None = target
    try:
        shutil.move(str(path), str(target))
    except FileNotFoundError:
        moved = None
    note = {
        "file": path.name,
        "source": str(path),
        "quarantined_as": None if moved is None else str(moved),
        "error": code,
        "reason": reason,
        "at": (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
    }
    atomic_write_text(target.with_name(target.name + ".error.json"), json.dumps(note, indent=2) + "\n")
    return moved


def load_cursor(text: str | None) -> dict[str, list[int]]:
    """The pending map from a sensor cursor (empty for a first tick or an unreadable cursor)."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    pending = data.get("pending", {}) if isinstance(data, dict) else {}
    return {str(k): list(v) for k, v in pending.items() if isinstance(v, list) and len(v) == 2}


def dump_cursor(pending: Mapping[str, list[int]]) -> str:
    """A sensor cursor holding the pending map."""
    return json.dumps({"v": 1, "pending": dict(sorted(pending.items()))}, separators=(",", ":"))


@dataclass
class Tick:
    """What one look at the incoming folder decided."""

    accepted: list  # RegisteredFile: new or changed files, registered, to be materialized
    duplicates: list[tuple[str, str]]  # (file name, partition key already holding the same bytes)
    refused: list[Refused]
    waiting: int  # files not yet stable, or carried over to the next tick
    cursor: str
    held: list[Refused] = field(default_factory=list)  # unreadable, but changed too recently to quarantine


def look(
    folder: Path,
    registry,
    cursor: str | None,
    *,
    max_files: int,
    max_bytes: int,
    budget_s: float,
    check=None,
    clock=None,
    now=None,
    grace_s: float = UNREADABLE_GRACE_S,
) -> Tick:
    """One sensor tick, without Dagster: settle, hash, dedupe, check, register or quarantine.

    At most ``max_files`` files are hashed and checked, and no new one is started after
    ``budget_s`` seconds; the rest stay in the cursor for the next tick. A file whose registered
    size and modification time are unchanged is skipped without reading it. A file ``check``
    refuses waits (in :attr:`Tick.held`) until it has not changed for ``grace_s`` seconds by
    ``now`` (default: the wall clock), then goes to quarantine.
    """
    from cc_perf_dagster.core.pdf import file_sha256
    from cc_perf_dagster.core.registry import DuplicatePartitionKeyError, SameContent, partition_key_for

    clock, now = clock or time.monotonic, now or time.time
    state = _load_state(cursor)
    seen, refused_now = scan(folder, max_bytes=max_bytes)
    refused: list[Refused] = []
    for item in refused_now:
        quarantine(item.path, folder, code=item.code, reason=item.reason)
        refused.append(item)
    fresh = []
    for item in seen:
        entry = registry.get(partition_key_for(item.path))
        unchanged = entry is not None and entry.path == str(item.path.resolve()) and not entry.changed_on_disk()
        if unchanged and state["requested"].get(entry.key) == entry.sha256:
            continue
        if state["duplicates"].get(item.name) == item.signature:
            continue
        fresh.append(item)
    ready, waiting = settle(fresh, state["pending"], now=now())
    started = clock()
    accepted, duplicates, held = [], [], []
    handled = 0
    for item in ready:
        if handled >= max_files or clock() - started > budget_s:
            waiting[item.name] = item.signature  # stable already: first in line next tick
            continue
        handled += 1
        try:
            sha = file_sha256(item.path)
        except FileNotFoundError:
            continue  # vanished mid-tick
        key = partition_key_for(item.path)
        holder = registry.original_for(sha, key)
        if holder is not None:
            duplicates.append((item.name, holder.key))
            state["duplicates"][item.name] = item.signature
            continue
        verdict = check(item.path) if check else None
        if verdict not in (None, "suspect"):
            if now() - item.mtime_ns / 1e9 < grace_s:  # perhaps a stalled copy: looked at again next tick
                held.append(Refused(item.path, "invalid_document", verdict))
                waiting[item.name] = item.signature
                continue
            refused.append(Refused(item.path, "invalid_document", verdict))
            quarantine(item.path, folder, code="invalid_document", reason=verdict)
            continue
        try:
            entry = registry.register_content(item.path, sha256=sha)  # rechecked under the registry's lock
        except DuplicatePartitionKeyError as exc:
            refused.append(Refused(item.path, exc.code, exc.reason))
            quarantine(item.path, folder, code=exc.code, reason=exc.reason)
            continue
        except FileNotFoundError:
            continue
        if isinstance(entry, SameContent):  # registered by another process since the first look
            duplicates.append((item.name, entry.original.key))
            state["duplicates"][item.name] = item.signature
            continue
        accepted.append(entry)
        state["requested"][entry.key] = entry.sha256
    state["pending"] = waiting
    return Tick(accepted, duplicates, refused, len(waiting), _dump_state(state), held)


def _load_state(cursor: str | None) -> dict:
    state = {"pending": load_cursor(cursor), "duplicates": {}, "requested": {}}
    if cursor:
        try:
            data = json.loads(cursor)
            state["duplicates"] = dict(data.get("duplicates", {}))
            state["requested"] = dict(data.get("requested", {}))
        except (ValueError, AttributeError):
            pass
    return state


def _dump_state(state: dict) -> str:
    return json.dumps(
        {
            "v": 1,
            "pending": dict(sorted(state["pending"].items())),
            "duplicates": dict(sorted(state["duplicates"].items())),
            "requested": dict(sorted(state["requested"].items())),
        },
        separators=(",", ":"),
    )
