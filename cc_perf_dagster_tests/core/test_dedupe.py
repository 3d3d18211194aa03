"""One booking per invoice: the rule that picks the booked partition, and the sheet built by number."""

import csv
import io

import pytest

from cc_perf_dagster.core.dedupe import Candidate, book_once, same_number_note, sheet_by_invoice_number
from cc_perf_dagster.core.export import BOOKING_HEADER


def booking_text(number: str, *descriptions: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BOOKING_HEADER)
    writer.writerows(["1/17/2025", "Creative Co-op", number, d, "1.60", "24"] for d in descriptions)
    return buffer.getvalue()


def numbers(text: str) -> list[str]:
    return [row[2] for row in list(csv.reader(io.StringIO(text)))[1:]]


class TestBookOnce:
    @pytest.mark.parametrize(
        ("a", "b", "booked"),
        [
            ({"mtime": 200.0}, {"mtime": 100.0}, "a"),  # the newer file wins, whatever its name
            ({"mtime": 100.0}, {"mtime": 200.0}, "b"),
            ({"mtime": 100.0, "registered_at": 5.0}, {"mtime": 100.0, "registered_at": 4.0}, "a"),
            ({"mtime": 100.0}, {"mtime": 100.0}, "b"),  # all equal: the larger key, never a coin toss
        ],
    )
    def test_the_newer_file_is_booked(self, a, b, booked):
        winners, superseded = book_once([Candidate("a", "a.pdf", "CS1", **a), Candidate("b", "b.pdf", "CS1", **b)])
        assert winners["CS1"].key == booked
        (left,) = superseded
        assert left.key != booked and left.booked_key == booked
        assert f"(partition {booked}) carries the same invoice number and is newer" in left.reason

    def test_different_numbers_are_each_booked(self):
        winners, superseded = book_once([Candidate("a", "a.pdf", "CS1"), Candidate("b", "b.pdf", "CS2")])
        assert {n: c.key for n, c in winners.items()} == {"CS1": "a", "CS2": "b"} and superseded == []

    def test_the_note_names_the_others_and_the_booked_one(self):
        older, newer = Candidate("a", "a.pdf", "CS1", mtime=100.0), Candidate("b", "b.pdf", "CS1", mtime=200.0)
        assert same_number_note(older, [older]) is None
        assert same_number_note(older, [older, Candidate("c", "c.pdf", "CS2")]) is None
        note = same_number_note(older, [older, newer])
        assert note.startswith("CS1 is also in partition b (b.pdf); b (b.pdf) is booked")
        assert same_number_note(newer, [older, newer]).startswith(
            "CS1 is also in partition a (a.pdf); this one is booked"
        )


class TestSheetByInvoiceNumber:
    def test_each_number_once_the_newer_file_wins(self):
        texts = {
            "a": booking_text("CS1", "old line 1", "old line 2"),
            "b": booking_text("CS1", "new line 1"),
            "c": booking_text("CS2", "other"),
        }
        candidates = {
            "a": Candidate("a", "a.pdf", "", mtime=100.0),
            "b": Candidate("b", "b.pdf", "", mtime=200.0),
            "c": Candidate("c", "c.pdf", "", mtime=50.0),
        }
        sheet = sheet_by_invoice_number(texts, candidates)
        assert numbers(sheet.text) == ["CS1", "CS2"]
        assert "new line 1" in sheet.text and "old line" not in sheet.text
        assert (sheet.rows, sheet.invoices) == (2, 2)
        assert [(s.key, s.booked_key) for s in sheet.superseded] == [("a", "b")]

    def test_identical_copies_are_booked_once(self):
        text = booking_text("CS003702114", *(f"line {n}" for n in range(41)))
        sheet = sheet_by_invoice_number({"a": text, "b": text}, {})
        assert len(numbers(sheet.text)) == 41 and sheet.rows == 41

    def test_a_partition_without_billed_rows_is_left_out(self):
        sheet = sheet_by_invoice_number({"a": booking_text("CS1")}, {})
        assert numbers(sheet.text) == [] and sheet.invoices == 0 and sheet.superseded == ()
