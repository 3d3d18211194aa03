"""One page's rows to table records: product rows, tariff sub-lines, totals, other text.

Table rows that cell alignment drew on several baselines are joined first (a code whose
numbers sit lower, a tariff label wrapped around its amount).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from cc_perf_dagster.core.errors import one_line
from cc_perf_dagster.core.models import (
    ItemRecord,
    Record,
    Row,
    TariffRecord,
    TextRecord,
    TotalRecord,
    Word,
)
from cc_perf_dagster.core.vendors.creative_coop.labels import join_labelled_amount
from cc_perf_dagster.core.vendors.creative_coop.patterns import (
    CODE,
    CONTINUATION_GAP,
    GLUED_AMOUNT,
    GLUED_CODE_UPC,
    GLUED_QUANTITY_UNIT,
    GLUED_UPC,
    INTEGER,
    LINE_NUMBER,
    MONEY,
    TARIFF_WORD,
    TOTAL_WORDS,
    UNIT,
    UNIT_WORDS,
    UPC,
    money_text,
)


def text_record(row: Row, first: bool) -> TextRecord:
    """A row that is none of the others (maybe a description line), with its extent."""
    return TextRecord(
        text=row.text,
        x0=round(row.words[0].x0, 3),
        x1=round(row.words[-1].x1, 3),
        y=round(row.y, 3),
        size=round(row.size, 3),
        first=first,
    )


# A product row's numbers sit at most this many font sizes below its code (cells aligned differently).
_SPLIT_ROW_REACH = 4.5


def join_split_rows(rows: Sequence[Row]) -> list[Row]:
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
            joined, used, dropped = join_labelled_amount(rows, index, out)
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
    if not (UPC.match(words[1].text) or GLUED_UPC.match(words[1].text) or GLUED_CODE_UPC.match(words[0].text)):
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
    description (quantities, unit, amounts): from the first number of the last row's trailing
    run of numbers and units, not a number the description holds ("Stem, 6 Styles").
    """
    head = rows[first].words
    lead = 2 if UPC.match(head[1].text) else 1
    run = list(itertools.takewhile(_cell_value, reversed(rows[last].words)))
    right_edge = min((w.x0 for w in run if INTEGER.match(w.text) or MONEY.match(w.text)), default=None)
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


def _cell_value(word: Word) -> bool:
    """Whether a word may be a number column's value or the unit (glued ones too: "0each")."""
    return word.text[:1].isdigit() or word.text.lower() in UNIT_WORDS


def totals_grid(labels: Row, amounts: Row | None) -> list[TotalRecord]:
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
        TotalRecord(label=" ".join(group).rstrip(":"), amount=money_text(amount.text))
        for group, amount in zip(groups, amounts.words, strict=True)
    ]


def classify(row: Row) -> Record | None:
    """A product row, tariff sub-line or labelled total, or ``None`` for any other row."""
    item = _item_record(row)
    if item is not None:
        return item
    words = row.words
    if words and not MONEY.match(words[-1].text) and (glued := GLUED_AMOUNT.match(words[-1].text)):
        words = (*words[:-1], *_cut(words[-1], glued.group(1), glued.group(2)))
    amounts = [w for w in words if MONEY.match(w.text)]
    if len(words) < 2 or len(amounts) != 1:
        return None
    amount = amounts[0]
    label = " ".join(w.text for w in words if w is not amount)
    if TARIFF_WORD.search(label) and "total" not in label.lower() and len(words) <= 6:
        return TariffRecord(amount=money_text(amount.text), y=round(row.y, 3))
    if amount is words[-1] and TOTAL_WORDS.search(label):
        return TotalRecord(label=label.rstrip(":").strip(), amount=money_text(amount.text))
    return None


def _item_record(row: Row) -> ItemRecord | None:
    words = _unglue(row.words)
    start = code_at(words)
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
        amounts.insert(0, money_text(rest[end - 1].text))
        end -= 1
    if len(amounts) < 2:
        return None
    rest, end = _unglue_unit(rest, end)
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


class UnreadRows:
    """A page's rows that a product row's reading leaves out, as doubts: each row is shown in turn.

    A row that opens as a product row does (:func:`product_row_code`) but cannot be read as one
    would leave its item out. A word on a line of a product row's cell where its code or UPC
    starts (:func:`wrapped_lead`) is the rest of a code or UPC wrapped in a narrow column.
    """

    def __init__(self) -> None:
        self.doubts: list[str] = []
        # The product row whose cell the rows below may still be lines of: its code, the spans
        # of its code and UPC, and the baseline of the cell's last line so far.
        self._cell: tuple[str, tuple[tuple[float, float], ...], float] | None = None

    def see(self, row: Row, record: Record | None) -> None:
        """Take the page's next row and what :func:`classify` made of it."""
        if record is None and (code := product_row_code(row)) is not None:
            self.doubts.append(
                f"the row of {code} opens as a product row, but its quantities and prices "
                f'cannot be read ("{one_line(row.text[:70])}"): the item would be left out'
            )
        cell = self._cell
        if isinstance(record, ItemRecord):
            self._cell = (record.code, lead_spans(row), row.y)
        elif record is None and cell is not None and cell[2] - row.y <= CONTINUATION_GAP * row.size:
            if (lead := wrapped_lead(cell[1], row)) is not None:
                self.doubts.append(
                    f'below the row of {cell[0]}, "{lead}" lies in its code and UPC cells '
                    f'("{one_line(row.text[:50])}"): a product code or UPC wrapped, read short'
                )
            self._cell = (cell[0], cell[1], row.y)  # a line of the product row's cell
        else:
            self._cell = None  # a tariff line or a total ends the cell; a line far below is no part of it


def product_row_code(row: Row) -> str | None:
    """The product code of a row that opens as a product row does: a code, then a 12-digit UPC.

    Such a row that :func:`classify` cannot read (its quantities or prices not where a product
    row has them) is an item that would be left out.
    """
    words = _unglue(row.words)
    start = code_at(words)
    if len(words) > start + 1 and CODE.match(words[start].text) and UPC.match(words[start + 1].text):
        return words[start].text
    return None


def lead_spans(row: Row) -> tuple[tuple[float, float], ...]:
    """Where a product row's code and UPC are drawn: their cells' spans, left to right."""
    words = _unglue(row.words)
    start = code_at(words)
    spans = [(words[start].x0, words[start].x1)]
    if len(words) > start + 1 and UPC.match(words[start + 1].text):
        spans.append((words[start + 1].x0, words[start + 1].x1))
    return tuple(spans)


def wrapped_lead(spans: Sequence[tuple[float, float]], row: Row) -> str | None:
    """The words of a line below a product row that lie in its code and UPC cells, one in a cell at most.

    A product code or UPC wider than its column wraps: "XS3268A" over "XS3268" and "A". What
    is left in the cell is one word where the code (or the UPC) starts, shorter than it. A note
    under the table that starts at the same margin runs across those cells in several words; a
    description line that starts a little left of where an overrunning UPC ends starts far
    right of where the UPC starts.
    """
    tolerance = 0.5 * row.size
    lead = [w for w in row.words if w.x0 < spans[-1][1] + tolerance]
    cells = []
    for word in lead:
        cells += [
            i for i, (x0, x1) in enumerate(spans) if abs(word.x0 - x0) <= tolerance and word.x1 <= x1 + 0.1 * row.size
        ][:1]
    if not lead or len(cells) != len(lead) or len(set(cells)) != len(cells):
        return None
    return " ".join(w.text for w in lead)


def code_at(words: Sequence[Word]) -> int:
    """Where a product row's code is: after its line number, where it opens with one."""
    return 1 if len(words) > 1 and LINE_NUMBER.match(words[0].text) and CODE.match(words[1].text) else 0


def _cut(word: Word, head: str, tail: str) -> tuple[Word, Word]:
    """``word`` as the two words it was drawn as, cut where its characters' share puts ``head``'s end."""
    cut = word.x0 + (word.x1 - word.x0) * len(head) / len(word.text)
    return Word(head, word.x0, cut), Word(tail, cut, word.x1)


def _unglue_unit(rest: Sequence[Word], end: int) -> tuple[Sequence[Word], int]:
    """Split a quantity glued to its unit (the first of at most two unit words before the amounts at ``end``)."""
    for index in range(end - 1, max(end - 3, -1), -1):
        glued = GLUED_QUANTITY_UNIT.match(rest[index].text)
        if glued is not None:
            return (*rest[:index], *_cut(rest[index], glued.group(1), glued.group(2)), *rest[index + 1 :]), end + 1
        if not UNIT.match(rest[index].text):  # (a unit has a letter: no quantity matches)
            break
    return rest, end


# The shortest word GLUED_CODE_UPC or GLUED_UPC matches: 12 digits and one more character.
GLUED_MIN_LENGTH = 13


def _unglue(words: Sequence[Word]) -> Sequence[Word]:
    """Split a product code or UPC drawn so close to the next cell that the two became one word."""
    if all(len(w.text) < GLUED_MIN_LENGTH for w in words[:3]):
        return words  # (most rows: nothing long enough to be glued)
    split: list[Word] = []
    for index, word in enumerate(words[:3]):
        glued = GLUED_CODE_UPC.match(word.text) if index < 2 else None
        glued = glued or (GLUED_UPC.match(word.text) if index > 0 and CODE.match(words[index - 1].text) else None)
        if glued is None:
            split.append(word)
            continue
        split.extend(_cut(word, glued.group(1), glued.group(2)))
    return (*split, *words[3:]) if len(split) > min(3, len(words)) else words
