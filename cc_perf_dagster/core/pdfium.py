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
      glyph's origin: they stay one word. The one difference from the pypdf engine: a string
      drawn with a character spacing wider than that glue range is split here, kept whole there.

Content hash, page count, encryption and the text-operator limit are pypdf's, from the same
file (:class:`~cc_perf_dagster.core.pypdf_engine.PypdfDocument`): a page hashes the same in both
engines, damaged streams are found the same way, and the cache keeps the engines apart
through the engine's name and version in every key (:func:`~cc_perf_dagster.core.pdf.engine_tag`).
PDFium is not thread-safe: every call into it holds one process-wide lock. The calls made per
character go through lean ``ctypes`` prototypes of the same ``pypdfium2.raw`` functions (handles as
plain addresses), four per drawn glyph: its code, origin, text object and loose box.
"""

from __future__ import annotations

import ctypes
import functools
import math
import threading
from typing import Any, BinaryIO

from cc_perf_dagster.core.content_stream import RawRun, upright_runs
from cc_perf_dagster.core.errors import DamagedPdfError, EncryptedPdfError, EngineUnavailableError
from cc_perf_dagster.core.fonts import normalize_glyph_text
from cc_perf_dagster.core.layout import OVERLAP_LIMIT, TOUCH_GAP
from cc_perf_dagster.core.models import TextRun
from cc_perf_dagster.core.pdf import EngineDocument, Limits, library_version
from cc_perf_dagster.core.pypdf_engine import PypdfDocument, PypdfEngine

_LOCK = threading.RLock()
# Glyphs whose origins leave the word's baseline by more than this (fraction of the height)
# start a new word; the layout puts them back in the same row if they belong there.
BASELINE_SHIFT = 0.05
# PDFium reports a hyphen it judged to end a line (word broken over two lines) as U+0002.
_HYPHEN_MARK = "\x02"


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
        self._structure.check_text_operators(index)
        box = self._structure.mediabox(index)
        pdfium, _ = _modules()
        if index >= self._pdfium_pages:
            raise DamagedPdfError("damaged page tree, PDFium cannot reach this page", file=self._file, page=index + 1)
        with _LOCK:
            try:
                page = self._pdf[index]
                try:
                    textpage = page.get_textpage()
                    try:
                        words = page_words(textpage.raw, self._raw)
                    finally:
                        textpage.close()
                finally:
                    page.close()
            except pdfium.PdfiumError as exc:
                raise DamagedPdfError(f"cannot read the page's text ({exc})", file=self._file, page=index + 1) from exc
        return upright_runs(words, box)

    def release(self, index: int) -> None:
        self._structure.release(index)

    def close(self) -> None:
        """Close the PDFium document (the file itself belongs to the caller)."""
        with _LOCK:
            self._pdf.close()


class _Api:
    """The PDFium calls made once per character, as plain C calls on raw addresses.

    pypdfium2's bindings wrap every handle in a typed ctypes pointer; building that pointer for
    each character's text object and casting it back to compare costs more than the call
    itself. These prototypes take and return addresses (``c_void_p``) and are made from the
    same functions of ``pypdfium2.raw`` (public bindings), so the library and its
    version stay pypdfium2's.
    """

    def __init__(self, raw: Any):
        void, cint = ctypes.c_void_p, ctypes.c_int

        def lean(function: Any, restype: Any, *argtypes: Any) -> Any:
            return ctypes.CFUNCTYPE(restype, *argtypes)(ctypes.cast(function, void).value)

        self.get_unicode = lean(raw.FPDFText_GetUnicode, ctypes.c_uint, void, cint)
        self.is_generated = lean(raw.FPDFText_IsGenerated, cint, void, cint)
        self.get_text_object = lean(raw.FPDFText_GetTextObject, void, void, cint)
        self.get_char_origin = lean(raw.FPDFText_GetCharOrigin, cint, void, cint, void, void)
        self.get_loose_char_box = lean(raw.FPDFText_GetLooseCharBox, cint, void, cint, void)


@functools.cache
def _api(raw: Any) -> _Api:
    return _Api(raw)


def page_words(textpage: Any, raw: Any) -> list[RawRun]:
    """The words of a PDFium text page as raw runs in page space (see the module docstring).

    Args:
        textpage: An ``FPDF_TEXTPAGE`` handle.
        raw: ``pypdfium2.raw``.
    """
    api = _api(raw)
    get_unicode, is_generated = api.get_unicode, api.is_generated
    get_text_object, get_char_origin, get_loose_char_box = (
        api.get_text_object,
        api.get_char_origin,
        api.get_loose_char_box,
    )
    handle = ctypes.cast(textpage, ctypes.c_void_p).value
    count = raw.FPDFText_CountChars(textpage)
    x, y, box = ctypes.c_double(), ctypes.c_double(), raw.FS_RECTF()
    x_at, y_at, box_at = ctypes.addressof(x), ctypes.addressof(y), ctypes.addressof(box)
    matrix = raw.FS_MATRIX()
    geometry: dict[int | None, tuple[float, float, float, float]] = {}
    words: list[RawRun] = []
    word: list[str] = []
    sx = sy = ex = ey = lx = ly = 0.0
    ux, uy, up, height = 1.0, 0.0, 1.0, 0.0
    owner: int | None = None

    for index in range(count):
        code = get_unicode(handle, index)
        text = chr(code) if code < 0x110000 else ""
        if code >= 0xA0:
            text = normalize_glyph_text(text)
        elif text == _HYPHEN_MARK:
            text = "-"
        if not text or text == "\x00" or text.isspace():
            # A drawn space of the same string: its origin is where the last glyph's advance
            # (character spacing included) ended. PDFium's own (generated) characters are
            # always spaces and line breaks, so only these are asked whether they are.
            if word and not is_generated(handle, index) and get_text_object(handle, index) == owner:
                if get_char_origin(handle, index, x_at, y_at):
                    ex, ey = x.value, y.value
            if word:
                words.append(("".join(word), sx, sy, ex, ey, ux, uy, up, height))
                word = []
            continue
        if not get_char_origin(handle, index, x_at, y_at):
            if word:
                words.append(("".join(word), sx, sy, ex, ey, ux, uy, up, height))
                word = []
            continue
        ox, oy = x.value, y.value
        obj = get_text_object(handle, index)
        shape = geometry.get(obj)
        if shape is None:
            shape = geometry[obj] = _shape(raw, textpage, index, matrix)
        cux, cuy, cup, cheight = shape
        if not (word and obj == owner and abs(ox - lx) < 1e-3 and abs(oy - ly) < 1e-3):
            # (Otherwise a ligature PDFium unfolded, "ﬀ" -> "f", "f": every part at the
            # glyph's origin, the advance shared out between their boxes; same word.)
            lx, ly = ox, oy
            if word:
                dx, dy = ox - ex, oy - ey
                gap = dx * ux + dy * uy
                if not (
                    OVERLAP_LIMIT * cheight < gap < TOUCH_GAP * cheight
                    and abs(cux - ux) < 1e-6
                    and abs(cuy - uy) < 1e-6
                    and (cup > 0) == (up > 0)
                    and abs(dy * ux - dx * uy) <= BASELINE_SHIFT * max(height, cheight)
                ):
                    words.append(("".join(word), sx, sy, ex, ey, ux, uy, up, height))
                    word = []
            if not word:
                sx, sy = ox, oy
                ux, uy, up, height = cux, cuy, cup, cheight
            owner = obj
        word.append(text)
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
        words.append(("".join(word), sx, sy, ex, ey, ux, uy, up, height))
    return words


def _shape(raw: Any, textpage: Any, index: int, matrix: Any) -> tuple[float, float, float, float]:
    """A text object's direction ``(ux, uy)``, "up" sign and font height, from one of its glyphs."""
    size = raw.FPDFText_GetFontSize(textpage, index)
    if raw.FPDFText_GetMatrix(textpage, index, matrix):
        a, b, c, d = matrix.a, matrix.b, matrix.c, matrix.d
    else:
        a, b, c, d = 1.0, 0.0, 0.0, 1.0
    length = math.hypot(a, b) or 1.0
    return (a / length, b / length, a * d - b * c, abs(size) * math.hypot(c, d))
