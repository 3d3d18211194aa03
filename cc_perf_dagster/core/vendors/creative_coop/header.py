"""The page header and the table header of a page.

The page header gives document numbers and dates with their labels; the table header gives
the columns, also when labels wrap over several lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cc_perf_dagster.core.dates import MONTHS, parse_date
from cc_perf_dagster.core.models import (
    DocumentType,
    LabelledValue,
    PageHeader,
    Row,
    Word,
)
from cc_perf_dagster.core.vendors.creative_coop.patterns import DOC_NUMBER, LABEL_END, PAGE_OF, VENDOR_MENTION


def page_footer(rows: Sequence[Row]) -> tuple[int, int] | None:
    """``(N, M)`` of the page's "Page N of M" line (the one with the largest M), or ``None``.

    M is how long the document says it is, N where this page belongs in it.
    """
    # One search over the page's rows, joined by NUL: no space or digit of PAGE_OF matches it, so
    # no match crosses it, and it is no word character, so \b sees it as a row's start or end.
    text = "\0".join(row.text for row in rows)
    found = [(int(m.group(2)), int(m.group(1))) for m in PAGE_OF.finditer(text)]
    if not found:
        return None
    total, number = max(found)
    return number, total


def _is_table_header(row: Row) -> bool:
    if "upc" not in row.text.lower():
        return False  # (most rows: the cheap test first)
    names = {w.text.strip(":").lower() for w in row.words}
    return "upc" in names and ("description" in names or "desc" in names)


# The words column labels of both tables are made of (a wrapped label's lines hold only these).
_HEADER_WORDS = frozenset(
    "product code item customer vendor upc description desc qty quantity ord ordered order alloc allocated "
    "ship shipped shipping bkord back backord backordered b/o bo u/m um unit uom list price your extd ext "
    "extended amount amt total no. no # net each".split()
)


# Lines of one wrapped column header sit at most this many font sizes apart.
_HEADER_LINE_GAP = 1.3


def header_bands(rows: Sequence[Row]) -> list[bool]:
    """Which rows belong to a table header.

    The row naming UPC and Description, with the lines of headers wrapped over several lines
    around it ("Product" over "Code", "Qty" over "Ord").
    """
    flags = [_is_table_header(row) for row in rows]
    for index in [i for i, flag in enumerate(flags) if flag]:
        for step in (-1, 1):
            near = index
            while 0 <= near + step < len(rows) and not flags[near + step]:
                other = rows[near + step]
                gap = abs(rows[near].y - other.y)
                if gap > _HEADER_LINE_GAP * max(other.size, rows[near].size):
                    break
                if not _header_line(other, _neighbours(rows, near + step)):
                    break
                near += step
                flags[near] = True
    return flags


def _header_line(row: Row, neighbours: tuple[Row | None, Row | None]) -> bool:
    """A line of column labels: only words that column labels are made of.

    A word may also be a piece of a label broken inside its word in a narrow column ("Shippe"
    over "d"): joined to the word stacked over or under it on the lines next to it
    (``neighbours``: above, below), it makes a label's word.
    """
    if not 0 < len(row.words) <= 16:
        return False
    above, below = neighbours
    return all(
        _label_word(w.text)
        or (above is not None and _broken(above, w, 1))
        or (below is not None and _broken(below, w, 0))
        for w in row.words
    )


def _neighbours(rows: Sequence[Row], index: int) -> tuple[Row | None, Row | None]:
    """The lines just above and below ``rows[index]``, where they are a header's line spacing from it."""
    row = rows[index]

    def near(at: int) -> Row | None:
        if not 0 <= at < len(rows):
            return None
        other = rows[at]
        return other if abs(other.y - row.y) <= _HEADER_LINE_GAP * max(other.size, row.size) else None

    return near(index - 1), near(index + 1)


def _label_word(text: str) -> bool:
    return text.lower().strip(".:") in _HEADER_WORDS


def _broken(line: Row, word: Word, after: int) -> bool:
    """Whether ``word`` and a word of ``line`` stacked with it make a label's word, neither one alone.

    ``after``: 1 where ``word`` ends the label (``line`` is above it), 0 where it starts it.
    """
    for other in line.words:
        if min(other.x1, word.x1) > max(other.x0, word.x0) and not (_label_word(other.text) or _label_word(word.text)):
            pieces = (other.text, word.text) if after else (word.text, other.text)
            if _label_word("".join(pieces)):
                return True
    return False


def _merged_header(rows: Sequence[Row]) -> Row:
    """One row of column labels from a header band: words stacked in one column are joined."""
    columns: list[list[Word]] = []
    for word in sorted((w for row in rows for w in row.words), key=lambda w: w.x0):
        for column in columns:
            if any(min(w.x1, word.x1) - max(w.x0, word.x0) > 0.3 * min(w.x1 - w.x0, word.x1 - word.x0) for w in column):
                column.append(word)
                break
        else:
            columns.append([word])
    order = {id(w): n for n, row in enumerate(rows) for w in row.words}
    words = []
    for column in columns:
        column.sort(key=lambda w: (order[id(w)], w.x0))
        words.append(Word("".join(w.text for w in column), min(w.x0 for w in column), max(w.x1 for w in column)))
    words.sort(key=lambda w: w.x0)
    return Row(y=rows[-1].y, size=max(r.size for r in rows), words=tuple(words))


def _table_kind(row: Row) -> DocumentType | None:
    """Which document type a table header row belongs to (call on table header rows)."""
    text = row.text.lower()
    if "alloc" in text or "bkord" in text or "qty ord" in text:
        return "order_confirmation"
    if "back ord" in text or "backord" in text or "shipped" in text:
        return "invoice"
    return None


# A label: its text, x0, x1, baseline, size, and the x0 of its last word.
_Label = tuple[str, float, float, float, float, float]


def read_header(rows: Sequence[Row], is_header: Sequence[bool]) -> PageHeader:
    """What a page's header says: numbers and dates with their labels, vendor, table columns."""
    labels: list[_Label] = []
    numbers: list[tuple[str, Word, Row]] = []
    dates: list[tuple[str, Word, Row]] = []
    vendor = False
    table_kind: DocumentType | None = None
    description_x: float | None = None
    quantity_columns: tuple[float, ...] = ()
    band: list[Row] = []
    for index, (row, header_row) in enumerate(zip(rows, is_header, strict=True)):
        if not vendor and VENDOR_MENTION.search(row.text):
            vendor = True
        if header_row:
            band.append(row)
            if index + 1 < len(rows) and is_header[index + 1]:
                continue
            row = _merged_header(band) if len(band) > 1 else row
            table_kind = (
                table_kind
                or _table_kind(row)
                or _table_kind(Row(row.y, row.size, tuple(w for r in band for w in r.words)))
            )
            band = []
            if description_x is None:
                description_x = next((w.x0 for w in row.words if w.text.lower().startswith("desc")), None)
            quantity_columns = quantity_columns or _quantity_label_centres(row)
            continue
        words = row.words
        skip = 0
        for index, word in enumerate(words):
            if skip:
                skip -= 1
                continue
            # Each test below starts with a cheap one that every match passes (most words are
            # neither a number, a date nor a label): a C, a month's or a date's first characters
            # (_date_words), a label's last character.
            text = word.text
            found = DOC_NUMBER.search(text) if "C" in text else None
            if found:
                numbers.append((found.group(), word, row))
                continue
            used = _date_words(text)
            if used and (iso := _date_at(words, index, used)) is not None:
                last = words[index + used - 1]
                dates.append((iso, Word(text, word.x0, last.x1), row))
                skip = used - 1
                continue
            if text[-1:] in _LABEL_LAST and LABEL_END.search(text) and any(c.isalpha() for c in text):
                first = index
                while first > 0 and index - first < 2 and words[first - 1].text.replace(".", "").isalpha():
                    first -= 1
                text = " ".join(w.text for w in words[first : index + 1])
                labels.append((_normal_label(text), words[first].x0, word.x1, row.y, row.size, word.x0))
    return PageHeader(
        numbers=tuple(LabelledValue(v, _nearest_label(w, r, labels)) for v, w, r in numbers),
        dates=tuple(LabelledValue(v, _nearest_label(w, r, labels)) for v, w, r in dates),
        vendor_mentioned=vendor,
        table_kind=table_kind,
        description_x=None if description_x is None else round(description_x, 3),
        quantity_columns=quantity_columns,
    )


_QUANTITY_LABEL = re.compile(r"b/o|back|bkord|alloc(?:ated)?|shipped|ship|ord(?:ered)?", re.IGNORECASE)


def _quantity_label_centres(row: Row) -> tuple[float, ...]:
    """Centres of the quantity column labels of a table header row ("Qty Ord", "Back Ordered" ...).

    Labels are found inside words too, as cells drawn close together glue ("ShippedQty").
    """
    centres: list[float] = []
    pending_back: float | None = None  # "Back" waiting for its "Ordered"
    for index, word in enumerate(row.words):
        text = word.text
        per_char = (word.x1 - word.x0) / max(len(text), 1)
        for match in _QUANTITY_LABEL.finditer(text):
            label = match.group().lower()
            start = word.x0 + match.start() * per_char
            end = word.x0 + match.end() * per_char
            if match.start() == 0 and index > 0 and row.words[index - 1].text.lower().endswith("qty"):
                start = row.words[index - 1].x1 - 3 * per_char
            if label == "back":
                pending_back = start
                continue
            if pending_back is not None and label.startswith("ord"):
                start, pending_back = pending_back, None
            elif label.startswith("ord") and centres and not _is_word_start(match.start(), text):
                continue  # "ord" inside another word ("Recorded"): not a label
            centres.append(round((start + end) / 2, 2))
    return tuple(centres)


def _is_word_start(position: int, text: str) -> bool:
    return position == 0 or not text[position - 1].isalpha() or text[position].isupper()


_LABEL_WORDS = {"INV": "INVOICE", "ORD": "ORDER", "NUMBER": "NO", "NUM": "NO", "NBR": "NO"}


def _normal_label(text: str) -> str:
    words = text.upper().replace(":", " ").replace("#", " NO ").replace(".", " ").split()
    return " ".join(_LABEL_WORDS.get(w, w) for w in words)


# The last character of any word LABEL_END matches (of DATE, NO, NUMBER or #, then "." or ":";
# its "$" also matches before a final line break).
_LABEL_LAST = frozenset("EeOoRr#.:\n")


def _date_words(text: str) -> int:
    """How many words a date starting with the word ``text`` spans ("Feb 4, 2025": 3), 0 for no date."""
    if text[:3].lower() in MONTHS:
        return 3
    if text[:1].isdigit() and ("/" in text or "-" in text):
        return 1
    return 0  # most words on a page start no date


def _date_at(words: Sequence[Word], index: int, used: int) -> str | None:
    """The date the ``used`` words from ``words[index]`` spell, if they do."""
    if index + used > len(words):
        return None
    return parse_date(" ".join(w.text for w in words[index : index + used]).strip(",;"))


def _nearest_label(word: Word, row: Row, labels: list[_Label]) -> str:
    """The label a value belongs to: on its row to its left, above it in the same column, or below it.

    On its row, a value may start inside the label's last word: a label cell too narrow for its
    text overflows into the value's (glyphs drawn over each other, as MuPDF lays out a table
    whose label column is narrower than its labels).
    """
    best, best_distance = "", float("inf")
    for text, x0, x1, y, size, end_x0 in labels:
        unit = max(size, row.size)
        dy = y - row.y
        if abs(dy) <= 0.5 * unit and (word.x0 >= x1 - 1 or word.x0 > end_x0):
            distance = max(word.x0 - x1, 0.0)
        elif 0.5 * unit < dy <= 4.5 * unit and x0 - 2 * unit <= word.x0 <= x1 + 2 * unit:
            distance = 1.5 * dy + abs(word.x0 - x0)
        elif -2.5 * unit <= dy < -0.5 * unit and x0 - 2 * unit <= word.x0 <= x1 + 2 * unit:
            distance = 3 * -dy + abs(word.x0 - x0)  # a label below its value, taken after one above
        else:
            continue
        if distance < best_distance:
            best, best_distance = text, distance
    return best
