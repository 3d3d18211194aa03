"""Creative Co-op order confirmations (``CS…``) and invoices (``CI…``): rows to line items.

Parsing happens in two stages so that the expensive one can be cached per page:

1. :func:`parse_page` turns one page's rows into a :class:`~cc_perf_dagster.core.models.PageResult`:
   what the page says about the document (numbers, dates, table kind) and its table rows as
   records (product rows, tariff sub-lines, totals, other text). It depends only on the page.
2. :func:`assemble` reads the page results in order and builds the document: it decides the
   document type, splits each product row's body into description and quantity columns,
   attaches wrapped description lines and tariff sub-lines to their item (also across page
   boundaries), reads the totals block, and runs the self-checks.

Product rows are recognised by shape, never by their position in the content stream:
a product code, a 12-digit UPC, a body, the unit of measure and two or three money amounts.
The body is read from the right, so numbers inside descriptions (``6"H``, ``S/3``,
``12 oz.``, ``Set of 4``) are never taken for quantities.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

from cc_perf_dagster.core import validation
from cc_perf_dagster.core.errors import NoTextLayerError, UnsupportedDocumentError
from cc_perf_dagster.core.models import (
    DocumentType,
    Invoice,
    ItemRecord,
    LabelledValue,
    LineItem,
    PageHeader,
    PageResult,
    Record,
    Row,
    TariffRecord,
    TextRecord,
    TotalRecord,
    Totals,
    Word,
)

CODE = re.compile(r"^[A-Z]{2,3}-?\d{3,6}[A-Z]{0,2}$")
GLUED_CODE_UPC = re.compile(r"^([A-Z]{2,3}-?\d{3,6}[A-Z]{0,2})(\d{12})$")
GLUED_UPC = re.compile(r"^(\d{12})(\D.*|\d.*\D.*)$")
LINE_NUMBER = re.compile(r"^\d{1,4}\.?$")
UNIT = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9/]{1,8}$")
UPC = re.compile(r"^\d{11,14}$")
MONEY = re.compile(r"^\$?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d{2}$")
INTEGER = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)$")
DOC_NUMBER = re.compile(r"C[SI]\d{9}")
DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
NAMED_DATE = re.compile(r"^(\d{1,2})[- ]([A-Za-z]{3,9})\.?[- ,]+(\d{4})$|^([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})$")
MONTHS = {m: i for i, m in enumerate(("jan feb mar apr may jun jul aug sep oct nov dec").split(), 1)}
TARIFF_WORD = re.compile(r"\b(?:tariff|trf|surcharge)\b|\btrf-", re.IGNORECASE)
TOTAL_WORDS = re.compile(
    r"total|subtotal|sub-total|merchandise|freight|shipping|handling|tax|tariff|trf|amount due|balance", re.IGNORECASE
)
FOOTER = re.compile(r"\bpage\s+\d+(\s+of\s+\d+)?\b|continued", re.IGNORECASE)
VENDOR_MENTION = re.compile(r"creative\s*co-?op", re.IGNORECASE)
LABEL_END = re.compile(r"(?:DATE|NO|NUMBER|#)\.?:?$", re.IGNORECASE)

QTY_COLUMNS: dict[DocumentType, int] = {"order_confirmation": 4, "invoice": 2}
DATE_LABELS: dict[DocumentType, str] = {"order_confirmation": "ORDER DATE", "invoice": "INVOICE DATE"}
NUMBER_PREFIX: dict[DocumentType, str] = {"order_confirmation": "CS", "invoice": "CI"}
CENT = Decimal("0.01")

NOT_CREATIVE_COOP = "not a Creative Co-op document (no CS/CI document number and no mention of Creative Co-op)"
NO_DOCUMENT_NUMBER = "not a Creative Co-op order confirmation or invoice (no CS/CI document number found)"

# Wrapped description lines sit at most this many font sizes below the previous row.
CONTINUATION_GAP = 2.2
# A tariff sub-line sits at most this many font sizes below its item's last row.
TARIFF_GAP = 3.2


# --- stage 1: one page -----------------------------------------------------------------------


def parse_page(page: int, content_hash: str, rows: Sequence[Row]) -> PageResult:
    """Parse one page's rows into header facts and table records.

    Args:
        page: The 1-based page number.
        content_hash: The page's content hash (carried into the result for caching).
        rows: The page's rows, top to bottom (see :func:`~cc_perf_dagster.core.layout.build_rows`).

    Returns:
        The page result; pages without products simply have no item records.
    """
    rows = _join_split_rows(rows)
    is_header = _header_bands(rows)
    header = _read_header(rows, is_header)
    start = is_header.index(True) if True in is_header else 0
    records: list[Record] = []
    first = False
    skip = 0
    for index in range(start, len(rows)):
        row = rows[index]
        if skip:
            skip -= 1
            continue
        if is_header[index]:
            first = True
            continue
        grid = _totals_grid(row, rows[index + 1] if index + 1 < len(rows) else None)
        if grid:
            records.extend(grid)
            skip = 1  # the amounts row is consumed
            continue
        lead, row = _split_tariff_row(row)
        if lead is not None:
            records.append(_text_record(lead, first))  # a description line sharing the tariff's row
        record = _classify(row)
        records.append(record if record is not None else _text_record(row, first))
        if not (isinstance(record, TextRecord) and FOOTER.search(record.text)):
            first = False  # a "(continued)" or page-number line does not end the page's first row
    header = replace(header, footer_pages=footer_pages(rows))
    return PageResult(page=page, content_hash=content_hash, has_text=bool(rows), header=header, records=tuple(records))


def _text_record(row: Row, first: bool) -> TextRecord:
    return TextRecord(
        text=row.text,
        x0=round(row.words[0].x0, 3),
        x1=round(row.words[-1].x1, 3),
        y=round(row.y, 3),
        size=round(row.size, 3),
        first=first,
    )


# Words a wrapped tariff or totals label is made of ("Tariff" over "Surcharge").
_TARIFF_LABEL_WORDS = frozenset({"tariff", "surcharge", "trf", "trf-ccoi", "ccoi", "-", "trf-", "duty"})
# A neighbouring line closer than this (in font sizes) is part of the same table cell.
_SAME_CELL = 0.9
# A product row's numbers sit at most this many font sizes below its code (cells aligned differently).
_SPLIT_ROW_REACH = 4.5


def _join_split_rows(rows: Sequence[Row]) -> list[Row]:
    """Join the pieces of one table row that cell alignment drew on different baselines.

    * A product code (and UPC) whose row has no amounts, and the row below that has the
      amounts but no code (code cells aligned top, number cells middle or bottom).
    * A lone amount and the wrapped label lines around it ("Tariff" / "5.76" / "Surcharge").
    """
    out: list[Row] = []
    index = 0
    count = len(rows)
    while index < count:
        joined, used = _join_product_row(rows, index)
        if joined is None:
            joined, used, dropped = _join_labelled_amount(rows, index, out)
            if dropped:
                del out[-dropped:]
        out.append(joined)
        index += used
    return out


def _join_product_row(rows: Sequence[Row], index: int) -> tuple[Row | None, int]:
    row = rows[index]
    words = row.words
    if len(words) < 2 or not CODE.match(words[0].text) or any(MONEY.match(w.text) for w in words):
        return None, 1
    if not (UPC.match(words[1].text) or GLUED_CODE_UPC.match(words[0].text)):
        return None, 1
    for ahead in range(index + 1, min(index + 6, len(rows))):
        other = rows[ahead]
        if row.y - other.y > _SPLIT_ROW_REACH * row.size or (other.words and CODE.match(other.words[0].text)):
            return None, 1
        money = [w for w in other.words if MONEY.match(w.text)]
        if money:
            if len(money) < 2 or not MONEY.match(other.words[-1].text):
                return None, 1
            merged = Row(y=other.y, size=max(row.size, other.size), words=tuple(_reading_order(rows, index, ahead)))
            return (merged, ahead - index + 1) if _item_record(merged) is not None else (None, 1)
    return None, 1


def _reading_order(rows: Sequence[Row], first: int, last: int) -> list[Word]:
    """The words of rows ``first..last`` as one product row.

    Code and UPC, the description lines top to bottom, then the cells right of the
    description (quantities, unit, amounts).
    """
    head = rows[first].words
    lead = 2 if UPC.match(head[1].text) else 1
    right_edge = min((w.x0 for w in rows[last].words if INTEGER.match(w.text) or MONEY.match(w.text)), default=None)
    description: list[Word] = []
    tail: list[Word] = []
    for position in range(first, last + 1):
        for word in rows[position].words[lead if position == first else 0 :]:
            if right_edge is not None and word.x0 >= right_edge - 0.5:
                tail.append(word)
            else:
                description.append(word)
    tail.sort(key=lambda w: w.x0)
    return [*head[:lead], *description, *tail]


def _join_labelled_amount(rows: Sequence[Row], index: int, done: list[Row]) -> tuple[Row, int, int]:
    """A row with one amount, joined with the wrapped lines of its tariff or totals label.

    Returns the (maybe joined) row, how many rows from ``index`` on it used, and how many
    rows already emitted (the label lines above) it replaces.
    """
    row = rows[index]
    money = [w for w in row.words if MONEY.match(w.text)]
    if len(money) != 1 or money[0] is not row.words[-1]:
        return row, 1, 0
    # A row that already names its amount only takes lines of tariff words ("Surcharge").
    named = _labelled(row.words[:-1])
    above = done[-1] if done else None
    below = rows[index + 1] if index + 1 < len(rows) else None
    take_above = above is not None and _label_line(above, row, money[0], named)
    take_below = below is not None and _label_line(below, row, money[0], named)
    if not (take_above or take_below):
        return row, 1, 0
    words = [
        *(above.words if take_above and above else ()),
        *row.words[:-1],
        *(below.words if take_below and below else ()),
    ]
    if not _labelled(words):
        return row, 1, 0
    joined = Row(y=row.y, size=row.size, words=(*words, money[0]))
    return joined, 2 if take_below else 1, 1 if take_above else 0


def _split_tariff_row(row: Row) -> tuple[Row | None, Row]:
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


def _label_line(line: Row, row: Row, amount: Word, named: bool) -> bool:
    """Whether ``line`` is a wrapped piece of the label of ``row``'s amount.

    A line of tariff words ("Surcharge") up to a line pitch away joins; any other labelling
    line joins only when it sits closer than a line pitch (the amount centred beside the
    wrapped label) and the amount has no label of its own.
    """
    if len(line.words) > 3 or any(MONEY.match(w.text) or INTEGER.match(w.text) for w in line.words):
        return False
    if any(w.x1 > amount.x0 for w in line.words):
        return False
    distance = abs(line.y - row.y) / max(line.size, row.size)
    if all(w.text.lower().strip(":") in _TARIFF_LABEL_WORDS for w in line.words):
        return distance <= 1.6
    return not named and distance <= _SAME_CELL and _labelled(line.words)


PAGE_OF = re.compile(r"\bpage\s+(\d+)\s+of\s+(\d+)\b", re.IGNORECASE)


def footer_pages(rows: Sequence[Row]) -> int | None:
    """The largest M of the page's "Page N of M" lines (how long the document says it is), or ``None``."""
    totals = [int(found.group(2)) for row in rows for found in PAGE_OF.finditer(row.text)]
    return max(totals) if totals else None


def _totals_grid(labels: Row, amounts: Row | None) -> list[TotalRecord]:
    """A totals block laid out as a grid: a row of labels, the row below holding their amounts.

    Each label word goes to the first amount whose right edge it does not pass (amounts are
    right-aligned under their labels, or centred).
    """
    if amounts is None or len(amounts.words) < 2 or not all(MONEY.match(w.text) for w in amounts.words):
        return []
    if any(MONEY.match(w.text) or INTEGER.match(w.text) for w in labels.words):
        return []
    if len(TOTAL_WORDS.findall(labels.text)) < 2 or labels.y - amounts.y > CONTINUATION_GAP * labels.size:
        return []
    groups: list[list[str]] = [[] for _ in amounts.words]
    tolerance = 0.5 * labels.size
    for word in labels.words:
        target = next((i for i, a in enumerate(amounts.words) if word.x1 <= a.x1 + tolerance), len(groups) - 1)
        groups[target].append(word.text)
    if any(not group for group in groups):
        return []
    return [
        TotalRecord(label=" ".join(group).rstrip(":"), amount=_money_text(amount.text))
        for group, amount in zip(groups, amounts.words, strict=True)
    ]


def _is_table_header(row: Row) -> bool:
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


def _header_bands(rows: Sequence[Row]) -> list[bool]:
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
                if gap > _HEADER_LINE_GAP * max(other.size, rows[near].size) or not _header_line(other):
                    break
                near += step
                flags[near] = True
    return flags


def _header_line(row: Row) -> bool:
    """A line of column labels: only words that column labels are made of."""
    return 0 < len(row.words) <= 16 and all(w.text.lower().strip(".:") in _HEADER_WORDS for w in row.words)


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


def _classify(row: Row) -> Record | None:
    words = row.words
    item = _item_record(row)
    if item is not None:
        return item
    amounts = [w for w in words if MONEY.match(w.text)]
    if len(words) < 2 or len(amounts) != 1:
        return None
    amount = amounts[0]
    label = " ".join(w.text for w in words if w is not amount)
    if TARIFF_WORD.search(label) and "total" not in label.lower() and len(words) <= 6:
        return TariffRecord(amount=_money_text(amount.text), y=round(row.y, 3))
    if amount is words[-1] and TOTAL_WORDS.search(label):
        return TotalRecord(label=label.rstrip(":").strip(), amount=_money_text(amount.text))
    return None


def _item_record(row: Row) -> ItemRecord | None:
    words = _unglue(row.words)
    start = 1 if len(words) > 1 and LINE_NUMBER.match(words[0].text) and CODE.match(words[1].text) else 0
    if len(words) < start + 3 or not CODE.match(words[start].text):
        return None
    position = start + 1
    upc = ""
    if UPC.match(words[position].text):
        upc = words[position].text
        position += 1
    rest = words[position:]
    end = len(rest)
    amounts: list[str] = []
    while end > 0 and len(amounts) < 3 and MONEY.match(rest[end - 1].text):
        amounts.insert(0, _money_text(rest[end - 1].text))
        end -= 1
    if len(amounts) < 2:
        return None
    unit_start = end
    while (
        unit_start > 0
        and end - unit_start < 2
        and UNIT.match(rest[unit_start - 1].text)
        and not INTEGER.match(rest[unit_start - 1].text)
    ):
        unit_start -= 1
    if unit_start > 0 and not INTEGER.match(rest[unit_start - 1].text):
        unit_start = end  # the words before the amounts belong to the description: no unit printed
    if not upc and not any(INTEGER.match(w.text) for w in rest[:unit_start]):
        return None  # neither a UPC nor a quantity: not a product row
    unit = " ".join(w.text for w in rest[unit_start:end])
    return ItemRecord(
        code=words[start].text,
        upc=upc,
        body=tuple(rest[:unit_start]),
        unit=unit,
        amounts=tuple(amounts),
        y=round(row.y, 3),
        size=round(row.size, 3),
        lead_x1=round(words[position - 1].x1, 3),
    )


def _unglue(words: Sequence[Word]) -> Sequence[Word]:
    """Split a product code or UPC drawn so close to the next cell that the two became one word."""
    if not words:
        return words
    split: list[Word] = []
    for index, word in enumerate(words[:3]):
        glued = GLUED_CODE_UPC.match(word.text) if index < 2 else None
        glued = glued or (GLUED_UPC.match(word.text) if index > 0 and CODE.match(words[index - 1].text) else None)
        if glued is None:
            split.append(word)
            continue
        head, tail = glued.group(1), glued.group(2)
        cut = word.x0 + (word.x1 - word.x0) * len(head) / len(word.text)
        split.extend([Word(head, word.x0, cut), Word(tail, cut, word.x1)])
    return (*split, *words[3:]) if len(split) > min(3, len(words)) else words


def _money_text(token: str) -> str:
    return token.replace("$", "").replace(",", "")


def _read_header(rows: Sequence[Row], is_header: Sequence[bool]) -> PageHeader:
    labels: list[tuple[str, float, float, float, float]] = []  # text, x0, x1, y, size
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
            found = DOC_NUMBER.search(word.text)
            if found:
                numbers.append((found.group(), word, row))
                continue
            iso, used = _date_at(words, index)
            if iso is not None:
                last = words[index + used - 1]
                dates.append((iso, Word(word.text, word.x0, last.x1), row))
                skip = used - 1
                continue
            if LABEL_END.search(word.text) and any(c.isalpha() for c in word.text):
                first = index
                while first > 0 and index - first < 2 and words[first - 1].text.replace(".", "").isalpha():
                    first -= 1
                text = " ".join(w.text for w in words[first : index + 1])
                labels.append((_normal_label(text), words[first].x0, word.x1, row.y, row.size))
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


def _date_at(words: Sequence[Word], index: int) -> tuple[str | None, int]:
    """A date starting at ``words[index]`` (one word, or up to three for "Feb 4, 2025"), and its length."""
    text = words[index].text
    if text[:3].lower() in MONTHS:
        spans: tuple[int, ...] = (3,)
    elif text[:1].isdigit() and ("/" in text or "-" in text):
        spans = (1,)
    else:
        return None, 1  # cheap exit: most words on a page are no date
    for used in spans:
        if index + used > len(words):
            break
        iso = _parse_date(" ".join(w.text for w in words[index : index + used]).strip(",;"))
        if iso is not None:
            return iso, used
    return None, 1


def _parse_date(token: str) -> str | None:
    """ISO date of M/D/YYYY, M-D-YYYY, M/D/YY, YYYY-MM-DD, 4-Feb-2025 or Feb 4, 2025."""
    if match := DATE.match(token):
        month, day, year = (int(g) for g in match.groups())
    elif match := ISO_DATE.match(token):
        year, month, day = (int(g) for g in match.groups())
    elif match := NAMED_DATE.match(token):
        day_text, month_text, year_text = (
            match.group(1, 2, 3) if match.group(1) else (match.group(5), match.group(4), match.group(6))
        )
        month = MONTHS.get(month_text[:3].lower(), 0)
        day, year = int(day_text), int(year_text)
    else:
        return None
    if year < 100:
        year += 2000
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _nearest_label(word: Word, row: Row, labels: list[tuple[str, float, float, float, float]]) -> str:
    """The label a value belongs to: on its row to its left, above it in the same column, or below it."""
    best, best_distance = "", float("inf")
    for text, x0, x1, y, size in labels:
        unit = max(size, row.size)
        dy = y - row.y
        if abs(dy) <= 0.5 * unit and word.x0 >= x1 - 1:
            distance = word.x0 - x1
        elif 0.5 * unit < dy <= 4.5 * unit and x0 - 2 * unit <= word.x0 <= x1 + 2 * unit:
            distance = 1.5 * dy + abs(word.x0 - x0)
        elif -2.5 * unit <= dy < -0.5 * unit and x0 - 2 * unit <= word.x0 <= x1 + 2 * unit:
            distance = 3 * -dy + abs(word.x0 - x0)  # a label below its value, taken after one above
        else:
            continue
        if distance < best_distance:
            best, best_distance = text, distance
    return best


# --- stage 2: the document -------------------------------------------------------------------


def assemble(file: str, sha256: str, pages: Iterable[PageResult]) -> Invoice:
    """Build the document from its page results (in page order) and run the self-checks.

    Raises:
        NoTextLayerError: No page has any text.
        UnsupportedDocumentError: No Creative Co-op order or invoice number was found.
    """
    assembler = DocumentAssembler(file, sha256)
    for page in pages:
        assembler.add(page)
    return assembler.finish()


def looks_unsupported(page: PageResult) -> bool:
    """True when a page with text shows neither a CS/CI number nor the vendor's name."""
    return page.has_text and not page.header.numbers and not page.header.vendor_mentioned


class DocumentAssembler:
    """Builds a document from its page results, fed one at a time in page order.

    Memory stays flat in the page count: a page's records are turned into line items as soon
    as the document type is known (normally from page 1), and only the items, the header
    values and the page hashes are kept.

    Example:
        >>> assembler = DocumentAssembler("CS003837319.pdf", sha256)   # doctest: +SKIP
        >>> for result in page_results:
        ...     assembler.add(result)
        >>> invoice = assembler.finish()
    """

    def __init__(self, file: str, sha256: str, *, declared_pages: int | None = None):
        self.file = file
        self.sha256 = sha256
        self.declared_pages = declared_pages  # the PDF page tree's /Count, when known
        self._footer_pages: int | None = None
        self._numbers: list[LabelledValue] = []
        self._dates: list[tuple[int, LabelledValue]] = []
        self._table_kinds: set[DocumentType] = set()
        self._vendor = False
        self._hashes: list[str] = []
        self._textless: list[int] = []
        self._waiting: list[PageResult] = []  # pages seen before the document type is known
        self._builder: _ItemBuilder | None = None

    def add(self, page: PageResult) -> None:
        """Take the next page's result."""
        header = page.header
        self._numbers.extend(header.numbers)
        self._dates.extend((page.page, d) for d in header.dates)
        if header.table_kind:
            self._table_kinds.add(header.table_kind)
        self._vendor = self._vendor or header.vendor_mentioned
        self._hashes.append(page.content_hash)
        if not page.has_text:
            self._textless.append(page.page)
        if header.footer_pages is not None:
            self._footer_pages = max(self._footer_pages or 0, header.footer_pages)
        if self._builder is None:
            self._waiting.append(page)
            identity = _identity(self._numbers)
            if identity is not None:
                self._builder = _ItemBuilder(identity[0])
                for waiting in self._waiting:
                    self._builder.add_page(waiting)
                self._waiting = []
        else:
            self._builder.add_page(page)

    def finish(self) -> Invoice:
        """The document, with its self-checks.

        Raises:
            NoTextLayerError: No page has any text.
            UnsupportedDocumentError: No Creative Co-op order or invoice number was found.
        """
        if len(self._textless) == len(self._hashes):
            raise NoTextLayerError(
                "no text layer: the pages hold only images (a scan?); OCR is not supported", file=self.file
            )
        identity = _identity(self._numbers)
        if identity is None or self._builder is None:
            reason = NOT_CREATIVE_COOP if not self._vendor else NO_DOCUMENT_NUMBER
            raise UnsupportedDocumentError(reason, file=self.file)
        document_type, number = identity
        warnings = [f"page {p} has no text layer (image only?)" for p in self._textless]
        date = _document_date(document_type, self._dates)
        if date is None:
            warnings.append(f"no {DATE_LABELS[document_type].lower()} found")
        if len(self._table_kinds) == 1 and document_type not in self._table_kinds:
            kind = next(iter(self._table_kinds))
            warnings.append(f"the table columns are those of an {kind}, the number says {document_type}")
        items, totals = self._builder.finish()
        warnings.extend(self._builder.warnings)
        report = validation.check_document(items, totals)
        warnings.extend(report.warnings)
        return Invoice(
            file=self.file,
            sha256=self.sha256,
            document_type=document_type,
            invoice_number=number,
            invoice_date=None if date is None else dt.date.fromisoformat(date),
            page_count=len(self._hashes),
            line_items=tuple(items),
            totals=totals,
            consistency_score=report.consistency_score,
            warnings=tuple(warnings),
            totals_reconcile=report.totals_reconcile,
            page_hashes=tuple(self._hashes),
            declared_pages=self.declared_pages,
            footer_pages=self._footer_pages,
            textless_pages=tuple(self._textless),
        )


def _identity(numbers: list[LabelledValue]) -> tuple[DocumentType, str] | None:
    """Document type and number: a CI number makes an invoice (which may cite its CS order)."""
    invoices = [n for n in numbers if n.value.startswith("CI")]
    if invoices:
        return "invoice", _most_labelled(invoices, "INVOICE")
    orders = [n for n in numbers if n.value.startswith("CS")]
    if orders:
        return "order_confirmation", _most_labelled(orders, "ORDER")
    return None


def _most_labelled(values: list[LabelledValue], label_word: str) -> str:
    labelled = [v.value for v in values if label_word in v.label]
    return Counter(labelled or [v.value for v in values]).most_common(1)[0][0]


def _document_date(document_type: DocumentType, dates: list[tuple[int, LabelledValue]]) -> str | None:
    """The date labelled as the order/invoice date; else one labelled DATE; else the first unlabelled one."""
    wanted = DATE_LABELS[document_type]
    rules = (lambda lab: lab == wanted, lambda lab: wanted in lab, lambda lab: lab == "DATE", lambda lab: not lab)
    for accept in rules:
        chosen = [d.value for _, d in dates if accept(d.label)]
        if chosen:
            return chosen[0]
    return None


class _ItemBuilder:
    """Turns records into line items and totals, page by page, in document order."""

    def __init__(self, document_type: DocumentType):
        self.document_type = document_type
        self.qty_count = QTY_COLUMNS[document_type]
        self.warnings: list[str] = []
        self.items: list[LineItem] = []
        # Each item's description as lines: above its row, on its row, below its row.
        self._above_lines: list[list[str]] = []
        self._row_text: list[str] = []
        self._below_lines: list[list[str]] = []
        # Lines between two rows that only the document's cell alignment can share out.
        self._undecided: list[tuple[int, list[str]]] = []
        self._span = (0.0, 0.0)  # description column of the current item
        self._last = (0, 0.0)  # page and baseline of the current item's last row
        self._open = False  # the current item may still take description lines and its tariff
        self._size = 10.0  # font size of the current item's row
        self._totals: dict[str, Decimal] = {}
        self._stray_tariffs: list[TariffRecord] = []
        self._edges: list[list[float]] = [[] for _ in range(self.qty_count)]  # quantity column edges
        self._description_x: list[float] = []
        self._header_x: float | None = None
        self._header_columns: tuple[float, ...] = ()
        # Description lines not yet given to an item: below the current item's row or above the next.
        self._pending: list[tuple[int, TextRecord]] = []
        self._seen = (0, 0.0)  # page and baseline of the last table record
        self._lines_above = 0  # evidence: cells whose description starts above the numbers
        self._lines_below = 0  # evidence: cells whose description goes on below the numbers

    def add_page(self, page: PageResult) -> None:
        if self._header_x is None:
            self._header_x = page.header.description_x
        if not self._header_columns and len(page.header.quantity_columns) == self.qty_count:
            self._header_columns = page.header.quantity_columns
        before = 0  # non-text records seen on this page so far
        for record in page.records:
            if isinstance(record, ItemRecord):
                above = self._split_pending(page.page, record)
                self._close()
                self._drop_stray_tariffs()
                self._start(page.page, record, above)
            elif isinstance(record, TariffRecord):
                self._flush_pending()
                self._seen = (page.page, record.y)
                if self._takes_tariff(record, page.page, before):
                    self.items[-1] = replace(self.items[-1], tariff_surcharge=Decimal(record.amount))
                else:
                    self._stray_tariffs.append(record)  # a totals line, unless an item follows
                self._close()
            elif isinstance(record, TotalRecord):
                self._flush_pending()
                self._flush_stray_tariffs()
                self._total(record.label, Decimal(record.amount))
                self._close()
            elif isinstance(record, TextRecord):
                if self._description_line(record, page.page):
                    self._pending.append((page.page, record))
                elif self._pending and not FOOTER.search(record.text):
                    self._flush_pending()
            if not isinstance(record, TextRecord):
                before += 1
                if isinstance(record, ItemRecord):
                    self._seen = (page.page, record.y)

    def _description_line(self, record: TextRecord, page: int) -> bool:
        """Whether a text row may be a wrapped line of a description (of this item or the next)."""
        if self._totals or FOOTER.search(record.text):
            return False
        if self._pending:
            last_page, last_y = self._pending[-1][0], self._pending[-1][1].y
        else:
            last_page, last_y = self._last if self._open else self._seen
        if page == last_page:
            if last_y - record.y > CONTINUATION_GAP * record.size:
                return False
        elif not record.first and self._pending:
            return False
        if not self.items:
            return True  # judged by the columns of the item that takes it (see _split_pending)
        left, right = self._span
        return record.x0 >= left and record.x1 <= right

    def _flush_pending(self) -> None:
        """Every waiting line belongs to the current item (a tariff, totals or other text follows)."""
        if self._pending and self._open:
            self._below_lines[-1].extend(r.text for _, r in self._pending)
            self._last = (self._pending[-1][0], self._pending[-1][1].y)
            self._lines_below += 1
        self._pending = []

    def _split_pending(self, page: int, record: ItemRecord) -> list[str]:
        """Share the lines between the current item's row and the next item's row.

        A table draws more space between two rows than between the lines of one cell, so
        the widest gap is the cell boundary when it stands out. Otherwise the lines go as
        the document's cells are aligned: below the numbers (top-aligned), above them
        (bottom-aligned), or as many below as the current item had above (middle).
        """
        pending, self._pending = self._pending, []
        left, right = self._columns(record)
        pending = [(p, r) for p, r in pending if r.x0 >= left and r.x1 <= right]
        if not pending:
            return []
        if not self._open:
            self._lines_above += 1
            return [r.text for _, r in pending]
        last_page, last_y = self._last
        points = [(last_page, last_y), *((p, r.y) for p, r in pending), (page, record.y)]
        gaps = [a[1] - b[1] if a[0] == b[0] else None for a, b in itertools.pairwise(points)]
        cut = _widest_gap(gaps)
        lines = [r.text for _, r in pending]
        if cut is None:  # shared out in finish(), when the document has shown how its cells align
            self._undecided.append((len(self.items) - 1, lines))
            return []
        if cut:
            self._below_lines[-1].extend(lines[:cut])
            self._lines_below += 1
        if cut < len(lines):
            self._lines_above += 1
        return lines[cut:]

    def _share_undecided(self) -> None:
        """Share out the lines no gap decided, by how the document's cells are aligned.

        Top-aligned cells (no description ever started above its row): the lines continue
        the item above. Bottom-aligned (lines above rows, never below): they start the item
        below. Middle (both): the item above takes as many as it had above its row.
        """
        for index, lines in self._undecided:
            if not self._lines_above:
                cut = len(lines)
            elif not self._lines_below:
                cut = 0
            else:
                cut = min(len(self._above_lines[index]), len(lines))
            self._below_lines[index][:0] = lines[:cut]
            self._above_lines[index + 1][:0] = lines[cut:]
        self._undecided = []
        for index, item in enumerate(self.items):
            lines = [*self._above_lines[index], self._row_text[index], *self._below_lines[index]]
            self.items[index] = replace(item, description=join_lines(lines))

    def _flush_stray_tariffs(self) -> None:
        for record in self._stray_tariffs:
            self._total("Tariff", Decimal(record.amount))
        self._stray_tariffs = []

    def _drop_stray_tariffs(self) -> None:
        for record in self._stray_tariffs:
            self.warnings.append(f"tariff line {record.amount} belongs to no item; ignored")
        self._stray_tariffs = []

    def finish(self) -> tuple[list[LineItem], Totals | None]:
        self._flush_pending()
        self._close()
        self._share_undecided()
        self._flush_stray_tariffs()
        return self.items, Totals(**self._totals) if self._totals else None

    def _close(self) -> None:
        """The current item takes no more description lines or tariff."""
        self._open = False

    def _takes_tariff(self, record: TariffRecord, page: int, records_before: int) -> bool:
        """Whether a tariff line belongs to the current item rather than to the totals block."""
        if not self._open or self._totals:
            return False
        item = self.items[-1]
        if item.extended_price == 0 and Decimal(record.amount) != 0:
            return False  # 15% of nothing: a tariff total after a zero line
        last_page, last_y = self._last
        if page == last_page:
            return (last_y - record.y) <= TARIFF_GAP * self._size
        return page == last_page + 1 and records_before == 0

    def _start(self, page: int, record: ItemRecord, above: Sequence[str] = ()) -> None:
        quantities, description_words = self._split_body(record)
        if description_words:
            _sample(self._description_x, description_words[0].x0)
        self._span = self._columns(record, description_words)
        list_price, unit_price, extended, printed = _prices(record.amounts, _candidates(self.document_type, quantities))
        known_price = unit_price if printed else None
        quantity = _billed_quantity(self.document_type, quantities, list_price, known_price, extended)
        if not printed:
            unit_price = _inferred_unit_price(list_price, extended, quantity)
        if self.document_type == "order_confirmation":
            ordered, allocated, shipped, backordered = quantities
        else:
            ordered, allocated = None, None
            shipped, backordered = quantities
        row_text = " ".join(w.text for w in description_words)
        description = join_lines([*above, row_text])  # final once its lines below are in (finish)
        self._above_lines.append(list(above))
        self._row_text.append(row_text)
        self._below_lines.append([])
        self.items.append(
            LineItem(
                page=page,
                product_code=record.code,
                upc=record.upc,
                description=description,
                qty_ordered=ordered,
                qty_allocated=allocated,
                qty_shipped=shipped,
                qty_backordered=backordered,
                unit=record.unit,
                list_price=list_price,
                unit_price=unit_price,
                extended_price=extended,
                tariff_surcharge=None,
                quantity=quantity,
                unit_price_printed=printed,
            )
        )
        self._last = (page, record.y)
        self._size = record.size
        self._open = True

    def _columns(self, record: ItemRecord, description_words: Sequence[Word] | None = None) -> tuple[float, float]:
        """Left and right bounds of the description column at an item's row.

        It starts after the code and UPC cells (or at the row's own description words, or
        where earlier rows' descriptions started) and ends before the first quantity.
        """
        if description_words is None:
            description_words = self._split_body(record, learn=False)[1]
        tolerance = 0.6 * record.size
        if record.lead_x1:
            left = record.lead_x1
        elif description_words:
            left = description_words[0].x0 - tolerance
        else:
            known = self._known_description_x()
            left = float("-inf") if known is None else known - tolerance
        qty_words = [w for w in record.body if all(w is not d for d in description_words)]
        right = qty_words[0].x0 if qty_words else (record.body[-1].x1 if record.body else float("inf"))
        return left, right + tolerance

    def _known_description_x(self) -> float | None:
        if self._description_x:
            return statistics.median(self._description_x)
        return self._header_x

    def _split_body(self, record: ItemRecord, *, learn: bool = True) -> tuple[list[int], list[Word]]:
        """Split a product row's body into its quantity columns and its description words."""
        tail = _trailing_integers(record.body)
        count = self.qty_count
        if len(tail) >= count:
            for edges, word in zip(self._edges, tail[-count:], strict=True) if learn else ():
                _sample(edges, (word.x0 + word.x1) / 2)
            return [_int(w.text) for w in tail[-count:]], list(record.body[: len(record.body) - count])
        # Blank quantity cells: place each printed quantity in the nearest known column (learned
        # from rows that print them all, else the table header's labels).
        quantities = [0] * count
        placed: list[Word] = []
        columns = [statistics.median(e) for e in self._edges] if all(self._edges) else list(self._header_columns)
        for word in tail if columns else []:
            distances = [abs((word.x0 + word.x1) / 2 - centre) for centre in columns]
            column = distances.index(min(distances))
            if distances[column] <= 3 * record.size:
                quantities[column] = _int(word.text)
                placed.append(word)
        if learn and (len(placed) < len(tail) or not columns):
            self.warnings.append(f"{record.code}: quantity columns could not be told apart; blank ones read as 0")
        return quantities, [w for w in record.body if all(w is not p for p in placed)]

    def _total(self, label: str, amount: Decimal) -> None:
        lower = label.lower()
        if "sub" in lower or "merchandise" in lower:
            key = "subtotal"
        elif "tariff" in lower or "trf" in lower:
            key = "tariff"
        elif "freight" in lower or "shipping" in lower or "handling" in lower:
            key = "freight"
        elif "tax" in lower:
            key = "tax"
        else:
            key = "total"
        if key in self._totals and self._totals[key] != amount:
            self.warnings.append(f"two different {key} amounts in the totals block: {self._totals[key]}, {amount}")
        self._totals.setdefault(key, amount)


_SAMPLES = 64
_BROKEN_AT_HYPHEN = re.compile(r"\w-$")


def join_lines(lines: Sequence[str]) -> str:
    """A wrapped description's lines as one text.

    Single spaces, and no space after a line that a word was broken in at its hyphen
    (``3-`` then ``1/4"H`` reads ``3-1/4"H``).
    """
    text = ""
    for line in (" ".join(line.split()) for line in lines):
        if not line:
            continue
        text = f"{text}{line}" if not text or _BROKEN_AT_HYPHEN.search(text) else f"{text} {line}"
    return text


# The cell boundary is the widest gap when it is this much wider than every other.
_BOUNDARY = 1.12


def _widest_gap(gaps: Sequence[float | None]) -> int | None:
    """Index of the gap that stands out as a cell boundary, or ``None``.

    ``None`` entries are page breaks: a boundary there cannot be measured.
    """
    known = [(gap, index) for index, gap in enumerate(gaps) if gap is not None]
    if len(known) < 2:
        return None
    known.sort(reverse=True)
    (widest, index), (second, _) = known[0], known[1]
    return index if widest >= _BOUNDARY * second else None


def _sample(values: list[float], value: float) -> None:
    """Keep a bounded window of recent samples (column positions barely move in a document)."""
    values.append(value)
    if len(values) > _SAMPLES:
        del values[0]


def _trailing_integers(body: Sequence[Word]) -> list[Word]:
    tail: list[Word] = []
    for word in reversed(body):
        if not INTEGER.match(word.text):
            break
        tail.insert(0, word)
    return tail


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _prices(amounts: Sequence[str], candidates: Sequence[int]) -> tuple[Decimal, Decimal, Decimal, bool]:
    """List, unit (Your Price), extended, and whether the unit price was printed.

    With two amounts, the first is normally List (Your Price left out); it is Your Price
    instead when a billed quantity times it gives the extended price and the List reading
    does not. Candidates are tried in billing order, the List reading first for each.
    """
    values = [Decimal(a) for a in amounts]
    if len(values) == 3:
        return values[0], values[1], values[2], True
    first, extended = values
    for quantity in candidates:
        if not quantity:
            continue
        if quantity * validation.expected_unit_price(first) == extended:
            break
        if (first * quantity).quantize(CENT) == extended:
            return (first / Decimal("0.8")).quantize(CENT), first, extended, True
    return first, Decimal(0), extended, False


def _billed_quantity(
    document_type: DocumentType,
    quantities: Sequence[int],
    list_price: Decimal,
    unit_price: Decimal | None,
    extended: Decimal,
) -> int:
    """The quantity the extended price was computed on.

    Invoices bill the shipped quantity. Order confirmations bill the back-ordered one
    (nothing has shipped yet), which usually equals the ordered one; when the arithmetic
    says another column was billed, that column wins.
    """
    candidates = _candidates(document_type, quantities)
    if extended == 0:
        return next((q for q in candidates if q == 0), candidates[0])
    price = unit_price if unit_price is not None else validation.expected_unit_price(list_price)
    for quantity in candidates:
        if quantity and abs(quantity * price - extended) <= CENT:
            return quantity
    return candidates[0]


def _candidates(document_type: DocumentType, quantities: Sequence[int]) -> list[int]:
    """The quantity columns that may have been billed, most likely first."""
    if document_type == "order_confirmation":
        ordered, allocated, shipped, backordered = quantities
        return [backordered, ordered, allocated, shipped]
    return [quantities[0]]


def _inferred_unit_price(list_price: Decimal, extended: Decimal, quantity: int) -> Decimal:
    if quantity:
        return (extended / quantity).quantize(CENT)
    return validation.expected_unit_price(list_price)
