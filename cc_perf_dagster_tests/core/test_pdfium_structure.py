"""The pdfium engine's structure pass reads without pypdf where it can, and exactly as pypdf does.

:class:`~cc_perf_dagster.core.pdfium_structure.Structure` hashes and checks pages from
:mod:`~cc_perf_dagster.core.pdf_objects` where that reader vouches for reading as pypdf does,
and asks pypdf elsewhere. Here both are held to pypdf's own reading: every PDF of the
repository (test invoices, the producer corpus, the damaged and unreadable ones) and hundreds of
damaged copies give the same page hashes, boxes and interpreter choices, and the same refusals.
"""

from __future__ import annotations

import io
import json
import math
import random
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from cc_perf_dagster.core.errors import InvalidDocumentError
from cc_perf_dagster.core.pdf import Limits
from cc_perf_dagster.core.pdf_objects import ObjectReader
from cc_perf_dagster.core.pdf_values import Real, Unsupported
from cc_perf_dagster.core.pdfium_structure import ObjectStructure, Structure, pages_of
from cc_perf_dagster.core.pypdf_engine import PypdfDocument
from cc_perf_dagster_tests.conftest import TEST_INVOICES
from cc_perf_dagster_tests.core.test_fuzz import FILES, PRODUCER_FILES, mutate, raw_pdf

ALL_PDFS = sorted(TEST_INVOICES.rglob("*.pdf"))
MUTANTS = 240
SEED = 20261206


def reading(make) -> tuple[str, list]:
    """What a structure reader makes of a document: every page's hash, boxes and choices, or its refusal."""
    pages: list = []
    try:
        document = make()
        pages.append(document.page_count)
        pages.append(document.declared_page_count)
        for index in range(document.page_count):
            pages.append(document.content_hash(index))
            document.check_content(index)
            pages.append(document.boxes(index))
            pages.append(document.needs_interpreter(index))
            document.release(index)
    except InvalidDocumentError as exc:
        return f"refused: {type(exc).__name__}", []
    return "read", pages


def both(data: bytes, name: str) -> tuple[tuple[str, list], tuple[str, list], Structure | None]:
    made: list[Structure] = []

    def structure() -> Structure:
        made.append(Structure(data, io.BytesIO(data), file=name, limits=Limits()))
        return made[-1]

    ours = reading(structure)
    pypdf = reading(lambda: PypdfDocument(io.BytesIO(data), file=name, limits=Limits()))
    return ours, pypdf, made[0] if made else None


@pytest.mark.parametrize("pdf", ALL_PDFS, ids=lambda p: str(p.relative_to(TEST_INVOICES)))
def test_every_pdf_reads_as_pypdf_reads_it(pdf):
    ours, pypdf, _ = both(pdf.read_bytes(), pdf.name)
    assert ours == pypdf


def test_well_formed_files_are_read_without_pypdf():
    # Not a test that passes by always asking pypdf: most of the corpus is read by our reader alone.
    whole = [pdf for pdf in ALL_PDFS if _read_alone(pdf)]
    assert {pdf.name for pdf in TEST_INVOICES.glob("*.pdf")} <= {
        pdf.name for pdf in whole if pdf.parent == TEST_INVOICES
    }
    assert len(whole) >= 60, len(whole)


def _read_alone(pdf: Path) -> bool:
    data = pdf.read_bytes()
    _, _, structure = both(data, pdf.name)
    return structure is not None and structure._fast is not None and not structure._deferred and structure._slow is None


@pytest.mark.parametrize("files", [FILES, PRODUCER_FILES], ids=["test-invoices", "producers"])
def test_damaged_copies_read_and_are_refused_as_pypdf_reads_them(files):
    rng = random.Random(SEED)
    kinds: dict[str, int] = {}
    for index in range(MUTANTS):
        name = files[index % len(files)]
        data, kind = mutate((TEST_INVOICES / name).read_bytes(), rng)
        ours, pypdf, _ = both(data, Path(name).name)
        assert ours[0] == pypdf[0], f"mutant {index} of {name} ({kind}): {ours[0]} against pypdf's {pypdf[0]}"
        assert ours == pypdf, f"mutant {index} of {name} ({kind}) reads otherwise"
        kinds[ours[0]] = kinds.get(ours[0], 0) + 1
    assert kinds.get("read") and len(kinds) > 1, kinds  # some read, some refused


def test_pdfium_command_does_not_import_pypdf_for_a_well_formed_invoice():
    script = (
        "import sys, json; from cc_perf_dagster.core import extract_invoice, invoice_to_dict\n"
        f"invoice = extract_invoice({str(TEST_INVOICES / 'CS003837319.pdf')!r}, engine='pdfium')\n"
        "print(json.dumps([len(invoice.line_items), sorted(m for m in sys.modules if m.split('.')[0] == 'pypdf')]))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    items, modules = json.loads(out)
    assert items > 100 and modules == []


def test_encrypted_and_damaged_files_are_pypdfs_to_judge():
    encrypted = (TEST_INVOICES / "bad" / "encrypted.pdf").read_bytes()
    with pytest.raises(Unsupported):
        ObjectReader(encrypted)
    truncated = (TEST_INVOICES / "bad" / "truncated.pdf").read_bytes()
    with pytest.raises(Unsupported):
        ObjectReader(truncated)


def test_content_no_checksum_vouches_for_is_parsed_by_pypdf():
    # An uncompressed content stream: a damaged byte in it is a syntax error only a parse finds.
    content = b"BT /F1 10 Tf 100 700 Td (Hello) Tj ET"
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
    page += b" /Contents 5 0 R >>"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, font]
    data = raw_pdf([*objects, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"])
    ours, pypdf, structure = both(data, "plain.pdf")
    assert ours == pypdf and ours[0] == "read"
    assert structure._deferred == {0}  # its hash is ours, its parse pypdf's
    with pytest.raises(Unsupported):
        ObjectStructure(data, file="plain.pdf", limits=Limits()).check_content(0)


def test_cross_reference_streams_and_object_streams_are_read():
    # Object streams and cross-reference streams with the PNG Up predictor (qpdf, Firefox, pdfTeX).
    found = []
    for pdf in sorted((TEST_INVOICES / "producers").glob("*/*.pdf")):
        reader = ObjectReader(pdf.read_bytes())
        if reader._compressed:
            found.append(pdf.parent.name)
            assert (
                len(pages_of(reader.trailer["/Root"]))
                == PypdfDocument(io.BytesIO(reader.data), file=pdf.name, limits=Limits()).page_count
            )
    assert {"qpdf", "firefox", "pdftex"} <= set(found)


def test_real_numbers_render_as_pypdf_renders_them():
    from pypdf.generic import FloatObject

    rng = random.Random(SEED)
    values = ["0.0", "1.0", "-0.5", "836.914062", "0.001", "12.50000", "100000.0", "1e-7", "-.25"]
    values += [f"{rng.uniform(-1e5, 1e5):.{rng.randrange(1, 9)}f}" for _ in range(2000)]
    for text in values:
        if math.isfinite(float(text)) and "e" not in text:
            assert repr(Real(text.encode())) == repr(FloatObject(text)), text


def test_a_damaged_stream_in_a_well_formed_file_is_refused_as_by_pypdf():
    content = zlib.compress(b"BT /F1 10 Tf 100 700 Td (Hello) Tj ET")
    broken = content[:-6] + bytes(6)  # the checksum and the data's end lost
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>"]
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(broken) + broken + b"\nendstream"
    data = raw_pdf([*objects, stream, page])
    ours, pypdf, structure = both(data, "broken.pdf")
    assert ours == pypdf == ("refused: DamagedPdfError", [])
    assert structure._slow is None  # refused by the shared check on our reading, not by pypdf's


def page_with_font(font: bytes, *, head: bytes = b"") -> bytes:
    """A one-page PDF whose font dictionary (object 4) is ``font``, its content Flate-compressed."""
    packed = zlib.compress(b"BT /F1 10 Tf 100 700 Td (Hello) Tj ET")
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
    page += b" /Contents 5 0 R >>"
    stream = b"<< /Length %d /Filter /FlateDecode >>" % len(packed) + head + b"\nstream\n" + packed + b"\nendstream"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, font, stream]
    return raw_pdf(objects)


@pytest.mark.parametrize(
    ("font", "head"),
    [
        (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Widths [1.2.3 500] >>", b""),  # one bad number
        (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helv\x00etica >>", b""),  # pypdf's name goes on past \x00
        (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helv\x0betica >>", b""),  # and ends at \v
        (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", b" % a comment"),  # no stream for pypdf
        (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /Win#41nsiEncoding >>", b""),
    ],
    ids=["number", "nul-in-name", "vt-in-name", "comment-before-stream", "escaped-name"],
)
def test_syntax_pypdf_reads_otherwise_is_left_to_pypdf(font, head):
    data = page_with_font(font, head=head)
    ours, pypdf, structure = both(data, "odd.pdf")
    assert ours == pypdf
    assert structure is None or structure._deferred or structure._fast is None
    with pytest.raises(Unsupported):
        document = ObjectStructure(data, file="odd.pdf", limits=Limits())
        document.content_hash(0)


def test_the_same_file_well_formed_is_read_alone():
    data = page_with_font(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Widths [1.25 500] >>")
    ours, pypdf, structure = both(data, "plain.pdf")
    assert ours == pypdf and ours[0] == "read"
    assert structure._fast is not None and not structure._deferred and structure._slow is None


def test_whatever_else_goes_wrong_in_the_reader_is_left_to_pypdf():
    # A cross-reference stream whose /W is a name: reading it raises inside the reader (not
    # Unsupported); that must reach pypdf as Unsupported, never escape as a traceback.
    body = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    body += b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    start = len(body)
    body += b"3 0 obj\n<< /Type /XRef /Size 4 /W /Foo /Root 1 0 R /Length 0 >>\nstream\n\nendstream\nendobj\n"
    data = body + b"startxref\n%d\n%%%%EOF\n" % start
    with pytest.raises(Unsupported):
        ObjectReader(data)
    ours, pypdf, _ = both(data, "odd.pdf")
    assert ours == pypdf and ours[0].startswith("refused")


def hybrid_pdf(*, font_free_in_table: bool = True) -> bytes:
    """A hybrid-reference PDF (as Microsoft Word writes them): a table, and a cross-reference
    stream (``/XRefStm``) for the font, which sits compressed in an object stream."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    header = b"4 0 "
    objstm = header + font
    packed = zlib.compress(b"BT /F1 10 Tf 100 700 Td (Hello) Tj ET")
    bodies = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        5: b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream",
        6: b"<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n" % (len(header), len(objstm))
        + objstm
        + b"\nendstream",
    }
    out, offsets = bytearray(b"%PDF-1.5\n"), {}
    for number, body in bodies.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    rows = b"".join(bytes([1]) + offsets[n].to_bytes(2, "big") + b"\x00" for n in (5, 6))
    rows = bytes([2]) + (6).to_bytes(2, "big") + b"\x00" + rows  # object 4: in object stream 6, first
    offsets[7] = len(out)
    out += b"7 0 obj\n<< /Type /XRef /Size 8 /W [1 2 1] /Index [4 3] /Length %d >>\nstream\n" % len(rows)
    out += rows + b"\nendstream\nendobj\n"
    table = len(out)
    out += b"xref\n0 8\n0000000000 65535 f \n"
    for number in range(1, 8):
        if number == 4:
            out += b"0000000000 00001 f \n" if font_free_in_table else b""
            continue
        out += b"%010d 00000 n \n" % offsets[number]
    if not font_free_in_table:  # the table leaves object 4 out: two subsections around it
        out = out.replace(b"xref\n0 8\n", b"xref\n0 4\n").replace(
            b"%010d 00000 n \n" % offsets[5], b"5 3\n%010d 00000 n \n" % offsets[5]
        )
    out += b"trailer\n<< /Size 8 /Root 1 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n" % (offsets[7], table)
    return bytes(out)


@pytest.mark.parametrize("free", [True, False], ids=["font-free-in-table", "font-not-in-table"])
def test_a_hybrid_reference_file_is_read_alone_as_pypdf_reads_it(free):
    data = hybrid_pdf(font_free_in_table=free)
    ours, pypdf, structure = both(data, "hybrid.pdf")
    assert ours == pypdf and ours[0] == "read"
    assert structure._fast is not None and not structure._deferred and structure._slow is None
    assert ObjectReader(data)._compressed == {4: (6, 0)}
