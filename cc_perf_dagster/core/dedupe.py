"""One booking per invoice: which partition's rows go into the purchasing sheet for each invoice number.

Two routes lead to an invoice being read twice:

* **The same bytes under a second name** (a mail attachment saved twice): the registry keeps
  the first partition that registered them (:meth:`~cc_perf_dagster.core.registry.FileRegistry.register_content`);
  the copy is not registered, or, if it is a partition already, fails as a duplicate unread.
* **Two different files carrying the same invoice number** (a corrected invoice re-sent, a
  print of the same invoice from another program): both are read, both are flagged, and one is
  booked. The rule, :func:`book_once`:

  1. the file with the later modification time (as registered) wins: a re-sent invoice is
     saved after the one it replaces, and the time belongs to the file, so the choice does not
     depend on the order in which files were handed in or processed again;
  2. on equal times, the later registration; then the larger partition key (deterministic).

:func:`sheet_by_invoice_number` builds the purchasing sheet this way: rows grouped by their
``Invoice#`` column, one partition per number, so the sheet never holds a number twice.

Example:
    >>> a = Candidate("a", "a.pdf", "CS1", mtime=100.0)
    >>> b = Candidate("b", "b.pdf", "CS1", mtime=200.0)
    >>> booked, superseded = book_once([a, b])
    >>> booked["CS1"].key, superseded[0].key
    ('b', 'a')
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cc_perf_dagster.core.export import BOOKING_HEADER

INVOICE_COLUMN = BOOKING_HEADER.index("Invoice#")
RULE = "the newer file (later modification time) is booked"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A partition that carries an invoice number, with what the rule compares."""

    key: str
    file: str
    invoice_number: str
    mtime: float = 0.0
    registered_at: float = 0.0

    @property
    def order(self) -> tuple[float, float, str]:
        """What :func:`book_once` compares: later is newer."""
        return (self.mtime, self.registered_at, self.key)


@dataclass(frozen=True, slots=True)
class Superseded:
    """A partition whose invoice number is booked from another (newer) partition."""

    key: str
    file: str
    invoice_number: str
    booked_key: str
    booked_file: str

    @property
    def reason(self) -> str:
        """One sentence for the log, the metadata and the overview."""
        return (
            f"{self.invoice_number}: {self.file} (partition {self.key}) is not booked; "
            f"{self.booked_file} (partition {self.booked_key}) carries the same invoice number and is newer"
        )

    def to_dict(self) -> dict[str, str]:
        """Plain data, for JSON metadata."""
        return {
            "key": self.key,
            "file": self.file,
            "invoice_number": self.invoice_number,
            "booked_key": self.booked_key,
            "booked_file": self.booked_file,
            "reason": self.reason,
        }


def book_once(candidates: Iterable[Candidate]) -> tuple[dict[str, Candidate], list[Superseded]]:
    """The partition booked for each invoice number, and the ones left out (sorted by number, key)."""
    booked: dict[str, Candidate] = {}
    groups: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(candidate.invoice_number, []).append(candidate)
    superseded = []
    for number, group in sorted(groups.items()):
        winner = max(group, key=lambda c: c.order)
        booked[number] = winner
        superseded += [
            Superseded(c.key, c.file, number, winner.key, winner.file)
            for c in sorted(group, key=lambda c: c.key)
            if c is not winner
        ]
    return booked, superseded


def same_number_note(candidate: Candidate, others: Iterable[Candidate]) -> str | None:
    """What the ``unique_invoice_number`` check says of ``candidate`` (``None`` when its number is unique)."""
    others = [o for o in others if o.key != candidate.key and o.invoice_number == candidate.invoice_number]
    if not others:
        return None
    booked, _ = book_once([candidate, *others])
    winner = booked[candidate.invoice_number]
    also = ", ".join(f"{o.key} ({o.file})" for o in sorted(others, key=lambda o: o.key))
    verdict = "this one is booked" if winner.key == candidate.key else f"{winner.key} ({winner.file}) is booked"
    return f"{candidate.invoice_number} is also in partition {also}; {verdict} ({RULE}, {_when(winner.mtime)})"


def _when(mtime: float) -> str:
    return "modified " + dt.datetime.fromtimestamp(mtime, dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Sheet:
    """The purchasing sheet: its CSV text and what was left out."""

    text: str
    rows: int
    invoices: int
    superseded: tuple[Superseded, ...]


def sheet_by_invoice_number(booking_texts: Mapping[str, str], candidates: Mapping[str, Candidate]) -> Sheet:
    """The partitions' booking-row CSVs under one header, one partition per invoice number, by number.

    Args:
        booking_texts: Per partition key, its booking rows as CSV text (with the header).
        candidates: Per partition key, its file and times; a partition missing here counts as
            the oldest (time 0). The invoice number is read from the rows themselves.
    """
    bodies: dict[str, list[list[str]]] = {}
    found: list[Candidate] = []
    for key, text in booking_texts.items():
        body = list(csv.reader(io.StringIO(text)))[1:]
        numbers = {row[INVOICE_COLUMN] for row in body if len(row) > INVOICE_COLUMN}
        if not numbers:
            continue  # nothing billed: no rows to book
        bodies[key] = body
        known = candidates.get(key)
        for number in sorted(numbers):
            found.append(
                Candidate(key, known.file if known else key, number, *(known.order[:2] if known else (0.0, 0.0)))
            )
    booked, superseded = book_once(found)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BOOKING_HEADER)
    rows = 0
    for number, winner in sorted(booked.items()):
        body = [row for row in bodies[winner.key] if row[INVOICE_COLUMN] == number]
        writer.writerows(body)
        rows += len(body)
    return Sheet(buffer.getvalue(), rows, len(booked), tuple(superseded))


def candidate(entry, invoice_number: str) -> Candidate:
    """A :class:`Candidate` from a registry entry (:class:`~cc_perf_dagster.core.registry.RegisteredFile`)."""
    return Candidate(entry.key, entry.file, invoice_number, entry.mtime, entry.registered_at)


def registered_note(registry, key: str, invoice_number: str | None) -> str | None:
    """:func:`same_number_note` for partition ``key`` among the registry's partitions of ``invoice_number``.

    ``registry`` is a :class:`~cc_perf_dagster.core.registry.FileRegistry`; ``None`` when the
    number is unique, or ``key``'s number is not recorded (yet).
    """
    if not invoice_number:
        return None
    partitions = [candidate(entry, invoice_number) for entry in registry.with_invoice_number(invoice_number)]
    mine = next((c for c in partitions if c.key == key), None)
    return same_number_note(mine, partitions) if mine is not None else None
