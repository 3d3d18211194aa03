r"""How PDFium's characters become the words the layout reads: one loop, in Python and in C.

The rules (what :func:`page_words` returns):
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

The loop is made once per character, about 1,700 of them on an invoice page, so its cost is the
engine's: three PDFium calls per drawn glyph (origin, text object, loose box) and the Python
around them. :func:`python_words` is that loop in Python, the reference; the C extension
``cc_perf_dagster.core._glyph_words`` (``_glyph_words.c``, built on install where a C compiler
is there) is the same loop, making the same PDFium calls in the same order through the
addresses of the same ``pypdfium2.raw`` functions, at about a tenth of the cost. Which one ran
never changes a word: ``test_glyph_words.py`` reads every page of the test invoices and the
producer corpus with both and compares every word, text and coordinates, exactly. Without the
extension (no compiler at install) the Python loop runs; :data:`ACCELERATED` says which.

Around the loop, in Python for both: the page's characters come in one ``FPDFText_GetText``
call; before the loop each is told to be text or not (:func:`_kinds`: ASCII by table, the rest,
such as ligatures, no-break spaces and PDFium's line-end hyphen mark, one by one); each word's
text is then joined from its characters.
"""

from __future__ import annotations

import ctypes
import math
import re
from typing import Any

from cc_perf_dagster.core.content_stream import NO_AREA, RawRun, visible_words
from cc_perf_dagster.core.fonts import normalize_glyph_text
from cc_perf_dagster.core.layout import BASELINE_SHIFT, OVERLAP_LIMIT, TOUCH_GAP
from cc_perf_dagster.core.pdfium_calls import HYPHEN_MARK, PdfiumCalls, calls, page_text

try:
    from cc_perf_dagster.core import _glyph_words
except ImportError:  # built without a C compiler: the Python loop runs
    _glyph_words = None

# Whether the C build of the word loop is installed and used.
ACCELERATED = _glyph_words is not None

# A text object's geometry: direction (ux, uy), "up" sign, height, then for a word of that
# height the glue range (low, high) and the baseline shift allowed.
_Shape = tuple[float, float, float, float, float, float, float]
# A word found by the loop: its characters [start, end), start and end of its baseline, its
# direction, "up" sign and height, and whether it is invisible text.
Found = tuple[int, int, float, float, float, float, float, float, float, float, bool]

# ASCII that is no text (U+0000) or a space: kind 1 and " "; other ASCII is a glyph, itself.
_ASCII_SPACES = [code for code in range(128) if code == 0 or chr(code).isspace()]
_ASCII_KINDS = "".join("\x01" if code in _ASCII_SPACES else "\x00" for code in range(128))
_ASCII_TEXTS = {code: " " for code in _ASCII_SPACES}
# Looked at one by one: beyond ASCII, and PDFium's line-end hyphen mark.
_NOT_ASCII = re.compile(r"[^\x00\x01\x03-\x7f]")


def page_words(textpage: Any, raw: Any, *, accelerated: bool = True) -> tuple[list[RawRun], bool]:
    """The words of a PDFium text page as raw runs in page space (see the module docstring).

    Args:
        textpage: An ``FPDF_TEXTPAGE`` handle.
        raw: ``pypdfium2.raw``.
        accelerated: Use the C loop where it is installed (``False``: the Python loop).

    Returns:
        The words, and whether they are the page's invisible text (it shows none).

    Raises:
        OutsidePageSpace: PDFium gave a text object's characters outside page space.
    """
    api = calls(raw)
    handle = ctypes.c_void_p(ctypes.cast(textpage, ctypes.c_void_p).value)
    texts, kinds = _kinds(api, handle, page_text(api, handle, raw.FPDFText_CountChars(textpage)))
    if accelerated and _glyph_words is not None:
        found = _glyph_words.words(handle.value or 0, api.addresses, kinds, _CONSTANTS)
        if found is None:
            raise OutsidePageSpace
    else:
        found = python_words(api, handle, kinds)
    words: list[RawRun] = []
    hidden: list[RawRun] = []
    line = "".join(texts)
    single = len(line) == len(texts)  # one letter per character (nothing unfolded): slices of one string
    for start, end, sx, sy, ex, ey, ux, uy, up, height, invisible in found:
        text = line[start:end] if single else "".join(texts[start:end])
        (hidden if invisible else words).append((text, sx, sy, ex, ey, ux, uy, up, height))
    return visible_words(words, hidden)


def _kinds(api: PdfiumCalls, handle: ctypes.c_void_p, chars: str) -> tuple[list[str], bytes]:
    """Each character's text, and its kind: 0 a glyph, 1 no text or a space (ends a word).

    ASCII is told apart by table (a space, a line break or U+0000: kind 1, read ``" "`` where a
    word keeps it, as an ``/ActualText`` span does). The rest is looked at one by one: other
    characters unfold (:func:`normalize_glyph_text`), and PDFium's mark of a line-end hyphen is
    ``-`` where PDFium says it is one (not a glyph its font maps to U+0002: that says nothing,
    see fonts).
    """
    texts = list(chars.translate(_ASCII_TEXTS))
    kinds = bytearray(chars.translate(_ASCII_KINDS).encode("ascii", "replace"))  # the rest: below
    for match in _NOT_ASCII.finditer(chars):
        index, text = match.start(), match.group()
        if text != HYPHEN_MARK:
            text = normalize_glyph_text(text)
        elif api.is_hyphen(handle, index) == 1:
            text = "-"
        if not text or text.isspace():
            kinds[index], text = 1, " "
        else:
            kinds[index] = 0
        texts[index] = text
    return texts, bytes(kinds)


def python_words(api: PdfiumCalls, handle: ctypes.c_void_p, kinds: bytes) -> list[Found]:
    """The word loop in Python (the reference of ``_glyph_words.c``, which must do the same).

    Raises:
        OutsidePageSpace: See :func:`_shape`.
    """
    is_generated, get_text_object = api.is_generated, api.get_text_object
    get_char_origin, get_loose_char_box = api.get_char_origin, api.get_loose_char_box
    x, y, box = ctypes.c_double(), ctypes.c_double(), api.rect()
    x_at, y_at, box_at = ctypes.byref(x), ctypes.byref(y), ctypes.byref(box)
    matrix = api.matrix()
    matrix_at = ctypes.byref(matrix)
    geometry: dict[int | None, _Shape] = {}
    invisible: dict[int | None, bool] = {}  # per text object: render mode 3 or 7
    shapes: dict[_Shape, _Shape] = {}  # equal shapes as one object: "is" tells them equal
    found: list[Found] = []
    begin = end = -1  # the word: characters [begin, end); begin -1: no word
    hides = False  # whether the word is invisible text
    sx = sy = ex = ey = lx = ly = 0.0
    ux, uy, up, height, low, high, shift = _UPRIGHT
    start = owner_shape = _UPRIGHT
    owner: int | None = None
    ligature = 0.0  # after a ligature PDFium unfolded: how much short of its advance the word's end may be

    for index, kind in enumerate(kinds):
        if kind:  # no text or a space
            # A drawn space of the same string: its origin is where the last glyph's advance
            # (character spacing included) ended. PDFium's own (generated) characters are
            # always spaces and line breaks, so only these are asked whether they are.
            if begin >= 0:
                if (
                    not is_generated(handle, index)
                    and get_text_object(handle, index) == owner
                    and get_char_origin(handle, index, x_at, y_at)
                ):
                    if -1e-3 < x.value - lx < 1e-3 and -1e-3 < y.value - ly < 1e-3:
                        end = index + 1  # a space of an /ActualText span: the span is one run
                        continue
                    ex, ey = x.value, y.value
                found.append((begin, end, sx, sy, ex, ey, ux, uy, up, height, hides))
                begin = -1
            continue
        if not get_char_origin(handle, index, x_at, y_at):
            if begin >= 0:
                found.append((begin, end, sx, sy, ex, ey, ux, uy, up, height, hides))
                begin = -1
            continue
        ox, oy = x.value, y.value
        obj = get_text_object(handle, index)
        if begin >= 0 and obj == owner:
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
                if begin >= 0:
                    found.append((begin, end, sx, sy, ex, ey, ux, uy, up, height, hides))
                    begin = -1
                continue
            joined = False
        if not joined:
            lx, ly = ox, oy
            if begin >= 0:
                dx, dy = ox - ex, oy - ey
                gap = dx * ux + dy * uy
                if invisible[obj] is not hides:  # shown and invisible text: never one word
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
                    found.append((begin, end, sx, sy, ex, ey, ux, uy, up, height, hides))
                    begin = -1
            if begin < 0:
                begin, sx, sy = index, ox, oy
                ux, uy, up, height, low, high, shift = start = shape
                hides = invisible[obj]
            owner, owner_shape = obj, shape
        end = index + 1
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
    if begin >= 0:
        found.append((begin, end, sx, sy, ex, ey, ux, uy, up, height, hides))
    return found


def _shape(
    api: PdfiumCalls, handle: ctypes.c_void_p, index: int, matrix: Any, matrix_at: Any, ox: float, oy: float
) -> _Shape:
    """A text object's direction ``(ux, uy)``, "up" sign and font height, from its first glyph.

    Then the glue range and baseline tolerance of a word in that height (see :func:`page_words`).

    Raises:
        OutsidePageSpace: The glyph's origin ``(ox, oy)`` is not on its object's baseline, at or
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
            raise OutsidePageSpace
    else:
        a, b, c, d = 1.0, 0.0, 0.0, 1.0
    if abs((a * d - b * c) * size * size) < NO_AREA:
        return _NO_AREA
    length = math.hypot(a, b) or 1.0
    return _with_ranges(a / length, b / length, a * d - b * c, abs(size) * math.hypot(c, d))


class OutsidePageSpace(Exception):
    """PDFium gave a text object's characters outside page space (see :func:`_shape`); read with pypdf."""


def _with_ranges(ux: float, uy: float, up: float, height: float) -> _Shape:
    return (ux, uy, up, height, OVERLAP_LIMIT * height, TOUCH_GAP * height, BASELINE_SHIFT * height)


_UPRIGHT = _with_ranges(1.0, 0.0, 1.0, 0.0)
_NO_AREA = _with_ranges(0.0, 0.0, 0.0, 0.0)  # the shape of glyphs that show nothing
# How far (in font heights) a ligature's advance may end past the box PDFium gives its last part.
_LIGATURE_BEARING = 0.12
# Text render modes that draw nothing: 3 (neither fill nor stroke) and 7 (clip only).
_INVISIBLE = (3, 7)

# The C loop's constants, from the same names as the Python loop's.
_CONSTANTS = (TOUCH_GAP, OVERLAP_LIMIT, BASELINE_SHIFT, _LIGATURE_BEARING, NO_AREA)
