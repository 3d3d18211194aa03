"""Tariff and totals labels wrapped around, beside or above their amount, joined into one row.

A cell too narrow for "Tariff Surcharge 5.76" wraps it. The amount may then sit beside the
wrapped label, vertically centred ("Tariff" / "5.76" / "Surcharge", the amount in a column of
its own), or in the same cell under it ("Tariff" / "Surcharge" / "5.76", TCPDF with a narrow
description column). Either way the pieces are one tariff line, which
:func:`~.rows.classify` then reads. A cell broken across a page leaves the label at the foot
of one page and the amount heading the next (:func:`carried_tariff`, for the item builder).
A totals label may end one page and its amount head the next as well (PDFKit moves on to a new
page between the two: "Tariff Surcharge Total" / "1,484.04"): :class:`TotalPieces`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cc_perf_dagster.core.models import Row, TariffRecord, TextRecord, TotalRecord, Word
from cc_perf_dagster.core.vendors.creative_coop.patterns import (
    CODE,
    FOOTER,
    INTEGER,
    MONEY,
    TARIFF_WORD,
    TOTAL_WORDS,
    money_text,
)

# Words a wrapped tariff or totals label is made of ("Tariff" over "Surcharge").
_TARIFF_LABEL_WORDS = frozenset({"tariff", "surcharge", "trf", "trf-ccoi", "ccoi", "-", "trf-", "duty"})

# A neighbouring line closer than this (in font sizes) is part of the same table cell.
_SAME_CELL = 0.9

# Lines of a wrapped label sit at most this many font sizes apart.
_LABEL_PITCH = 1.6

# A label wraps onto at most this many lines above its amount.
_STACKED_LINES = 3

# A totals label alone on its line has at most this many words ("Tariff Surcharge Total").
_LABEL_WORDS = 4


def join_labelled_amount(rows: Sequence[Row], index: int, done: list[Row]) -> tuple[Row, int, int]:
    """A row with one amount, joined with the wrapped lines of its tariff or totals label.

    Returns the (maybe joined) row, how many rows from ``index`` on it used, and how many
    rows already emitted (the label lines above) it replaces.
    """
    row = rows[index]
    # One amount, the last word (an amount has a "." : the cheap test first)
    if not row.words or not MONEY.match(row.words[-1].text):
        return row, 1, 0
    if any("." in w.text and MONEY.match(w.text) for w in row.words[:-1]):
        return row, 1, 0
    amount = row.words[-1]
    stacked = _stacked_label(done, row, amount) if len(row.words) == 1 else []
    if stacked:
        words = tuple(word for line in stacked for word in line.words)
        # The tariff line's row is where its label starts (its first line).
        return Row(y=stacked[0].y, size=row.size, words=(*words, amount)), 1, len(stacked)
    # A row that already names its amount only takes lines of tariff words ("Surcharge").
    named = _labelled(row.words[:-1])
    above = done[-1] if done else None
    below = rows[index + 1] if index + 1 < len(rows) else None
    take_above = above is not None and _label_line(above, row, amount, named)
    take_below = below is not None and _label_line(below, row, amount, named)
    if not (take_above or take_below):
        return row, 1, 0
    words = [
        *(above.words if take_above and above else ()),
        *row.words[:-1],
        *(below.words if take_below and below else ()),
    ]
    if not _labelled(words):
        return row, 1, 0
    joined = Row(y=row.y, size=row.size, words=(*words, amount))
    return joined, 2 if take_below else 1, 1 if take_above else 0


def split_tariff_row(row: Row) -> tuple[Row | None, Row]:
    """Split off the description words drawn left of a tariff label on the same baseline."""
    words = row.words
    if len(words) < 3 or not MONEY.match(words[-1].text):
        return None, row
    cut = next((i for i, w in enumerate(words[:-1]) if TARIFF_WORD.search(w.text)), 0)
    if cut == 0 or words[cut].x0 - words[cut - 1].x1 < 1.5 * row.size:
        return None, row
    if any(MONEY.match(w.text) for w in words[:-1]) or CODE.match(words[0].text):
        return None, row
    return Row(y=row.y, size=row.size, words=words[:cut]), Row(y=row.y, size=row.size, words=words[cut:])


def _labelled(words: Sequence[Word]) -> bool:
    text = " ".join(w.text for w in words)
    return bool(text) and (bool(TARIFF_WORD.search(text)) or bool(TOTAL_WORDS.search(text)))


def _tariff_words(words: Iterable[str]) -> bool:
    return all(word.lower().strip(":") in _TARIFF_LABEL_WORDS for word in words)


def _label_line(line: Row, row: Row, amount: Word, named: bool) -> bool:
    """Whether ``line`` is a wrapped piece of the label of ``row``'s amount, beside it.

    A line of tariff words ("Surcharge") up to a line pitch away joins; any other labelling
    line joins only when it sits closer than a line pitch (the amount centred beside the
    wrapped label) and the amount has no label of its own.
    """
    if len(line.words) > 3 or any(MONEY.match(w.text) or INTEGER.match(w.text) for w in line.words):
        return False
    if any(w.x1 > amount.x0 for w in line.words):
        return False
    distance = abs(line.y - row.y) / max(line.size, row.size)
    if _tariff_words(w.text for w in line.words):
        return distance <= _LABEL_PITCH
    return not named and distance <= _SAME_CELL and _labelled(line.words)


def _stacked_label(done: list[Row], row: Row, amount: Word) -> list[Row]:
    """The lines of a tariff label wrapped above its lone amount in the same cell, top first.

    Each is made of tariff words only, lies over the amount (their extents overlap) and a line
    pitch from the line below it; together they name a tariff. Else ``[]``.
    """
    lines: list[Row] = []
    below = row
    for line in reversed(done[-_STACKED_LINES:]):
        if not line.words or not _tariff_words(w.text for w in line.words):
            break
        if line.words[0].x0 >= amount.x1 or line.words[-1].x1 <= amount.x0:
            break
        if (line.y - below.y) / max(line.size, below.size) > _LABEL_PITCH:
            break
        lines.append(line)
        below = line
    lines.reverse()
    return lines if lines and TARIFF_WORD.search(" ".join(line.text for line in lines)) else []


def carried_tariff(
    pending: Sequence[tuple[int, TextRecord]], page: int, record: TextRecord | TariffRecord
) -> tuple[int, TariffRecord | None]:
    """How many lines ending ``pending`` are the label of the tariff line ``record`` heading ``page``; the line.

    A tariff cell broken across a page (TCPDF breaks cells): "Tariff" / "Surcharge" end the
    page before, and the amount (a text line, in the same cell's column: their extents
    overlap) or the rest of the line ("Surcharge 5.52") heads this page. Where no label ends
    the page before, ``(0, None)`` for a text line and ``(0, record)`` for a tariff line.
    """
    amount = isinstance(record, TextRecord)
    if amount and not (record.first and MONEY.match(record.text)):
        return 0, None
    lines: list[TextRecord] = []
    for line_page, line in reversed(pending[-_STACKED_LINES:]):
        if line_page != page - 1 or not _tariff_words(line.text.split()):
            break
        if amount and (line.x0 >= record.x1 or line.x1 <= record.x0):
            break
        lines.append(line)
    if not (lines and TARIFF_WORD.search(" ".join(line.text for line in lines))):
        return 0, None if amount else record
    return len(lines), TariffRecord(amount=money_text(record.text), y=record.y) if amount else record


class TotalPieces:
    """Lines of the totals block that hold only a label or only an amount, in document order.

    A label ending one page whose amount heads the next (the first line of its page) is one
    total with it. An amount on a line of its own otherwise is a doubt: it may be a total whose
    label was not read. A label alone is let be: notes under the totals speak of balances and
    tariffs too, and the totals' own check (``validation``) sees a total left out.

    Example:
        >>> pieces = TotalPieces()
        >>> pieces.see(9, TextRecord("Tariff Surcharge Total", 420, 492, 544.9, 7.5, False), first=False)
        >>> pieces.see(10, TextRecord("1,484.04", 556, 582, 544.9, 7.5, False), first=True)
        TotalRecord(label='Tariff Surcharge Total', amount='1484.04', kind='total')
        >>> pieces.see(10, TextRecord("12.00", 556, 582, 530.0, 7.5, False), first=False)
        >>> [doubt.split(" (")[0] for doubt in pieces.doubts]
        ['page 10: an amount on a line of its own in the totals block, with no label']
    """

    def __init__(self) -> None:
        self.doubts: list[str] = []
        self._label: tuple[int, TextRecord] | None = None  # a label waiting for its amount

    def see(self, page: int, record: TextRecord, *, first: bool) -> TotalRecord | None:
        """Take the next text line of the totals block (``first``: the first table line of its page)."""
        if FOOTER.search(record.text):
            return None
        label, self._label = self._label, None
        if MONEY.match(record.text):
            if label is not None and label[0] == page - 1 and first:
                return TotalRecord(label=label[1].text.rstrip(":").strip(), amount=money_text(record.text))
            self.doubts.append(
                f"page {page}: an amount on a line of its own in the totals block, with no label "
                f"({record.text!r}): the totals may be read wrong"
            )
        elif TOTAL_WORDS.search(record.text) and len(record.text.split()) <= _LABEL_WORDS:
            self._label = (page, record)
        return None

    def end(self) -> None:
        """A total follows: a label waiting was another line."""
        self._label = None
