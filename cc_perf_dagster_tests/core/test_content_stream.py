"""The text interpreter places every word in page space, whatever matrices the producer used.

Each case draws the same words through a hand-written content stream and asserts where the
words land: ``x0``/``x1``/``y`` in points of the upright page, to a hundredth of a point.
Helvetica's widths are the standard metrics (``W`` below), so every expectation is computed
from the page geometry, not read back from the engine. Each case runs with every text engine
(the ``engine`` fixture); PDFium's one known difference is spelled out where it shows.
"""

from __future__ import annotations

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from cc_perf_dagster.core.fonts import normalize_glyph_text, unread_characters, uses_type3_fonts
from cc_perf_dagster.core.layout import build_rows
from cc_perf_dagster.core.pdf import PdfDocument
from cc_perf_dagster_tests.conftest import page_runs

# Helvetica advance widths (1/1000 em) of the glyphs used below.
W = {"A": 667, "B": 667, "1": 556, "2": 556, " ": 278, "f": 278, "i": 222}
LETTER = (612, 792)


def width(text: str, size: float) -> float:
    return sum(W[c] for c in text) * size / 1000


def helvetica() -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )


def type3(matrix: list[float], glyph_width: float) -> DictionaryObject:
    """A Type 3 font whose glyphs 'A' and 'B' are ``glyph_width`` wide in its own glyph space."""
    procs = DictionaryObject()
    for name in ("/A", "/B"):
        proc = StreamObject()
        proc.set_data(f"{glyph_width} 0 d0".encode())
        procs[NameObject(name)] = proc
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type3"),
            NameObject("/FontMatrix"): ArrayObject(FloatObject(v) for v in matrix),
            NameObject("/FontBBox"): ArrayObject(NumberObject(0) for _ in range(4)),
            NameObject("/CharProcs"): procs,
            NameObject("/Encoding"): DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Encoding"),
                    NameObject("/Differences"): ArrayObject([NumberObject(65), NameObject("/A"), NameObject("/B")]),
                }
            ),
            NameObject("/FirstChar"): NumberObject(65),
            NameObject("/LastChar"): NumberObject(66),
            NameObject("/Widths"): ArrayObject([FloatObject(glyph_width), FloatObject(glyph_width)]),
        }
    )


def page_with(
    tmp_path, content: str, *, fonts=None, rotate: int = 0, name: str = "p.pdf", properties=None, cropbox=None
):
    writer = PdfWriter()
    page = writer.add_blank_page(*LETTER)
    resources = DictionaryObject()
    font_dict = DictionaryObject()
    for key, font in (fonts or {"/F1": helvetica()}).items():
        font_dict[NameObject(key)] = writer._add_object(font)
    resources[NameObject("/Font")] = font_dict
    if properties:  # marked-content property lists by name: {"/MC0": {"/ActualText": "..."}}
        resources[NameObject("/Properties")] = DictionaryObject(
            {
                NameObject(key): DictionaryObject({NameObject(k): TextStringObject(v) for k, v in entries.items()})
                for key, entries in properties.items()
            }
        )
    page[NameObject("/Resources")] = resources
    stream = StreamObject()
    stream.set_data(content.encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    if rotate:
        page.rotate(rotate)
    if cropbox is not None:
        page[NameObject("/CropBox")] = ArrayObject(FloatObject(v) for v in cropbox)
    path = tmp_path / name
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def form_page(tmp_path, form_content: bytes, page_content: bytes, *, matrix=None, name: str = "form.pdf"):
    """A page that draws the form XObject ``/Fm1`` (Helvetica as ``/F1`` in both) with ``page_content``."""
    writer = PdfWriter()
    page = writer.add_blank_page(*LETTER)
    font = writer._add_object(helvetica())
    fonts = DictionaryObject({NameObject("/F1"): font})
    form = StreamObject()
    form.set_data(form_content)
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(NumberObject(v) for v in (0, 0, 100, 20)),
            NameObject("/Resources"): DictionaryObject({NameObject("/Font"): fonts}),
        }
    )
    if matrix is not None:
        form[NameObject("/Matrix")] = ArrayObject(NumberObject(v) for v in matrix)
    page[NameObject("/Resources")] = DictionaryObject(
        {
            NameObject("/XObject"): DictionaryObject({NameObject("/Fm1"): writer._add_object(form)}),
            NameObject("/Font"): fonts,
        }
    )
    stream = StreamObject()
    stream.set_data(page_content)
    page[NameObject("/Contents")] = writer._add_object(stream)
    path = tmp_path / name
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def words(path, engine="pypdf") -> list[tuple[str, float, float, float, float]]:
    runs = page_runs(path, engine)  # pdfium: both its word loops, C and Python, read the same
    return sorted((r.text, round(r.x0, 2), round(r.x1, 2), round(r.y, 2), round(r.size, 2)) for r in runs)


def expect(*cells: tuple[str, float, float, float]) -> list[tuple[str, float, float, float, float]]:
    """Words at (x, y) in Helvetica of the given size, separated by one space."""
    out = []
    for text, x, y, size in cells:
        for word in text.split(" "):
            out.append((word, round(x, 2), round(x + width(word, size), 2), round(y, 2), round(size, 2)))
            x += width(word + " ", size)
    return sorted(out)


class TestPageSpace:
    def test_plain(self, tmp_path, engine):
        path = page_with(tmp_path, "BT /F1 10 Tf 100 700 Td (AB 12) Tj ET")
        assert words(path, engine) == expect(("AB 12", 100, 700, 10))

    def test_flipped_and_scaled_page_as_chromium_draws_it(self, tmp_path, engine):
        # y grows downward in the stream's space, 1 unit = 0.75 pt; the text matrix flips back.
        content = "0.75 0 0 -0.75 0 792 cm BT /F1 16 Tf 1 0 0 -1 100 120 Tm (AB 12) Tj ET"
        assert words(page_with(tmp_path, content), engine) == expect(("AB 12", 75, 792 - 90, 12))

    def test_cm_inside_q_and_restored(self, tmp_path, engine):
        content = "q 2 0 0 2 10 20 cm BT /F1 5 Tf 50 100 Td (AB) Tj ET Q BT /F1 10 Tf 300 100 Td (12) Tj ET"
        assert words(page_with(tmp_path, content), engine) == expect(("AB", 110, 220, 10), ("12", 300, 100, 10))

    @pytest.mark.parametrize("turn", [90, 180, 270])
    def test_page_drawn_rotated_reads_upright(self, tmp_path, turn, engine):
        # The same two lines drawn turned by `turn` degrees, moved to stay on the page (words off
        # the page are not read).
        matrix = {90: "0 1 -1 0 792 0", 180: "-1 0 0 -1 612 792", 270: "0 -1 1 0 -300 600"}[turn]
        content = f"{matrix} cm BT /F1 10 Tf 100 700 Td (AB 12) Tj 0 -20 Td (B1) Tj ET"
        got = words(page_with(tmp_path, content), engine)
        upright = words(
            page_with(tmp_path, "BT /F1 10 Tf 100 700 Td (AB 12) Tj 0 -20 Td (B1) Tj ET", name="u.pdf"), engine
        )
        # Positions are relative to the turned page's corner: compare the layout, not the origin.
        dx, dy = upright[0][1] - got[0][1], upright[0][3] - got[0][3]
        shifted = sorted((t, round(x0 + dx, 2), round(x1 + dx, 2), round(y + dy, 2), s) for t, x0, x1, y, s in got)
        assert shifted == upright

    @pytest.mark.parametrize("rotate", [90, 180, 270])
    def test_page_with_rotate_reads_like_upright(self, tmp_path, rotate, engine):
        content = "BT /F1 10 Tf 100 700 Td (AB 12) Tj 0 -20 Td (B1) Tj ET"
        assert words(page_with(tmp_path, content, rotate=rotate), engine) == words(
            page_with(tmp_path, content, name="u.pdf"), engine
        )

    def test_a_vertical_stamp_is_left_out(self, tmp_path, engine):
        content = "BT /F1 10 Tf 100 700 Td (AB 12) Tj ET BT /F1 10 Tf 0 1 -1 0 500 300 Tm (B1) Tj ET"
        assert words(page_with(tmp_path, content), engine) == expect(("AB 12", 100, 700, 10))


class TestWhatThePageShows:
    """Words a viewer does not show, cropped away or off the page, are not read."""

    def test_words_outside_the_crop_box_are_not_read_and_a_word_on_its_edge_is(self, tmp_path, engine):
        content = (
            "BT /F1 10 Tf 100 700 Td (AB 12) Tj ET "
            "BT /F1 10 Tf 400 700 Td (BA 21) Tj ET "  # right of the crop box: cropped away
            "BT /F1 10 Tf 290 650 Td (AB) Tj ET "  # across its right edge: read whole
            "BT /F1 10 Tf 100 760 Td (12) Tj ET"  # above it
        )
        path = page_with(tmp_path, content, cropbox=(50, 100, 300, 750))
        assert words(path, engine) == sorted(expect(("AB 12", 100, 700, 10), ("AB", 290, 650, 10)))

    def test_a_word_in_pieces_across_the_edge_is_read_whole(self, tmp_path, engine):
        # Kerned pieces (the pypdf engine reads each string, PDFium glyph runs): one word.
        content = "BT /F1 10 Tf 280 650 Td [(AB) -20 (12) -20 (BA) -20 (21)] TJ ET BT /F1 10 Tf 100 700 Td (B1) Tj ET"
        path = page_with(tmp_path, content, cropbox=(50, 100, 300, 750))
        with PdfDocument(path, engine=engine) as doc:
            assert [row.text for row in build_rows(doc.runs(1))] == ["B1", "AB12BA21"]

    def test_words_off_the_page_are_not_read(self, tmp_path, engine):
        content = "BT /F1 10 Tf -300 700 Td (BA 21) Tj ET BT /F1 10 Tf 100 700 Td (AB 12) Tj ET"
        assert words(page_with(tmp_path, content), engine) == expect(("AB 12", 100, 700, 10))

    @pytest.mark.parametrize("cropbox", [(700, 0, 900, 100), (0, 0, 300)])  # nothing of the page; broken
    def test_a_crop_box_that_leaves_nothing_or_is_broken_is_taken_as_absent(self, tmp_path, engine, cropbox):
        path = page_with(tmp_path, "BT /F1 10 Tf 100 700 Td (AB 12) Tj ET", cropbox=cropbox)
        assert words(path, engine) == expect(("AB 12", 100, 700, 10))

    def test_a_turned_page_is_cropped_in_its_own_space(self, tmp_path, engine):
        # /Rotate 90 with the text drawn turned back upright; the crop box is in the page's space.
        content = "BT /F1 10 Tf 0 1 -1 0 500 100 Tm (AB 12) Tj ET BT /F1 10 Tf 0 1 -1 0 100 100 Tm (BA 21) Tj ET"
        path = page_with(tmp_path, content, rotate=90, cropbox=(300, 0, 612, 792))
        assert [text for text, *_ in words(path, engine)] == ["12", "AB"]

    def test_the_crop_box_is_part_of_the_page_hash(self, tmp_path):
        hashes = set()
        for box in (None, (0, 0, 300, 792), (0, 0, 612, 792)):
            with PdfDocument(page_with(tmp_path, "BT /F1 10 Tf 100 700 Td (AB) Tj ET", cropbox=box)) as doc:
                hashes.add(doc.content_hash(1))
        assert len(hashes) == 2  # no crop box and one as large as the page show the same


class TestInvisibleText:
    """A page is read from the text it shows; from its invisible text only where it shows none."""

    def test_invisible_text_under_shown_text_is_left_out(self, tmp_path, engine):
        # An overlay nobody sees (render mode 3): reading it would book what the page does not say.
        content = "BT /F1 10 Tf 100 700 Td (AB 12) Tj ET BT 3 Tr /F1 10 Tf 100 650 Td (B1 99) Tj ET"
        assert words(page_with(tmp_path, content), engine) == expect(("AB 12", 100, 700, 10))

    @pytest.mark.parametrize("mode", [3, 7])
    def test_a_page_of_invisible_text_alone_is_read(self, tmp_path, engine, mode):
        # A scanner's searchable layer over the page's image: the only text there is.
        content = f"BT {mode} Tr /F1 10 Tf 100 700 Td (AB 12) Tj ET"
        assert words(page_with(tmp_path, content), engine) == expect(("AB 12", 100, 700, 10))

    @pytest.mark.parametrize(
        ("content", "invisible"),
        [
            ("BT 3 Tr /F1 10 Tf 100 700 Td (AB 12) Tj ET", True),
            ("BT /F1 10 Tf 100 700 Td (AB 12) Tj ET BT 3 Tr /F1 10 Tf 100 650 Td (B1) Tj ET", False),
            ("BT /F1 10 Tf 100 700 Td (AB 12) Tj ET", False),
            ("0 0 m 10 10 l S", False),  # no text at all: nothing was read from an invisible layer
        ],
    )
    def test_the_document_says_which_pages_were_read_from_their_invisible_text(
        self, tmp_path, engine, content, invisible
    ):
        with PdfDocument(page_with(tmp_path, content), engine=engine) as doc:
            doc.runs(1)
            assert doc.invisible_text(1) is invisible

    @pytest.mark.parametrize(
        "nothing",
        [
            "BT /F1 0 Tf 100 700 Td (HIDDEN 99) Tj ET",  # font size 0
            "BT /F1 10 Tf 0 0 0 0 100 700 Tm (HIDDEN 99) Tj ET",  # a collapsed text matrix
            "q 1 0 2 0 0 0 cm BT /F1 10 Tf 100 700 Td (HIDDEN 99) Tj ET Q",  # a CTM onto a line
            "BT /F1 10 Tf 0 Tz 100 700 Td (HIDDEN 99) Tj 100 Tz ET",  # horizontal scaling 0
        ],
    )
    def test_glyphs_with_no_area_are_not_read_and_leave_the_page_be(self, tmp_path, engine, nothing):
        # The pypdf engine read such glyphs as one-point text; the page's own text, ten times
        # that "body" size, was then left out as a watermark: the page read nothing (or "HIDDEN").
        content = " ".join([nothing] * 5) + " BT /F1 10 Tf 100 650 Td (AB 12) Tj ET"
        assert words(page_with(tmp_path, content), engine) == expect(("AB 12", 100, 650, 10))

    def test_the_render_mode_is_saved_and_restored_with_the_graphics_state(self, tmp_path, engine):
        content = "q 3 Tr BT /F1 10 Tf 100 650 Td (B1) Tj ET Q BT /F1 10 Tf 100 700 Td (AB 12) Tj ET"
        assert words(page_with(tmp_path, content), engine) == expect(("AB 12", 100, 700, 10))

    def test_a_form_drawn_invisible_is_invisible(self, tmp_path, engine):
        page = b"q 3 Tr 1 0 0 1 100 650 cm /Fm1 Do Q BT /F1 10 Tf 100 700 Td (AB 12) Tj ET"
        path = form_page(tmp_path, b"BT /F1 10 Tf 0 0 Td (B1 99) Tj ET", page)
        assert words(path, engine) == expect(("AB 12", 100, 700, 10))


class TestActualText:
    """A span's /ActualText says what its glyphs say; both engines read it in their place."""

    def texts(self, path, engine):
        return [(text, x0) for text, x0, _x1, _y, _s in words(path, engine)]

    def test_actual_text_replaces_glyphs_that_say_nothing(self, tmp_path, engine):
        # A ligature glyph with no text of its own (code 27), spelled out by the span.
        content = "BT /F1 10 Tf 100 700 Td /Span <</ActualText (Tariff)>> BDC (Tari\\033) Tj EMC ET"
        assert self.texts(page_with(tmp_path, content), engine) == [("Tariff", 100.0)]

    def test_utf16_and_named_property_lists(self, tmp_path, engine):
        content = (
            "BT /F1 10 Tf 100 700 Td /Span <</ActualText <FEFF00430075006600660073>>> BDC (XY) Tj EMC ET "
            "BT /F1 10 Tf 100 650 Td /Span /MC0 BDC (Z) Tj EMC ET"
        )
        path = page_with(tmp_path, content, properties={"/MC0": {"/ActualText": "Cuff"}})
        assert sorted(self.texts(path, engine)) == [("Cuff", 100.0), ("Cuffs", 100.0)]

    def test_a_named_actual_text_changes_the_page_hash(self, tmp_path):
        content = "BT /F1 10 Tf 100 650 Td /Span /MC0 BDC (Z) Tj EMC ET"
        hashes = []
        for text in ("Cuff", "Cuffs"):
            with PdfDocument(page_with(tmp_path, content, properties={"/MC0": {"/ActualText": text}})) as doc:
                hashes.append(doc.content_hash(1))
        assert hashes[0] != hashes[1]

    def test_a_span_over_several_strings_reads_once_and_spans_without_actual_text_change_nothing(
        self, tmp_path, engine
    ):
        content = (
            "BT /F1 10 Tf 100 700 Td /P <</MCID 0>> BDC (AB 12) Tj EMC "  # tagged PDF: read as drawn
            "0 -50 Td /Span <</ActualText (B1)>> BDC (Q) Tj [(R) -200 (S)] TJ EMC "
            "0 -50 Td /Span <</ActualText (Nothing)>> BDC EMC ET"  # a span that draws no glyph says nothing
        )
        assert sorted(self.texts(page_with(tmp_path, content), engine)) == [
            ("12", round(100 + width("AB ", 10), 2)),
            ("AB", 100.0),
            ("B1", 100.0),
        ]

    def test_a_span_of_several_words_reads_as_those_words_in_their_order(self, tmp_path, engine):
        # PDFium puts every character of a span on its text object's origin: its spaces too,
        # which once ended a word there, so that "12 Tariff" read as "12Tariff".
        content = (
            "BT /F1 10 Tf 100 700 Td /Span <</ActualText (Tariff Street)>> BDC (Tari\\033 Street) Tj EMC ET "
            "BT /F1 10 Tf 100 650 Td /Span <</ActualText (12 Tariff)>> BDC (Q) Tj EMC ( 5) Tj ET"
        )
        with PdfDocument(page_with(tmp_path, content), engine=engine) as doc:
            rows = build_rows(doc.runs(1))
        assert [[w.text for w in row.words] for row in rows] == [["Tariff", "Street"], ["12", "Tariff", "5"]]
        assert all(a.x1 < b.x0 for row in rows for a, b in zip(row.words, row.words[1:], strict=False))
        assert rows[0].words[-1].x1 > 140  # the span's words cover its glyphs (about 50 pt)

    def test_a_span_text_in_pdfdocencoding_reads_as_that_encoding_says(self, tmp_path, engine):
        # A text string without a byte order mark is PDFDocEncoding, not Latin-1: 0x85 is an en
        # dash and 0x96 an OE there (control characters in Latin-1, as the pypdf engine read them).
        content = "BT /F1 10 Tf 100 700 Td /Span <</ActualText (12\\20514 \\226uvre)>> BDC (XY) Tj EMC ET"
        assert [text for text, _x0 in self.texts(page_with(tmp_path, content), engine)] == ["12–14 Œuvre"]

    def test_a_span_inside_a_form_reads_where_the_form_is_drawn(self, tmp_path, engine):
        # PDFium gives such a span's characters in the form's own space, (2, 15) for both
        # drawings here: the pdfium engine reads that page with the pypdf interpreter.
        form = b"BT /F1 10 Tf 2 15 Td /Span <</ActualText (Tariff)>> BDC (Tari) Tj EMC ET"
        path = form_page(tmp_path, form, b"q 1 0 0 1 100 600 cm /Fm1 Do Q q 1 0 0 1 300 500 cm /Fm1 Do Q")
        assert [(text, x0, y) for text, x0, _x1, y, _s in words(path, engine)] == [
            ("Tariff", 102.0, 615.0),
            ("Tariff", 302.0, 515.0),
        ]

    def test_in_nested_spans_the_outer_actual_text_wins(self, tmp_path):
        # As the PDF standard has it (14.9.4). PDFium reads each string's innermost span instead
        # ("XB1" here), and a string inside a further span (BMC) as one of its own: producers
        # use /ActualText for a glyph or a cluster, not around other marked content.
        content = "BT /F1 10 Tf 100 700 Td /Span <</ActualText (B1)>> BDC /Span <</ActualText (X)>> BDC (Q) Tj EMC EMC"
        content += " ET"
        assert self.texts(page_with(tmp_path, content), "pypdf") == [("B1", 100.0)]


def layered_page(tmp_path, content: str, *, off=("/L1",), on=("/L2",), base_off=False, memberships=None, form=None):
    """A page whose resources name layers /L1 and /L2 (and membership dictionaries) for ``/OC`` marks.

    ``off``/``on``: the default configuration's lists; ``base_off``: its ``/BaseState /OFF``.
    ``memberships``: {name: (policy, [layer names]) or ("/VE", expression over layer names)}.
    ``form``: content of a form XObject ``/Fm1`` in layer /L1 (drawn with ``/Fm1 Do``).
    """
    path = page_with(tmp_path, content, name="layered.pdf")
    writer = PdfWriter(clone_from=PdfReader(path))
    layers = {
        name: writer._add_object(
            DictionaryObject({NameObject("/Type"): NameObject("/OCG"), NameObject("/Name"): TextStringObject(name)})
        )
        for name in ("/L1", "/L2")
    }

    def expression(item):
        return (
            ArrayObject([NameObject(item[0]), *(expression(i) for i in item[1:])])
            if isinstance(item, tuple)
            else layers[item]
        )

    properties = dict(layers)
    for name, (policy, members) in (memberships or {}).items():
        entries = {NameObject("/Type"): NameObject("/OCMD")}
        if policy == "/VE":
            entries[NameObject("/VE")] = expression(members)
        else:
            entries[NameObject("/OCGs")] = ArrayObject(layers[m] for m in members)
            entries[NameObject("/P")] = NameObject(policy)
        properties[name] = writer._add_object(DictionaryObject(entries))
    page = writer.pages[0]
    resources = page["/Resources"]
    resources[NameObject("/Properties")] = DictionaryObject({NameObject(k): v for k, v in properties.items()})
    if form is not None:
        xobject = StreamObject()
        xobject.set_data(form.encode("latin-1"))
        xobject.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): ArrayObject(NumberObject(v) for v in (0, 0, 612, 792)),
                NameObject("/Resources"): DictionaryObject({NameObject("/Font"): resources["/Font"]}),
                NameObject("/OC"): layers["/L1"],
            }
        )
        resources[NameObject("/XObject")] = DictionaryObject({NameObject("/Fm1"): writer._add_object(xobject)})
    default = {
        NameObject("/OFF"): ArrayObject(layers[n] for n in off),
        NameObject("/ON"): ArrayObject(layers[n] for n in on),
    }
    if base_off:
        default[NameObject("/BaseState")] = NameObject("/OFF")
    writer._root_object[NameObject("/OCProperties")] = DictionaryObject(
        {NameObject("/OCGs"): ArrayObject(layers.values()), NameObject("/D"): DictionaryObject(default)}
    )
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


class TestOptionalContent:
    """Content in a layer the document's default view hides is not read; the rest reads as drawn."""

    SHOWN = "BT /F1 10 Tf 100 700 Td (AB 12) Tj ET "

    def test_text_in_a_hidden_layer_is_not_read_and_a_shown_layer_is(self, tmp_path, engine):
        content = (
            self.SHOWN
            + "/OC /L1 BDC BT /F1 10 Tf 100 650 Td (B1 12) Tj ET EMC /OC /L2 BDC BT /F1 10 Tf 100 600 Td (B2) Tj ET EMC"
        )
        assert words(layered_page(tmp_path, content), engine) == expect(("AB 12", 100, 700, 10), ("B2", 100, 600, 10))

    def test_hidden_text_still_moves_the_text_position(self, tmp_path, engine):
        content = "BT /F1 10 Tf 100 700 Td /OC /L1 BDC (B1 ) Tj EMC (12) Tj ET"
        assert words(layered_page(tmp_path, content), engine) == expect(("12", 100 + width("B1 ", 10), 700, 10))

    def test_base_state_off_hides_every_layer_but_those_turned_on(self, tmp_path, engine):
        content = (
            self.SHOWN
            + "/OC /L1 BDC BT /F1 10 Tf 100 650 Td (B1) Tj ET EMC /OC /L2 BDC BT /F1 10 Tf 100 600 Td (B2) Tj ET EMC"
        )
        path = layered_page(tmp_path, content, off=(), on=("/L2",), base_off=True)
        assert words(path, engine) == expect(("AB 12", 100, 700, 10), ("B2", 100, 600, 10))

    @pytest.mark.parametrize(
        ("membership", "shown"),
        [
            (("/AnyOn", ["/L1", "/L2"]), True),
            (("/AllOn", ["/L1", "/L2"]), False),
            (("/AnyOff", ["/L1", "/L2"]), True),
            (("/AllOff", ["/L1"]), True),
            (("/VE", ("/Not", "/L1")), True),
            (("/VE", ("/And", "/L1", "/L2")), False),
        ],
    )
    def test_membership_dictionaries_follow_their_policy(self, tmp_path, membership, shown):
        # PDFium's text API does not name a glyph's layer: a document that hides one is read by
        # the pypdf interpreter in both engines, so the pypdf engine answers for both.
        content = self.SHOWN + "/OC /M1 BDC BT /F1 10 Tf 100 650 Td (B1) Tj ET EMC"
        path = layered_page(tmp_path, content, memberships={"/M1": membership})
        expected = [("AB 12", 100, 700, 10)] + ([("B1", 100, 650, 10)] if shown else [])
        assert words(path) == expect(*expected)

    def test_a_layer_shown_or_hidden_changes_the_page_hash(self, tmp_path):
        # The page cache keys on the hash: a page read with a layer shown is not the same page
        # read with it hidden, though its content stream is the same.
        content = self.SHOWN + "/OC /L1 BDC BT /F1 10 Tf 100 650 Td (B1) Tj ET EMC /Fm1 Do"
        form = "BT /F1 10 Tf 100 600 Td (B2) Tj ET"
        hashes = []
        for folder, off in (("hidden", ("/L1",)), ("shown", ()), ("again", ("/L1",))):
            (tmp_path / folder).mkdir()
            with PdfDocument(layered_page(tmp_path / folder, content, off=off, form=form)) as doc:
                hashes.append(doc.content_hash(1))
        assert hashes[0] != hashes[1] and hashes[0] == hashes[2]

    def test_a_form_in_a_hidden_layer_is_not_read(self, tmp_path, engine):
        path = layered_page(tmp_path, self.SHOWN + "/Fm1 Do", form="BT /F1 10 Tf 100 650 Td (B1 99) Tj ET")
        assert words(path, engine) == expect(("AB 12", 100, 700, 10))


def field_page(tmp_path, value: str, *, flags=4, rect=(100, 640, 220, 660), bbox=(0, 0, 120, 20), subtype="/Widget"):
    """A page showing "AB 12" with one filled-in text field (a widget whose appearance draws ``value``)."""
    path = page_with(tmp_path, "BT /F1 10 Tf 100 700 Td (AB 12) Tj ET", name="field.pdf")
    writer = PdfWriter(clone_from=PdfReader(path))
    page = writer.pages[0]
    appearance = StreamObject()
    appearance.set_data(f"/Tx BMC q BT /F1 10 Tf 0 10 Td ({value}) Tj ET Q EMC".encode("latin-1"))
    appearance.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(NumberObject(v) for v in bbox),
            NameObject("/Resources"): DictionaryObject({NameObject("/Font"): page["/Resources"]["/Font"]}),
        }
    )
    widget = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject(subtype),
            NameObject("/Rect"): ArrayObject(NumberObject(v) for v in rect),
            NameObject("/F"): NumberObject(flags),
            NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(appearance)}),
        }
    )
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(widget)])
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


class TestFormFields:
    """A filled-in form field shows its value from its widget's appearance: it is read there."""

    def test_a_field_value_is_read_where_the_widget_shows_it(self, tmp_path, engine):
        assert words(field_page(tmp_path, "B1 21"), engine) == expect(("AB 12", 100, 700, 10), ("B1 21", 100, 650, 10))

    def test_the_appearance_is_fitted_to_the_widget(self, tmp_path, engine):
        # A 60 x 10 appearance on a 120 x 20 widget is drawn twice as large.
        got = words(field_page(tmp_path, "B1", bbox=(0, 0, 60, 10)), engine)
        assert ("B1", 100.0, round(100 + 2 * width("B1", 10), 2), 660.0, 20.0) in got

    @pytest.mark.parametrize(("flags", "subtype"), [(2, "/Widget"), (32, "/Widget"), (4, "/FreeText"), (4, "/Stamp")])
    def test_hidden_widgets_and_other_annotations_are_not_read(self, tmp_path, engine, flags, subtype):
        # Hidden or NoView: not shown. A comment or a stamp is a note on the document, not its text.
        path = field_page(tmp_path, "B1 21", flags=flags, subtype=subtype)
        assert words(path, engine) == expect(("AB 12", 100, 700, 10))

    def test_a_field_value_changes_the_page_hash(self, tmp_path):
        hashes = []
        for value in ("B1 21", "B1 12"):
            (tmp_path / value).mkdir()
            with PdfDocument(field_page(tmp_path / value, value)) as doc:
                hashes.append(doc.content_hash(1))
        assert hashes[0] != hashes[1]


class TestTextState:
    def test_tj_kerning_moves_the_next_glyphs(self, tmp_path, engine):
        # -500 thousandths of 10 pt = 5 pt to the right; one word drawn in two pieces.
        path = page_with(tmp_path, "BT /F1 10 Tf 100 700 Td [(A) -500 (B)] TJ ET")
        got = words(path, engine)
        assert [(t, x0, x1) for t, x0, x1, _, _ in got] == [
            ("A", 100.0, round(100 + width("A", 10), 2)),
            ("B", round(100 + width("A", 10) + 5, 2), round(100 + width("AB", 10) + 5, 2)),
        ]

    def test_horizontal_scaling_char_and_word_spacing(self, tmp_path, engine):
        # Tz 50 halves every advance; Tc adds 1 pt per glyph, Tw 4 pt per space (before scaling).
        path = page_with(tmp_path, "BT /F1 10 Tf 50 Tz 1 Tc 4 Tw 100 700 Td (AB 12) Tj ET")
        got = words(path, engine)
        a_end = 100 + (width("AB", 10) + 2) * 0.5
        second = a_end + (width(" ", 10) + 1 + 4) * 0.5
        # PDFium does not report Tc: a string's last glyph ends without it (0.5 pt here). A word
        # followed by a drawn space ("AB") ends at the space's origin, Tc included.
        end = second + (width("12", 10) + 2) * 0.5 - (0.5 if engine == "pdfium" else 0.0)
        assert [(t, x0, x1) for t, x0, x1, _, _ in got] == [
            ("12", round(second, 2), round(end, 2)),
            ("AB", 100.0, round(a_end, 2)),
        ]

    def test_rise_and_leading(self, tmp_path, engine):
        path = page_with(tmp_path, "BT /F1 10 Tf 12 TL 100 700 Td 3 Ts (AB) Tj 0 Ts T* (12) Tj (B1) ' ET")
        got = words(path, engine)
        assert [(t, y) for t, _, _, y, _ in got] == [("12", 688.0), ("AB", 703.0), ("B1", 676.0)]

    def test_type3_font_matrix_scales_widths_and_size(self, tmp_path, engine):
        # Glyph space of 1/100 em: a glyph 50 units wide is half an em; at 12 pt, 6 pt.
        font = type3([0.01, 0, 0, 0.01, 0, 0], 50)
        path = page_with(tmp_path, "BT /T3 12 Tf 100 700 Td (AB) Tj ET", fonts={"/T3": font})
        assert words(path, engine) == [("AB", 100.0, 112.0, 700.0, 12.0)]

    def test_form_xobject_matrix_applies(self, tmp_path, engine):
        path = form_page(
            tmp_path, b"BT /F1 10 Tf 0 0 Td (AB) Tj ET", b"q 1 0 0 1 10 10 cm /Fm1 Do Q", matrix=(1, 0, 0, 1, 200, 500)
        )
        assert words(path, engine) == expect(("AB", 210, 510, 10))


def test_a_hyphen_that_ends_a_line_reads_as_a_hyphen(tmp_path, engine):
    # PDFium marks a hyphen it takes for a word broken over two lines ("Hand-" above "Painted");
    # the text it copies in one call had U+FFFE there, read into the description.
    content = 'BT /F1 10 Tf 100 700 Td (3-1/4"H Hand-) Tj 0 -12 Td (Painted Mug) Tj ET'
    with PdfDocument(page_with(tmp_path, content), engine=engine) as doc:
        rows = build_rows(doc.runs(1))
    assert [row.text for row in rows] == ['3-1/4"H Hand-', "Painted Mug"]


@pytest.mark.parametrize(
    ("rotate", "matrix"),
    [(0, "1 0 0 1 100 700"), (90, "0 1 -1 0 500 100"), (180, "-1 0 0 -1 500 100"), (270, "0 -1 1 0 100 700")],
)
def test_type3_text_turned_with_its_page_is_read(tmp_path, engine, rotate, matrix):
    # PDFium's text page leaves out Type 3 text drawn at a quarter turn: the pdfium engine reads
    # a page that uses a Type 3 font with the pypdf interpreter.
    fonts = {"/F5": type3([0.001, 0, 0, 0.001, 0, 0], 600)}
    path = page_with(tmp_path, f"BT /F5 10 Tf {matrix} Tm (ABBA) Tj ET", fonts=fonts, rotate=rotate)
    assert [text for text, *_ in words(path, engine)] == ["ABBA"]


def test_a_type3_font_in_a_form_is_found():
    type3_font = type3([0.001, 0, 0, 0.001, 0, 0], 600)
    form = DictionaryObject({NameObject("/Subtype"): NameObject("/Form")})
    form[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/T"): type3_font})}
    )
    page = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): helvetica()})})
    assert not uses_type3_fonts(page)
    page[NameObject("/XObject")] = DictionaryObject({NameObject("/Fm1"): form})
    assert uses_type3_fonts(page) and not uses_type3_fonts(None)


def test_a_glyph_that_reads_as_the_hyphen_mark_is_no_hyphen(tmp_path, engine):
    # WinAnsi code 2 has no glyph name: PDFium reads it as U+0002, its own mark of a line-end
    # hyphen, which the pdfium engine once turned into "-". It says nothing, with either engine.
    content = "BT /F1 10 Tf 100 700 Td (Ord \\00226) Tj ET"
    with PdfDocument(page_with(tmp_path, content), engine=engine) as doc:
        rows = build_rows(doc.runs(1))
    assert [row.text for row in rows] == ["Ord \x0226"]


class TestGlyphText:
    @pytest.mark.parametrize(
        ("raw", "read"),
        [
            ("Tari\ufb00", "Tariff"),
            ("\ufb01eld", "field"),
            ("\ufb02at", "flat"),
            ("o\ufb03ce", "office"),
            ("wa\ufb04e", "waffle"),
            ("12\u00a0oz.", "12 oz."),
            ('12\u00ad1/4"H', '12-1/4"H'),  # a soft hyphen that was drawn is a hyphen
            ('6"H Café – ½', '6"H Café – ½'),  # nothing else is changed
        ],
    )
    def test_normalized(self, raw, read):
        assert normalize_glyph_text(raw) == read

    @pytest.mark.parametrize(
        ("text", "unread"),
        [
            ("Faux Fur Cu\x1b, Brown", ["\x1b"]),  # a glyph its font names but maps to nothing
            ("Hand\ufffe Painted \ufffd", ["\ufffe", "\ufffd"]),  # noncharacters, the replacement
            ("\ue000\U000f0001\ufdd0", ["\ue000", "\U000f0001", "\ufdd0"]),  # private use, noncharacter
            ('3-1/4"H Café – ½ ﬁ\u00ad\t', []),  # text, however unusual
        ],
    )
    def test_characters_that_say_nothing(self, text, unread):
        assert unread_characters(text) == unread


def _run(text: str, x0: float, y: float, size: float):
    from cc_perf_dagster.core.models import TextRun

    return TextRun(text, x0, x0 + 0.5 * size * len(text), y, size)


def test_a_watermark_far_above_the_body_size_is_left_out_and_a_title_is_kept():
    from cc_perf_dagster.core.upright import without_decoration

    body = [_run(f"DF{i:04d}", 40, 700 - 10 * i, 7.5) for i in range(30)]
    title = _run("ORDER CONFIRMATION", 200, 760, 17.0)  # 2.3 times the body, as the fixtures draw it
    watermark = _run("COPY", 150, 400, 120.0)
    stamp = _run("REPRINT", 200, 420, 30.0)  # four times
    kept = without_decoration([*body, title, watermark, stamp])
    assert [r.text for r in kept] == [r.text for r in [*body, title]]


def test_a_page_of_large_text_alone_keeps_all_of_it():
    # The body size is the page's own: a page set large throughout is no watermark.
    from cc_perf_dagster.core.upright import without_decoration

    runs = [_run("TOTAL", 40, 400, 40.0), _run("3165.73", 300, 400, 40.0), _run("Page 2 of 2", 40, 20, 14.0)]
    assert without_decoration(runs) == runs
