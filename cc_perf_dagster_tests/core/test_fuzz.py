"""Damaged and hostile files are refused cleanly or read exactly like the original; never booked wrong.

A seeded mutation run (bytes flipped, chunks deleted or duplicated, ``/Length`` values
changed, stream data swapped) over three test invoices and three prints of other producers,
read with each engine: every mutant must raise an ``InvalidDocumentError`` (a clean refusal:
one line naming the file), be refused for booking (``bookability.refusal``), or read with
the very same booked fields as the original. Then hostile structures, each refused with one
clear error.

Damage that leaves a valid file saying something else cannot be told from what the producer
wrote (a digit changed in an uncompressed text string or in a font's width array): no reader
can refuse it. The mutants here fall where the file itself shows the damage (Flate checksums,
stream lengths, syntax), and the producer prints are ones that compress their streams.
"""

from __future__ import annotations

import random
import re
import zlib

import pytest

from cc_perf_dagster.core import extract_invoice, invoice_to_dict
from cc_perf_dagster.core.bookability import refusal
from cc_perf_dagster.core.errors import InvalidDocumentError
from cc_perf_dagster_tests.conftest import TEST_INVOICES

FILES = ("CI004731586.pdf", "CI004790233.pdf", "CS003702114.pdf")
# Embedded TrueType and Type 1 programs, which PDFium reads glyph widths from: a damaged one
# made it split "Wood" into "W ood" and lose a totals block, and a page whose content was a
# font program made it fail with a traceback.
PRODUCER_FILES = (
    "producers/firefox/CI004731586.pdf",
    "producers/pdftex/CS003702114.pdf",
    "producers/chromium/CS003964075.pdf",
)
MUTANTS = 300
SEED = 20261202
# What a reading is judged by: every field but the file's name and hash, the warnings
# (pypdf's notes on a repaired cross-reference table), the page tree's /Count (absent when
# only that entry was damaged; the pages read are compared) and the pages' content hashes
# (cache keys, which a change to a font dictionary that moves no text changes too).
NOT_COMPARED = ("file", "sha256", "warnings", "declared_pages", "page_hashes")


def booked_fields(invoice) -> dict:
    data = invoice_to_dict(invoice)
    for key in NOT_COMPARED:
        data.pop(key, None)
    return data


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choice(("flip", "delete", "duplicate", "length", "swap"))
    out = bytearray(data)
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            index = rng.randrange(len(out))
            out[index] ^= 1 << rng.randrange(8)
    elif kind == "delete":
        index = rng.randrange(len(out))
        del out[index : index + rng.choice((1, 16, 64, 256))]
    elif kind == "duplicate":
        index = rng.randrange(len(out))
        out[index:index] = out[index : index + rng.choice((16, 64, 256))]
    elif kind == "length":
        found = rng.choice(list(re.finditer(rb"/Length (\d+)", data)) or [None])
        if found is not None:
            value = max(0, int(found.group(1)) + rng.choice((-50, -5, -1, 1, 5, 50, 1000)))
            out = bytearray(data[: found.start(1)] + str(value).encode() + data[found.end(1) :])
    else:
        streams = list(re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S))
        if len(streams) >= 2:
            first, second = sorted(rng.sample(streams, 2), key=lambda m: m.start())
            out = bytearray(
                data[: first.start(1)]
                + second.group(1)
                + data[first.end(1) : second.start(1)]
                + first.group(1)
                + data[second.end(1) :]
            )
    return bytes(out), kind


@pytest.mark.parametrize("files", [FILES, PRODUCER_FILES], ids=["test-invoices", "producers"])
@pytest.mark.parametrize("engine", ["pypdf", "pdfium"])
def test_no_mutant_is_booked_wrong(tmp_path, engine, files):
    rng = random.Random(SEED)
    originals = {name: booked_fields(extract_invoice(TEST_INVOICES / name, engine=engine)) for name in files}
    outcomes = {"same": 0, "refused": 0, "not_booked": 0}
    wrong: list[str] = []
    for index in range(MUTANTS):
        name = files[index % len(files)]
        data, kind = mutate((TEST_INVOICES / name).read_bytes(), rng)
        path = tmp_path / name.replace("/", "-")
        path.write_bytes(data)
        try:
            invoice = extract_invoice(path, engine=engine)
        except InvalidDocumentError as exc:
            assert path.name in str(exc) and "\n" not in str(exc)
            outcomes["refused"] += 1
            continue
        if booked_fields(invoice) == originals[name]:
            outcomes["same"] += 1
        elif refusal(invoice) is not None:
            outcomes["not_booked"] += 1
        else:
            wrong.append(f"mutant {index} of {name} ({kind})")
    assert not wrong, f"booked wrong: {wrong}"
    assert sum(outcomes.values()) == MUTANTS and outcomes["same"] and outcomes["refused"], outcomes


# --- hostile structures ----------------------------------------------------------------------


def raw_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF with the given object bodies (numbered from 1) and a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def stream(data: bytes, *, deflate: bool = False) -> bytes:
    if deflate:
        return flate_stream(zlib.compress(data, 9))
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def flate_stream(data: bytes) -> bytes:
    return b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"


def zeros_deflated(megabytes: int) -> bytes:
    """``megabytes`` MiB of zeros, compressed a MiB at a time (the test process never holds them)."""
    deflater, chunk = zlib.compressobj(9), bytes(1 << 20)
    return b"".join(deflater.compress(chunk) for _ in range(megabytes)) + deflater.flush()


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def one_page(content: bytes) -> bytes:
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            content,
            FONT,
        ]
    )


HOSTILE = {
    # 400 MB of zeros in a 400 kB stream.
    "decompression_bomb": lambda: one_page(flate_stream(zeros_deflated(400))),
    "page_tree_cycle": lambda: raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 2 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
        ]
    ),
    "a_hundred_thousand_pages": lambda: raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b"3 0 R " * 100_000 + b"] /Count 100000 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    ),
    "deep_nesting": lambda: one_page(stream(b"BT /F1 9 Tf " + b"[" * 50_000 + b"(x)" + b"]" * 50_000 + b" TJ ET")),
    # A form naming itself ten times: walked as it was, 10**8 forms for one page.
    "forms_naming_themselves": lambda: raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /XObject << /F0 5 0 R >> >> >>",
            stream(b"/F0 Do"),
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Length 0 /Resources << /XObject << "
            + b"".join(b"/F%d 5 0 R " % n for n in range(10))
            + b">> >> >>\nstream\n\nendstream",
        ]
    ),
    "huge_array": lambda: one_page(stream(b"BT /F1 9 Tf [" + b"(x) -1 " * 300_000 + b"] TJ ET", deflate=True)),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_structures_are_refused_with_one_line(tmp_path, name):
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(HOSTILE[name]())
    with pytest.raises(InvalidDocumentError) as caught:
        extract_invoice(path)
    message = str(caught.value)
    assert message.startswith(f"{name}.pdf") and "\n" not in message
