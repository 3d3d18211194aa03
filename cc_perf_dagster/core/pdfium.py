r"""The PDFium text engine: PDFium (through ``pypdfium2``) places the glyphs, the rest is shared.

Install it with ``pip install 'cc-perf-dagster[pdfium]'`` and choose it by name (``--engine
pdfium``, ``ExtractionSettings(engine="pdfium")``). It reads the same words as the default
pypdf engine and hands them to the same code: the raw word tuples of
:mod:`~cc_perf_dagster.core.content_stream` (start and end of the baseline in page space, the
text direction, the "up" sign and the font height), then
:func:`~cc_perf_dagster.core.content_stream.upright_runs`, so rotated pages are turned and
vertical stamps dropped the same way, and :func:`normalize_glyph_text` unfolds ligatures.

How PDFium's characters become words:
    * A word starts at a glyph's **origin** (``FPDFText_GetCharOrigin``: text matrix x CTM
      applied, rise included) and ends at the last glyph's origin plus its **advance**, read as
      the extent of its loose box (``FPDFText_GetLooseCharBox``: the advance width times the
      font's ascent/descent, not the ink) along the text direction. When the word is followed by
      a drawn space of the same text object, the space's origin is the end, which also counts
      the character spacing (``Tc``) of the last glyph; otherwise ``Tc`` of a word's last glyph
      is not counted (PDFium does not report it), so such an end can be short by ``Tc``.
    * Direction and height come from the glyph's matrix (``FPDFText_GetMatrix``, without the
      font size) and its font size (``FPDFText_GetFontSize``): height = size x |(c, d)|, as in
      the pypdf interpreter.
    * A word ends at a space, a line break or any character PDFium generated itself
      (``FPDFText_IsGenerated``: the spaces it infers from gaps, ``\r\n`` between lines), at a
      change of direction or baseline, and where the next glyph does not touch the previous one
      (the gap is outside the layout's glue range, :data:`~cc_perf_dagster.core.layout.TOUCH_GAP`
      and :data:`~cc_perf_dagster.core.layout.OVERLAP_LIMIT`): the layout would not have glued
      the two pieces either. PDFium unfolds a ligature glyph into its letters, all at the
      glyph's origin: they stay one word. It shares the glyph's ink, not its advance, between
      their boxes, so after a ligature the next glyph touches up to 0.12 font heights further
      (the glyph's right side bearing: "Waffle" set with an "ffl" ligature read ``Waffl e``).
      The characters of an ``/ActualText`` span come the same way, all on the origin of the
      span's text object, its spaces too: the span stays one
      run, spaces and all, as the pypdf engine reads it (the layout splits it). A word never
      mixes invisible text objects (render mode 3 or 7, ``FPDFTextObj_GetTextRenderMode``, asked
      once per object) with shown ones; the page is read from its shown words, or from its
      invisible ones where it shows none, as in the pypdf engine
      (:func:`~cc_perf_dagster.core.content_stream.visible_words`). The one difference from the
      pypdf engine: a string drawn with a character spacing wider than that glue range is split
      here, kept whole there.

A document whose default view hides a layer (optional content), a page with filled-in form
fields and a page that uses a Type 3 font are read by the pypdf interpreter
(:mod:`~cc_perf_dagster.core.optional_content`, :mod:`~cc_perf_dagster.core.widgets`): PDFium's
text API does not say which layer a glyph is in, its text page leaves form fields out, and it
leaves out Type 3 text drawn at a quarter turn (a page turned by ``/Rotate``); so is a page
where PDFium gives a form's ``/ActualText`` span in the form's own space (see ``_shape``).
Content hash, page count, encryption and the text-operator limit are pypdf's, from the same file
(:class:`~cc_perf_dagster.core.pypdf_engine.PypdfDocument`): a page hashes the same in both
engines, damaged streams are found the same way, and the cache keeps the engines apart
through the engine's name and version in every key (:func:`~cc_perf_dagster.core.pdf.engine_tag`).
PDFium is not thread-safe: every call into it holds one process-wide lock. A page's characters
come in one ``FPDFText_GetText`` call; the calls made per character go through plain ``ctypes``
prototypes of the same ``pypdfium2.raw`` functions (no argument conversion), three per drawn
glyph: its origin, text object and loose box (:mod:`~cc_perf_dagster.core.pdfium_calls`).
"""

from __future__ import annotations

import ctypes
import math
import threading
from typing import Any, BinaryIO

from cc_perf_dagster.core.content_stream import NO_AREA, RawRun, upright_runs, visible_words
from cc_perf_dagster.core.errors import DamagedPdfError, EncryptedPdfError, EngineUnavailableError
from cc_perf_dagster.core.fonts import normalize_glyph_text
from cc_perf_dagster.core.layout import BASELINE_SHIFT, OVERLAP_LIMIT, TOUCH_GAP
from cc_perf_dagster.core.models import TextRun
from cc_perf_dagster.core.page_box import within
from cc_perf_dagster.core.pdf import EngineDocument, Limits, library_version
from cc_perf_dagster.core.pdfium_calls import HYPHEN_MARK, PdfiumCalls, calls, page_text
from cc_perf_dagster.core.pypdf_engine import PypdfDocument, PypdfEngine

_LOCK = threading.RLock()
# A text object's geometry: direction (ux, uy), "up" sign, height, then for a word of that
# height the glue range (low, high) and the baseline shift allowed.
_Shape = tuple[float, float, float, float, float, float, float]


def _modules() -> tuple[Any, Any]:
    try:
        import pypdfium2
        import pypdfium2.raw
    except ImportError as exc:
        raise EngineUnavailableError(
            "the pdfium text engine needs pypdfium2, which is not installed: "
            "pip install 'cc-perf-dagster[pdfium]' (or choose the pypdf engine)"
        ) from exc
    return pypdfium2, pypdfium2.raw


class PdfiumEngine:
    """Text through PDFium (``pypdfium2``); hashes, page count and errors as the pypdf engine.

    Raises:
        EngineUnavailableError: On creation, when ``pypdfium2`` is not installed.
    """

    name = "pdfium"

    def __init__(self) -> None:
        _modules()

    @property
    def version(self) -> str:
        """The installed pypdfium2 release (each release pins one PDFium build)."""
        return library_version("pypdfium2")

    def declared_pages(self, stream: BinaryIO, *, file: str) -> int:
        """The page tree's ``/Count``, as the pypdf engine reads it (the structure is pypdf's here too)."""
        return PypdfEngine().declared_pages(stream, file=file)

    def open(self, stream: BinaryIO, *, file: str, limits: Limits | None = None) -> EngineDocument:
        """Open ``stream`` with pypdf (structure, hashes) and PDFium (text); see ``TextEngine``."""
        return _PdfiumDocument(stream, file=file, limits=limits or Limits())


class _PdfiumDocument:
    def __init__(self, stream: BinaryIO, *, file: str, limits: Limits):
        self._file = file
        self._structure = PypdfDocument(stream, file=file, limits=limits)
        self.page_count = self._structure.page_count
        pdfium, raw = _modules()
        self._raw = raw
        with _LOCK:
            try:
                stream.seek(0)
                self._pdf = pdfium.PdfDocument(stream, autoclose=False)
                self._pdfium_pages = len(self._pdf)
                self._invisible: set[int] = set()  # pages read from their invisible text
                self._interpreted: set[int] = set()  # pages read by the pypdf interpreter
            except pdfium.PdfiumError as exc:
                if getattr(exc, "err_code", None) == raw.FPDF_ERR_PASSWORD:
                    raise EncryptedPdfError("encrypted PDF, a password is required to open it", file=file) from exc
                raise DamagedPdfError(f"damaged PDF, PDFium cannot read it ({exc})", file=file) from exc

    def content_hash(self, index: int) -> str:
        return self._structure.content_hash(index)

    @property
    def declared_page_count(self) -> int | None:
        """The page tree's ``/Count`` (read by pypdf, as in the pypdf engine)."""
        return self._structure.declared_page_count

    def runs(self, index: int) -> list[TextRun]:
        if self._structure.needs_interpreter(index):
            # PDFium's text page says nothing of layers, leaves form fields out and Type 3 text
            # at a quarter turn: a document that hides a layer, or a page with filled-in fields
            # or a Type 3 font, is read by the interpreter that reads them (see the docstring).
            return self._interpret(index)
        try:
            runs = self._read(index)
        except _OutsidePageSpace:  # see _shape
            return self._interpret(index)
        self._interpreted.discard(index)
        return runs

    def _interpret(self, index: int) -> list[TextRun]:
        self._interpreted.add(index)
        return self._structure.runs(index)

    def _read(self, index: int) -> list[TextRun]:
        self._structure.check_text_operators(index)
        media, shown = self._structure.boxes(index)
        pdfium, _ = _modules()
        if index >= self._pdfium_pages:
            raise DamagedPdfError("damaged page tree, PDFium cannot reach this page", file=self._file, page=index + 1)
        with _LOCK:
            try:
                page = self._pdf[index]
                try:
                    textpage = page.get_textpage()
                    try:
                        words, invisible = page_words(textpage.raw, self._raw)
                    finally:
                        textpage.close()
                finally:
                    page.close()
            except pdfium.PdfiumError as exc:
                raise DamagedPdfError(f"cannot read the page's text ({exc})", file=self._file, page=index + 1) from exc
        if invisible:
            self._invisible.add(index)
        else:
            self._invisible.discard(index)
        return upright_runs(within(words, shown), media)

    def release(self, index: int) -> None:
        self._structure.release(index)

    def draws_nothing(self, index: int) -> bool:
        """Whether page ``index`` is blank (the structure is pypdf's here too)."""
        return self._structure.draws_nothing(index)

    def invisible_text(self, index: int) -> bool:
        if index in self._interpreted:
            return self._structure.invisible_text(index)
        return index in self._invisible

    def close(self) -> None:
        """Close the PDFium document (the file itself belongs to the caller)."""
        with _LOCK:
            self._pdf.close()


def page_words(textpage: Any, raw: Any) -> tuple[list[RawRun], bool]:
    """The words of a PDFium text page as raw runs in page space (see the module docstring).

    Args:
        textpage: An ``FPDF_TEXTPAGE`` handle.
        raw: ``pypdfium2.raw``.

    Returns:
        The words, and whether they are the page's invisible text (it shows none).
    """
    api = calls(raw)
    is_generated, get_text_object = api.is_generated, api.get_text_object
    get_char_origin, get_loose_char_box = api.get_char_origin, api.get_loose_char_box
    handle = ctypes.c_void_p(ctypes.cast(textpage, ctypes.c_void_p).value)
    chars = page_text(api, handle, raw.FPDFText_CountChars(textpage))
    x, y, box = ctypes.c_double(), ctypes.c_double(), raw.FS_RECTF()
    x_at, y_at, box_at = ctypes.byref(x), ctypes.byref(y), ctypes.byref(box)
    matrix = raw.FS_MATRIX()
    matrix_at = ctypes.byref(matrix)
    geometry: dict[int | None, _Shape] = {}
    invisible: dict[int | None, bool] = {}  # per text object: render mode 3 or 7
    hidden: list[RawRun] = []  # words of invisible text objects (see content_stream.visible_words)
    words: list[RawRun] = []
    out = words
    shapes: dict[_Shape, _Shape] = {}  # equal shapes as one object: "is" tells them equal
    word: list[str] = []
    sx = sy = ex = ey = lx = ly = 0.0
    ux, uy, up, height, low, high, shift = _UPRIGHT
    start = owner_shape = _UPRIGHT
    owner: int | None = None
    ligature = 0.0  # after a ligature PDFium unfolded: how much short of its advance the word's end may be

    for index, text in enumerate(chars):
        if not ("!" <= text <= "~"):  # anything but printable ASCII: mapped, maybe no glyph
            if text >= "\xa0":
                text = normalize_glyph_text(text)
            elif text == HYPHEN_MARK and api.is_hyphen(handle, index) == 1:
                text = "-"  # (not a glyph its font maps to U+0002: that says nothing, see fonts)
            if not text or text == "\x00" or text.isspace():
                # A drawn space of the same string: its origin is where the last glyph's advance
                # (character spacing included) ended. PDFium's own (generated) characters are
                # always spaces and line breaks, so only these are asked whether they are.
                if word:
                    if (
                        not is_generated(handle, index)
                        and get_text_object(handle, index) == owner
                        and get_char_origin(handle, index, x_at, y_at)
                    ):
                        if -1e-3 < x.value - lx < 1e-3 and -1e-3 < y.value - ly < 1e-3:
                            word.append(" ")  # a space of an /ActualText span: the span is one run
                            continue
                        ex, ey = x.value, y.value
                    out.append(("".join(word), sx, sy, ex, ey, ux, uy, up, height))
                    word = []
                continue
        if not get_char_origin(handle, index, x_at, y_at):
            if word:
                out.append(("".join(word), sx, sy, ex, ey, ux, uy, up, height))
                word = []
            continue
        ox, oy = x.value, y.value
        obj = get_text_object(handle, index)
        if word and obj == owner:
            shape = owner_shape
            # A ligature PDFium unfolded ("ﬀ" -> "f", "f"): every part at the glyph's origin,
            # the glyph's ink shared out between their boxes; same word, nothing to check.
            joined = -1e-3 < ox - lx < 1e-3 and -1e-3 < oy - ly < 1e-3
        else:
            shape = geometry.get(obj)
            if shape is None:
                shape = _shape(api, handle, index, matrix, matrix_at, ox, oy)
                shape = geometry[obj] = shapes.setdefault(shape, shape)
                invisible[obj] = obj is not None and api.get_render_mode(ctypes.c_void_p(obj)) in _INVISIBLE
            if shape is _NO_AREA:  # glyphs with no area (font size 0, a collapsed matrix) show nothing
                if word:
                    out.append(("".join(word), sx, sy, ex, ey, ux, uy, up, height))
                    word = []
                continue
            joined = False
        if not joined:
            lx, ly = ox, oy
            if word:
                dx, dy = ox - ex, oy - ey
                gap = dx * ux + dy * uy
                if invisible[obj] is not (out is hidden):  # shown and invisible text: never one word
                    touches = False
                elif shape is start:  # same direction, "up" and height as the word's first glyph
                    touches = low < gap < high + ligature and -shift <= dy * ux - dx * uy <= shift
                else:
                    cux, cuy, cup, cheight = shape[:4]
                    touches = (
                        OVERLAP_LIMIT * cheight < gap < TOUCH_GAP * cheight + ligature
                        and abs(cux - ux) < 1e-6
                        and abs(cuy - uy) < 1e-6
                        and (cup > 0) == (up > 0)
                        and abs(dy * ux - dx * uy) <= BASELINE_SHIFT * max(height, cheight)
                    )
                if not touches:
                    out.append(("".join(word), sx, sy, ex, ey, ux, uy, up, height))
                    word = []
            if not word:
                sx, sy = ox, oy
                ux, uy, up, height, low, high, shift = start = shape
                out = hidden if invisible[obj] else words
            owner, owner_shape = obj, shape
        word.append(text)
        # A ligature's parts share out its ink, not its advance: the word may end up to the
        # glyph's right side bearing later than the last part's box says.
        ligature = _LIGATURE_BEARING * height if joined else 0.0
        # The word ends where this glyph's advance ends: its loose box's extent from the
        # origin along the text direction.
        if get_loose_char_box(handle, index, box_at):
            along_x = (box.right - ox) if ux > 0 else (box.left - ox)
            along_y = (box.top - oy) if uy > 0 else (box.bottom - oy)
            advance = along_x * ux + along_y * uy
            ex, ey = ox + advance * ux, oy + advance * uy
        else:
            ex, ey = ox, oy
    if word:
        out.append(("".join(word), sx, sy, ex, ey, ux, uy, up, height))
    return visible_words(words, hidden)


def _shape(
    api: PdfiumCalls, handle: ctypes.c_void_p, index: int, matrix: Any, matrix_at: Any, ox: float, oy: float
) -> _Shape:
    """A text object's direction ``(ux, uy)``, "up" sign and font height, from its first glyph.

    Then the glue range and baseline tolerance of a word in that height (see :func:`page_words`).

    Raises:
        _OutsidePageSpace: The glyph's origin ``(ox, oy)`` is not on its object's baseline, at or
            after the start its matrix gives (after it: the object's text may begin with
            spaces). PDFium gives the characters of an ``/ActualText`` span inside a form
            XObject in the form's own space (the form's matrix and the CTM left out); the page
            is read by the pypdf interpreter. No page of the test invoices or the producer
            corpus is.
    """
    size = api.get_font_size(handle, index)
    if api.get_matrix(handle, index, matrix_at):
        a, b, c, d = matrix.a, matrix.b, matrix.c, matrix.d
        dx, dy = ox - matrix.e, oy - matrix.f  # on the object's baseline, at or after its start
        if abs(dx * b - dy * a) > 1e-3 * (abs(a) + abs(b)) or dx * a + dy * b < -1e-3 * (abs(a) + abs(b)):
            raise _OutsidePageSpace
    else:
        a, b, c, d = 1.0, 0.0, 0.0, 1.0
    if abs((a * d - b * c) * size * size) < NO_AREA:
        return _NO_AREA
    length = math.hypot(a, b) or 1.0
    return _with_ranges(a / length, b / length, a * d - b * c, abs(size) * math.hypot(c, d))


class _OutsidePageSpace(Exception):
    """PDFium gave a text object's characters outside page space (see :func:`_shape`)."""


def _with_ranges(ux: float, uy: float, up: float, height: float) -> _Shape:
    return (ux, uy, up, height, OVERLAP_LIMIT * height, TOUCH_GAP * height, BASELINE_SHIFT * height)


_UPRIGHT = _with_ranges(1.0, 0.0, 1.0, 0.0)
_NO_AREA = _with_ranges(0.0, 0.0, 0.0, 0.0)  # the shape of glyphs that show nothing
# How far (in font heights) a ligature's advance may end past the box PDFium gives its last part.
_LIGATURE_BEARING = 0.12
# Text render modes that draw nothing: 3 (neither fill nor stroke) and 7 (clip only).
_INVISIBLE = (3, 7)
