"""Streams whose data was not kept whole are refused by either engine, and never crash one.

Found by mutating the producer corpus (bytes flipped, deleted, duplicated, stream data swapped)
and reading every mutant with both engines: pypdf reads a stream up to ``endstream`` whatever
its ``/Length`` says and forgives a bad Flate checksum; PDFium draws text whose embedded font
program is damaged with another font's glyph widths ("W ood"), reads past syntax errors, and a
page PDFium found empty crashed the blank-page check with a pypdf traceback.
"""

from __future__ import annotations

import io
import re
import zlib

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from cc_perf_dagster.core import extract_invoice, invoice_to_dict
from cc_perf_dagster.core.errors import DamagedPdfError
from cc_perf_dagster.core.fonts import font_streams, page_fonts
from cc_perf_dagster.core.stream_check import ONE_BYTE_SHORT, stream_damage
from cc_perf_dagster_tests.conftest import PRODUCER_INVOICES

ENGINES = ("pypdf", "pdfium")
FIREFOX = PRODUCER_INVOICES / "firefox" / "CI004731586.pdf"  # Flate TrueType programs
PDFTEX = PRODUCER_INVOICES / "pdftex" / "CS003702114.pdf"  # Flate Type 1 programs
MUPDF = PRODUCER_INVOICES / "mupdf" / "CS003964075-from-chromium.pdf"  # nothing compressed


def stream_span(data: bytes, number: int) -> tuple[int, int]:
    """Where object ``number``'s stream data starts and ends in the file (the end before ``endstream``'s EOL)."""
    found = re.search(rb"(?<![0-9])%d 0 obj" % number, data)
    start = re.compile(rb"stream\r?\n").search(data, found.end()).end()
    end = data.index(b"endstream", start)
    return start, end - (data[end - 2 : end] == b"\r\n") - (data[end - 1 : end] in b"\r\n")


def programs(path, kind="font program") -> list[int]:
    reader = PdfReader(path)
    fonts = page_fonts(reader.pages[0].get("/Resources"))
    return [s.idnum for f in fonts for what, s in font_streams(f) if what == kind]


def contents(path) -> int:
    return PdfReader(path).pages[0].raw_get("/Contents").idnum


def booked(path, engine):
    data = invoice_to_dict(extract_invoice(path, engine=engine))
    # (pypdf's notes on the cross-reference table, whose offsets a test's edit moves, aside)
    return {key: value for key, value in data.items() if key not in ("file", "sha256", "page_hashes", "warnings")}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "kind, bit",
    [
        # pypdf forgave the checksum and PDFium drew the page in a substitute font: "W ood", "ot P".
        ("font program", 0x40),
        # pypdf would decode what it could of the map and read the rest of the codes as other text.
        ("/ToUnicode map", 0x01),
    ],
)
def test_a_font_stream_failing_its_checksum_is_refused(tmp_path, engine, kind, bit):
    data = bytearray(FIREFOX.read_bytes())
    start, end = stream_span(bytes(data), programs(FIREFOX, kind)[0])
    data[(start + end) // 2] ^= bit
    (path := tmp_path / "font.pdf").write_bytes(bytes(data))
    with pytest.raises(DamagedPdfError, match=rf"font\.pdf: page 1: damaged {kind} of \S+: its compressed data"):
        extract_invoice(path, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_font_programs_swapped_are_refused(tmp_path, engine):
    # Both programs whole (checksums hold), each under the other's font dictionary: PDFium took
    # the bold font's widths for the regular text ("w/Real" for "w/ Real").
    data = PDFTEX.read_bytes()
    (a_start, a_end), (b_start, b_end) = sorted(stream_span(data, n) for n in programs(PDFTEX))
    swapped = data[:a_start] + data[b_start:b_end] + data[a_end:b_start] + data[a_start:a_end] + data[b_end:]
    (path := tmp_path / "swapped.pdf").write_bytes(swapped)
    with pytest.raises(DamagedPdfError, match=r"damaged font program of \S+: its data is \d+ bytes, its /Length says"):
        extract_invoice(path, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_bytes_lost_from_an_uncompressed_content_stream_are_refused(tmp_path, engine):
    # "Cream & Black" read "Creamlack": nothing but the stream's /Length shows the loss.
    data = MUPDF.read_bytes()
    start, end = stream_span(data, contents(MUPDF))
    middle = (start + end) // 2
    (path := tmp_path / "short.pdf").write_bytes(data[:middle] + data[middle + 16 :])
    with pytest.raises(
        DamagedPdfError, match=r"page 1: damaged content stream, its data is \d+ bytes, its /Length says"
    ):
        extract_invoice(path, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_stream_one_byte_short_of_its_length_reads_as_before(tmp_path, engine):
    # Some ReportLab releases write /Length one byte long with no line end before "endstream";
    # pypdf reads such a stream whole, and so does every page here.
    data = MUPDF.read_bytes()
    number = contents(MUPDF)
    start, end = stream_span(data, number)
    head = re.search(rb"(?<![0-9])%d 0 obj\s*<<(.*?)>>\s*stream" % number, data, re.S)
    declared = int(re.search(rb"/Length (\d+)", head.group(1)).group(1))
    assert declared == end - start
    patched = data[: head.start(1)] + head.group(1).replace(b"/Length %d" % declared, b"/Length %d" % (declared + 1))
    patched += data[head.end(1) : end] + data[data.index(b"endstream", end) :]
    (path := tmp_path / "reportlab-length.pdf").write_bytes(patched)
    assert stream_damage(PdfReader(path).get_object(number), encrypted=False) == ONE_BYTE_SHORT
    assert booked(path, engine) == booked(MUPDF, engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_syntax_error_in_uncompressed_content_is_refused(tmp_path, engine):
    # No checksum vouches for uncompressed content: PDFium read past "<0012p013>" and booked
    # what followed as text; the content is parsed for the pdfium engine too.
    data = MUPDF.read_bytes()
    start, end = stream_span(data, contents(MUPDF))
    hexes = [m for m in re.finditer(rb"<[0-9a-fA-F]{8,}>", data[start:end])]
    at = start + hexes[len(hexes) // 2].start() + 5
    (path := tmp_path / "syntax.pdf").write_bytes(data[:at] + b"p" + data[at + 1 :])
    with pytest.raises(DamagedPdfError, match=r"page 1: cannot read the page's text \(Invalid hexadecimal"):
        extract_invoice(path, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_page_whose_content_is_not_content_is_refused_without_a_traceback(tmp_path, engine):
    # Whole Flate data (a font program's bytes) as a page's content: PDFium finds no text, and
    # the check whether the page draws anything met pypdf's parse error unwrapped.
    writer = PdfWriter(clone_from=FIREFOX)
    font_bytes = PdfReader(FIREFOX).get_object(programs(FIREFOX)[0]).get_data()
    stream = DecodedStreamObject()
    stream.set_data(font_bytes[:4000])
    writer.pages[1][NameObject("/Contents")] = writer._add_object(stream.flate_encode())
    buffer = io.BytesIO()
    writer.write(buffer)
    (path := tmp_path / "binary.pdf").write_bytes(buffer.getvalue())
    with pytest.raises(DamagedPdfError, match=r"binary\.pdf: page 2: "):
        extract_invoice(path, engine=engine)


def test_pypdf_keeps_each_streams_declared_length():
    from cc_perf_dagster.core._pypdf_compat import keep_declared_lengths

    keep_declared_lengths()
    keep_declared_lengths()  # once is enough; a second call changes nothing
    data = MUPDF.read_bytes()
    number = contents(MUPDF)
    stream = PdfReader(io.BytesIO(data)).get_object(number)
    start, end = stream_span(data, number)
    assert stream.declared_length == end - start == len(stream._data)
    assert zlib.crc32(stream._data) == zlib.crc32(data[start:end])


def drawn_by_a_form(tmp_path):
    """MUPDF's first page drawn by a form XObject (as some producers draw pages): the file, the form's number."""
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject

    writer = PdfWriter(clone_from=MUPDF)
    page = writer.pages[0]
    form = DecodedStreamObject()
    form.set_data(page.get_contents().get_data())
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(FloatObject(v) for v in page.mediabox),
            NameObject("/Resources"): page["/Resources"],
        }
    )
    content = DecodedStreamObject()
    content.set_data(b"q /Page Do Q")
    xobjects = DictionaryObject({NameObject("/Page"): writer._add_object(form)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): xobjects})
    page[NameObject("/Contents")] = writer._add_object(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    (path := tmp_path / "form.pdf").write_bytes(buffer.getvalue())
    return path, PdfReader(path).pages[0]["/Resources"]["/XObject"].raw_get("/Page").idnum


@pytest.mark.parametrize("engine", ENGINES)
def test_a_forms_stream_is_checked_as_the_pages_own_content_is(tmp_path, engine):
    whole, number = drawn_by_a_form(tmp_path)
    assert booked(whole, engine) == booked(MUPDF, engine)
    data = whole.read_bytes()
    start, end = stream_span(data, number)
    middle = (start + end) // 2
    (short := tmp_path / "form-short.pdf").write_bytes(data[:middle] + data[middle + 16 :])
    with pytest.raises(DamagedPdfError, match=r"page 1: damaged content stream, its data is \d+ bytes"):
        extract_invoice(short, engine=engine)
    hexes = list(re.finditer(rb"<[0-9a-fA-F]{8,}>", data[start:end]))
    at = start + hexes[len(hexes) // 2].start() + 5
    (syntax := tmp_path / "form-syntax.pdf").write_bytes(data[:at] + b"p" + data[at + 1 :])
    with pytest.raises(DamagedPdfError, match=r"page 1: cannot read the page's text \(Invalid hexadecimal"):
        extract_invoice(syntax, engine=engine)


def test_a_file_whose_structure_pdfium_rebuilds_is_read_by_the_pypdf_interpreter(tmp_path):
    # 64 bytes of a CID font's /W array repeated inside it (a mutant of the probe): every later
    # object moved, so both libraries rebuild the cross-reference table, and PDFium's objects
    # then placed every "W", "P", "T" and "R" apart ("Wood" read "W ood"); pypdf read it right.
    source = PRODUCER_INVOICES / "chromium-wide" / "CS003837319.pdf"
    data = source.read_bytes()
    pattern = b"610.83984] 68 [612.79297"
    at = data.index(pattern) + len(pattern) - 64
    (path := tmp_path / "rebuilt.pdf").write_bytes(data[:at] + data[at : at + 64] + data[at:])
    assert booked(path, "pdfium") == booked(path, "pypdf") == booked(source, "pypdf")
