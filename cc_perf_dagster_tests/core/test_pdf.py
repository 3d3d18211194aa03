import os
import random
import shutil

import psutil
import pytest
from pypdf.generic import StreamObject
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from cc_perf_dagster.core.errors import (
    DamagedPdfError,
    DocumentTooLargeError,
    EmptyFileError,
    EncryptedPdfError,
    NotAPdfError,
)
from cc_perf_dagster.core.pdf import Limits, PdfDocument, file_sha256
from cc_perf_dagster_tests.conftest import corrupt_content_stream


def render(pages, path, *, single_text_object=False, shuffle_seed=None):
    """Write a PDF whose pages hold the given (text, x, y) cells."""
    c = canvas.Canvas(str(path), pagesize=letter, invariant=1)
    for cells in pages:
        cells = list(cells)
        if shuffle_seed is not None:
            random.Random(shuffle_seed).shuffle(cells)
        if single_text_object:
            t = c.beginText()
            t.setFont("Helvetica", 8)
            for value, x, y in cells:
                t.setTextOrigin(x, y)
                t.textOut(value)
            c.drawText(t)
        else:
            c.setFont("Helvetica", 8)
            for value, x, y in cells:
                c.drawString(x, y, value)
        c.showPage()
    c.save()
    return path


ROW = [
    ("XS9826A", 20, 700),
    ("191009727774", 70, 700),
    ('6"H Metal Ballerina Ornament,', 130, 700),
    ("24", 310, 700),
    ("0", 340, 700),
    ("each", 430, 700),
    ("2.00", 470, 700),
    ("1.60", 510, 700),
    ("38.40", 550, 700),
]


def word_positions(cells, font="Helvetica", size=8):
    """Each word of each (text, x, y) cell with its exact start and end x (reportlab's metrics)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    out = []
    for text, x, y in cells:
        cursor = float(x)
        for word in text.split(" "):
            width = stringWidth(word, font, size)
            out.append((word, round(cursor, 3), round(cursor + width, 3), float(y)))
            cursor += width + stringWidth(" ", font, size)
    return sorted(out)


class TestRuns:
    def test_one_run_per_word_with_real_positions_even_in_one_text_object(self, tmp_path, engine):
        pdf = render([ROW], tmp_path / "a.pdf", single_text_object=True, shuffle_seed=3)
        with PdfDocument(pdf, engine=engine) as doc:
            runs = doc.runs(1)
        got = sorted((r.text, round(r.x0, 3), round(r.x1, 3), r.y) for r in runs)
        assert got == word_positions(ROW)

    def test_sha256_is_of_the_file_bytes(self, tmp_path):
        pdf = render([ROW], tmp_path / "a.pdf")
        import hashlib

        with PdfDocument(pdf) as doc:
            assert doc.sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest() == file_sha256(pdf)


class TestContentHash:
    def test_same_page_same_hash_across_files_and_object_numbers(self, tmp_path):
        other = [("something else", 20, 500)]
        a = render([ROW, other], tmp_path / "a.pdf")
        b = render([other, other, ROW], tmp_path / "b.pdf")  # the row page has other object numbers here
        with PdfDocument(a) as da, PdfDocument(b) as db:
            assert da.content_hash(1) == db.content_hash(3)
            assert da.content_hash(2) == db.content_hash(1) == db.content_hash(2)
            assert da.content_hash(1) != da.content_hash(2)

    def test_a_changed_page_changes_only_its_hash(self, tmp_path):
        changed = [(t if t != "38.40" else "38.41", x, y) for t, x, y in ROW]
        a = render([ROW, ROW, ROW], tmp_path / "a.pdf")
        b = render([ROW, changed, ROW], tmp_path / "b.pdf")
        with PdfDocument(a) as da, PdfDocument(b) as db:
            same = [da.content_hash(p) == db.content_hash(p) for p in (1, 2, 3)]
        assert same == [True, False, True]


class TestStreaming:
    def test_released_pages_do_not_stay_cached(self, tmp_path):
        pdf = render([ROW] * 60, tmp_path / "long.pdf")
        with PdfDocument(pdf) as doc:
            for page in doc.pages():
                doc.content_hash(page)
                doc.runs(page)
                doc.release(page)
            cached = doc._doc._reader.resolved_objects.values()
            streams = [obj for obj in cached if isinstance(obj, StreamObject)]
        # Page dictionaries stay (pypdf's page list holds them anyway); decoded content does not.
        assert streams == []


class TestBadInput:
    # Every engine refuses bad input the same way (the pdfium engine opens the structure with pypdf).
    def test_empty(self, tmp_path, engine):
        (tmp_path / "e.pdf").write_bytes(b"")
        with pytest.raises(EmptyFileError, match=r"e\.pdf: empty file \(0 bytes\)"):
            PdfDocument(tmp_path / "e.pdf", engine=engine)

    def test_not_a_pdf(self, tmp_path, engine):
        (tmp_path / "n.pdf").write_text("Dear customer, please find attached")
        with pytest.raises(NotAPdfError, match=r"n\.pdf: not a PDF"):
            PdfDocument(tmp_path / "n.pdf", engine=engine)

    def test_truncated(self, tmp_path, engine):
        data = render([ROW] * 3, tmp_path / "a.pdf").read_bytes()
        (tmp_path / "t.pdf").write_bytes(data[: len(data) // 2])
        with pytest.raises(DamagedPdfError, match=r"t\.pdf: truncated"):
            PdfDocument(tmp_path / "t.pdf", engine=engine)

    def test_garbage_after_a_pdf_header(self, tmp_path, engine):
        (tmp_path / "g.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20 + b"\n%%EOF\n")
        with pytest.raises(DamagedPdfError, match=r"g\.pdf: damaged PDF"):
            PdfDocument(tmp_path / "g.pdf", engine=engine)

    def test_encrypted(self, tmp_path, engine):
        c = canvas.Canvas(str(tmp_path / "x.pdf"), encrypt="secret", invariant=1)
        c.drawString(10, 10, "CS003837319")
        c.save()
        with pytest.raises(EncryptedPdfError, match=r"x\.pdf: encrypted PDF, a password is required") as info:
            PdfDocument(tmp_path / "x.pdf", engine=engine)
        assert isinstance(info.value, PermissionError)

    @pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
    def test_a_file_encrypted_without_a_user_password_reads_like_its_original(self, tmp_path, engine, algorithm):
        # Permissions only (an owner password, no user password): invoicing systems write these,
        # and any viewer opens them without asking; so does the extractor, whatever the cipher.
        from pypdf import PdfWriter

        from cc_perf_dagster.core import extract_invoice, invoice_to_dict
        from cc_perf_dagster_tests.conftest import expected_for, field_differences, good_invoices

        original = good_invoices()[0]
        writer = PdfWriter(clone_from=original)
        writer.encrypt(user_password="", owner_password="owner", algorithm=algorithm, permissions_flag=0)
        encrypted = tmp_path / f"{original.stem}-{algorithm}.pdf"
        writer.write(encrypted)
        assert b"/Encrypt" in encrypted.read_bytes()
        read = invoice_to_dict(extract_invoice(encrypted, engine=engine))
        expected = {**expected_for(original), "file": read["file"], "sha256": read["sha256"]}
        assert field_differences(expected, read)[1] == []

    @pytest.mark.parametrize("algorithm", ["AES-128", "AES-256"])
    def test_an_aes_file_is_refused_as_encrypted_where_pypdf_cannot_decrypt_aes(
        self, tmp_path, engine, algorithm, monkeypatch
    ):
        # Without pypdf's crypto dependency pypdf opens an AES file and fails on its first
        # stream: the file is refused as it opens, saying what to install, never read in part.
        from pypdf import PdfWriter

        from cc_perf_dagster.core import pypdf_engine

        writer = PdfWriter(clone_from=render([ROW], tmp_path / "a.pdf"))
        writer.encrypt(user_password="", owner_password="owner", algorithm=algorithm)
        writer.write(tmp_path / "aes.pdf")
        monkeypatch.setattr(pypdf_engine, "aes_available", lambda: False)
        with pytest.raises(
            EncryptedPdfError, match=r"aes\.pdf: encrypted PDF \(AES\), .*pip install 'pypdf\[crypto\]'"
        ):
            PdfDocument(tmp_path / "aes.pdf", engine=engine)

    def test_aes_is_available_when_either_library_pypdf_uses_for_it_imports(self, monkeypatch):
        import sys

        from cc_perf_dagster.core.encryption import aes_available

        assert aes_available()  # cryptography comes with pypdf[crypto]
        monkeypatch.setitem(sys.modules, "cryptography", None)  # import fails
        monkeypatch.setitem(sys.modules, "Crypto", None)
        assert not aes_available()

    def test_a_content_stream_that_cannot_be_decoded_fails_its_page(self, tmp_path, engine):
        pdf = corrupt_content_stream(render([ROW] * 3, tmp_path / "a.pdf"), tmp_path / "c.pdf", page=2)
        with PdfDocument(pdf, engine=engine) as doc:
            assert doc.page_count == 3
            doc.content_hash(1)  # the other pages read as before
            doc.content_hash(3)
            with pytest.raises(DamagedPdfError, match=r"^c\.pdf: page 2: damaged content stream, it cannot be decoded"):
                doc.content_hash(2)

    @pytest.mark.parametrize("unused", [False, True])
    def test_text_in_a_font_the_page_does_not_define_fails_its_page(self, tmp_path, engine, unused):
        # dompdf, its font files missing, draws every line in "/F", which no page defines.
        # PDFium draws such text in a font of its own, at widths of its own, and the pdfium
        # engine booked the lines it read wrong; the pypdf engine refused the page. A name set
        # and then replaced before any text is shown draws nothing in it: no refusal.
        from pypdf import PdfReader, PdfWriter
        from pypdf.generic import DictionaryObject, NameObject

        writer = PdfWriter(clone_from=PdfReader(render([ROW] * 2, tmp_path / "a.pdf")))
        page = writer.pages[1]
        (name, font), *_ = page["/Resources"]["/Font"].items()
        if unused:
            stream = StreamObject()
            stream.set_data(b"BT /Missing 8 Tf " + name.encode() + b" 8 Tf 20 700 Td (XS9826A) Tj ET")
            page[NameObject("/Contents")] = writer._add_object(stream)
        else:  # the page's own resources, its font under another name
            fonts = DictionaryObject({NameObject("/Other"): font})
            page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        writer.write(tmp_path / "d.pdf")
        with PdfDocument(tmp_path / "d.pdf", engine=engine) as doc:
            assert [r.text for r in doc.runs(1)][:1] == ["XS9826A"]  # the other page reads as before
            if unused:
                assert [r.text for r in doc.runs(2)] == ["XS9826A"]
            else:
                reason = rf"^d\.pdf: page 2: damaged page: text is drawn in font {name}, which the page does not define"
                with pytest.raises(DamagedPdfError, match=reason):
                    doc.runs(2)

    def test_too_many_pages(self, tmp_path, engine):
        pdf = render([ROW] * 4, tmp_path / "four.pdf")
        with pytest.raises(DocumentTooLargeError, match=r"four\.pdf: too large: 4 pages, the limit is 3"):
            PdfDocument(pdf, limits=Limits(max_pages=3), engine=engine)

    def test_too_many_bytes(self, tmp_path, engine):
        pdf = render([ROW], tmp_path / "a.pdf")
        with pytest.raises(DocumentTooLargeError, match=r"a\.pdf: too large: \d+ bytes, the limit is 100"):
            PdfDocument(pdf, limits=Limits(max_bytes=100), engine=engine)

    def test_missing_file_is_a_plain_file_not_found(self, tmp_path, engine):
        with pytest.raises(FileNotFoundError):
            PdfDocument(tmp_path / "missing.pdf", engine=engine)

    def test_errors_carry_file_and_reason(self, tmp_path, engine):
        (tmp_path / "e.pdf").write_bytes(b"")
        with pytest.raises(EmptyFileError) as info:
            PdfDocument(tmp_path / "e.pdf", engine=engine)
        assert info.value.to_dict() == {
            "error": "empty_file",
            "type": "EmptyFileError",
            "file": "e.pdf",
            "page": None,
            "reason": "empty file (0 bytes)",
        }


class TestLazyReading:
    """A page's text is read from the file when it is asked for, not from a copy made on opening."""

    def open_files(self, pdf) -> list[str]:
        return [f.path for f in psutil.Process().open_files() if f.path == str(pdf.resolve())]

    def test_pages_are_read_from_the_file_on_demand(self, tmp_path, test_invoices):
        pdf = tmp_path / "fifteen-pages.pdf"  # larger than a read buffer, unlike a one-row rendering
        shutil.copy(test_invoices / "CS003837319.pdf", pdf)
        with PdfDocument(pdf, engine="pypdf") as doc:
            assert doc.runs(1)
            os.truncate(pdf, 2000)  # page 2 is no longer in the file (had it been copied on opening, it would be)
            with pytest.raises(DamagedPdfError, match="page 2"):
                doc.runs(2)

    def test_the_file_is_open_while_the_document_is_and_closed_after(self, tmp_path, engine):
        pdf = render([ROW], tmp_path / "a.pdf")
        with PdfDocument(pdf, engine=engine) as doc:
            assert self.open_files(pdf) == [str(pdf.resolve())]
            assert doc.runs(1)
        assert self.open_files(pdf) == []


class TestFormXObjects:
    def render_with_form(self, path, price):
        c = canvas.Canvas(str(path), pagesize=letter, invariant=1)
        c.beginForm("row")
        c.setFont("Helvetica", 8)
        for value, x, y in [*ROW[:-1], (price, 550, 700)]:
            c.drawString(x, y, value)
        c.endForm()
        c.doForm("row")
        c.showPage()
        c.save()
        return path

    def test_text_inside_a_form_is_read(self, tmp_path, engine):
        with PdfDocument(self.render_with_form(tmp_path / "f.pdf", "38.40"), engine=engine) as doc:
            got = sorted((r.text, round(r.x0, 3), round(r.x1, 3), r.y) for r in doc.runs(1))
        assert got == word_positions(ROW)

    def test_a_changed_form_changes_the_page_hash(self, tmp_path):
        a = self.render_with_form(tmp_path / "a.pdf", "38.40")
        b = self.render_with_form(tmp_path / "b.pdf", "38.41")
        with PdfDocument(a) as da, PdfDocument(b) as db:
            assert da.content_hash(1) != db.content_hash(1)


def _page_text_both_ways(pdf, index: int) -> tuple[str, str]:
    """Page ``index``'s characters as :func:`page_text` reads them, and one FPDFText_GetUnicode call each."""
    import ctypes

    import pypdfium2 as pdfium

    from cc_perf_dagster.core.pdfium_calls import calls, page_text

    textpage = pdf[index].get_textpage()
    count = textpage.count_chars()
    one_by_one = "".join(chr(pdfium.raw.FPDFText_GetUnicode(textpage.raw, i)) for i in range(count))
    handle = ctypes.c_void_p(ctypes.cast(textpage.raw, ctypes.c_void_p).value)
    return page_text(calls(pdfium.raw), handle, count), one_by_one


class TestPdfiumCharacters:
    # The pdfium engine asks PDFium whether a character is its own (generated) only for spaces
    # and line breaks: a generated character of any other kind would be glued into a word.
    def test_every_character_pdfium_generates_is_a_space_or_line_break(self):
        import pypdfium2 as pdfium  # in the dev extras: both engines are always tested

        from cc_perf_dagster_tests.conftest import PRODUCER_INVOICES, TEST_INVOICES

        generated = set()
        for path in [*TEST_INVOICES.glob("*.pdf"), *PRODUCER_INVOICES.glob("*/*.pdf")]:
            pdf = pdfium.PdfDocument(path)
            for page in pdf:
                textpage = page.get_textpage()
                for index in range(textpage.count_chars()):
                    if pdfium.raw.FPDFText_IsGenerated(textpage.raw, index) == 1:
                        generated.add(chr(pdfium.raw.FPDFText_GetUnicode(textpage.raw, index)))
            pdf.close()
        assert generated and all(char.isspace() for char in generated), generated

    # The pdfium engine reads a page's characters in one FPDFText_GetText call: the same
    # characters, index for index, as one FPDFText_GetUnicode call each.
    def test_the_page_text_is_every_character_in_order(self):
        import pypdfium2 as pdfium

        from cc_perf_dagster_tests.conftest import PRODUCER_INVOICES, TEST_INVOICES

        pages = 0
        for path in [*TEST_INVOICES.glob("*.pdf"), *PRODUCER_INVOICES.glob("*/*.pdf")]:
            pdf = pdfium.PdfDocument(path)
            for index, page in enumerate(pdf):
                copied, one_by_one = _page_text_both_ways(pdf, index)
                assert copied == one_by_one, (path.name, page)
                pages += 1
            pdf.close()
        assert pages > 50

    @pytest.mark.parametrize("content", ["( AB 12) Tj", "[(   ) -200 (AB 12)] TJ"])
    def test_a_string_that_begins_with_spaces_is_read_by_pdfium_itself(self, tmp_path, content):
        # Its first glyph lies after its object's start on the object's baseline: in page space.
        # (A form's /ActualText span, given in the form's own space, sends its page to the pypdf
        # interpreter: test_content_stream.)
        from cc_perf_dagster_tests.core.test_content_stream import page_with

        with PdfDocument(page_with(tmp_path, f"BT /F1 10 Tf 100 700 Td {content} ET"), engine="pdfium") as doc:
            assert [run.text for run in doc.runs(1)] == ["AB", "12"]
            assert not doc._doc._interpreted

    def test_a_hyphen_that_ends_a_line_reads_as_one_by_one(self, tmp_path):
        # FPDFText_GetUnicode gives PDFium's line-end hyphen mark as U+0002; its text copy has U+FFFE.
        import pypdfium2 as pdfium

        from cc_perf_dagster_tests.core.test_content_stream import page_with

        pdf = pdfium.PdfDocument(page_with(tmp_path, "BT /F1 10 Tf 100 700 Td (Hand-) Tj 0 -12 Td (Painted) Tj ET"))
        copied, one_by_one = _page_text_both_ways(pdf, 0)
        assert "Hand\x02" in one_by_one and copied == one_by_one
        pdf.close()

    def test_a_character_outside_the_basic_plane_reads_as_one_by_one(self, tmp_path):
        import pypdfium2 as pdfium

        # Helvetica with a /ToUnicode that maps "A" to U+1D400 (a surrogate pair in UTF-16).
        cmap = (
            b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def "
            b"1 begincodespacerange <00> <FF> endcodespacerange "
            b"2 beginbfchar <41> <D835DC00> <42> <0042> endbfchar endcmap end end"
        )
        content = b"BT /F1 24 Tf 72 700 Td (ABAB) Tj ET"
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
            b" /Contents 5 0 R >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(cmap), cmap),
        ]
        data, offsets = b"%PDF-1.4\n", []
        for number, body in enumerate(objects, 1):
            offsets.append(len(data))
            data += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        data += b"xref\n0 7\n0000000000 65535 f \n%strailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            xref,
            len(data),
        )
        (tmp_path / "plane1.pdf").write_bytes(data)
        pdf = pdfium.PdfDocument(tmp_path / "plane1.pdf")
        copied, one_by_one = _page_text_both_ways(pdf, 0)
        assert "B" in one_by_one and copied == one_by_one
        pdf.close()

    def test_a_page_text_that_does_not_match_the_characters_is_read_one_by_one(self):
        from cc_perf_dagster.core.pdfium_calls import page_text

        class Api:  # PDFium left characters out of its text buffer (control characters do that)
            def get_text(self, handle, start, count, buffer):
                buffer[:6] = "ab\0".encode("utf-16-le")
                return 3  # two characters and the terminator, for four indices

            def get_unicode(self, handle, index):
                return [ord("a"), 0x93, ord("b"), 0x110000][index]

        assert page_text(Api(), None, 4) == "a\x93b\x00"  # outside Unicode: no text
